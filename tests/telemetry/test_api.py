"""POST /api/v1/telemetry for customer systems, and the API keys behind it."""

import hashlib
import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from adoption.choices import DataType, TaskStatus
from config.audit.models import AuditLog
from telemetry.models import ApiKey, CustomerTelemetryValue, TelemetryBatch
from telemetry.services import api_key_authenticate, api_key_create, api_key_revoke
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

URL = "/api/v1/telemetry"


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # the API is exempt from CSRF: keys are not cookies


@pytest.fixture
def key(customer, admin_user):
    _, raw = api_key_create(actor=admin_user, customer=customer, name="nightly")
    return raw


@pytest.fixture
def sso(plan):
    task, (attribute, _) = add_task(
        plan,
        attr("sso_enabled"),
        attr("users", DataType.NUMBER, {"op": "gt", "value": 5}, required=False),
        name="Enable SSO",
    )
    return attribute


def post(client, body, key=None, raw=False):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    data = body if raw else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def test_values_are_stored_and_status_changes_answered(client, key, sso, plan):
    response = post(
        client,
        {
            "batchId": "n-1",
            "values": [
                {
                    "customerAttributeId": str(sso.pk),
                    "value": True,
                    "observedAt": "2024-05-01T10:00:00Z",
                    "source": "idp",
                    "notes": "nightly",
                },
            ],
        },
        key,
    )

    assert response.status_code == 200
    body = response.json()
    value = CustomerTelemetryValue.objects.get()
    assert body == {
        "batchId": "n-1",
        "stored": 1,
        "replayed": False,
        "values": [
            {
                "id": str(value.pk),
                "customerAttributeId": str(sso.pk),
                "value": True,
                "observedAt": "2024-05-01T10:00:00+00:00",
                "source": "idp",
                "notes": "nightly",
                "batchId": "n-1",
            }
        ],
        "statusChanges": [
            {
                "customerTaskId": str(sso.customer_task_id),
                "adoptionPlanId": str(plan.pk),
                "taskName": "Enable SSO",
                "fromStatus": "NOT_STARTED",
                "toStatus": "DONE",
                "source": "TELEMETRY",
            }
        ],
    }
    sso.customer_task.refresh_from_db()
    assert sso.customer_task.status == TaskStatus.DONE
    audit = AuditLog.objects.get(action="telemetry.ingest")
    assert audit.actor is None and audit.actor_label.startswith("api-key:cak_")
    assert ApiKey.objects.get().last_used_at is not None


def test_items_may_name_the_attribute_by_plan_task_and_attribute(client, key, sso, plan):
    response = post(
        client,
        {
            "values": [
                {"adoptionPlanId": str(plan.pk), "taskName": "Enable SSO", "attributeName": "users", "value": 9},
            ]
        },
        key,
    )

    assert response.status_code == 200
    assert CustomerTelemetryValue.objects.get().customer_attribute.name == "users"


def test_per_item_errors_answer_400_and_store_nothing(client, key, sso):
    response = post(
        client,
        {
            "values": [
                {"customerAttributeId": sso.pk, "value": True},
                {"customerAttributeId": sso.pk, "value": "yes"},
            ]
        },
        key,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["field"] == "values"
    assert error["details"] == [
        {
            "index": 1,
            "field": "value",
            "message": "attribute 'sso_enabled' of task 'Enable SSO': expected BOOLEAN, got string 'yes'",
        }
    ]
    assert not CustomerTelemetryValue.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "the body is not valid JSON"),
        ("[1, 2]", 'the body must be a JSON object: {"batchId": ..., "values": [...]}'),
        ('{"batchId": "x"}', "values must be a list of telemetry values"),
        ('{"values": []}', "values is empty: send at least one telemetry value"),
        (
            '{"values": [{"customerAttributeId": 1, "value": 1}], "batchId": 7}',
            "batchId must be a string of at most 100 characters",
        ),
        ("[" * 100000 + "]" * 100000, "the body is not valid JSON"),
        (b"\xff\xfe", "the body is not valid JSON"),
    ],
)
def test_malformed_bodies_answer_400_without_internals(client, key, body, message):
    response = post(client, body, key, raw=True)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert "Traceback" not in response.content.decode("utf-8", "replace")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer cak_wrong", "Basic dXNlcjpwYXNz", "Token {key}", "Bearer {key}x"],
)
def test_without_a_valid_key_401(client, key, sso, header):
    headers = {"HTTP_AUTHORIZATION": header.format(key=key)} if header else {}

    response = client.post(
        URL,
        data=json.dumps({"values": [{"customerAttributeId": sso.pk, "value": True}]}),
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"] == 'Bearer realm="telemetry"'
    assert not CustomerTelemetryValue.objects.exists()


def test_revoked_key_401(client, key, sso, admin_user):
    api_key_revoke(actor=admin_user, api_key=ApiKey.objects.get())

    response = post(client, {"values": [{"customerAttributeId": sso.pk, "value": True}]}, key)

    assert response.status_code == 401
    assert not CustomerTelemetryValue.objects.exists()


def test_key_of_customer_a_writing_to_customer_b_gets_403_and_nothing_is_stored(client, key, sso, other_plan):
    _, (theirs,) = add_task(other_plan, attr("sso_enabled"), name="Enable SSO")

    response = post(
        client,
        {
            "batchId": "sneaky",
            "values": [
                {"customerAttributeId": sso.pk, "value": True},
                {"customerAttributeId": theirs.pk, "value": True},
            ],
        },
        key,
    )

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert error["details"] == [
        {"index": 1, "field": "customerAttributeId", "message": f"customer telemetry attribute '{theirs.pk}' not found"}
    ]
    assert not CustomerTelemetryValue.objects.exists() and not TelemetryBatch.objects.exists()
    theirs.customer_task.refresh_from_db()
    assert theirs.customer_task.status == TaskStatus.NOT_STARTED


def test_unknown_attribute_and_foreign_plan_answer_the_same_403(client, key, other_plan):
    _, (theirs,) = add_task(other_plan, attr("sso_enabled"), name="Enable SSO")
    unknown = theirs.pk + 1000

    foreign = post(client, {"values": [{"customerAttributeId": theirs.pk, "value": True}]}, key).json()["error"]
    missing = post(client, {"values": [{"customerAttributeId": unknown, "value": True}]}, key).json()["error"]
    by_name = post(
        client,
        {
            "values": [
                {
                    "adoptionPlanId": other_plan.pk,
                    "taskName": "Enable SSO",
                    "attributeName": "sso_enabled",
                    "value": True,
                }
            ]
        },
        key,
    )

    assert foreign["message"] == f"item 0: customer telemetry attribute '{theirs.pk}' not found; nothing was stored"
    assert missing["message"] == f"item 0: customer telemetry attribute '{unknown}' not found; nothing was stored"
    assert by_name.status_code == 403
    assert by_name.json()["error"]["details"][0]["message"] == f"adoption plan {other_plan.pk} not found"
    assert not CustomerTelemetryValue.objects.exists()


def test_same_batch_replays_and_other_content_conflicts_409(client, key, sso):
    body = {"batchId": "n-2", "values": [{"customerAttributeId": sso.pk, "value": True}]}
    first = post(client, body, key)
    replay = post(client, body, key)
    conflict = post(client, {"batchId": "n-2", "values": [{"customerAttributeId": sso.pk, "value": False}]}, key)

    assert first.status_code == 200 and replay.status_code == 200
    assert replay.json() == {**first.json(), "replayed": True}
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "CONFLICT"
    assert CustomerTelemetryValue.objects.count() == 1


def test_oversized_body_413(client, key, sso):
    big = json.dumps({"values": [{"customerAttributeId": sso.pk, "value": True, "notes": "x" * 3000}] * 800})
    assert len(big) > 2 * 1024 * 1024

    response = post(client, big, key, raw=True)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert not CustomerTelemetryValue.objects.exists()


def test_too_many_values_413(client, key, sso):
    response = post(client, {"values": [{"customerAttributeId": sso.pk, "value": True}] * 5001}, key)

    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("too many values in one request: 5001, at most 5000")
    assert not CustomerTelemetryValue.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_405(client, key, method):
    response = getattr(client, method)(URL, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_unexpected_failure_answers_500_without_internals(client, key, sso):
    with mock.patch("telemetry.api.telemetry_ingest", side_effect=RuntimeError("secret /srv/app/db.py SELECT")):
        response = post(client, {"values": [{"customerAttributeId": sso.pk, "value": True}]}, key)

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "INTERNAL_ERROR", "message": "the request could not be processed; nothing was stored"}
    }


# --- API keys ----------------------------------------------------------------------------------


def test_keys_are_stored_hashed_shown_once_and_audited(customer, admin_user):
    api_key, raw = api_key_create(actor=admin_user, customer=customer, name="  export  ")

    assert raw.startswith("cak_") and len(raw) > 40
    assert api_key.key_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in api_key.key_hash
    assert api_key.prefix == raw[:12] and api_key.name == "export" and api_key.created_by == admin_user
    entry = AuditLog.objects.get(action="api_key.create")
    assert entry.customer_id == customer.pk and raw not in json.dumps(entry.details)
    assert api_key_authenticate(raw) == api_key


def test_revoked_keys_authenticate_nothing_and_revoke_is_audited_once(customer, admin_user):
    api_key, raw = api_key_create(actor=admin_user, customer=customer)

    api_key_revoke(actor=admin_user, api_key=api_key)
    api_key_revoke(actor=admin_user, api_key=api_key)

    assert api_key_authenticate(raw) is None
    assert AuditLog.objects.filter(action="api_key.revoke").count() == 1
    assert api_key_authenticate(None) is None and api_key_authenticate("cak_" + "x" * 500) is None


def test_create_api_key_command_prints_the_key_alone_on_the_last_line(customer):
    out = StringIO()

    call_command("create_api_key", "--customer", str(customer.pk), "--name", "nightly", stdout=out)

    raw = out.getvalue().rstrip("\n").splitlines()[-1]
    api_key = api_key_authenticate(raw)
    assert api_key is not None and api_key.customer == customer and api_key.name == "nightly"
    assert raw.startswith("cak_") and " " not in raw


def test_create_api_key_command_unknown_customer():
    with pytest.raises(CommandError, match="customer '999' not found"):
        call_command("create_api_key", "--customer", "999", stdout=StringIO())
    assert not ApiKey.objects.exists()
