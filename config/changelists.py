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

Django's changelist counts every row the filters and the search found (its paginator's ``COUNT(*)``)
and sorts them all for the page: a broad search ("task", "active") finds a large share of a table of
hundreds of thousands of rows. :class:`CappedCountAdminMixin` counts at most ``count_cap + 1`` of them
(:class:`CappedPaginator`), says "more than 10,000" when there are more, and offers page links up to
the cap; with an ordering along an index (``-id``) the page itself then stops after its rows.
"""

import json
import math

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

COUNT_CAP = 10_000  # rows an admin list counts exactly; beyond it, "more than 10,000"


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


BROAD_SEARCH_ROWS = COUNT_CAP  # a word the planner expects in more rows than this is searched "broad"
BROAD_RELATED_ROWS = COUNT_CAP  # the same, among the rows of a related table (see _any_field_matches)
INLINE_IDS = 1_000  # at most this many related rows' ids are written into a broad search's statement


def search_by_union(model, queryset, search_term: str, fields):
    """The admin's search (every word in some field, ignoring case) as a union of one lookup per field:
    an OR across joined tables reads every row, while each lookup alone uses its own index (the task
    name's and the customer name's trigram indexes on PostgreSQL). A field written "=name" must equal
    the word exactly (an identifier, answered by its B-tree index). A field across a foreign key is
    asked as "key IN (the related rows that match)", so the search starts from the matching rows:
    SQLite otherwise read every row of the model to look at its related row.

    A broad word ("task" in a list of tasks) is the opposite case: the union holds a large share of
    the table, and PostgreSQL builds all of it, twice (the count and the page), before it can count
    or sort anything. When the planner expects a word in more than ``BROAD_SEARCH_ROWS`` rows (its
    estimate of the union, an EXPLAIN without running it), the word is asked as one condition per row
    instead (the same fields, ORed): the page then reads rows along the list's ordering index and stops
    once it has a page of matches, and the capped count stops at its cap."""
    return _search(model, queryset, search_term, fields)[0]


def _search(model, queryset, search_term: str, fields) -> tuple:
    """search_by_union's queryset, and whether some word was asked row by row (a broad word)."""
    broad = False
    for word in search_term.split():
        matching = None
        for field in fields:
            part = _matching(model, field, word).order_by().values("pk")
            matching = part if matching is None else matching.union(part, all=True)
        if _estimated_rows(matching) > BROAD_SEARCH_ROWS:
            queryset = queryset.filter(_any_field_matches(model, fields, word))
            broad = True
        else:
            queryset = queryset.filter(pk__in=matching)
    return queryset, broad


class UnionSearchAdminMixin:
    """The admin's search through :func:`search_by_union` (the ``search_fields``, one index each).
    A search with a broad word is noted on the request: its capped count then reads the rows in the
    list's order (see :class:`CappedPaginator`)."""

    def get_search_results(self, request, queryset, search_term):
        queryset, broad = _search(self.model, queryset, search_term, self.search_fields)
        if broad:
            request.admin_broad_search = True
        return queryset, False


def _matching(model, field: str, word: str):
    return model._default_manager.filter(_field_matches(model, field, word))


def _related_matches(model, field: str, word: str):
    """For a field across a foreign key ("customer__name"): the key's name and the related rows that
    match the word (their pks); None for a field of the model itself or an exact one ("=batch_id")."""
    if field.startswith("="):
        return None
    head, _sep, rest = field.partition("__")
    relation = model._meta.get_field(head)
    if not (rest and relation.many_to_one):
        return None
    return head, relation.related_model._default_manager.filter(**{f"{rest}__icontains": word}).values("pk")


def _field_matches(model, field: str, word: str) -> Q:
    if field.startswith("="):
        return Q(**{field[1:]: word})
    across = _related_matches(model, field, word)
    if across is not None:
        head, related = across
        return Q(**{f"{head}__in": related})
    return Q(**{f"{field}__icontains": word})


def _any_field_matches(model, fields, word: str) -> Q:
    """The word in any of the fields, as one condition on each row. A field across a foreign key is
    asked as "key IN (the related rows that match)" unless the word is broad there too (the planner
    expects it in more than ``BROAD_RELATED_ROWS`` related rows: "last_login" among the attributes of
    every plan): PostgreSQL would collect all of them before the first row, so the row's own related
    row is looked up instead (a join), one primary-key lookup per row the page or the count reads."""
    condition = Q()
    for field in fields:
        across = _related_matches(model, field, word)
        if across is not None:
            head, related = across
            if _estimated_rows(related) > BROAD_RELATED_ROWS:
                condition |= Q(**{f"{field}__icontains": word})
                continue
            # Few related rows match: their ids are read first and written into the statement (none:
            # the field drops out). PostgreSQL cannot tell how many rows a subquery's ids match and
            # guesses half of the table, which turned the count of a broad search into a hash join of
            # two whole tables.
            ids = list(related.values_list("pk", flat=True)[: INLINE_IDS + 1])
            condition |= Q(**{f"{head}__in": ids if len(ids) <= INLINE_IDS else related})
            continue
        condition |= _field_matches(model, field, word)
    return condition


def _estimated_rows(queryset) -> float:
    """The planner's estimate of the rows ``queryset`` returns (PostgreSQL's EXPLAIN, which plans the
    statement without running it); 0 elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return 0
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]["Plan Rows"]


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


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap + 1`` rows: ``SELECT COUNT(*) FROM (SELECT ... LIMIT
    cap + 1)``, which stops after the cap however many rows match. When it stops there, ``capped`` is
    true, ``count`` is ``cap + 1`` (more than the cap) and the pages end at the one holding row
    ``cap``: there is no last page beyond it to link to (narrow the search to see further)."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, cap=COUNT_CAP, walk=False):
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
            raise ValueError(f"the count cap must be a positive whole number, got {cap!r}")
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.cap = cap
        self.walk = walk

    @cached_property
    def count(self):
        queryset = self.object_list
        if not hasattr(queryset, "query"):  # a list: its length is known
            return min(len(queryset), self.cap + 1)
        if self.walk and connections[queryset.db].vendor == "postgresql":
            return _count_walking(queryset.values("pk")[: self.cap + 1])
        return queryset.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self):
        if not self.capped:
            return super().num_pages
        return math.ceil(self.cap / self.per_page)


WALK_SETTINGS = ("enable_hashjoin", "enable_mergejoin")


def _count_walking(queryset) -> int:
    """Count a broad search's rows (sliced at the cap, in the list's order) by reading them along the
    list's ordering index and looking up each row's related rows, as the page itself does.

    PostgreSQL plans a count by its estimate of how many rows match, and for a word among joined rows
    that estimate is poor: guessing a third of the real matches ("last_login" in the attributes of
    173,000 values), it hashed both tables whole and sorted the matches (150 ms) rather than read
    rows newest first until the cap (35 ms). For this one statement it is told not to hash or merge
    joins; the settings are put back as they were right after it."""
    connection = connections[queryset.db]
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in WALK_SETTINGS))
        before = cursor.fetchone()
        set_all = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in WALK_SETTINGS)
        cursor.execute(set_all, ["off"] * len(WALK_SETTINGS))
        try:
            return queryset.count()
        finally:
            cursor.execute(set_all, list(before))


def estimated_rows(model, *, using: str = "default") -> int | None:
    """PostgreSQL's estimate of the rows in ``model``'s table (``pg_class.reltuples``, kept by ANALYZE
    and autovacuum), read without touching the table; None elsewhere or before the first ANALYZE."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None


def count_in_words(count: int, *, capped: bool = False, about: bool = False) -> str:
    """The count as the list says it: "1,234", "more than 10,000" (the count stopped at the cap) or
    "about 610,000" (an estimate)."""
    if about:
        return _("about %(count)s") % {"count": f"{count:,}"}
    if capped:
        return _("more than %(count)s") % {"count": f"{count:,}"}
    return f"{count:,}"


class CappedCountChangeList(ChangeList):
    """The changelist of :class:`CappedCountAdminMixin`: its result count in words for the templates
    (``result_count_text``, and ``full_count_text`` for the unfiltered total when an estimate exists)."""

    def get_results(self, request):
        super().get_results(request)
        if not self.query and not getattr(self, "has_active_filters", False):
            # Nothing searched or filtered: the rows are the whole list, so the search bar does not
            # offer "N results (Show all)" (Django compares with a full count this list never makes).
            self.full_result_count = self.result_count
        paginator = self.paginator
        self.result_count_capped = getattr(paginator, "capped", False)
        cap = getattr(paginator, "cap", self.result_count)
        self.result_count_text = count_in_words(
            cap if self.result_count_capped else self.result_count, capped=self.result_count_capped
        )
        self.full_count_text = ""
        # The whole list (no search, no filter, no narrowing to a CSM's customers): PostgreSQL's row
        # estimate of the table says how many there are, labelled as an estimate, without a COUNT(*).
        if self.result_count_capped and not self.root_queryset.query.where:
            estimate = estimated_rows(self.model, using=self.root_queryset.db)
            if estimate is not None and estimate > cap:
                self.full_count_text = count_in_words(_round_estimate(estimate), about=True)
                if not self.queryset.query.where:  # no search or filter either: the rows are the table's
                    self.result_count_text = self.full_count_text


def _round_estimate(estimate: int) -> int:
    """An estimate to its two leading digits (612,345 -> 610,000): it is not exact, so it does not
    pretend to be."""
    digits = len(str(estimate))
    step = 10 ** max(digits - 2, 0)
    return round(estimate / step) * step


class CappedCountAdminMixin:
    """For admin lists of tables that grow with the portfolio: the paginator counts at most
    ``count_cap + 1`` rows (:class:`CappedPaginator`), the list says "more than 10,000" beyond that and
    links pages up to the cap, and no unfiltered ``COUNT(*)`` of the table runs for the search box's
    "N total" (PostgreSQL's row estimate, "about N", stands in for it). The default ordering of such a
    list should follow an index (``-id``): PostgreSQL then reads a page's rows along it and stops,
    instead of sorting every row a broad search found."""

    count_cap = COUNT_CAP
    show_full_result_count = False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        walk = getattr(request, "admin_broad_search", False)  # see UnionSearchAdminMixin
        return CappedPaginator(queryset, per_page, orphans, allow_empty_first_page, cap=self.count_cap, walk=walk)

    def get_changelist(self, request, **kwargs):
        return CappedCountChangeList

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) if isinstance(response, TemplateResponse) else None
        cl = context.get("cl") if context else None
        if isinstance(cl, CappedCountChangeList) and cl.result_count_capped:
            # "All 10001 selected" would be wrong: the selection across pages is every matching row.
            context["selection_note_all"] = ngettext(
                "%(total_count)s selected", "All %(total_count)s selected", cl.result_count
            ) % {"total_count": cl.result_count_text}
        return response
