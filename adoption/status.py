"""A customer task's status fields and its plan's stored totals: the primitives every status writer
uses, manual (adoption.services) and telemetry (telemetry.evaluation) alike, so neither imports the other.

Lock order: the callers lock assignment and customer task rows first; the plan row is taken last, here.
Writers that delete assignments (removing one, deleting a customer) take all four with
`assignments_lock_for_delete` before the cascade.
"""

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from adoption.choices import TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.progress import percentage, round2, to_decimal
from customers.models import CustomerProduct
from telemetry.models import CustomerTelemetryAttribute


def customer_task_set_status_fields(
    task: CustomerTask,
    *,
    status: str,
    source: str,
    actor: str,
    notes: str = "",
    evidence: dict | None = None,
    now: datetime,
) -> TaskStatusChange:
    """Set every status field of `task` in memory and return its unsaved history entry.

    The caller saves the task (save or bulk_update with STATUS_FIELDS), saves the history entry
    (save or bulk_create) and recomputes the plan totals once per plan.
    """
    previous = task.status
    values = status_field_values(
        previous=previous,
        completed_at=task.completed_at,
        completed_by=task.completed_by,
        status=status,
        source=source,
        actor=actor,
        notes=notes,
        now=now,
    )
    for name, value in zip(STATUS_FIELDS, values, strict=True):
        setattr(task, name, value)
    return TaskStatusChange(
        customer_task=task,
        from_status=previous or "",
        to_status=status,
        source=source,
        actor=actor,
        note=notes or "",
        evidence=evidence or {},
        created_at=now,
    )


def assignments_lock_for_delete(assignment_ids: Iterable[int]) -> None:
    """Row-lock these assignments and everything a cascade delete of them removes, in the shared lock
    order: the assignments, their customer tasks, those tasks' telemetry attributes, their plans, each
    by id. Must run inside the deleting transaction, before the delete.

    Django's cascade deletes attribute rows before task rows, the reverse of the order ingestion, sync
    and status changes lock them in; locking first makes a concurrent writer wait for the delete (or
    the delete wait for it) instead of the two deadlocking. Locking rows already held is harmless.
    """
    ids = sorted({int(pk) for pk in assignment_ids})
    if not ids:
        return
    list(CustomerProduct.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    tasks = CustomerTask.objects.filter(adoption_plan__customer_product_id__in=ids)
    list(tasks.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
    list(
        CustomerTelemetryAttribute.objects.filter(customer_task__in=tasks)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        AdoptionPlan.objects.filter(customer_product_id__in=ids)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def status_field_values(
    *,
    previous: str,
    completed_at: datetime | None,
    completed_by: str,
    status: str,
    source: str,
    actor: str,
    notes: str,
    now: datetime,
) -> tuple:
    """The values of STATUS_FIELDS, in that order, for a task going from `previous` to `status`.

    `completed_at` and `completed_by` are the task's stored ones: a DONE task that stays DONE keeps
    them. For writers of many tasks that hold rows rather than model instances.
    """
    done = status == TaskStatus.DONE
    if done:
        if previous != TaskStatus.DONE or not completed_at:
            completed_at, completed_by = now, actor
    else:
        completed_at, completed_by = None, ""
    return (status, now, actor, source, notes or "", done, completed_at, completed_by, now)


STATUS_FIELDS = [
    "status",
    "status_updated_at",
    "status_updated_by",
    "status_update_source",
    "status_notes",
    "is_complete",
    "completed_at",
    "completed_by",
    "updated_at",
]


def plan_recompute_totals(*, plan_ids: Iterable[int]) -> None:
    """Recompute stored totals from the database, under a row lock on each plan.

    Locks are taken in id order so concurrent writers never deadlock; the aggregate runs after the
    lock is held, so the last writer always stores what a fresh count gives.
    Must run inside the transaction that changed the tasks.
    """
    ids = sorted({int(pk) for pk in plan_ids})
    if not ids:
        return
    with transaction.atomic(savepoint=False):  # inside the caller's transaction: no savepoint of its own
        list(AdoptionPlan.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        applicable = Q(is_archived=False) & ~Q(status=TaskStatus.NOT_APPLICABLE)
        done = applicable & Q(status=TaskStatus.DONE)
        rows = (
            CustomerTask.objects.filter(adoption_plan_id__in=ids)
            .values("adoption_plan_id")
            .annotate(
                total_tasks=Count("pk", filter=applicable),
                completed_tasks=Count("pk", filter=done),
                total_weight=Sum("weight", filter=applicable),
                completed_weight=Sum("weight", filter=done),
            )
            .order_by()
        )
        by_plan = {row["adoption_plan_id"]: row for row in rows}
        now = timezone.now()
        plans = []
        for pk in ids:
            row = by_plan.get(pk, {})
            total_weight = round2(to_decimal(row.get("total_weight")))
            completed_weight = round2(to_decimal(row.get("completed_weight")))
            plans.append(
                AdoptionPlan(
                    pk=pk,
                    total_tasks=row.get("total_tasks") or 0,
                    completed_tasks=row.get("completed_tasks") or 0,
                    total_weight=total_weight,
                    completed_weight=completed_weight,
                    progress_percentage=percentage(completed_weight, total_weight),
                    updated_at=now,
                )
            )
        _store_totals(plans, now)


TOTAL_FIELDS = ["total_tasks", "completed_tasks", "total_weight", "completed_weight", "progress_percentage"]


def _store_totals(plans: list[AdoptionPlan], now: datetime) -> None:
    """Write the plans' totals. On PostgreSQL one UPDATE ... FROM the rows as a JSON array: bulk_update's
    CASE WHEN per plan and column cost Django more to build than the update costs the database (half of
    the daily re-evaluation's time at 20,000 plans). Decimals travel as text, so they are stored exactly."""
    if connection.vendor != "postgresql":
        AdoptionPlan.objects.bulk_update(plans, [*TOTAL_FIELDS, "updated_at"])
        return
    opts = AdoptionPlan._meta
    quote = connection.ops.quote_name
    casts = {"total_tasks": "integer", "completed_tasks": "integer"}
    assignments = ", ".join(
        f"{quote(opts.get_field(name).column)} = (r.e->>{i + 1})::{casts.get(name, 'numeric')}"
        for i, name in enumerate(TOTAL_FIELDS)
    )
    rows = [[plan.pk, *(str(getattr(plan, name)) for name in TOTAL_FIELDS)] for plan in plans]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(opts.db_table)} AS p SET {assignments}, {quote(opts.get_field('updated_at').column)} = %s "
            f"FROM jsonb_array_elements(%s::jsonb) AS r(e) WHERE p.{quote(opts.pk.column)} = (r.e->>0)::bigint",
            [now, json.dumps(rows)],
        )
