"""The operator table of docs/domain.md is true: every example criterion validates for its data
type, meets its "met by" value and does not meet its "not met by" value (within_days evaluated on
2026-11-30 at noon UTC, as the page says)."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from telemetry import criteria

DOC = Path(settings.BASE_DIR) / "docs" / "domain.md"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def operator_rows() -> list[dict]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip().replace("\\|", "|") for cell in CELL_SPLIT.split(line)[1:-1]]
        if len(cells) != 5 or cells[0] not in criteria.DATA_TYPES:
            continue
        data_type, op, criterion, met, not_met = cells
        rows.append(
            {
                "data_type": data_type,
                "op": op.strip("`"),
                "criterion": json.loads(criterion.strip("`")),
                "met": json.loads(met.strip("`")),
                "not_met": None if not_met == "—" else json.loads(not_met.strip("`")),
            }
        )
    return rows


def test_the_table_shows_every_operator_of_every_data_type():
    rows = operator_rows()
    shown = {(row["data_type"], row["op"]) for row in rows}

    for data_type, ops in criteria.OPS_BY_TYPE.items():
        for op in ops:
            assert (data_type, op) in shown, f"docs/domain.md has no example of {op} for {data_type}"
    assert {row["op"] for row in rows} >= {"all", "any", "not"}


def test_every_example_criterion_validates_and_decides_as_the_table_says():
    for row in operator_rows():
        data_type, criterion = row["data_type"], row["criterion"]
        assert criterion.get("op", next(iter(criterion))) == row["op"], row  # the op column names the example's op
        assert criteria.validate_criterion(criterion, data_type) == [], row
        assert criteria.validate_value(row["met"], data_type) is None, row
        assert criteria.evaluate(criterion, data_type, row["met"], now=NOW) is True, row
        if row["not_met"] is not None:
            assert criteria.validate_value(row["not_met"], data_type) is None, row
            assert criteria.evaluate(criterion, data_type, row["not_met"], now=NOW) is False, row
