"""The endpoint itself: authentication (session with CSRF, personal access tokens), GraphiQL,
hardening (depth limit, introspection), error masking and one transaction per mutation document."""

import hashlib
import io
import json
import logging

import pytest
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from customers.models import Customer, PersonalAccessToken
from tests.factories import UserFactory
from tests.graphql.conftest import URL, client_for, data_of, error_of, post, token_for

CREATE = 'mutation { createCustomer(input: {name: "Initech"}) { id name } }'


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- authentication --------------------------------------------------------------------------------


def test_anonymous_request_gets_unauthenticated_and_no_data(db):
    status, body = post(Client(), "{ customers { id } }")
    assert status == 401
    assert body == {"errors": [{"message": "authentication required", "extensions": {"code": "UNAUTHENTICATED"}}]}


def test_anonymous_mutation_changes_nothing(db):
    status, body = post(Client(), CREATE)
    assert (status, body["errors"][0]["extensions"]["code"], "data" in body) == (401, "UNAUTHENTICATED", False)
    assert Customer.objects.count() == 0


def test_user_without_a_role_is_unauthenticated(db):
    user = UserFactory(username="nobody")  # no profile row: no role
    error = error_of(client_for(user), "{ customers { id } }")
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


def test_personal_access_token_authenticates_without_csrf(admin_user):
    token = token_for(admin_user)
    client = Client(enforce_csrf_checks=True)
    data = data_of(client, CREATE, **bearer(token))
    assert data["createCustomer"]["name"] == "Initech"
    stored = PersonalAccessToken.objects.get(user=admin_user)
    assert stored.last_used_at is not None
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("header", ["Bearer pat_not-a-real-token", "Bearer ", "Basic YWRtaW46cHc=", "pat_x"])
def test_invalid_authorization_header_is_unauthenticated(admin_user, header):
    status, body = post(Client(), CREATE, HTTP_AUTHORIZATION=header)
    assert status == 401
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert Customer.objects.count() == 0


def test_revoked_token_and_inactive_user_are_refused(admin_user, csm):
    revoked = token_for(admin_user)
    PersonalAccessToken.objects.filter(user=admin_user).update(revoked_at=timezone.now())
    inactive = token_for(csm)
    csm.is_active = False
    csm.save()
    for token in (revoked, inactive):
        status, body = post(Client(), "{ customers { id } }", **bearer(token))
        assert (status, body["errors"][0]["extensions"]["code"]) == (401, "UNAUTHENTICATED")


def test_session_post_without_csrf_token_is_forbidden(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    status, body = post(client, CREATE)
    assert status == 403
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert Customer.objects.count() == 0


def test_session_post_with_csrf_token_is_accepted(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get(URL, {"query": "{ customers { id } }"}, HTTP_ACCEPT="application/json")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    data = data_of(client, CREATE, HTTP_X_CSRFTOKEN=token)
    assert data["createCustomer"]["name"] == "Initech"


def test_queries_work_over_get_but_mutations_do_not(as_admin):
    response = as_admin.get(URL, {"query": "{ customers { id } }"}, HTTP_ACCEPT="application/json")
    assert (response.status_code, response.json()) == (200, {"data": {"customers": []}})
    response = as_admin.get(URL, {"query": CREATE}, HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR"}
    assert Customer.objects.count() == 0


# --- create_token ---------------------------------------------------------------------------------


def test_create_token_prints_a_working_token_on_its_last_line(csm):
    out = io.StringIO()
    call_command("create_token", "csm_u", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("pat_") and len(token) > 40
    stored = PersonalAccessToken.objects.get(user=csm)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash and stored.prefix == token[:12]
    assert data_of(Client(), "{ customers { id } }", **bearer(token)) == {"customers": []}


def test_create_token_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_token", "ghost", stdout=io.StringIO())
    assert PersonalAccessToken.objects.count() == 0


# --- GraphiQL ---------------------------------------------------------------------------------------


@override_settings(DEBUG=True)
def test_graphiql_for_logged_in_users_from_local_assets(as_admin):
    response = as_admin.get(URL, HTTP_ACCEPT="text/html")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "start.js",
    ):
        assert f"/static/graphiql/{asset}" in html
        assert finders.find(f"graphiql/{asset}") is not None
    assert "https://" not in html and "http://" not in html  # no CDN
    assert response["X-DB-Query-Count"].isdigit()


@override_settings(DEBUG=True)
def test_graphiql_sends_anonymous_browsers_to_the_login(db):
    response = Client().get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/graphql/")


@override_settings(DEBUG=False)
def test_no_graphiql_when_not_enabled(as_admin, monkeypatch):
    monkeypatch.delenv("GRAPHIQL_ENABLED", raising=False)
    response = as_admin.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR"}


@override_settings(DEBUG=False, GRAPHIQL_ENABLED=True)
def test_graphiql_enabled_by_setting(as_admin):
    response = as_admin.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"graphiql.min.js" in response.content


@override_settings(DEBUG=False)
def test_graphiql_enabled_by_environment(as_admin, monkeypatch):
    monkeypatch.setenv("GRAPHIQL_ENABLED", "1")
    response = as_admin.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"graphiql.min.js" in response.content


# --- hardening --------------------------------------------------------------------------------------

DEEP = """{ customers { products { adoptionPlan { tasks { telemetryAttributes { values { customerAttribute {
    customerTask { adoptionPlan { customerProduct { customer { id } } } } } } } } } } } }"""


def test_depth_limit_rejects_deep_queries(as_admin):
    status, body = post(as_admin, DEEP)
    assert status == 400
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR"}
    assert body["errors"][0]["message"] == "Operation 'anonymous' is nested deeper than the limit of 10 levels."


def test_depth_limit_follows_fragments(as_admin):
    query = """
        query { customers { ...C } }
        fragment C on Customer { products { adoptionPlan { tasks { telemetryAttributes { ...A } } } } }
        fragment A on CustomerTelemetryAttribute { values { customerAttribute { customerTask {
            adoptionPlan { customerProduct { customer { id } } } } } } }
    """
    error = error_of(as_admin, query)
    assert error["extensions"] == {"code": "VALIDATION_ERROR"}
    assert "deeper than the limit of 10 levels" in error["message"]


def test_queries_within_the_depth_limit_run(as_admin):
    assert data_of(
        as_admin,
        "{ customers { products { adoptionPlan { tasks { telemetryAttributes { values { "
        "customerAttribute { id } } } } } } } }",
    ) == {"customers": []}


@override_settings(GRAPHQL_MAX_DEPTH=3)
def test_depth_limit_is_a_setting(as_admin):
    error = error_of(as_admin, "{ customers { products { adoptionPlan { id } } } }")
    assert "deeper than the limit of 3 levels" in error["message"]


INTROSPECTION = "{ __schema { queryType { name } } }"


def test_introspection_on_outside_production(as_admin):
    assert data_of(as_admin, INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


@override_settings(PRODUCTION=True)
def test_introspection_off_in_production(as_admin, monkeypatch):
    monkeypatch.delenv("GRAPHQL_INTROSPECTION", raising=False)
    for query in (INTROSPECTION, '{ __type(name: "Customer") { name } }'):
        status, body = post(as_admin, query)
        assert status == 400
        assert body["errors"][0] == {
            "message": "Introspection is disabled on this server.",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "VALIDATION_ERROR"},
        }
    assert data_of(as_admin, "{ __typename }") == {"__typename": "Query"}


@override_settings(PRODUCTION=True)
def test_introspection_in_production_when_enabled_by_environment(as_admin, monkeypatch):
    monkeypatch.setenv("GRAPHQL_INTROSPECTION", "yes")
    assert data_of(as_admin, INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ customers { id }",  # syntax
        "{ customers { nonsense } }",  # unknown field
        "query($id: ID!) { customer(id: $id) { id } }",  # missing variable
        "mutation { createCustomer(input: {}) { id } }",  # missing required input field
    ],
)
def test_query_errors_are_validation_errors(as_admin, query):
    status, body = post(as_admin, query)
    assert status == 400
    assert "data" not in body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"VALIDATION_ERROR"}


def test_body_that_is_not_json_is_a_validation_error(as_admin):
    response = as_admin.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "POST body sent invalid JSON.", "extensions": {"code": "VALIDATION_ERROR"}}]
    }


def test_unexpected_exceptions_are_masked_and_logged(as_admin, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError('SELECT * FROM "customers_customer" -- /work/main/customers/services.py line 47')

    monkeypatch.setattr("customers.schema.customer_create", explode)
    with caplog.at_level(logging.ERROR, logger="config.graphql"):
        status, body = post(as_admin, CREATE)
    assert status == 200
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "Internal server error. The problem was logged.",
                "locations": [{"line": 1, "column": 12}],
                "path": ["createCustomer"],
                "extensions": {"code": "INTERNAL_ERROR"},
            }
        ],
    }
    assert "SELECT" in caplog.text and "Traceback" in caplog.text


def test_a_mutation_document_is_all_or_nothing(as_admin):
    status, body = post(
        as_admin,
        """mutation {
        first: createCustomer(input: {name: "Kept?"}) { id }
        second: createCustomer(input: {name: "   "}) { id }
    }""",
    )
    assert body["data"] is None
    assert [e["extensions"] for e in body["errors"]] == [{"code": "VALIDATION_ERROR", "field": "name"}]
    assert body["errors"][0]["path"] == ["second"]
    assert Customer.objects.count() == 0


def test_query_count_header_in_debug(as_admin):
    with override_settings(DEBUG=True):
        response = as_admin.post(
            URL, data=json.dumps({"query": "{ customers { id } }"}), content_type="application/json"
        )
    assert int(response["X-DB-Query-Count"]) >= 1


@pytest.mark.parametrize(
    "body",
    [
        {"query": 5},
        {"query": ["{ customers { id } }"]},
        {"query": "{ customers { id } }", "variables": [1]},
        {"query": "{ customers { id } }", "operationName": 7},
        {"query": "query A { customers { id } } query B { customers { id } }"},  # which one?
        {"query": "{ customers { id } }", "operationName": "Missing"},
        {"query": "{" * 3000 + "}" * 3000},
        {"query": "{ customers { id } }", "variables": {"x": 1}, "extra": True},
        [{"query": "{ customers { id } }"}],
        "just a string",
    ],
)
def test_malformed_requests_never_fail_without_a_code(as_admin, body):
    response = as_admin.post(URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code < 500
    payload = response.json()
    for error in payload.get("errors", []):
        assert error["extensions"]["code"] in {"VALIDATION_ERROR", "INTERNAL_ERROR"}, error
        assert "Traceback" not in error["message"]


def test_deeply_nested_json_body_is_refused_cleanly(as_admin):
    response = as_admin.post(
        URL,
        data='{"query": "{ customers { id } }", "variables": {"v": ' + "[" * 100000 + "]" * 100000 + "}}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR"}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_413(as_admin):
    response = as_admin.post(
        URL, data=json.dumps({"query": "{ customers { id } }", "pad": "x" * 2000}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "errors": [{"message": "request body too large", "extensions": {"code": "VALIDATION_ERROR"}}]
    }


def test_unknown_and_cyclic_fragments_are_validation_errors_not_server_errors(as_admin):
    cyclic = "query { customers { ...A } } fragment A on Customer { ...B } fragment B on Customer { ...A }"
    for query in ("{ customers { ...Missing } }", cyclic):
        status, body = post(as_admin, query)
        assert status == 400
        assert "data" not in body
        assert {error["extensions"]["code"] for error in body["errors"]} == {"VALIDATION_ERROR"}
