import csv
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from tests.factories import CustomerTelemetryAttributeFactory

pytestmark = pytest.mark.django_db


def test_export_writes_csv_and_xlsx_with_one_row_per_attribute(tmp_path):
    attribute = CustomerTelemetryAttributeFactory(name="sso_enabled")
    plan = attribute.customer_task.adoption_plan

    csv_path = tmp_path / "plan.csv"
    call_command("export_telemetry", plan=plan.pk, out=str(csv_path))
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2
    assert "sso_enabled" in rows[1]

    xlsx_path = tmp_path / "plan.xlsx"
    call_command("export_telemetry", plan=plan.pk, out=str(xlsx_path))
    sheet = openpyxl.load_workbook(xlsx_path).active
    values = [cell.value for cell in sheet[2]]
    assert "sso_enabled" in values


def test_export_refuses_unknown_plan_and_format(tmp_path):
    with pytest.raises(CommandError, match="adoption plan 999999 not found"):
        call_command("export_telemetry", plan=999999, out=str(tmp_path / "x.csv"))
    attribute = CustomerTelemetryAttributeFactory()
    with pytest.raises(CommandError, match="unknown format 'txt'"):
        call_command("export_telemetry", plan=attribute.customer_task.adoption_plan_id, out=str(tmp_path / "x.txt"))
    assert not (tmp_path / "x.txt").exists()
