"""Case-insensitive "contains" search with an index behind it.

Django writes ``name__icontains=text`` on PostgreSQL as ``UPPER(name::text) LIKE UPPER('%text%')``. A
trigram GIN index on the same expression, ``UPPER(name)`` with ``gin_trgm_ops`` (pg_trgm), answers that
LIKE without reading the whole table. Models declare such indexes with :func:`trigram_index`; their
migrations add them with :class:`AddIndexOnPostgreSQL` (after ``TrigramExtension()``), which does nothing
on SQLite, where the same lookups simply scan. Searches go through :func:`contains`, so the lookup and
the index stay the same expression.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.migrations.operations import AddIndex
from django.db.models import Q
from django.db.models.functions import Upper


def trigram_index(field: str, *, name: str) -> GinIndex:
    """A pg_trgm GIN index on UPPER(field): what ``field__icontains`` uses on PostgreSQL."""
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)


def contains(text: str, *fields: str) -> Q:
    """Rows where any of these fields contains ``text``, ignoring case (each field trigram-indexed)."""
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": text})
    return condition


class AddIndexOnPostgreSQL(AddIndex):
    """AddIndex for PostgreSQL-only index types: the migration state always has the index (so models and
    migrations agree on every database); only PostgreSQL builds it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return super().describe() + " (PostgreSQL only)"
