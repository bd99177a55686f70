"""A customer task's status fields and its plan's stored totals: the primitives every status writer
uses, manual (adoption.services) and telemetry (telemetry.evaluation) alike, so neither imports the other.

Lock order: the callers lock assignment and customer task rows first; the plan row is taken last, here.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from adoption.choices import TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.progress import percentage, round2, to_decimal


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
    """Set every status field of `task` in memory (SPEC 4) and return its unsaved history entry.

    The caller saves the task (save or bulk_update with STATUS_FIELDS), saves the history entry
    (save or bulk_create) and recomputes the plan totals once per plan.
    """
    previous = task.status
    task.status = status
    task.status_updated_at = now
    task.status_updated_by = actor
    task.status_update_source = source
    task.status_notes = notes or ""
    task.is_complete = status == TaskStatus.DONE
    if task.is_complete:
        if previous != TaskStatus.DONE or not task.completed_at:
            task.completed_at = now
            task.completed_by = actor
    else:
        task.completed_at = None
        task.completed_by = ""
    task.updated_at = now
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
    """Recompute stored totals from the database (SPEC 5), under a row lock on each plan.

    Locks are taken in id order so concurrent writers never deadlock; the aggregate runs after the
    lock is held, so the last writer always stores what a fresh count gives.
    Must run inside the transaction that changed the tasks.
    """
    ids = sorted({int(pk) for pk in plan_ids})
    if not ids:
        return
    with transaction.atomic():
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
        AdoptionPlan.objects.bulk_update(
            plans,
            ["total_tasks", "completed_tasks", "total_weight", "completed_weight", "progress_percentage", "updated_at"],
        )
