"""Case-insensitive "contains" search with an index behind it.

Django writes ``name__icontains=text`` on PostgreSQL as ``UPPER(name::text) LIKE UPPER('%text%')``. A
trigram GIN index on the same expression, ``UPPER(name)`` with ``gin_trgm_ops`` (pg_trgm), answers that
LIKE without reading the whole table. Models declare such indexes with :func:`trigram_index`; their
migrations add them with :class:`AddIndexOnPostgreSQL` (after ``TrigramExtension()``), which does nothing
on SQLite, where the same lookups simply scan. Searches go through :func:`contains`, so the lookup and
the index stay the same expression.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.migrations.operations import AddIndex, AlterField
from django.db.migrations.operations.base import Operation
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


class DropColumnIndex(AlterField):
    """AlterField of a field to ``db_index=False`` (a foreign key another index begins with, a column
    nothing reads by) that drops just the field's own index. Django's AlterField rebuilds the table on
    SQLite, with every index of the migration state, PostgreSQL-only ones included (and a large table
    at that); this drops one index on either."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        column = model._meta.get_field(self.name).column
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        for name, info in constraints.items():
            if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]:
                schema_editor.execute(schema_editor._delete_index_sql(model, name))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            field = model._meta.get_field(self.name)
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self):
        return f"Drop the index of {self.model_name}.{self.name}"


class SetFillfactor(Operation):
    """Keep a share of each page of a table free (PostgreSQL's ``fillfactor``), so that a row's new
    version fits beside the old one (a heap-only update, no index touched). PostgreSQL only; existing
    pages follow as rows are rewritten (``VACUUM FULL`` on the table applies it at once). Backwards:
    the default again (pages packed)."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, fillfactor: int):
        if not 10 <= fillfactor <= 100:
            raise ValueError(f"a fillfactor is 10 to 100 (percent of a page filled), got {fillfactor!r}")
        self.model_name, self.fillfactor = model_name, fillfactor

    def deconstruct(self):
        return self.__class__.__name__, [], {"model_name": self.model_name, "fillfactor": self.fillfactor}

    def state_forwards(self, app_label, state):
        pass  # storage only: the models do not change

    def _alter(self, app_label, schema_editor, state, setting: str):
        model = state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor == "postgresql" and self.allow_migrate_model(
            schema_editor.connection.alias, model
        ):
            schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(model._meta.db_table)} {setting}")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._alter(app_label, schema_editor, to_state, f"SET (fillfactor = {self.fillfactor})")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._alter(app_label, schema_editor, to_state, "RESET (fillfactor)")

    def describe(self):
        return f"Keep {100 - self.fillfactor}% of each page of {self.model_name} free (PostgreSQL only)"
