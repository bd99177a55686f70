"""Set-based statements for ingestion and evaluation: one statement per call, linear in the number of rows.

Each function is one statement with two implementations of the same logic. On PostgreSQL the rows
travel as one parameter, a JSON array of rows, and the statement reads them with
`jsonb_array_elements`: a multi-row INSERT ... SELECT, or an UPDATE ... FROM (the rows) joined on
the id. The SQL text and its single parameter stay the same whatever the number of rows (no CASE
per row and field, no per-row placeholders, no parameter limit), and the rows are encoded by
json.dumps in C rather than quoted one by one by the driver. SQLite runs the same UPDATE ... FROM
over `json_each`, and bulk_create for the INSERTs (it needs the new ids back).

The two reads of ingestion and evaluation live here too (`task_rows_for_update`, which locks the
tasks, and `attribute_rows_of_locked_tasks`): they answer plain tuples, not model instances, since
they read thousands of rows per batch.

Nothing here validates: callers pass rows they have checked, inside their transaction, after taking
the row locks in the shared order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model
from django.db.models.expressions import RawSQL

from adoption.models import AdoptionPlan, CustomerTask
from customers.models import CustomerProduct
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _cast(field, element: str) -> str:
    """SQL reading one column of a row from its JSON array element `element`."""
    if isinstance(field, JSONField):
        return f"({element})::jsonb"
    text = element.replace("->", "->>", 1)
    if field.get_internal_type() in ("CharField", "TextField"):
        # Plain text: the column's own length check applies (a cast to varchar(n) would truncate).
        return text
    return f"({text})::{field.db_type(connection)}"


def _json_rows(rows: list[tuple]) -> str:
    """The rows as one JSON document: an array of arrays. Timestamps (datetime or already ISO 8601
    text) keep their microseconds, JSON values are embedded as they are."""
    written: dict[datetime, str] = {}  # rows repeat their timestamps (now, above all): each written once

    def iso(value):  # what JSON has no type for
        if isinstance(value, datetime):
            text = written.get(value)
            if text is None:
                text = written[value] = value.isoformat()
            return text
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(rows, separators=(",", ":"), default=iso)


def _sqlite_rows(width: int) -> str:
    """SQLite: the rows of a JSON array of [id, c0, c1, ...] arrays (one parameter) as a table."""
    columns = ", ".join(f"json_extract(r.value, '$[{i + 1}]') AS c{i}" for i in range(width))
    return f"SELECT json_extract(r.value, '$[0]') AS id, {columns} FROM json_each(%s) AS r"


def insert_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: list[tuple],
    *,
    constants: dict[str, Any] | None = None,
    stored_json: str | None = None,
) -> list:
    """INSERT the rows (one tuple of values per row, in `fields` order) and return their new ids, in order.

    Fields must be concrete columns (an attname like "customer_task_id" for a foreign key); defaults
    are not applied, so pass every value. `constants` ({field: value}) are the same in every row and
    travel once. With `stored_json` (a JSON field), each answer is (id, that column as the database
    stores it, as JSON text): what reading the row back would decode, without reading it back.
    """
    if not rows:
        return []
    meta = model._meta
    constants = constants or {}
    columns = [meta.get_field(name) for name in fields]
    fixed = [meta.get_field(name) for name in constants]
    if not _is_postgresql():
        shared = {f.attname: v for f, v in zip(fixed, constants.values(), strict=True)}
        objects = model.objects.bulk_create(
            [model(**{f.attname: v for f, v in zip(columns, row, strict=True)}, **shared) for row in rows]
        )
        if stored_json is None:
            return [obj.pk for obj in objects]
        field = meta.get_field(stored_json)
        return [(obj.pk, field.get_db_prep_value(getattr(obj, field.attname), connection)) for obj in objects]
    quote = connection.ops.quote_name
    selected = [_cast(field, f"r.e->{i}") for i, field in enumerate(columns)]
    params = []
    for field, value in zip(fixed, constants.values(), strict=True):
        if isinstance(field, JSONField):
            selected.append("%s::jsonb")
            params.append(json.dumps(value))
        elif field.get_internal_type() in ("CharField", "TextField"):
            selected.append("%s")
            params.append(value)
        else:
            selected.append(f"%s::{field.db_type(connection)}")
            params.append(value)
    returning = quote(meta.pk.column)
    if stored_json is not None:
        returning += f", {quote(meta.get_field(stored_json).column)}::text"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in [*columns, *fixed])}) "
        f"SELECT {', '.join(selected)} FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(e, ord) "
        f"ORDER BY r.ord RETURNING {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _json_rows(rows)])
        answer = cursor.fetchall()
    return answer if stored_json is not None else [row[0] for row in answer]


def insert_row_unless_exists(model: type[Model], values: dict[str, Any], *, unique: Sequence[str]) -> int | None:
    """INSERT one row ({field: value}, every column) and return its id; None, inserting nothing, when a
    row with the same `unique` fields (a unique constraint) exists.

    One statement (INSERT ... ON CONFLICT DO NOTHING): no savepoint to recover from a unique violation.
    A row with those fields that a concurrent transaction inserted but has not committed yet is waited
    for: if that transaction commits, the answer is None; if it rolls back, this row is inserted.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in values]
    conflict = ", ".join(quote(meta.get_field(name).column) for name in unique)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({conflict}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(v, connection) for f, v in zip(fields, values.values(), strict=True)])
        row = cursor.fetchone()
    return None if row is None else row[0]


def update_rows(
    model: type[Model], fields: Sequence[str], rows: list[tuple], *, constants: dict[str, Any] | None = None
) -> None:
    """UPDATE each row (pk, *values in `fields` order) to its own values, in one statement.

    `constants` ({field: value}) are set on every row alike and travel once."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    fixed = [(meta.get_field(name), value) for name, value in (constants or {}).items()]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    assignments = [f"{quote(f.column)} = v.c{i}" for i, f in enumerate(columns)]
    assignments += [f"{quote(f.column)} = %s" for f, _ in fixed]
    params = [f.get_db_prep_save(value, connection) for f, value in fixed]
    if not _is_postgresql():
        # SQLite (3.33+) has UPDATE ... FROM too; values as Django stores them (timestamps as text).
        prepared = [
            (row[0], *(f.get_db_prep_save(v, connection) for f, v in zip(columns, row[1:], strict=True)))
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {', '.join(assignments)} FROM ({_sqlite_rows(len(columns))}) AS v "
                f"WHERE {table}.{pk} = v.id",
                [*params, json.dumps(prepared)],
            )
        return
    selected = ", ".join(
        ["(r.e->>0)::bigint AS id", *(f"{_cast(field, f'r.e->{i + 1}')} AS c{i}" for i, field in enumerate(columns))]
    )
    sql = (
        f"UPDATE {table} AS t SET {', '.join(assignments)} "
        f"FROM (SELECT {selected} FROM jsonb_array_elements(%s::jsonb) AS r(e)) AS v WHERE t.{pk} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _json_rows(rows)])


def attributes_record(rows: list[tuple[int, bool | None, datetime | str | None]], *, checked_at: datetime) -> None:
    """One UPDATE of attribute rows (pk, is_met, seen): what evaluation found and, for attributes that
    just received values, the observedAt of the newest one (a datetime or its ISO 8601 text).

    An attribute with is_met (evaluated) gets it and last_checked_at = `checked_at`; with None (a value
    but nothing evaluated, an inactive attribute say) both stay as stored. last_seen_at becomes the
    later of the stored value and `seen`, the maximum taken in the database: a later value stored by a
    concurrent ingestion is never undone.
    """
    if not rows:
        return
    meta = CustomerTelemetryAttribute._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    met, checked, seen = (quote(meta.get_field(name).column) for name in ("is_met", "last_checked_at", "last_seen_at"))
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute(
                f"UPDATE {table} AS t SET {met} = COALESCE(v.met, t.{met}), "
                f"{checked} = CASE WHEN v.met IS NULL THEN t.{checked} ELSE %s::timestamptz END, "
                f"{seen} = GREATEST(t.{seen}, v.seen) "
                "FROM (SELECT (r.e->>0)::bigint AS id, (r.e->>1)::boolean AS met, (r.e->>2)::timestamptz AS seen "
                f"FROM jsonb_array_elements(%s::jsonb) AS r(e)) AS v WHERE t.{pk} = v.id",
                [checked_at, _json_rows(rows)],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(
                f"UPDATE {table} SET {met} = COALESCE(v.c0, {met}), "
                f"{checked} = CASE WHEN v.c0 IS NULL THEN {checked} ELSE %s END, "
                f"{seen} = CASE WHEN v.c1 IS NULL THEN {seen} WHEN {seen} IS NULL OR {seen} < v.c1 THEN v.c1 "
                f"ELSE {seen} END FROM ({_sqlite_rows(2)}) AS v WHERE {table}.{pk} = v.id",
                [
                    adapt(checked_at),
                    json.dumps(
                        [(p, m, adapt(datetime.fromisoformat(s) if isinstance(s, str) else s)) for p, m, s in rows]
                    ),
                ],
            )


def id_set(ids: Iterable[int]) -> RawSQL:
    """A set of ids for `pk__in=` as one parameter (a JSON array) instead of one placeholder per id.

    The statement's text is the same for 10 ids and for 5,000: nothing to build, quote or parse per id.
    """
    document = json.dumps([int(pk) for pk in ids])
    if _is_postgresql():
        return RawSQL("SELECT value::bigint FROM jsonb_array_elements_text(%s::jsonb)", [document])
    return RawSQL("SELECT value FROM json_each(%s)", [document])


# --- the locking reads ----------------------------------------------------------------------------------

# Columns of task_rows_for_update, in order: the task's, then its customer's id.
TASK_ROW = (
    "id",
    "adoption_plan_id",
    "name",
    "status",
    "status_update_source",
    "telemetry_status",
    "completed_at",
    "completed_by",
    "customer_id",
)
# Columns of attribute_rows_of_locked_tasks, in order: the attribute's, then its latest value's (None
# without one; read for active attributes only), with the criterion and the value as JSON text.
ATTRIBUTE_ROW = (
    "id",
    "customer_task_id",
    "name",
    "data_type",
    "is_required",
    "success_criteria",
    "order",
    "is_active",
    "latest_id",
    "latest_observed_at",
    "latest_value",
)


def _fetch(sql: str, params: list, moments: Sequence[int], booleans: Sequence[int] = ()) -> list[tuple]:
    """Run a SELECT and answer its rows as tuples, timestamps (columns `moments`) as aware datetimes.

    PostgreSQL answers them so (with the connection's timestamp loader, see config.timestamps); SQLite
    answers text and 0/1, converted as Django's own converters do."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows or _is_postgresql():
        return rows
    convert = connection.ops.convert_datetimefield_value
    fixed = []
    for row in rows:
        row = list(row)
        for i in moments:
            if row[i] is not None:
                row[i] = convert(row[i], None, connection)
        for i in booleans:
            row[i] = bool(row[i])
        fixed.append(tuple(row))
    return fixed


def _ids() -> str:
    """The ids of a JSON array parameter, as a subquery's select list and FROM."""
    if _is_postgresql():
        return "value::bigint FROM jsonb_array_elements_text(%s::jsonb)"
    return "value FROM json_each(%s)"


def _in_ids(column: str) -> str:
    return f"{column} IN (SELECT {_ids()})"


def task_rows_for_update(
    task_ids: Iterable[int] = (), *, of_attributes: Iterable[int] = (), customer_ids: Iterable[int] | None = None
) -> list[tuple]:
    """Lock the customer tasks (FOR UPDATE, in id order) and answer their TASK_ROW columns, by id.

    The tasks are `task_ids` and the tasks of the attributes `of_attributes`, those of the customers
    `customer_ids` only (None: any customer); the others are neither locked nor answered.
    """
    quote = connection.ops.quote_name
    tasks = quote(CustomerTask._meta.db_table)
    plans = quote(AdoptionPlan._meta.db_table)
    assignments = quote(CustomerProduct._meta.db_table)
    attributes = quote(CustomerTelemetryAttribute._meta.db_table)
    columns = ", ".join([*(f"t.{quote(c)}" for c in TASK_ROW[:-1]), "cp.customer_id"])
    wanted = f"SELECT {_ids()} UNION SELECT a.customer_task_id FROM {attributes} a WHERE a.id IN (SELECT {_ids()})"
    params = [json.dumps(sorted({int(pk) for pk in task_ids})), json.dumps(sorted({int(pk) for pk in of_attributes}))]
    scope = ""
    if customer_ids is not None:
        scope = f" AND cp.customer_id IN (SELECT {_ids()})"
        params.append(json.dumps(sorted({int(pk) for pk in customer_ids})))
    sql = (
        f"SELECT {columns} FROM {tasks} t JOIN {plans} p ON p.id = t.adoption_plan_id "
        f"JOIN {assignments} cp ON cp.id = p.customer_product_id WHERE t.id IN ({wanted}){scope} ORDER BY t.id"
        + (" FOR UPDATE OF t" if _is_postgresql() else "")
    )
    return _fetch(sql, params, moments=[TASK_ROW.index("completed_at")])


def attribute_rows_of_locked_tasks(task_ids: Iterable[int]) -> list[tuple]:
    """Every attribute of the tasks, whose row locks the caller holds, with their ATTRIBUTE_ROW columns,
    by id, each active one with its latest value ("latest" = greatest observedAt, then greatest id),
    found by one index lookup per attribute in the same statement.

    The attribute rows are read without a row lock of their own: every writer of an attribute row or
    of a value (ingestion, evaluation, sync, deletion) holds its task's row lock first, so while the
    caller holds the tasks' locks no one else changes these rows or stores a value for them. A lock
    per attribute row would cost a write of each row (and a WAL record) that the evaluation's UPDATE
    of the same rows writes again a moment later; that UPDATE takes their row locks, after the tasks'.
    """
    quote = connection.ops.quote_name
    attributes = quote(CustomerTelemetryAttribute._meta.db_table)
    values = quote(CustomerTelemetryValue._meta.db_table)
    own = ", ".join(
        f"a.{quote(c)}::text" if c == "success_criteria" and _is_postgresql() else f"a.{quote(c)}"
        for c in ATTRIBUTE_ROW[:8]
    )
    newest = (
        f"FROM {values} u WHERE u.customer_attribute_id = a.id AND a.is_active "
        "ORDER BY u.observed_at DESC, u.id DESC LIMIT 1"
    )
    if _is_postgresql():
        sql = (
            f"SELECT {own}, v.id, v.observed_at, v.value::text FROM {attributes} a "
            f"LEFT JOIN LATERAL (SELECT u.id, u.observed_at, u.value {newest}) v ON TRUE "
            f"WHERE {_in_ids('a.customer_task_id')} ORDER BY a.id"
        )
    else:
        sql = (
            f"SELECT {own}, v.id, v.observed_at, v.value FROM {attributes} a "
            f"LEFT JOIN {values} v ON v.id = (SELECT u.id {newest}) "
            f"WHERE {_in_ids('a.customer_task_id')} ORDER BY a.id"
        )
    return _fetch(
        sql,
        [json.dumps(sorted({int(pk) for pk in task_ids}))],
        moments=[ATTRIBUTE_ROW.index("latest_observed_at")],
        booleans=[ATTRIBUTE_ROW.index("is_required"), ATTRIBUTE_ROW.index("is_active")],
    )
