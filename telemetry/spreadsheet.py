"""Spreadsheet round trip of telemetry values: export a plan's template, import values from it.

Export: a plan's telemetry template as .xlsx or .csv, one row per active attribute: ids, task,
attribute, type, the criterion in words, latest value, observed at, met.

Import: the same columns back (found by header, in any order). Cells are converted to the
attribute's type; blank value cells are skipped; a row equal to the latest stored value with the
same observed time is skipped, so re-uploading an export stores nothing new. A preview lists
row-level errors and the status changes the import would cause (by running the real ingestion in
a transaction that is rolled back); a commit goes through telemetry_ingest like every channel, so
status changes it causes have source TELEMETRY and name the batch in their evidence.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from adoption.models import AdoptionPlan
from config import text
from config.audit.services import audit_record
from config.errors import DomainError, ValidationFailed
from customers.models import Customer
from telemetry import criteria
from telemetry.evaluation import StatusChange
from telemetry.ingestion import (
    MAX_ITEMS,
    customer_id_of,
    parse_observed_at,
    resolve_attribute_references,
)
from telemetry.models import CustomerTelemetryAttribute
from telemetry.selectors import latest_values_by_attribute, plan_attribute_rows
from telemetry.services import IngestResult, telemetry_batch_replay, telemetry_ingest

COLUMNS = [
    "customerAttributeId",
    "adoptionPlanId",
    "taskName",
    "attributeName",
    "dataType",
    "required",
    "criterion",
    "value",
    "observedAt",
    "met",
    "lastSource",
    "notes",
]
# lastSource tells where the latest value came from and is not imported (an edited row is the
# user's value, not the source system's); notes starts blank and is stored with imported values.
# A file of one's own may carry a "source" column, which is used.
MAX_FILE_BYTES = 10 * 1024 * 1024
# Up to MAX_ITEMS rows a file is imported at once, in one transaction; larger files are imported by a
# background job (adoption.jobs) in chunks of IMPORT_CHUNK_ROWS rows, up to LARGE_IMPORT_MAX_ROWS.
LARGE_IMPORT_MAX_ROWS = 100_000
IMPORT_CHUNK_ROWS = 1000
SHEET_TITLE = "Telemetry"
FORMATS = ("xlsx", "csv")


# --- export --------------------------------------------------------------------------------------


def _cell_text(value, data_type: str) -> str:
    """A stored value as text (CSV, and xlsx cells of TIMESTAMP/JSON) that converts back to the same value."""
    if data_type == "BOOLEAN" and isinstance(value, bool):
        return "true" if value else "false"
    if data_type in ("STRING", "TIMESTAMP") and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _template_rows(plan: AdoptionPlan):
    for attribute, latest in plan_attribute_rows(plan):
        yield (
            attribute,
            latest,
            {
                "customerAttributeId": attribute.pk,
                "adoptionPlanId": plan.pk,
                "taskName": attribute.customer_task.name,
                "attributeName": attribute.name,
                "dataType": attribute.data_type,
                "required": attribute.is_required,
                "criterion": criteria.describe(attribute.success_criteria, attribute.name, attribute.data_type),
                "value": latest.value if latest is not None else None,
                "observedAt": latest.observed_at.isoformat() if latest is not None else "",
                "met": attribute.is_met,
                "lastSource": latest.source if latest is not None else "",
                "notes": "",
            },
        )


def telemetry_template_export(*, plan: AdoptionPlan, fmt: str) -> bytes:
    """The plan's telemetry template as .xlsx or .csv bytes (three queries whatever the plan's size)."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r}; use xlsx or csv", field="fmt")
    rows = list(_template_rows(plan))
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for attribute, latest, row in rows:
            out = dict(row)
            out["value"] = _cell_text(row["value"], attribute.data_type) if latest is not None else ""
            out["required"] = "true" if row["required"] else "false"
            out["met"] = "true" if row["met"] else "false"
            writer.writerow([out[c] for c in COLUMNS])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for attribute, latest, row in rows:
        value = row["value"]
        if (
            latest is not None
            and not (attribute.data_type == "BOOLEAN" and isinstance(value, bool))
            and not (
                attribute.data_type == "NUMBER" and isinstance(value, (int, float)) and not isinstance(value, bool)
            )
        ):
            value = _cell_text(value, attribute.data_type)
        sheet.append([row[c] if c != "value" else value for c in COLUMNS])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    widths = {"taskName": 36, "attributeName": 24, "criterion": 40, "value": 28, "observedAt": 32, "notes": 30}
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = widths.get(name, 14)
    sheet.freeze_panes = "A2"
    about = workbook.create_sheet("About")
    for line in (
        [f"Telemetry template of adoption plan {plan.pk}: {plan.product_name}"],
        ["Fill in value (and observedAt, ISO 8601; blank means now), optionally notes, and import the file back."],
        ["Rows with a blank value are skipped; rows equal to the latest stored value are skipped."],
        ["BOOLEAN: true/false/yes/no. TIMESTAMP: ISO 8601 with time zone, or a date. JSON: JSON text."],
    ):
        about.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- reading files --------------------------------------------------------------------------------


def _read_bytes(file) -> bytes:
    if isinstance(file, (bytes, bytearray)):
        data = bytes(file)
    elif hasattr(file, "read"):
        if hasattr(file, "seek"):
            try:
                file.seek(0)
            except (OSError, ValueError):
                pass
        data = file.read(MAX_FILE_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise ValidationFailed("no file was given", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", field="file")
    if not data:
        raise ValidationFailed("the file is empty", field="file")
    return data


def _header_key(text) -> str:
    return "".join(ch for ch in str(text or "").lower() if ch.isalnum())


_HEADER_ALIASES = (
    {_header_key(c): c for c in COLUMNS if c != "lastSource"}
    | {"source": "source"}
    | {
        "attributeid": "customerAttributeId",
        "planid": "adoptionPlanId",
        "task": "taskName",
        "attribute": "attributeName",
        "type": "dataType",
        "observed": "observedAt",
        "latestvalue": "value",
    }
)


def read_table(data: bytes, filename: str, *, max_rows: int = MAX_ITEMS) -> list[tuple[int, dict]]:
    """[(row number as the spreadsheet shows it, {column: cell})] for every non-empty data row."""
    name = (filename or "").lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith((".xlsx", ".xlsm")) or (is_zip and not name.endswith(".csv")):
        raw_rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")) or not name:
        raw_rows = _csv_rows(data)
    else:
        raise ValidationFailed(f"unsupported file type {filename!r}; use .xlsx or .csv", field="file")

    header_at, header = None, None
    for number, cells in raw_rows:
        if any(c not in (None, "") for c in cells):
            header_at, header = number, cells
            break
    if header is None:
        raise ValidationFailed("the file has no header row", field="file")
    columns = [_HEADER_ALIASES.get(_header_key(cell)) for cell in header]
    if "value" not in columns:
        raise ValidationFailed("the header row has no 'value' column", field="file")
    if "customerAttributeId" not in columns and not {"taskName", "attributeName"} <= set(columns):
        raise ValidationFailed(
            "the header row needs a 'customerAttributeId' column, or 'taskName' and 'attributeName' columns",
            field="file",
        )
    table = []
    for number, cells in raw_rows:
        if number <= header_at or all(c in (None, "") for c in cells):
            continue
        row = {}
        for column, cell in zip(columns, cells, strict=False):
            if column and column not in row:
                row[column] = cell.strip() if isinstance(cell, str) else cell
        table.append((number, row))
    if len(table) > max_rows:
        hint = "; larger files are imported as a background job" if max_rows < LARGE_IMPORT_MAX_ROWS else ""
        raise ValidationFailed(f"the file has {len(table)} rows; at most {max_rows} per import{hint}", field="file")
    return table


def _xlsx_rows(data: bytes) -> list[tuple[int, list]]:
    try:
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise ValidationFailed("the file is not a readable .xlsx workbook", field="file") from exc
    except Exception as exc:  # openpyxl raises assorted errors on damaged files
        raise ValidationFailed("the file is not a readable .xlsx workbook", field="file") from exc
    sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
    return [(number, list(cells)) for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)]


def _csv_rows(data: bytes) -> list[tuple[int, list]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the .csv file is not UTF-8 text", field="file") from exc
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        return [
            (number, cells) for number, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1)
        ]
    except csv.Error as exc:
        raise ValidationFailed(f"the .csv file cannot be read: {exc}", field="file") from exc


# --- converting cells ---------------------------------------------------------------------------


def _received(cell) -> str:
    if isinstance(cell, bool):
        return f"boolean {'true' if cell else 'false'}"
    if isinstance(cell, (int, float)):
        return f"number {cell}"
    if isinstance(cell, (datetime, date)):
        return f"date {cell.isoformat()}"
    text = str(cell)
    return f"text {text if len(text) <= 40 else text[:39] + '…'!r}"


def _number(cell):
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        number = cell
    else:
        try:
            number = int(cell) if str(cell).lstrip("+-").isdigit() else float(str(cell))
        except (TypeError, ValueError):
            return None
    if isinstance(number, float):
        if not math.isfinite(number):
            return None
        if number.is_integer() and abs(number) < 2**53:
            number = int(number)
    return number


def convert_cell(cell, data_type: str):
    """(value, None) or (None, message) for a non-blank cell and an attribute type."""
    value = _MISSING
    if data_type == "BOOLEAN":
        if isinstance(cell, bool):
            value = cell
        elif isinstance(cell, str) and cell.lower() in ("true", "yes", "false", "no"):
            value = cell.lower() in ("true", "yes")
    elif data_type == "NUMBER":
        number = _number(cell)
        value = _MISSING if number is None else number
    elif data_type == "STRING":
        if isinstance(cell, str):
            value = cell
        elif isinstance(cell, bool):
            value = "true" if cell else "false"
        elif isinstance(cell, (int, float)):
            number = _number(cell)
            value = str(number if number is not None else cell)
        elif isinstance(cell, (datetime, date)):
            value = cell.isoformat()
    elif data_type == "TIMESTAMP":
        if isinstance(cell, datetime):
            if cell.tzinfo is None:  # Excel keeps no time zone: a spreadsheet date-time is taken as UTC
                value = cell.date().isoformat() if cell.time() == time() else cell.replace(tzinfo=UTC).isoformat()
            else:
                value = cell.isoformat()
        elif isinstance(cell, date):
            value = cell.isoformat()
        elif isinstance(cell, str):
            value = cell
    elif data_type == "JSON":
        if isinstance(cell, str):
            try:
                value = json.loads(cell)
            except ValueError:
                return None, f"expected JSON text, got {_received(cell)}"
        elif isinstance(cell, bool):
            value = cell
        elif isinstance(cell, (int, float)):
            value = _number(cell)
            value = _MISSING if value is None else value
    if value is _MISSING:
        return None, f"expected {data_type}, got {_received(cell)}"
    problem = criteria.validate_value(value, data_type) or text.telemetry_value_problem(value)
    if problem:
        return None, problem
    return value, None


_MISSING = object()


def _same_value(a, b) -> bool:
    """JSON equality where booleans are not numbers and 1 == 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# --- preview and commit ---------------------------------------------------------------------------


@dataclass
class ImportRow:
    row: int
    attribute: CustomerTelemetryAttribute
    value: object
    observed_at: str | None
    item: dict
    index: int = 0  # position among the file's data rows: large imports are chunked by it

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "customerAttributeId": str(self.attribute.pk),
            "taskName": self.attribute.customer_task.name,
            "attributeName": self.attribute.name,
            "value": self.value,
            "observedAt": self.observed_at,
        }


@dataclass
class ImportPreview:
    filename: str
    rows_read: int
    to_store: list[ImportRow] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {row, reason}
    errors: list[dict] = field(default_factory=list)  # {row, field, message}
    status_changes: list[StatusChange] = field(default_factory=list)
    batch_id: str = ""
    customer_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "filename": self.filename,
            "batchId": self.batch_id,
            "rowsRead": self.rows_read,
            "ok": self.ok,
            "toStore": [r.as_dict() for r in self.to_store],
            "skipped": self.skipped,
            "errors": self.errors,
            "statusChanges": [c.as_dict() for c in self.status_changes],
        }


@dataclass
class ImportResult:
    preview: ImportPreview
    ingest: IngestResult | None

    @property
    def stored(self) -> int:
        return len(self.ingest.value_ids) if self.ingest else 0

    @property
    def status_changes(self) -> list[StatusChange]:
        return self.ingest.status_changes if self.ingest else []

    def as_dict(self) -> dict:
        return {
            "filename": self.preview.filename,
            "batchId": self.ingest.batch_id if self.ingest else None,
            "rowsRead": self.preview.rows_read,
            "stored": self.stored,
            "skipped": self.preview.skipped,
            "statusChanges": [c.as_dict() for c in self.status_changes],
        }


def _scope_of(scope) -> tuple[int | None, int | None]:
    """(customer id, plan id) the import is limited to; (None, None) for no limit (admin shell)."""
    if scope is None:
        return None, None
    if isinstance(scope, AdoptionPlan):
        return scope.customer_product.customer_id, scope.pk
    if isinstance(scope, Customer):
        return scope.pk, None
    raise TypeError("plan_or_customer_scope must be an AdoptionPlan, a Customer or None")


def _prepare(scope, data: bytes, filename: str, progress=None, *, max_rows: int = MAX_ITEMS) -> ImportPreview:
    customer_id, plan_id = _scope_of(scope)
    table = read_table(data, filename, max_rows=max_rows)
    preview = ImportPreview(filename=filename or "", rows_read=len(table))
    now = timezone.now()

    candidates: list[tuple[int, dict]] = []
    positions: list[int] = []
    references: list[dict] = []
    for position, (number, row) in enumerate(table):
        cell = row.get("value")
        if cell is None or (isinstance(cell, str) and not cell):
            preview.skipped.append({"row": number, "reason": "blank value"})
            continue
        ref = {"customerAttributeId": row.get("customerAttributeId")}
        if isinstance(ref["customerAttributeId"], float) and ref["customerAttributeId"].is_integer():
            ref["customerAttributeId"] = int(ref["customerAttributeId"])
        if ref["customerAttributeId"] in (None, ""):
            plan_ref = row.get("adoptionPlanId")
            if plan_ref in (None, "") and plan_id is not None:
                plan_ref = plan_id
            if isinstance(plan_ref, float) and plan_ref.is_integer():
                plan_ref = int(plan_ref)
            ref = {
                "adoptionPlanId": plan_ref,
                "taskName": row.get("taskName"),
                "attributeName": row.get("attributeName"),
            }
        candidates.append((number, row))
        positions.append(position)
        references.append(ref)

    attributes, ref_errors = resolve_attribute_references(
        references, customer_id=customer_id, id_field="customerAttributeId"
    )
    for error in ref_errors:
        preview.errors.append({"row": candidates[error.index][0], "field": error.field, "message": error.message})
    errored = {e.index for e in ref_errors}
    if plan_id is not None:
        for index, attribute in enumerate(attributes):
            if attribute is not None and attribute.customer_task.adoption_plan_id != plan_id:
                preview.errors.append(
                    {
                        "row": candidates[index][0],
                        "field": "customerAttributeId",
                        "message": f"customer telemetry attribute {attribute.pk} is not in adoption plan {plan_id}",
                    }
                )
                errored.add(index)

    latest = latest_values_by_attribute(a.pk for a in attributes if a is not None)
    customers = {customer_id_of(a) for a in attributes if a is not None}
    preview.customer_id = next(iter(customers)) if len(customers) == 1 else customer_id
    for index, ((number, row), attribute) in enumerate(zip(candidates, attributes, strict=True)):
        if progress and index % 100 == 0:
            progress(len(table) - len(candidates) + index, len(table))
        if attribute is None or index in errored:
            continue
        value, problem = convert_cell(row["value"], attribute.data_type)
        if problem:
            preview.errors.append(
                {
                    "row": number,
                    "field": "value",
                    "message": f"attribute {attribute.name!r} of task {attribute.customer_task.name!r}: {problem}",
                }
            )
            continue
        observed_cell = row.get("observedAt")
        observed_at = None
        if observed_cell not in (None, ""):
            moment, problem = parse_observed_at(observed_cell, now=now)
            if problem:
                preview.errors.append({"row": number, "field": "observedAt", "message": problem})
                continue
            observed_at = moment.isoformat()
            stored = latest.get(attribute.pk)
            if stored is not None and stored.observed_at == moment and _same_value(stored.value, value):
                preview.skipped.append({"row": number, "reason": "same as the latest stored value"})
                continue
        item = {"customerAttributeId": attribute.pk, "value": value}
        if observed_at:
            item["observedAt"] = observed_at
        item["source"] = row["source"] if isinstance(row.get("source"), str) and row.get("source") else "import"
        if isinstance(row.get("notes"), str) and row["notes"]:
            item["notes"] = row["notes"]
        preview.to_store.append(ImportRow(number, attribute, value, observed_at, item, positions[index]))
    if progress:
        progress(len(table), len(table))
    if len(customers) > 1:
        preview.errors.append(
            {
                "row": None,
                "field": "file",
                "message": "the rows belong to several customers; import one customer's telemetry per file",
            }
        )
    preview.errors.sort(key=lambda e: (e["row"] or 0, e["field"]))
    preview.skipped.sort(key=lambda s: s["row"])
    return preview


def _row_errors(error: DomainError, rows: list[ImportRow]) -> list[dict]:
    details = error.details if isinstance(error.details, list) else []
    mapped = []
    for detail in details:
        index = detail.get("index")
        row = rows[index].row if isinstance(index, int) and 0 <= index < len(rows) else None
        mapped.append({"row": row, "field": detail.get("field", ""), "message": detail.get("message", "")})
    return mapped or [{"row": None, "field": error.field or "file", "message": error.message}]


class _DryRun(Exception):
    def __init__(self, result: IngestResult):
        super().__init__("dry run")
        self.result = result


def _ingest(actor, preview: ImportPreview, scope, batch_id: str, content_key: str) -> IngestResult:
    customer_id, _ = _scope_of(scope)
    return telemetry_ingest(
        actor=actor,
        items=[r.item for r in preview.to_store],
        batch_id=batch_id,
        allowed_customer_ids={customer_id} if customer_id is not None else None,
        channel="import",
        content_key=content_key,
    )


def _file_key(data: bytes, scope) -> str:
    """Replay fingerprint of an import: the file and the scope, not the items (which shrink once
    the file's values are stored, since rows equal to the latest value are skipped)."""
    customer_id, plan_id = _scope_of(scope)
    return hashlib.sha256(f"import:{customer_id}:{plan_id}:".encode() + data).hexdigest()


def telemetry_import_preview(*, actor, plan_or_customer_scope, file, filename: str, progress=None) -> ImportPreview:
    """What importing this file would do, without changing anything: rows to store, rows skipped,
    row-level errors, and the status changes it would cause (the real ingestion, rolled back)."""
    data = _read_bytes(file)
    preview = _prepare(plan_or_customer_scope, data, filename, progress)
    preview.batch_id = f"import-{uuid.uuid4().hex}"
    if preview.ok and preview.to_store:
        try:
            with transaction.atomic():
                raise _DryRun(
                    _ingest(
                        actor,
                        preview,
                        plan_or_customer_scope,
                        preview.batch_id,
                        _file_key(data, plan_or_customer_scope),
                    )
                )
        except _DryRun as dry:
            preview.status_changes = dry.result.status_changes
        except DomainError as error:
            preview.errors.extend(_row_errors(error, preview.to_store))
    return preview


def telemetry_import_commit(
    *, actor, plan_or_customer_scope, file, filename: str, batch_id: str | None = None, progress=None
) -> ImportResult:
    """Import the file: all rows or none. Row-level errors raise VALIDATION_ERROR with `details`
    [{row, field, message}] and store nothing. Pass the preview's batch_id to make a repeated
    commit of the same preview a replay."""
    data = _read_bytes(file)
    key = _file_key(data, plan_or_customer_scope)
    preview = _prepare(plan_or_customer_scope, data, filename, progress)
    preview.batch_id = batch_id or f"import-{uuid.uuid4().hex}"
    if not preview.ok:
        _raise_rows(preview.errors)
    if batch_id and preview.customer_id is not None:
        # The same preview committed twice (a double click, a retry): answer as the first time.
        replay = telemetry_batch_replay(customer_id=preview.customer_id, batch_id=batch_id, content_key=key)
        if replay is not None:
            preview.status_changes = replay.status_changes
            return ImportResult(preview=preview, ingest=replay)
    if not preview.to_store:
        return ImportResult(preview=preview, ingest=None)
    with transaction.atomic():
        try:
            result = _ingest(actor, preview, plan_or_customer_scope, preview.batch_id, key)
        except DomainError as error:
            _raise_rows(_row_errors(error, preview.to_store), cls=type(error))
        preview.status_changes = result.status_changes
        customer_id = customer_id_of(preview.to_store[0].attribute)
        audit_record(
            actor=actor,
            action="telemetry.import",
            object_type="telemetry_batch",
            object_id=preview.batch_id,
            customer_id=customer_id,
            summary=f"Imported {len(result.value_ids)} telemetry values from {filename or 'a file'}",
            details={
                "filename": filename,
                "rowsRead": preview.rows_read,
                "stored": len(result.value_ids),
                "skipped": len(preview.skipped),
                "statusChanges": len(result.status_changes),
                "replayed": result.replayed,
            },
        )
    return ImportResult(preview=preview, ingest=result)


def _raise_rows(errors: list[dict], cls=ValidationFailed):
    first = errors[0]
    where = f"row {first['row']}" if first["row"] else "file"
    bad_rows = sorted({e["row"] for e in errors if e["row"]})
    raise cls(
        f"{len(bad_rows) or 1} row(s) have errors ({where}: {first['message']}); nothing was stored",
        field="file",
        details=errors,
    )


# --- large files: a background job, chunk by chunk ----------------------------------------------------


def count_rows(*, file, filename: str) -> int:
    """Data rows of a file (up to LARGE_IMPORT_MAX_ROWS): decides between an inline import and a job."""
    return len(read_table(_read_bytes(file), filename, max_rows=LARGE_IMPORT_MAX_ROWS))


def _chunk_key(file_key: str, chunk: int) -> str:
    return hashlib.sha256(f"{file_key}:chunk:{chunk}".encode()).hexdigest()


def telemetry_import_commit_in_chunks(
    *,
    actor,
    plan_or_customer_scope,
    file,
    filename: str,
    batch_id: str,
    chunk_rows: int = IMPORT_CHUNK_ROWS,
    progress=None,
) -> dict:
    """Import a large file (up to LARGE_IMPORT_MAX_ROWS rows) chunk by chunk; for background jobs.

    The whole file is checked first: any bad row raises VALIDATION_ERROR with the row-level `details`
    and stores nothing. Then every `chunk_rows` rows of the file are one ingestion, committed on its
    own (no transaction spans the import), with the batch id `<batch_id>-<chunk number>`, and
    `progress(rows done, rows)` is called after each commit. Chunks are cut by position in the file
    and fingerprinted by the file, so running the import again after a failure (a retried job)
    answers the chunks already stored as replays and stores only the rest.
    """
    if chunk_rows < 1:
        raise ValidationFailed("chunk_rows must be at least 1", field="chunk_rows")
    data = _read_bytes(file)
    key = _file_key(data, plan_or_customer_scope)
    preview = _prepare(plan_or_customer_scope, data, filename, max_rows=LARGE_IMPORT_MAX_ROWS)
    if not preview.ok:
        _raise_rows(preview.errors)
    chunks: dict[int, list[ImportRow]] = {}
    for row in preview.to_store:
        chunks.setdefault(row.index // chunk_rows, []).append(row)
    chunk_count = -(-preview.rows_read // chunk_rows)
    stored = replayed = changes = 0
    for chunk in range(chunk_count):
        rows = chunks.get(chunk, [])
        if rows:
            chunk_preview = ImportPreview(filename=preview.filename, rows_read=len(rows), to_store=rows)
            try:
                result = _ingest(
                    actor, chunk_preview, plan_or_customer_scope, f"{batch_id}-{chunk + 1}", _chunk_key(key, chunk)
                )
            except DomainError as error:
                _raise_rows(_row_errors(error, rows), cls=type(error))
            if result.replayed:
                replayed += len(result.value_ids)
            else:
                stored += len(result.value_ids)
            changes += len(result.status_changes)
        if progress:
            progress(min((chunk + 1) * chunk_rows, preview.rows_read), preview.rows_read)
    summary = {
        "filename": filename,
        "batchId": batch_id,
        "rowsRead": preview.rows_read,
        "stored": stored + replayed,
        "skipped": len(preview.skipped),
        "statusChanges": changes,
        "chunks": chunk_count,
    }
    if preview.to_store:
        audit_record(
            actor=actor,
            action="telemetry.import",
            object_type="telemetry_batch",
            object_id=batch_id,
            customer_id=customer_id_of(preview.to_store[0].attribute),
            summary=f"Imported {stored + replayed} telemetry values from {filename or 'a file'} in {chunk_count} chunks",
            details={**summary, "storedBefore": replayed},
        )
    return summary
