"""Who and what POST /api/v1/telemetry admits: JSON bodies only, a rate limit per key, revocation at
once, and a key's use recorded at most once a minute; keys never reach the logs."""

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from telemetry.models import ApiKey, CustomerTelemetryValue, TelemetryBatch
from telemetry.services import api_key_create, api_key_revoke
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

URL = "/api/v1/telemetry"


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def issued(customer, admin_user):
    return api_key_create(actor=admin_user, customer=customer, name="nightly")


@pytest.fixture
def key(issued):
    return issued[1]


@pytest.fixture
def sso(plan):
    _, (attribute, _) = add_task(plan, attr("sso_enabled"), attr("seats", required=False), name="Enable SSO")
    return attribute


def body_for(attribute, batch_id="b-1"):
    return {"batchId": batch_id, "values": [{"customerAttributeId": str(attribute.pk), "value": True}]}


def post(client, data, key, content_type="application/json", **headers):
    return client.post(URL, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key}", **headers)


def nothing_stored():
    return not CustomerTelemetryValue.objects.exists() and not TelemetryBatch.objects.exists()


# --- media type ---------------------------------------------------------------------------------


def test_text_plain_body_is_415_and_stores_nothing(client, key, sso):
    response = post(client, json.dumps(body_for(sso)), key, content_type="text/plain")

    assert response.status_code == 415
    assert response.json() == {
        "error": {
            "code": "UNSUPPORTED_MEDIA_TYPE",
            "message": "the body must be JSON sent with Content-Type: application/json (UTF-8); "
            "got Content-Type: text/plain",
        }
    }
    assert response["Accept-Post"] == "application/json"
    assert nothing_stored()


def test_form_encoded_body_is_415_and_stores_nothing(client, key, sso):
    response = client.post(
        URL,
        {"batchId": "b-1", "values": json.dumps(body_for(sso)["values"])},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "got Content-Type: multipart/form-data" in response.json()["error"]["message"]
    response = post(client, "batchId=b-1&values=x", key, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["message"].endswith("got Content-Type: application/x-www-form-urlencoded")
    assert nothing_stored()


@pytest.mark.parametrize("content_type", ["", "application/json-patch+json", "application/json; charset=latin-1"])
def test_other_media_types_are_415(client, key, sso, content_type):
    response = post(client, json.dumps(body_for(sso)), key, content_type=content_type)

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert nothing_stored()


def test_json_with_a_utf8_charset_is_accepted(client, key, sso):
    response = post(client, json.dumps(body_for(sso)), key, content_type="application/json; charset=UTF-8")

    assert response.status_code == 200
    assert CustomerTelemetryValue.objects.get().customer_attribute == sso


def test_an_unauthenticated_request_learns_nothing_about_media_types(client, sso):
    response = client.post(URL, data="x", content_type="text/plain")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


# --- rate limit ---------------------------------------------------------------------------------


def test_rate_limit_per_key_answers_429_with_retry_after_and_stores_nothing(client, key, sso, settings, customer):
    settings.TELEMETRY_RATE_LIMIT = 3
    settings.TELEMETRY_RATE_WINDOW = 3600  # a window boundary inside the test is then all but impossible
    statuses = [post(client, json.dumps(body_for(sso, f"b-{i}")), key).status_code for i in range(3)]

    refused = post(client, json.dumps(body_for(sso, "b-over")), key)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert refused.json() == {
        "error": {
            "code": "RATE_LIMITED",
            "message": f"too many requests for this API key: at most 3 every 3600 seconds; retry in {retry_after} seconds",
            "details": {"retryAfter": retry_after, "limit": 3, "window": 3600},
        }
    }
    assert not TelemetryBatch.objects.filter(batch_id="b-over").exists()
    assert TelemetryBatch.objects.count() == 3
    # Another key of the same customer has its own count.
    _, other = api_key_create(actor=None, customer=customer, name="second")
    assert post(client, json.dumps(body_for(sso, "b-other")), other).status_code == 200


def test_rate_limit_counts_refused_bodies_too(client, key, sso, settings):
    settings.TELEMETRY_RATE_LIMIT = 2
    settings.TELEMETRY_RATE_WINDOW = 3600
    post(client, "not json", key)
    post(client, "x", key, content_type="text/plain")

    response = post(client, json.dumps(body_for(sso)), key)

    assert response.status_code == 429
    assert nothing_stored()


# --- revocation and last use --------------------------------------------------------------------


def test_revoked_key_is_refused_at_once(client, issued, sso, admin_user):
    api_key, raw = issued
    assert post(client, json.dumps(body_for(sso, "before")), raw).status_code == 200

    api_key_revoke(actor=admin_user, api_key=api_key)
    response = post(client, json.dumps(body_for(sso, "after")), raw)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert list(TelemetryBatch.objects.values_list("batch_id", flat=True)) == ["before"]


def test_last_use_is_recorded_at_most_once_a_minute(client, issued, sso):
    api_key, raw = issued
    assert api_key.last_used_at is None

    post(client, json.dumps(body_for(sso, "b-1")), raw)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    post(client, json.dumps(body_for(sso, "b-2")), raw)
    second = ApiKey.objects.get(pk=api_key.pk).last_used_at

    assert first is not None and abs(timezone.now() - first) < timedelta(seconds=30)
    assert second == first  # within the minute: no second write
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - timedelta(minutes=2))
    post(client, json.dumps(body_for(sso, "b-3")), raw)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


def test_the_key_never_reaches_the_logs(client, key, sso, caplog):
    caplog.set_level(logging.DEBUG)

    post(client, "not json", key)
    post(client, json.dumps(body_for(sso)), key + "x")
    post(client, json.dumps(body_for(sso)), key, content_type="text/plain")
    post(client, json.dumps(body_for(sso)), key)

    assert caplog.records, "the refusals are logged (django.request warnings)"
    assert key not in caplog.text
    assert key[12:] not in caplog.text
