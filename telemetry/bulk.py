"""Set-based writes for ingestion and evaluation: one statement per call, linear in the number of rows.

Each function is one statement with two implementations of the same logic. On PostgreSQL the rows
travel as one parameter, a JSON array of rows, and the statement reads them with
`jsonb_array_elements`: a multi-row INSERT ... SELECT, or an UPDATE ... FROM (the rows) joined on
the id. The SQL text and its single parameter stay the same whatever the number of rows (no CASE
per row and field, no per-row placeholders, no parameter limit), and the rows are encoded by
json.dumps in C rather than quoted one by one by the driver. SQLite runs the same UPDATE ... FROM
over `json_each`, and bulk_create for the INSERTs (it needs the new ids back).

Nothing here validates: callers pass rows they have checked, inside their transaction, after taking
the row locks in the shared order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.db.models import JSONField, Model
from django.db.models.expressions import RawSQL

from telemetry.models import CustomerTelemetryAttribute


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


def _json_rows(columns, rows: list[tuple]) -> str:
    """The rows as one JSON document: an array of arrays. Timestamps keep their microseconds (isoformat),
    JSON values are embedded as they are."""
    moments = [i for i, field in enumerate(columns) if field.get_internal_type() == "DateTimeField"]
    if moments:
        rows = [
            tuple(v.isoformat() if i in moments and v is not None else v for i, v in enumerate(row)) for row in rows
        ]
    return json.dumps(rows, separators=(",", ":"))


def _sqlite_rows(width: int) -> str:
    """SQLite: the rows of a JSON array of [id, c0, c1, ...] arrays (one parameter) as a table."""
    columns = ", ".join(f"json_extract(r.value, '$[{i + 1}]') AS c{i}" for i in range(width))
    return f"SELECT json_extract(r.value, '$[0]') AS id, {columns} FROM json_each(%s) AS r"


def insert_rows(model: type[Model], fields: Sequence[str], rows: list[tuple]) -> list[int]:
    """INSERT the rows (one tuple of values per row, in `fields` order) and return their new ids, in order.

    Fields must be concrete columns (an attname like "customer_task_id" for a foreign key); defaults
    are not applied, so pass every value.
    """
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if not _is_postgresql():
        objects = model.objects.bulk_create(
            [model(**{f.attname: v for f, v in zip(columns, row, strict=True)}) for row in rows]
        )
        return [obj.pk for obj in objects]
    quote = connection.ops.quote_name
    selected = ", ".join(_cast(field, f"r.e->{i}") for i, field in enumerate(columns))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
        f"SELECT {selected} FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(e, ord) "
        f"ORDER BY r.ord RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json_rows(columns, rows)])
        return [row[0] for row in cursor.fetchall()]


def update_rows(model: type[Model], fields: Sequence[str], rows: list[tuple]) -> None:
    """UPDATE each row (pk, *values in `fields` order) to its own values, in one statement."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    if not _is_postgresql():
        # SQLite (3.33+) has UPDATE ... FROM too; values as Django stores them (timestamps as text).
        assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(columns))
        prepared = [
            (row[0], *(f.get_db_prep_save(v, connection) for f, v in zip(columns, row[1:], strict=True)))
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM ({_sqlite_rows(len(columns))}) AS v WHERE {table}.{pk} = v.id",
                [json.dumps(prepared)],
            )
        return
    assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(columns))
    selected = ", ".join(
        ["(r.e->>0)::bigint AS id", *(f"{_cast(field, f'r.e->{i + 1}')} AS c{i}" for i, field in enumerate(columns))]
    )
    sql = (
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM (SELECT {selected} FROM jsonb_array_elements(%s::jsonb) AS r(e)) AS v WHERE t.{pk} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json_rows([meta.pk, *columns], rows)])


def attributes_record(rows: list[tuple[int, bool | None, datetime | None, datetime | None]]) -> None:
    """One UPDATE of attribute rows (pk, is_met, last_checked_at, seen): what evaluation found and, for
    attributes that just received values, the observedAt of the newest one.

    None leaves is_met or last_checked_at as stored (an attribute with a value but nothing evaluated,
    an inactive one say). last_seen_at becomes the later of the stored value and `seen`, the maximum
    taken in the database: a later value stored by a concurrent ingestion is never undone.
    """
    if not rows:
        return
    meta = CustomerTelemetryAttribute._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    met, checked, seen = (quote(meta.get_field(name).column) for name in ("is_met", "last_checked_at", "last_seen_at"))
    with connection.cursor() as cursor:
        if _is_postgresql():
            document = json.dumps(
                [(p, m, c.isoformat() if c else None, s.isoformat() if s else None) for p, m, c, s in rows]
            )
            cursor.execute(
                f"UPDATE {table} AS t SET {met} = COALESCE(v.met, t.{met}), "
                f"{checked} = COALESCE(v.checked, t.{checked}), {seen} = GREATEST(t.{seen}, v.seen) "
                "FROM (SELECT (r.e->>0)::bigint AS id, (r.e->>1)::boolean AS met, "
                "(r.e->>2)::timestamptz AS checked, (r.e->>3)::timestamptz AS seen "
                f"FROM jsonb_array_elements(%s::jsonb) AS r(e)) AS v WHERE t.{pk} = v.id",
                [document],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(
                f"UPDATE {table} SET {met} = COALESCE(v.c0, {met}), {checked} = COALESCE(v.c1, {checked}), "
                f"{seen} = CASE WHEN v.c2 IS NULL THEN {seen} WHEN {seen} IS NULL OR {seen} < v.c2 THEN v.c2 "
                f"ELSE {seen} END FROM ({_sqlite_rows(3)}) AS v WHERE {table}.{pk} = v.id",
                [json.dumps([(p, m, adapt(c), adapt(s)) for p, m, c, s in rows])],
            )


def id_set(ids: Iterable[int]) -> RawSQL:
    """A set of ids for `pk__in=` as one parameter (a JSON array) instead of one placeholder per id.

    The statement's text is the same for 10 ids and for 5,000: nothing to build, quote or parse per id.
    """
    document = json.dumps([int(pk) for pk in ids])
    if _is_postgresql():
        return RawSQL("SELECT value::bigint FROM jsonb_array_elements_text(%s::jsonb)", [document])
    return RawSQL("SELECT value FROM json_each(%s)", [document])
