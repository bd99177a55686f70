"""Spreadsheet round trip of telemetry values (export, then import) and manage.py import_telemetry."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from adoption.choices import DataType, StatusSource, TaskStatus
from adoption.models import TaskStatusChange
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from telemetry.models import CustomerTelemetryValue, TelemetryBatch
from telemetry.spreadsheet import (
    COLUMNS,
    telemetry_import_commit,
    telemetry_import_preview,
    telemetry_template_export,
)
from tests.factories import AdoptionPlanFactory, CustomerTelemetryValueFactory
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

OBSERVED = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(plan):
    """A plan with one attribute of every type, some with values; an archived task and an inactive attribute."""
    sso_task, (sso, users) = add_task(
        plan,
        attr("sso_enabled"),
        attr("active_users", DataType.NUMBER, {"op": "gte", "value": 100}),
        name="Enable SSO",
        sequence_number=1,
    )
    misc_task, (region, login, config) = add_task(
        plan,
        attr("region", DataType.STRING, {"op": "in", "value": ["eu", "us"]}),
        attr("last_login", DataType.TIMESTAMP, {"op": "after", "value": "2024-01-01"}),
        attr("config", DataType.JSON, {"op": "eq", "value": True, "path": "mfa.on"}),
        name="Configure",
        sequence_number=2,
    )
    add_task(plan, attr("gone"), name="Archived", is_archived=True, sequence_number=3)
    add_task(plan, attr("retired", is_active=False), name="Retired attr", sequence_number=4)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=OBSERVED, source="idp", notes="ok")
    CustomerTelemetryValueFactory(customer_attribute=users, value=42, observed_at=OBSERVED)
    CustomerTelemetryValueFactory(customer_attribute=region, value="=cmd|' /C calc'!A0", observed_at=OBSERVED)
    CustomerTelemetryValueFactory(
        customer_attribute=config, value={"mfa": {"on": True}, "n": [1, 2]}, observed_at=OBSERVED
    )
    return {
        "sso_task": sso_task,
        "misc_task": misc_task,
        "sso": sso,
        "users": users,
        "region": region,
        "login": login,
        "config": config,
    }


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def to_csv(rows: list[dict], columns=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- export --------------------------------------------------------------------------------------


def test_csv_export_has_one_row_per_active_attribute_with_criterion_latest_value_and_met(world, plan):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))

    assert [(r["taskName"], r["attributeName"]) for r in rows] == [
        ("Enable SSO", "sso_enabled"),
        ("Enable SSO", "active_users"),
        ("Configure", "region"),
        ("Configure", "last_login"),
        ("Configure", "config"),
    ]
    assert rows[0] == {
        "customerAttributeId": str(world["sso"].pk),
        "adoptionPlanId": str(plan.pk),
        "taskName": "Enable SSO",
        "attributeName": "sso_enabled",
        "dataType": "BOOLEAN",
        "required": "true",
        "criterion": "sso_enabled is true",
        "value": "true",
        "observedAt": "2024-05-01T09:30:00+00:00",
        "met": "false",
        "lastSource": "idp",
        "notes": "",
    }
    assert rows[1]["criterion"] == "active_users ≥ 100" and rows[1]["value"] == "42"
    assert rows[3]["value"] == "" and rows[3]["observedAt"] == ""  # never seen
    assert json.loads(rows[4]["value"]) == {"mfa": {"on": True}, "n": [1, 2]}  # jsonb keeps no key order
    assert rows[4]["criterion"] == "config.mfa.on is true"


def test_xlsx_export_keeps_types_and_never_writes_formulas(world, plan):
    workbook = load_workbook(io.BytesIO(telemetry_template_export(plan=plan, fmt="xlsx")))
    sheet = workbook["Telemetry"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]

    assert header == COLUMNS
    assert len(rows) == 5
    assert rows[0]["value"] is True and rows[0]["required"] is True and rows[0]["met"] is False
    assert rows[1]["value"] == 42 and rows[0]["customerAttributeId"] == world["sso"].pk
    region_cell = sheet.cell(row=4, column=COLUMNS.index("value") + 1)
    assert region_cell.value == "=cmd|' /C calc'!A0" and region_cell.data_type == "s"


def test_unknown_export_format_is_refused(plan):
    with pytest.raises(ValidationFailed) as err:
        telemetry_template_export(plan=plan, fmt="pdf")
    assert err.value.field == "fmt"


# --- round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_re_uploading_an_export_stores_nothing_new(world, plan, admin_user, fmt):
    exported = telemetry_template_export(plan=plan, fmt=fmt)
    before = CustomerTelemetryValue.objects.count()

    result = telemetry_import_commit(
        actor=admin_user, plan_or_customer_scope=plan, file=exported, filename=f"template.{fmt}"
    )

    assert result.stored == 0 and result.ingest is None
    assert CustomerTelemetryValue.objects.count() == before
    assert [s["reason"] for s in result.preview.skipped] == [
        "same as the latest stored value",
        "same as the latest stored value",
        "same as the latest stored value",
        "blank value",
        "same as the latest stored value",
    ]


def test_import_preview_lists_status_changes_and_stores_nothing(world, plan, admin_user):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[1].update(value="150", observedAt="")  # active_users 150: Enable SSO becomes DONE

    preview = telemetry_import_preview(
        actor=admin_user, plan_or_customer_scope=plan, file=to_csv(rows), filename="t.csv"
    )

    assert preview.ok and preview.errors == []
    assert [(r.row, r.attribute, r.value) for r in preview.to_store] == [(3, world["users"], 150)]
    assert [(c.customer_task_id, c.from_status, c.to_status) for c in preview.status_changes] == [
        (world["sso_task"].pk, "NOT_STARTED", "DONE")
    ]
    assert preview.as_dict()["statusChanges"][0]["toStatus"] == "DONE"
    assert CustomerTelemetryValue.objects.count() == 4
    assert not TaskStatusChange.objects.exists() and not TelemetryBatch.objects.exists()
    assert not AuditLog.objects.exists()
    world["sso_task"].refresh_from_db()
    assert world["sso_task"].status == TaskStatus.NOT_STARTED


def test_import_commit_changes_status_with_source_telemetry_naming_the_batch(world, plan, admin_user):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[1].update(value="150", observedAt="2024-05-02T00:00:00Z", notes="from the sheet")
    rows[3].update(value="2024-04-30")

    result = telemetry_import_commit(
        actor=admin_user, plan_or_customer_scope=plan, file=to_csv(rows), filename="t.csv", batch_id="import-1"
    )

    assert result.stored == 2
    users = CustomerTelemetryValue.objects.get(customer_attribute=world["users"], value=150)
    assert (users.batch_id, users.source, users.notes) == ("import-1", "import", "from the sheet")
    assert users.observed_at == datetime(2024, 5, 2, tzinfo=UTC)
    task = world["sso_task"]
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.status_update_source == StatusSource.TELEMETRY
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert entry.source == "TELEMETRY" and entry.evidence["batchId"] == "import-1"
    assert entry.evidence["channel"] == "import"
    audit = AuditLog.objects.get(action="telemetry.import")
    assert audit.details["filename"] == "t.csv" and audit.details["stored"] == 2 and audit.object_id == "import-1"

    again = telemetry_import_commit(
        actor=admin_user, plan_or_customer_scope=plan, file=to_csv(rows), filename="t.csv", batch_id="import-1"
    )
    assert again.ingest.replayed is True and CustomerTelemetryValue.objects.count() == 6


def test_import_file_with_one_bad_row_stores_nothing_and_names_the_row(world, plan, admin_user):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[1].update(value="150", observedAt="")
    rows[2].update(value="eu", observedAt="")
    rows[4].update(value="{not json", observedAt="")

    with pytest.raises(ValidationFailed) as err:
        telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=to_csv(rows), filename="t.csv")

    assert err.value.details == [
        {
            "row": 6,
            "field": "value",
            "message": "attribute 'config' of task 'Configure': expected JSON text, got text '{not json'",
        },
    ]
    assert err.value.message.startswith("1 row(s) have errors (row 6: ")
    assert CustomerTelemetryValue.objects.count() == 4
    assert not TaskStatusChange.objects.exists() and not AuditLog.objects.exists()

    preview = telemetry_import_preview(
        actor=admin_user, plan_or_customer_scope=plan, file=to_csv(rows), filename="t.csv"
    )
    assert not preview.ok and [e["row"] for e in preview.errors] == [6] and preview.status_changes == []


def test_manual_status_is_kept_through_import(world, plan, admin_user):
    task = world["sso_task"]
    task.status, task.status_update_source = TaskStatus.IN_PROGRESS, StatusSource.MANUAL
    task.save()
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[1].update(value="500", observedAt="")

    result = telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=to_csv(rows), filename="t.csv")

    assert result.stored == 1 and result.status_changes == []
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and task.status_update_source == StatusSource.MANUAL
    assert task.telemetry_status == TaskStatus.DONE and task.telemetry_disagrees


# --- cell conversion -----------------------------------------------------------------------------


def _sheet(rows: list[list], header=("customerAttributeId", "value", "observedAt")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_cells_are_converted_to_the_attribute_type(world, plan, admin_user):
    data = _sheet(
        [
            [world["sso"].pk, "Yes", None],
            [world["users"].pk, 150.0, datetime(2024, 5, 3, 8, 0)],
            [world["region"].pk, 42, None],
            [world["login"].pk, datetime(2024, 4, 2), None],
            [world["config"].pk, '{"mfa": {"on": false}}', None],
            [world["users"].pk, "  ", None],
        ]
    )

    result = telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=data, filename="x.xlsx")

    batch = CustomerTelemetryValue.objects.filter(batch_id=result.ingest.batch_id)
    stored = {v.customer_attribute_id: v for v in batch}
    assert stored[world["sso"].pk].value is True
    assert stored[world["users"].pk].value == 150 and isinstance(stored[world["users"].pk].value, int)
    assert stored[world["users"].pk].observed_at == datetime(2024, 5, 3, 8, 0, tzinfo=UTC)  # naive cell: UTC
    assert stored[world["region"].pk].value == "42"
    assert stored[world["login"].pk].value == "2024-04-02"
    assert stored[world["config"].pk].value == {"mfa": {"on": False}}
    assert result.preview.skipped == [{"row": 7, "reason": "blank value"}]


@pytest.mark.parametrize(
    "attribute, cell, message",
    [
        ("sso", "maybe", "expected BOOLEAN, got text 'maybe'"),
        ("sso", 1, "expected BOOLEAN, got number 1"),
        ("users", "many", "expected NUMBER, got text 'many'"),
        (
            "login",
            "next week",
            "expected TIMESTAMP (ISO 8601 date-time with time zone, or YYYY-MM-DD), got string 'next week'",
        ),
        ("config", "null", "expected JSON, got null"),
    ],
)
def test_cells_that_do_not_convert_are_row_errors(world, plan, admin_user, attribute, cell, message):
    data = _sheet([[world["sso"].pk, True, None], [world[attribute].pk, cell, None]])

    preview = telemetry_import_preview(actor=admin_user, plan_or_customer_scope=plan, file=data, filename="x.xlsx")

    name = world[attribute].name
    task = world[attribute].customer_task.name
    expected = f"attribute {name!r} of task {task!r}: {message}"
    assert preview.errors == [{"row": 3, "field": "value", "message": expected}]
    assert not CustomerTelemetryValue.objects.filter(value=True, batch_id__startswith="import").exists()


def test_rows_may_name_attributes_by_task_and_attribute_in_the_plan_scope(world, plan, admin_user):
    data = to_csv(
        [{"taskName": "Enable SSO", "attributeName": "active_users", "value": "120"}],
        columns=["taskName", "attributeName", "value"],
    )

    result = telemetry_import_commit(actor=admin_user, plan_or_customer_scope=plan, file=data, filename="n.csv")

    assert result.stored == 1
    assert CustomerTelemetryValue.objects.get(value=120).customer_attribute == world["users"]


def test_rows_outside_the_scope_are_errors(world, plan, other_plan, customer, admin_user):
    _, (theirs,) = add_task(other_plan, attr("sso"))

    sibling = AdoptionPlanFactory(customer_product__customer=customer)
    _, (same_customer_other_plan,) = add_task(sibling, attr("sso"))
    data = to_csv(
        [
            {"customerAttributeId": theirs.pk, "value": "true"},
            {"customerAttributeId": same_customer_other_plan.pk, "value": "true"},
        ],
        columns=["customerAttributeId", "value"],
    )

    by_plan = telemetry_import_preview(actor=admin_user, plan_or_customer_scope=plan, file=data, filename="s.csv")
    by_customer = telemetry_import_preview(
        actor=admin_user, plan_or_customer_scope=customer, file=data, filename="s.csv"
    )

    assert by_plan.errors == [
        {"row": 2, "field": "customerAttributeId", "message": f"customer telemetry attribute '{theirs.pk}' not found"},
        {
            "row": 3,
            "field": "customerAttributeId",
            "message": f"customer telemetry attribute {same_customer_other_plan.pk} is not in adoption plan {plan.pk}",
        },
    ]
    assert [e["row"] for e in by_customer.errors] == [2]
    assert [r.attribute for r in by_customer.to_store] == [same_customer_other_plan]


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"a,b\n1,2\n", "x.csv", "the header row has no 'value' column"),
        (
            b"value\n1\n",
            "x.csv",
            "the header row needs a 'customerAttributeId' column, or 'taskName' and 'attributeName' columns",
        ),
        (b"value", "x.pdf", "unsupported file type 'x.pdf'; use .xlsx or .csv"),
        (b"PK\x03\x04garbage", "x.xlsx", "the file is not a readable .xlsx workbook"),
        (b"", "x.csv", "the file is empty"),
        (b"\xff\xfe\x00v", "x.csv", "the .csv file is not UTF-8 text"),
    ],
)
def test_unreadable_files_are_refused(plan, admin_user, data, filename, message):
    with pytest.raises(ValidationFailed) as err:
        telemetry_import_preview(actor=admin_user, plan_or_customer_scope=plan, file=data, filename=filename)
    assert err.value.message == message and err.value.field == "file"


# --- manage.py import_telemetry -----------------------------------------------------------------


def _write(tmp_path, rows, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(to_csv(rows))
    return str(path)


def test_import_command_stores_values_with_a_progress_bar(world, plan, tmp_path):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[1].update(value="150", observedAt="")
    out, err = io.StringIO(), io.StringIO()

    call_command("import_telemetry", _write(tmp_path, rows), "--plan", str(plan.pk), stdout=out, stderr=err)

    assert "[##############################] 5/5 rows" in err.getvalue()
    assert "Stored 1 values as batch import-" in out.getvalue()
    assert f"task {world['sso_task'].pk} 'Enable SSO': NOT_STARTED -> DONE" in out.getvalue()
    assert CustomerTelemetryValue.objects.count() == 5


def test_import_command_dry_run_stores_nothing(world, plan, tmp_path):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[1].update(value="150", observedAt="")
    out = io.StringIO()

    call_command("import_telemetry", _write(tmp_path, rows), "--dry-run", stdout=out, stderr=io.StringIO())

    assert "Dry run: 1 values would be stored, 4 rows skipped, 1 task status changes" in out.getvalue()
    assert CustomerTelemetryValue.objects.count() == 4 and not TaskStatusChange.objects.exists()


def test_import_command_exits_non_zero_naming_bad_rows_and_stores_nothing(world, plan, tmp_path):
    rows = csv_rows(telemetry_template_export(plan=plan, fmt="csv"))
    rows[0].update(value="false", observedAt="")
    rows[1].update(value="lots", observedAt="")
    err = io.StringIO()

    with pytest.raises(CommandError) as exc:
        call_command(
            "import_telemetry", _write(tmp_path, rows), "--plan", str(plan.pk), stdout=io.StringIO(), stderr=err
        )

    assert "row 3 [value]: attribute 'active_users' of task 'Enable SSO': expected NUMBER, got text 'lots'" in (
        err.getvalue()
    )
    assert "nothing was stored" in str(exc.value)
    assert CustomerTelemetryValue.objects.count() == 4


def test_import_command_unknown_file_or_plan(tmp_path, plan):
    with pytest.raises(CommandError, match="file not found"):
        call_command("import_telemetry", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="adoption plan 999999 not found"):
        call_command("import_telemetry", _write(tmp_path, []), "--plan", "999999")
