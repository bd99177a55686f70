"""Set-based writes for ingestion and evaluation: one statement per call, linear in the number of rows.

Each function is one statement with two implementations of the same logic. On PostgreSQL the rows
travel as one array per column and the statement reads them with `unnest(...)`: a multi-row INSERT
... SELECT, or an UPDATE ... FROM (the rows) joined on the id. The SQL text and its parameter count
stay the same whatever the number of rows (no CASE per row and field, no per-row placeholders, no
parameter limit). Elsewhere (SQLite) the same rows go through bulk_create or executemany, which are
cheap in-process.

Nothing here validates: callers pass rows they have checked, inside their transaction, after taking
the row locks in the shared order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import JSONField, Model

from telemetry.models import CustomerTelemetryAttribute


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _array_type(field) -> str:
    """The PostgreSQL array type a column's values travel in (JSON as text, cast in the statement)."""
    if isinstance(field, JSONField):
        return "text[]"
    return f"{field.db_type(connection)}[]"


def _column_values(field, values: list) -> list:
    if isinstance(field, JSONField):
        return [json.dumps(v, cls=field.encoder) for v in values]
    if field.get_internal_type() in ("CharField", "TextField"):
        return [None if v is None else str(v) for v in values]
    return values


def insert_rows(model: type[Model], fields: Sequence[str], rows: list[tuple]) -> list[int]:
    """INSERT the rows (one tuple of values per row, in `fields` order) and return their new ids, in order.

    Fields must be concrete columns; defaults and auto_now_add are not applied (pass every value).
    """
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if not _is_postgresql():
        objects = model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows])
        return [obj.pk for obj in objects]
    quote = connection.ops.quote_name
    names = [f"c{i}" for i in range(len(columns))]
    selected = [
        f"{name}::jsonb" if isinstance(field, JSONField) else name for name, field in zip(names, columns, strict=True)
    ]
    arrays = ", ".join(f"%s::{_array_type(field)}" for field in columns)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
        f"SELECT {', '.join(selected)} FROM unnest({arrays}) WITH ORDINALITY AS r({', '.join(names)}, ord) "
        f"ORDER BY ord RETURNING {quote(meta.pk.column)}"
    )
    params = [_column_values(field, [row[i] for row in rows]) for i, field in enumerate(columns)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
        prepared = [
            (*(f.get_db_prep_save(v, connection) for f, v in zip(columns, row[1:], strict=True)), row[0])
            for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", prepared)
        return
    names = [f"c{i}" for i in range(len(columns))]
    assignments = ", ".join(
        f"{quote(f.column)} = v.{name}" + ("::jsonb" if isinstance(f, JSONField) else "")
        for f, name in zip(columns, names, strict=True)
    )
    arrays = ", ".join(["%s::bigint[]", *(f"%s::{_array_type(field)}" for field in columns)])
    sql = (
        f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v(id, {', '.join(names)}) WHERE t.{pk} = v.id"
    )
    params = [[row[0] for row in rows]] + [
        _column_values(field, [row[i + 1] for row in rows]) for i, field in enumerate(columns)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def attributes_raise_last_seen(seen: dict[int, datetime]) -> None:
    """Set each attribute's last_seen_at to the later of its stored value and the given moment.

    The maximum is taken in the database: a later value stored by a concurrent ingestion is never undone.
    """
    if not seen:
        return
    meta = CustomerTelemetryAttribute._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    column = quote(meta.get_field("last_seen_at").column)
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute(
                f"UPDATE {table} AS t SET {column} = GREATEST(t.{column}, v.seen) "
                f"FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, seen) WHERE t.{pk} = v.id",
                [list(seen), list(seen.values())],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"UPDATE {table} SET {column} = MAX(COALESCE({column}, %s), %s) WHERE {pk} = %s",
                [(adapt(moment), adapt(moment), pk_value) for pk_value, moment in seen.items()],
            )
