"""Admin changelists of tables that grow with the portfolio (customer tasks and attributes, history,
audit log, telemetry): filters and searches whose cost does not follow the number of rows.

Django's filter on a plain text column (``list_filter = ["action"]``) offers every distinct value, read
with ``SELECT DISTINCT action FROM ...``: a scan of the whole table on every page, however few values
there are. :class:`IndexedValuesFieldListFilter` shows the same choices and filters the same way (the
same ``action__exact`` parameters), but reads the values along a B-tree index whose first column is
the field: one index descent per distinct value ("loose index scan"), so the cost follows the number
of values, not the number of rows. The field needs such an index; without one, or on SQLite, or when
the admin's queryset is narrowed (a CSM's customers), it reads the values as Django does.

Django's search ORs one condition per search field across the joined tables, which no index answers:
:func:`search_by_union` asks each field alone (each with its own trigram index on PostgreSQL) and
keeps the rows any of them found.
"""

from django.contrib import admin
from django.contrib.admin import helpers
from django.db import connections
from django.utils.html import format_html
from django.utils.translation import gettext as _


def distinct_values(model, column: str, *, using: str = "default") -> list:
    """The distinct non-null values of ``column`` in ``model``'s table, in order, reading one index
    entry per value on PostgreSQL (a recursive query that asks for the next value above the last)."""
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    name = connection.ops.quote_name(column)
    sql = (
        f"WITH RECURSIVE found(value) AS ("
        f"(SELECT {name} FROM {table} WHERE {name} IS NOT NULL ORDER BY {name} LIMIT 1) "
        f"UNION ALL SELECT (SELECT {name} FROM {table} WHERE {name} > found.value ORDER BY {name} LIMIT 1) "
        f"FROM found WHERE found.value IS NOT NULL) "
        f"SELECT value FROM found WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class IndexedValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """``AllValuesFieldListFilter`` whose choices come from :func:`distinct_values` when it can: a field
    of the model itself, the admin's whole table, PostgreSQL. Null values are not offered then (the
    fields it serves are never null)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        queryset = model_admin.get_queryset(request)
        connection = connections[queryset.db]
        if field_path == field.name and not queryset.query.where and connection.vendor == "postgresql":
            self.lookup_choices = distinct_values(model, field.column, using=queryset.db)


def search_by_union(model, queryset, search_term: str, fields):
    """The admin's search (every word in some field, ignoring case) as a union of one lookup per field:
    an OR across joined tables reads every row, while each lookup alone uses its own index (the task
    name's and the customer name's trigram indexes on PostgreSQL). A field written "=name" must equal
    the word exactly (an identifier, answered by its B-tree index). A field across a foreign key is
    asked as "key IN (the related rows that match)", so the search starts from the matching rows:
    SQLite otherwise read every row of the model to look at its related row."""
    for word in search_term.split():
        matching = None
        for field in fields:
            part = _matching(model, field, word).order_by().values("pk")
            matching = part if matching is None else matching.union(part)
        queryset = queryset.filter(pk__in=matching)
    return queryset


def _matching(model, field: str, word: str):
    if field.startswith("="):
        return model._default_manager.filter(**{field[1:]: word})
    head, _sep, rest = field.partition("__")
    relation = model._meta.get_field(head)
    if rest and relation.many_to_one:
        related = relation.related_model._default_manager.filter(**{f"{rest}__icontains": word}).values("pk")
        return model._default_manager.filter(**{f"{head}__in": related})
    return model._default_manager.filter(**{f"{field}__icontains": word})


class RowCheckboxMixin:
    """The row's action checkbox written directly, the same markup as ``ModelAdmin.action_checkbox``,
    which renders a form widget through the template engine for every row: about a millisecond a row,
    a third of a 100-row page."""

    def action_checkbox(self, obj):
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )
