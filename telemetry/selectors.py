"""Telemetry reads that cross relations, each in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from adoption.models import AdoptionPlan
from telemetry.bulk import id_set
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue


def latest_values_by_attribute(
    attribute_ids: Iterable[int], *, columns: Sequence[str] | None = None
) -> dict[int, CustomerTelemetryValue]:
    """{attribute id: its latest value} ("latest" = greatest observed_at, then greatest id).

    One query: per attribute one index lookup on (customer_attribute, observed_at, id).
    Attributes without values are absent from the answer. With `columns`, each value is a light row
    of those fields and customer_attribute_id (attribute access, no model instance), for callers that
    read thousands of values and need few of their fields.
    """
    ids = list({int(pk) for pk in attribute_ids})
    if not ids:
        return {}
    latest_id = (
        CustomerTelemetryValue.objects.filter(customer_attribute_id=OuterRef("pk"))
        .order_by("-observed_at", "-id")
        .values("pk")[:1]
    )
    latest_ids = CustomerTelemetryAttribute.objects.filter(pk__in=id_set(ids)).values(latest=Subquery(latest_id))
    values = CustomerTelemetryValue.objects.filter(pk__in=latest_ids)
    if columns is not None:
        rows = values.values_list("customer_attribute_id", *columns, named=True)
        return {row.customer_attribute_id: row for row in rows}
    return {value.customer_attribute_id: value for value in values}


def plan_attribute_rows(plan: AdoptionPlan) -> list[tuple[CustomerTelemetryAttribute, CustomerTelemetryValue | None]]:
    """The plan's active attributes of non-archived tasks, in task order, each with its latest value.

    Two queries whatever the size of the plan (the template export and the plan's telemetry table).
    """
    attributes = list(
        CustomerTelemetryAttribute.objects.filter(
            customer_task__adoption_plan=plan, customer_task__is_archived=False, is_active=True
        )
        .select_related("customer_task")
        .order_by("customer_task__sequence_number", "customer_task_id", "order", "pk")
    )
    latest = latest_values_by_attribute(a.pk for a in attributes)
    return [(attribute, latest.get(attribute.pk)) for attribute in attributes]


def task_attribute_rows(task) -> list[tuple[CustomerTelemetryAttribute, CustomerTelemetryValue | None]]:
    """A task's active attributes in order, each with its latest value (None without one).

    Uses the task's prefetched `telemetry_attributes` when present (adoption.selectors.plan_tasks
    prefetches the active ones); one query for the latest values whatever their number.
    """
    cache = getattr(task, "_prefetched_objects_cache", {})
    if "telemetry_attributes" in cache:
        attributes = [a for a in cache["telemetry_attributes"] if a.is_active]
    else:
        attributes = list(task.telemetry_attributes.filter(is_active=True).order_by("order", "pk"))
    latest = latest_values_by_attribute(a.pk for a in attributes)
    return [(attribute, latest.get(attribute.pk)) for attribute in attributes]


# --- freshness: when each attribute was last seen -------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    last_seen_at: datetime | None
    age: timedelta | None

    @property
    def never_seen(self) -> bool:
        return self.last_seen_at is None

    def as_dict(self) -> dict:
        return {
            "lastSeenAt": self.last_seen_at.isoformat() if self.last_seen_at else None,
            "ageSeconds": int(self.age.total_seconds()) if self.age is not None else None,
        }


def attribute_freshness(attribute: CustomerTelemetryAttribute, *, now: datetime | None = None) -> Freshness:
    """When the attribute was last seen (observedAt of its latest value) and how long ago. No query."""
    if attribute.last_seen_at is None:
        return Freshness(None, None)
    now = now or timezone.now()
    return Freshness(attribute.last_seen_at, max(now - attribute.last_seen_at, timedelta(0)))


def _required_attributes():
    """Active attributes of non-archived tasks that count as required (if a task marks none
    as required, all of its active attributes count)."""
    task_has_required = CustomerTelemetryAttribute.objects.filter(
        customer_task_id=OuterRef("customer_task_id"), is_active=True, is_required=True
    )
    return CustomerTelemetryAttribute.objects.filter(is_active=True, customer_task__is_archived=False).filter(
        Q(is_required=True) | ~Exists(task_has_required)
    )


_STALEST_ORDER = (F("last_seen_at").asc(nulls_first=True), "pk")


def plan_stalest_required_attribute(plan: AdoptionPlan) -> CustomerTelemetryAttribute | None:
    """The plan's required attribute seen longest ago (never seen comes first); None without any. One query."""
    return (
        _required_attributes()
        .filter(customer_task__adoption_plan=plan)
        .select_related("customer_task")
        .order_by(*_STALEST_ORDER)
        .first()
    )


def plans_stalest_required_attributes(plan_ids: Iterable[int]) -> dict[int, CustomerTelemetryAttribute]:
    """{plan id: stalest required attribute} for many plans at once (lists of plans), in one query."""
    ids = list({int(pk) for pk in plan_ids})
    if not ids:
        return {}
    rows = (
        _required_attributes()
        .filter(customer_task__adoption_plan_id__in=ids)
        .select_related("customer_task")
        .order_by("customer_task__adoption_plan_id", *_STALEST_ORDER)
    )
    answer: dict[int, CustomerTelemetryAttribute] = {}
    for attribute in rows:
        answer.setdefault(attribute.customer_task.adoption_plan_id, attribute)
    return answer


# --- stale required telemetry ---------------------------------------------------------------------

# A plan's required telemetry is stale when one of its required attributes (see _required_attributes)
# has no value at all, or its latest value was observed longer ago than this. Pages flag such plans.
STALE_AFTER = timedelta(days=7)


def stale_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - STALE_AFTER


def is_stale(attribute: CustomerTelemetryAttribute, *, now: datetime | None = None) -> bool:
    """The same rule as `stale_required_attributes`, for one attribute already loaded. No query."""
    return attribute.last_seen_at is None or attribute.last_seen_at < stale_cutoff(now)


def stale_required_attributes(*, now: datetime | None = None):
    """Required attributes of non-archived tasks that were never seen or not within STALE_AFTER."""
    return _required_attributes().filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=stale_cutoff(now)))


def plan_has_stale_telemetry(*, now: datetime | None = None) -> Exists:
    """An expression for plan querysets: True when the plan has a stale required attribute."""
    return Exists(stale_required_attributes(now=now).filter(customer_task__adoption_plan_id=OuterRef("pk")))
