"""Text rules on the telemetry API, the spreadsheet import and the API key service: a NUL, a lone
surrogate (the JSON escapes \\u0000 and \\ud800, which Python's json module decodes) or over-long
text in any string field answers 400 / VALIDATION_ERROR naming the field; nothing is stored."""

import csv
import io
import json
import zipfile

import pytest
from django.test import Client
from openpyxl import Workbook

from adoption.choices import DataType
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from telemetry.models import TelemetryBatch
from telemetry.services import api_key_create
from telemetry.spreadsheet import telemetry_import_commit, telemetry_import_preview
from tests.db_state import database_state
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

URL = "/api/v1/telemetry"
IGNORE = ("telemetry.ApiKey.last_used_at",)  # every authenticated request records the key's use


@pytest.fixture
def key(customer, admin_user):
    _, raw = api_key_create(actor=admin_user, customer=customer, name="nightly")
    return raw


@pytest.fixture
def attributes(plan):
    _, (region, config) = add_task(
        plan,
        attr("region", DataType.STRING, {"op": "eq", "value": "eu"}),
        attr("config", DataType.JSON, {"op": "exists"}, required=False),
        name="Configure",
    )
    return {"region": region, "config": config}


def post_raw(key: str, text: str):
    """The body exactly as given: JSON escapes like \\u0000 and \\ud800 reach the server as written."""
    return Client().post(
        URL, data=text.encode("ascii"), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


# JSON text templates: {attr} is the attribute id, {bad} the escape under test.
API_CASES = {
    "STRING value": ('{{"values": [{{"customerAttributeId": {region}, "value": "eu{bad}"}}]}}', "value"),
    "JSON value string": ('{{"values": [{{"customerAttributeId": {config}, "value": {{"a": ["{bad}"]}}}}]}}', "value"),
    "JSON value key": ('{{"values": [{{"customerAttributeId": {config}, "value": {{"k{bad}": 1}}}}]}}', "value"),
    "source": ('{{"values": [{{"customerAttributeId": {region}, "value": "eu", "source": "s{bad}"}}]}}', "source"),
    "notes": ('{{"values": [{{"customerAttributeId": {region}, "value": "eu", "notes": "n{bad}"}}]}}', "notes"),
    "item batchId": (
        '{{"values": [{{"customerAttributeId": {region}, "value": "eu", "batchId": "b{bad}"}}]}}',
        "batchId",
    ),
    "taskName": (
        '{{"values": [{{"adoptionPlanId": {plan}, "taskName": "Configure{bad}", "attributeName": "region", '
        '"value": "eu"}}]}}',
        "taskName",
    ),
    "attributeName": (
        '{{"values": [{{"adoptionPlanId": {plan}, "taskName": "Configure", "attributeName": "region{bad}", '
        '"value": "eu"}}]}}',
        "attributeName",
    ),
}


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800"], ids=["nul", "surrogate"])
@pytest.mark.parametrize("case", sorted(API_CASES))
def test_api_refuses_nul_and_surrogates_in_every_string_field(key, attributes, plan, case, bad):
    template, field = API_CASES[case]
    body = template.format(region=attributes["region"].pk, config=attributes["config"].pk, plan=plan.pk, bad=bad)
    before = database_state(ignore=IGNORE)
    response = post_raw(key, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == "values"
    (detail,) = error["details"]
    assert detail["index"] == 0 and detail["field"] == field
    expected = "contains a NUL character (U+0000)" if bad == "\\u0000" else "contains an unpaired surrogate (U+D800)"
    assert expected in detail["message"], detail
    assert database_state(ignore=IGNORE) == before


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800"], ids=["nul", "surrogate"])
def test_api_refuses_nul_and_surrogates_in_the_request_batch_id(key, attributes, bad):
    before = database_state(ignore=IGNORE)
    response = post_raw(
        key,
        f'{{"batchId": "n-{bad}", "values": [{{"customerAttributeId": {attributes["region"].pk}, "value": "eu"}}]}}',
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["field"] == "batchId"
    problem = "NUL character (U+0000)" if bad == "\\u0000" else "unpaired surrogate (U+D800)"
    assert error["message"] == f"batchId contains a{'n' if 'unpaired' in problem else ''} {problem} at position 2"
    assert database_state(ignore=IGNORE) == before


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"value": "x" * 10_001}, "value", "the value is too long (10001 characters, at most 10000)"),
        ({"value": "eu", "notes": "n" * 4_001}, "notes", "notes must be a string of at most 4000 characters"),
        ({"value": "eu", "source": "s" * 101}, "source", "source must be a string of at most 100 characters"),
    ],
    ids=["value", "notes", "source"],
)
def test_api_refuses_over_long_text(key, attributes, item, field, message):
    before = database_state(ignore=IGNORE)
    body = json.dumps({"values": [{"customerAttributeId": attributes["region"].pk, **item}]})
    response = Client().post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]
    assert detail["field"] == field
    assert detail["message"].endswith(message)
    assert database_state(ignore=IGNORE) == before


def test_a_1_9_million_character_string_value_is_refused(key, attributes):
    before = database_state(ignore=IGNORE)
    body = json.dumps({"values": [{"customerAttributeId": attributes["region"].pk, "value": "x" * 1_900_000}]})
    response = Client().post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]
    assert detail == {
        "index": 0,
        "field": "value",
        "message": "attribute 'region' of task 'Configure': the value is too long (1900000 characters, at most 10000)",
    }
    assert database_state(ignore=IGNORE) == before


# --- spreadsheets --------------------------------------------------------------------------------


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["customerAttributeId", "value", "source", "notes"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx_with_raw_cell(raw: bytes) -> bytes:
    """A workbook whose value cell holds ``raw`` as written in the sheet's XML (openpyxl would escape it)."""
    workbook = Workbook()
    workbook.active.append(["customerAttributeId", "value"])
    workbook.active.append([1, "PLACEHOLDER"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                content = content.replace(b"PLACEHOLDER", raw)
            target.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("column", ["value", "source", "notes"])
def test_csv_cells_with_nul_are_refused_naming_row_and_column(admin_user, plan, attributes, column):
    row = {"customerAttributeId": attributes["region"].pk, "value": "eu", "source": "crm", "notes": "ok"}
    row[column] = "e\x00u"
    data = _csv([row])
    before = database_state()

    preview = telemetry_import_preview(
        actor=admin_user, plan_or_customer_scope=plan, file=io.BytesIO(data), filename="values.csv"
    )
    assert [(e["row"], e["field"]) for e in preview.errors] == [(2, column)]
    assert "contains a NUL character (U+0000) at position 1" in preview.errors[0]["message"]
    with pytest.raises(ValidationFailed) as refused:
        telemetry_import_commit(
            actor=admin_user, plan_or_customer_scope=plan, file=io.BytesIO(data), filename="values.csv"
        )
    assert refused.value.field == "file"
    assert [(e["row"], e["field"]) for e in refused.value.details] == [(2, column)]
    assert database_state() == before


def test_csv_with_a_surrogate_is_not_utf8_and_is_refused(admin_user, plan, attributes):
    """A surrogate cannot be encoded in UTF-8: its CESU-style bytes make the file invalid UTF-8."""
    data = f"customerAttributeId,value\n{attributes['region'].pk},e".encode() + b"\xed\xa0\x80" + b"u\n"
    before = database_state()
    with pytest.raises(ValidationFailed) as refused:
        telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=io.BytesIO(data), filename="v.csv")
    assert (refused.value.field, refused.value.message) == ("file", "the .csv file is not UTF-8 text")
    assert database_state() == before


@pytest.mark.parametrize("raw", [b"e&#0;u", b"e&#xD800;u", b"e\x00u"], ids=["nul-ref", "surrogate-ref", "nul-byte"])
def test_xlsx_cannot_carry_nul_or_surrogates(admin_user, plan, attributes, raw):
    """XML forbids both characters, so such a workbook is unreadable, and refused as such."""
    data = _xlsx_with_raw_cell(raw)
    before = database_state()
    with pytest.raises(ValidationFailed) as refused:
        telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=io.BytesIO(data), filename="v.xlsx")
    assert (refused.value.field, refused.value.message) == ("file", "the file is not a readable .xlsx workbook")
    assert database_state() == before


def test_spreadsheet_value_over_the_length_limit_is_refused(admin_user, plan, attributes):
    data = _csv([{"customerAttributeId": attributes["region"].pk, "value": "x" * 10_001}])
    before = database_state()
    with pytest.raises(ValidationFailed) as refused:
        telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=io.BytesIO(data), filename="v.csv")
    assert refused.value.details == [
        {
            "row": 2,
            "field": "value",
            "message": "attribute 'region' of task 'Configure': the value is too long (10001 characters, at most 10000)",
        }
    ]
    assert database_state() == before


# --- API keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["key\x00", "key\udc00"], ids=["nul", "surrogate"])
def test_api_key_names_follow_the_text_rules(admin_user, customer, bad):
    before = database_state()
    with pytest.raises(ValidationFailed) as refused:
        api_key_create(actor=admin_user, customer=customer, name=bad)
    assert refused.value.field == "name"
    assert refused.value.message.startswith("name contains a")
    assert database_state() == before


def test_a_batch_id_of_the_maximum_length_is_stored_and_audited(key, attributes):
    """100 characters are allowed; the audit entry of the batch names it whole (it once overflowed a
    64-character column on PostgreSQL: an INTERNAL_ERROR after everything else was written)."""
    batch_id = "b" * 100
    body = json.dumps(
        {"batchId": batch_id, "values": [{"customerAttributeId": attributes["region"].pk, "value": "eu"}]}
    )
    response = Client().post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    assert response.json()["batchId"] == batch_id
    assert TelemetryBatch.objects.get().batch_id == batch_id
    assert AuditLog.objects.get(action="telemetry.ingest").object_id == batch_id
