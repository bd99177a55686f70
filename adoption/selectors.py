"""Reads of plans and customer tasks that cross relations, with their prefetching spelled out.

Permission checks stay with the callers (adoption.permissions): these functions take objects or
querysets the caller is already allowed to see.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from adoption.choices import StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.progress import percentage, round2, to_decimal
from config.search import contains
from customers.models import CustomerProduct
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue

# --- needsSync -------------------------------------------------------------------------------------


def plan_needs_sync(plan: AdoptionPlan) -> bool:
    """True when the assignment's entitlements or the product's catalog changed after the last sync.

    Uses the `needs_sync` annotation of `plans_with_needs_sync` when present; otherwise reads the
    plan's assignment and product (select_related them to avoid two queries).
    """
    annotated = getattr(plan, "needs_sync", None)
    if annotated is not None:
        return bool(annotated)
    synced = plan.last_synced_at
    if synced is None:
        return True
    entitlements = plan.customer_product.entitlements_changed_at
    catalog = plan.product.catalog_changed_at
    return bool((entitlements and entitlements > synced) or (catalog and catalog > synced))


NEEDS_SYNC = (
    Q(last_synced_at__isnull=True)
    | Q(customer_product__entitlements_changed_at__gt=F("last_synced_at"))
    | Q(product__catalog_changed_at__gt=F("last_synced_at"))
)


def plans_with_needs_sync(plans: QuerySet[AdoptionPlan] | None = None) -> QuerySet[AdoptionPlan]:
    """Annotate `needs_sync` on every plan of a list, in the same single query."""
    plans = AdoptionPlan.objects.all() if plans is None else plans
    return plans.annotate(
        needs_sync=Case(When(NEEDS_SYNC, then=Value(True)), default=Value(False), output_field=BooleanField())
    )


# --- plans and their tasks ---------------------------------------------------------------------------


def plan_tasks(plan: AdoptionPlan, status=None, *, include_inactive_attributes: bool = False) -> QuerySet[CustomerTask]:
    """The tasks a plan shows (never archived ones; NOT_APPLICABLE included), by sequence number, with
    outcomes, releases and telemetry attributes prefetched (active ones unless asked otherwise)."""
    plan_id = plan.pk if isinstance(plan, AdoptionPlan) else int(plan)
    tasks = CustomerTask.objects.visible().filter(adoption_plan_id=plan_id)
    if status:
        tasks = tasks.filter(status=str(status))
    return _with_task_relations(tasks, include_inactive_attributes=include_inactive_attributes)


def plans_of_customer(customer, search: str = "") -> QuerySet[AdoptionPlan]:
    """A customer's plans by product name, without prefetches (the caller checked access); with
    ``search``, only plans whose product name contains it, ignoring case."""
    plans = AdoptionPlan.objects.filter(customer_product__customer=customer).order_by("product_name", "pk")
    return plans.filter(contains(search, "product_name")) if search else plans


def plan_tasks_in_order(plan: AdoptionPlan, status=None, search: str = "") -> QuerySet[CustomerTask]:
    """The tasks a plan shows (never archived ones), by sequence number, without prefetches: GraphQL
    adds the ones its selection needs. ``search``: only tasks whose name contains it, ignoring case."""
    plan_id = plan.pk if isinstance(plan, AdoptionPlan) else int(plan)
    tasks = CustomerTask.objects.visible().filter(adoption_plan_id=plan_id).order_by("sequence_number", "pk")
    if search:
        tasks = tasks.filter(contains(search, "name"))
    return tasks if status is None else tasks.filter(status=str(status))


def _with_task_relations(tasks: QuerySet[CustomerTask], *, include_inactive_attributes: bool = False):
    attributes = CustomerTelemetryAttribute.objects.order_by("order", "pk")
    if not include_inactive_attributes:
        attributes = attributes.filter(is_active=True)
    return tasks.order_by("sequence_number", "pk").prefetch_related(
        "outcomes", "releases", Prefetch("telemetry_attributes", queryset=attributes)
    )


def plan_with_tasks(plan_id) -> AdoptionPlan | None:
    """One plan with its assignment, customer, product and selections, and its visible tasks under
    `plan.tasks.all()` (ordered, relations prefetched): a fixed number of queries however large."""
    visible = _with_task_relations(CustomerTask.objects.visible())
    return (
        plans_with_needs_sync(AdoptionPlan.objects.filter(pk=int(plan_id)))
        .select_related("customer_product__customer", "product")
        .prefetch_related("selected_outcomes", "selected_releases", Prefetch("tasks", queryset=visible))
        .first()
    )


def plan_for_page(plan_id) -> AdoptionPlan | None:
    """The plan a page shows: assignment, customer and product joined, `needs_sync` annotated. One query."""
    return (
        plans_with_needs_sync(AdoptionPlan.objects.filter(pk=int(plan_id)))
        .select_related("customer_product__customer", "product")
        .first()
    )


def plan_task(plan: AdoptionPlan, task_id) -> CustomerTask | None:
    """One visible task of the plan with the relations its table row shows (three queries), or None."""
    return plan_tasks(plan).filter(pk=int(task_id)).first()


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int
    weight: Decimal
    share: Decimal  # percent of the plan's visible tasks, for the chart


def plan_status_counts(plan: AdoptionPlan) -> list[StatusCount]:
    """Tasks and weight per status over the plan's visible tasks (NOT_APPLICABLE included), every
    status present even at zero, in the order of the status choices. One query."""
    rows = {
        row["status"]: row
        for row in CustomerTask.objects.visible()
        .filter(adoption_plan_id=plan.pk)
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), weight=Sum("weight"))
    }
    total = sum(row["count"] for row in rows.values())
    answer = []
    for status in TaskStatus:
        row = rows.get(status.value, {})
        count = row.get("count", 0)
        answer.append(
            StatusCount(
                status=status.value,
                label=status.label,
                count=count,
                weight=to_decimal(row.get("weight")),
                share=percentage(count, total),
            )
        )
    return answer


@dataclass(frozen=True)
class TelemetrySummary:
    """What a task's active telemetry attributes say, from prefetched attributes (no query)."""

    total: int
    met: int
    required_total: int
    required_met: int
    computed_status: str  # the status telemetry computes; "" without active attributes
    disagrees: bool

    @property
    def computed_label(self) -> str:
        return TaskStatus(self.computed_status).label if self.computed_status else ""


def task_telemetry_summary(task: CustomerTask) -> TelemetrySummary:
    """Counts of met criteria over the task's active attributes (if none is marked required, all of
    them count as required), the status telemetry computed at the last evaluation, and whether it
    disagrees with the status a person set. Uses `telemetry_attributes` as prefetched by `plan_tasks`."""
    active = [a for a in task.telemetry_attributes.all() if a.is_active]
    required = [a for a in active if a.is_required] or active
    return TelemetrySummary(
        total=len(active),
        met=sum(1 for a in active if a.is_met),
        required_total=len(required),
        required_met=sum(1 for a in required if a.is_met),
        computed_status=task.telemetry_status if active else "",
        disagrees=bool(active) and task.telemetry_disagrees,
    )


def task_history(task: CustomerTask) -> list[TaskStatusChange]:
    """A task's status history, newest first. One query."""
    return list(TaskStatusChange.objects.filter(customer_task_id=task.pk).order_by("-created_at", "-pk"))


# --- progress and activity ----------------------------------------------------------------------------


def customer_overall_progress(customer) -> Decimal:
    """Sum of completedWeight / sum of totalWeight over the customer's plans, in percent (0 without weight)."""
    customer_id = getattr(customer, "pk", customer)
    totals = AdoptionPlan.objects.filter(customer_product__customer_id=customer_id).aggregate(
        completed=Sum("completed_weight"), total=Sum("total_weight")
    )
    return percentage(to_decimal(totals["completed"]), to_decimal(totals["total"]))


def _latest_status_change():
    return Subquery(
        TaskStatusChange.objects.filter(customer_task__adoption_plan_id=OuterRef("pk"))
        .order_by()
        .values("customer_task__adoption_plan_id")
        .annotate(latest=Max("created_at"))
        .values("latest")[:1],
        output_field=DateTimeField(),
    )


def _latest_value():
    return Subquery(
        CustomerTelemetryValue.objects.filter(customer_attribute__customer_task__adoption_plan_id=OuterRef("pk"))
        .order_by()
        .values("customer_attribute__customer_task__adoption_plan_id")
        .annotate(latest=Max("created_at"))
        .values("latest")[:1],
        output_field=DateTimeField(),
    )


def plans_with_last_activity(plans: QuerySet[AdoptionPlan] | None = None) -> QuerySet[AdoptionPlan]:
    """Annotate `latest_status_change_at` and `latest_value_at` on every plan, in the same query;
    `plan_last_activity` then needs no further query."""
    plans = AdoptionPlan.objects.all() if plans is None else plans
    return plans.annotate(latest_status_change_at=_latest_status_change(), latest_value_at=_latest_value())


def plan_last_activity(plan: AdoptionPlan) -> datetime | None:
    """The latest of: a status change of one of its tasks, a telemetry value received, the last sync."""
    if not hasattr(plan, "latest_status_change_at"):
        row = (
            plans_with_last_activity(AdoptionPlan.objects.filter(pk=plan.pk))
            .values("latest_status_change_at", "latest_value_at")
            .first()
            or {}
        )
        status_at, value_at = row.get("latest_status_change_at"), row.get("latest_value_at")
    else:
        status_at, value_at = plan.latest_status_change_at, plan.latest_value_at
    moments = [m for m in (status_at, value_at, plan.last_synced_at) if m is not None]
    return max(moments) if moments else None


__all__ = [
    "StatusCount",
    "TelemetrySummary",
    "customer_overall_progress",
    "disagreeing_tasks",
    "plan_disagreeing_task_count",
    "plan_last_activity",
    "plan_needs_sync",
    "plan_for_page",
    "plan_status_counts",
    "plan_task",
    "plan_tasks",
    "plan_with_tasks",
    "plans_with_last_activity",
    "plans_with_needs_sync",
    "task_history",
    "task_telemetry_summary",
]


# --- telemetry disagreements ------------------------------------------------------------------------


def disagreeing_tasks() -> QuerySet[CustomerTask]:
    """Visible tasks whose status a user owns while their telemetry computes another one (the same rule
    as CustomerTask.telemetry_disagrees, in SQL)."""
    return (
        CustomerTask.objects.visible()
        .filter(status_update_source=StatusSource.MANUAL)
        .exclude(telemetry_status="")
        .exclude(telemetry_status=F("status"))
    )


def plan_disagreeing_task_count():
    """An expression for plan querysets: how many of the plan's tasks telemetry disagrees with."""
    return Coalesce(
        Subquery(
            disagreeing_tasks()
            .filter(adoption_plan_id=OuterRef("pk"))
            .order_by()
            .values("adoption_plan_id")
            .annotate(count=Count("pk"))
            .values("count")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def assignment_contents_counts(assignments: QuerySet[CustomerProduct]) -> dict:
    """What removing these assignments takes with it, counted in a handful of queries."""
    plans = AdoptionPlan.objects.filter(customer_product__in=assignments)
    tasks = CustomerTask.objects.filter(adoption_plan__in=plans)
    attributes = CustomerTelemetryAttribute.objects.filter(customer_task__in=tasks)
    return {
        "adoptionPlans": plans.count(),
        "customerTasks": tasks.count(),
        "statusHistoryEntries": TaskStatusChange.objects.filter(customer_task__in=tasks).count(),
        "telemetryAttributes": attributes.count(),
        "telemetryValues": CustomerTelemetryValue.objects.filter(customer_attribute__in=attributes).count(),
    }


# ---------------------------------------------------------------------------------------------
# Consistency check of the stored plan totals (load tests, operations)
# ---------------------------------------------------------------------------------------------

TOTAL_FIELDS = ("total_tasks", "completed_tasks", "total_weight", "completed_weight", "progress_percentage")


@dataclass(frozen=True)
class PlanTotalsMismatch:
    """One plan whose stored totals differ from a fresh count: field -> (stored, counted)."""

    plan_id: int
    product_name: str
    differences: dict[str, tuple]

    def describe(self) -> str:
        parts = [
            f"{field} stored {stored} but counted {counted}" for field, (stored, counted) in self.differences.items()
        ]
        return f"plan {self.plan_id} ({self.product_name}): " + "; ".join(parts)


def plan_totals_fresh_count(*, plan_ids=None) -> dict[int, dict[str, object]]:
    """Each plan's totals counted afresh from its task rows, in Python rather than with the aggregate
    the writers use, so the check shares no code with them: applicable tasks are those neither
    archived nor NOT_APPLICABLE, completed ones the DONE among them, and the percentage is completed
    weight / total weight rounded half up (0 without weight)."""
    plans = AdoptionPlan.objects.order_by("pk")
    if plan_ids is not None:
        plans = plans.filter(pk__in=list(plan_ids))
    counts = {
        pk: {"total_tasks": 0, "completed_tasks": 0, "total_weight": Decimal("0"), "completed_weight": Decimal("0")}
        for pk in plans.values_list("pk", flat=True)
    }
    rows = (
        CustomerTask.objects.filter(adoption_plan_id__in=list(counts))
        .order_by()
        .values_list("adoption_plan_id", "status", "is_archived", "weight")
    )
    for plan_id, status, is_archived, weight in rows.iterator(chunk_size=5000):
        if is_archived or status == TaskStatus.NOT_APPLICABLE:
            continue
        count = counts[plan_id]
        count["total_tasks"] += 1
        count["total_weight"] += to_decimal(weight)
        if status == TaskStatus.DONE:
            count["completed_tasks"] += 1
            count["completed_weight"] += to_decimal(weight)
    for count in counts.values():
        count["total_weight"] = round2(count["total_weight"])
        count["completed_weight"] = round2(count["completed_weight"])
        count["progress_percentage"] = percentage(count["completed_weight"], count["total_weight"])
    return counts


def _as_number(value):
    return value if isinstance(value, int) else to_decimal(value)


def plan_totals_mismatches(*, plan_ids=None) -> tuple[int, list[PlanTotalsMismatch]]:
    """(number of plans checked, the plans whose stored totals differ from a fresh count)."""
    counted = plan_totals_fresh_count(plan_ids=plan_ids)
    stored = (
        AdoptionPlan.objects.filter(pk__in=list(counted)).order_by("pk").values("pk", "product_name", *TOTAL_FIELDS)
    )
    mismatches = []
    for row in stored:
        fresh = counted[row["pk"]]
        differences = {
            field: (row[field], fresh[field]) for field in TOTAL_FIELDS if _as_number(row[field]) != fresh[field]
        }
        if differences:
            mismatches.append(PlanTotalsMismatch(row["pk"], row["product_name"], differences))
    return len(counted), mismatches
