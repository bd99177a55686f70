"""Cost limits of one GraphQL document: aliases, field selections and query cost, for every role.

An anonymous request is refused before anything of the document is looked at; an authenticated one
over a limit is refused with a VALIDATION_ERROR that names the limit and the value, before any
resolver (and so any SQL) runs."""

import json
import time

import pytest
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from graphql import parse

from config.graphql.cost import QueryLimits, measure_document, scan_errors
from config.schema import schema
from tests.graphql.conftest import URL, client_for, data_of, post, token_for

ALIASES_10000 = "{ " + " ".join(f"p{i}: products {{ id }}" for i in range(10_000)) + " }"
ALIAS_MESSAGE = "the query has 10000 aliases; at most 100 are allowed"


def _direct_post(user, query):
    """The GraphQL view called with an already authenticated user, so every SQL query it runs is
    the document's own (no session or user lookup)."""
    request = RequestFactory().post(URL, data=json.dumps({"query": query}), content_type="application/json")
    request.user = user
    request._dont_enforce_csrf_checks = True
    return resolve(URL).func(request)


@pytest.mark.parametrize("role", ["viewer", "csm", "editor", "admin_user"])
def test_ten_thousand_aliases_are_refused_fast_without_sql_for_every_role(role, request):
    user = request.getfixturevalue(role)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = _direct_post(user, ALIASES_10000)
        elapsed = time.perf_counter() - started
    print(f"10,000 aliases refused for {role} in {elapsed * 1000:.1f} ms with {len(queries)} SQL queries")
    body = json.loads(response.content)
    assert response.status_code == 400
    assert body == {"errors": [{"message": ALIAS_MESSAGE, "extensions": {"code": "VALIDATION_ERROR"}}]}
    assert len(queries) == 0
    assert elapsed < 0.5  # about 40 ms on an idle machine; generous for a loaded CI runner


def test_ten_thousand_aliases_through_the_whole_stack(viewer):
    client = client_for(viewer)
    assert data_of(client, "{ customers { id } }") == {"customers": []}  # a warm server: schema built
    started = time.perf_counter()
    status, body = post(client, ALIASES_10000)
    elapsed = time.perf_counter() - started
    print(f"10,000 aliases refused through the middleware in {elapsed * 1000:.1f} ms")
    assert status == 400
    assert body == {"errors": [{"message": ALIAS_MESSAGE, "extensions": {"code": "VALIDATION_ERROR"}}]}
    assert elapsed < 0.5


def test_token_requests_meet_the_same_limits(viewer):
    status, body = post(Client(), ALIASES_10000, HTTP_AUTHORIZATION=f"Bearer {token_for(viewer)}")
    assert status == 400
    assert body["errors"][0]["message"] == ALIAS_MESSAGE


@pytest.mark.django_db
def test_anonymous_requests_are_refused_before_the_document_is_measured():
    assert post(Client(), "{ __typename }")[0] == 401  # a warm server: the first request loads the URL conf
    started = time.perf_counter()
    status, body = post(Client(), ALIASES_10000)
    elapsed = time.perf_counter() - started
    assert status == 401
    assert body == {"errors": [{"message": "authentication required", "extensions": {"code": "UNAUTHENTICATED"}}]}
    assert elapsed < 0.5
    status, body = post(Client(), ALIASES_10000, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert status == 401
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


def test_aliases_up_to_the_limit_run(as_viewer, acme):
    query = "{ " + " ".join(f"c{i}: customers {{ name }}" for i in range(100)) + " }"
    data = data_of(as_viewer, query)
    assert len(data) == 100
    assert data["c0"] == data["c99"] == [{"name": "Acme Corporation"}]
    status, body = post(as_viewer, query.replace("{ c0:", "{ c100: customers { name } c0:"))
    assert status == 400
    assert body["errors"] == [
        {"message": "the query has 101 aliases; at most 100 are allowed", "extensions": {"code": "VALIDATION_ERROR"}}
    ]


def test_field_selections_are_limited(as_viewer):
    query = "{ customers { " + "id " * 1001 + "} }"
    status, body = post(as_viewer, query)
    assert status == 400
    assert body["errors"] == [
        {
            "message": "the query selects 1002 fields; at most 1000 are allowed",
            "extensions": {"code": "VALIDATION_ERROR"},
        }
    ]


def test_fragments_count_each_time_they_are_spread(as_viewer):
    """Ten fragments, each spreading the next twice, select 2^10 copies of one field: the written text
    is small (the pre-parse count passes), the expanded count after parsing is not."""
    fragments = [f"fragment F{i} on Customer {{ ...F{i + 1} ...F{i + 1} }}" for i in range(10)]
    fragments.append("fragment F10 on Customer { id }")
    query = "{ customers { ...F0 } }\n" + "\n".join(fragments)
    status, body = post(as_viewer, query)
    assert status == 400
    assert body["errors"] == [
        {
            "message": "the query selects 1025 fields; at most 1000 are allowed",
            "extensions": {"code": "VALIDATION_ERROR"},
        }
    ]


def test_cost_multiplies_list_fields(as_viewer):
    """customers (list) > products (list) > adoptionPlan > tasks (list) > history (list) > 3 scalars:
    1 + 10 * (1 + 10 * (1 + 1 * (1 + 10 * (1 + 10 * 3)))) = 31,211, under the default 250,000."""
    query = "{ customers { products { adoptionPlan { tasks { history { toStatus actor note } } } } } }"
    measured = measure_document(schema.graphql_schema, parse(query), list_factor=10)
    assert (measured.aliases, measured.fields, measured.cost) == (0, 8, 31_211)
    assert data_of(as_viewer, query) == {"customers": []}
    with override_settings(GRAPHQL_MAX_COST=31_210):
        status, body = post(as_viewer, query)
    assert status == 400
    assert body["errors"] == [
        {
            "message": "the query costs 31211 (each field 1, the fields below a list field 10 times); "
            "at most 31210 is allowed",
            "extensions": {"code": "VALIDATION_ERROR"},
        }
    ]


def test_everything_at_once_is_over_the_default_cost(as_viewer):
    """Every value of every attribute of every task of every plan of every customer: six nested
    selections below four lists, 1 + 10 * (1 + 10 * (1 + (1 + 10 * (1 + 10 * (1 + 10 * 6))))) = 611,211."""
    query = (
        "{ customers { products { adoptionPlan { tasks { telemetryAttributes { "
        "values { id value observedAt source notes batchId } } } } } } }"
    )
    status, body = post(as_viewer, query)
    assert status == 400
    assert body["errors"] == [
        {
            "message": "the query costs 611211 (each field 1, the fields below a list field 10 times); "
            "at most 250000 is allowed",
            "extensions": {"code": "VALIDATION_ERROR"},
        }
    ]


@override_settings(GRAPHQL_MAX_ALIASES=2, GRAPHQL_MAX_FIELDS=5, GRAPHQL_LIST_FACTOR=2, GRAPHQL_MAX_COST=7)
def test_limits_are_settings(as_viewer):
    status, body = post(as_viewer, "{ a: customers { id } b: customers { id } c: customers { id } }")
    assert status == 400
    assert body["errors"][0]["message"] == "the query has 3 aliases; at most 2 are allowed"
    status, body = post(as_viewer, "{ customers { id name description } products { id } }")
    assert body["errors"][0]["message"] == "the query selects 6 fields; at most 5 are allowed"
    # 5 fields, 0 aliases; cost: customers 1 + 2 * 2 = 5, products 1 + 2 * 1 = 3
    status, body = post(as_viewer, "{ customers { id name } products { id } }")
    assert body["errors"][0]["message"] == (
        "the query costs 8 (each field 1, the fields below a list field 2 times); at most 7 is allowed"
    )
    assert data_of(as_viewer, "{ customers { id name description } }") == {"customers": []}


def test_a_document_too_deep_hears_about_depth_first(as_viewer):
    """Depth is a validation rule; the cost is checked after validation, so a deep document gets the
    depth error although its cost is over the limit as well."""
    query = (
        "{ customers { products { adoptionPlan { tasks { telemetryAttributes { values { customerAttribute { "
        "customerTask { adoptionPlan { customerProduct { customer { id } } } } } } } } } } } }"
    )
    status, body = post(as_viewer, query)
    assert status == 400
    assert body["errors"][0]["message"] == "Operation 'anonymous' is nested deeper than the limit of 10 levels."


LIMITS = QueryLimits(max_aliases=100, max_fields=1000, max_cost=250_000, list_factor=10)


@pytest.mark.parametrize(
    "query",
    [
        # colons inside arguments, object literals, variable definitions, strings and comments are no aliases
        "query Q($id: ID!, $n: JSON = {a: 1}) { product(id: $id) { name } } # x: y",
        '{ product(id: "a: b") { name @include(if: true) } }',
        'mutation { createProduct(input: {name: "x: y", description: """ z: w """}) { id } }',
        "{ customers { ... on Customer { id } ...F } } fragment F on Customer { name }",
    ],
)
def test_the_written_count_agrees_with_the_parsed_count(query):
    measured = measure_document(schema.graphql_schema, parse(query), list_factor=10)
    assert measured.aliases == 0
    tight = QueryLimits(max_aliases=0, max_fields=measured.fields, max_cost=0, list_factor=10)
    assert scan_errors(query, tight, max_tokens=100_000) == []
    tighter = QueryLimits(max_aliases=0, max_fields=measured.fields - 1, max_cost=0, list_factor=10)
    assert [e.message for e in scan_errors(query, tighter, max_tokens=100_000)] == [
        f"the query selects {measured.fields} fields; at most {measured.fields - 1} are allowed"
    ]
    assert scan_errors(query, LIMITS, max_tokens=100_000) == []


def test_introspection_is_not_multiplied(as_viewer):
    """GraphiQL's introspection query (a few hundred selections) stays well under the limits."""
    from graphql import get_introspection_query

    query = get_introspection_query(descriptions=True)
    measured = measure_document(schema.graphql_schema, parse(query), list_factor=10)
    assert measured.cost == measured.fields < 1000
    status, body = post(as_viewer, query)
    assert status == 200 and "errors" not in body
