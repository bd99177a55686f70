"""From telemetry values to task status (SPEC 6.3, 4 and 10 "Ownership of a status").

One evaluation pass serves every path: ingestion (all channels), reset to telemetry, plan-wide
evaluation and the daily re-evaluation of time-based criteria. It runs in a constant number of
queries whatever the number of tasks, attributes or values.

Manual beats telemetry: a task whose status a user set (source MANUAL) keeps it; evaluation still
records each attribute's isMet and the task's telemetry_status, so the task shows that telemetry
disagrees. NOT_APPLICABLE is never set by telemetry (the computed status is one of the other three).

Lock order (shared by every writer, see adoption.services): assignment, customer tasks (by id),
customer attributes (by id), plan. Evaluation takes the last three in that order, through
`lock_tasks_and_attributes` and then `plan_recompute_totals`; ingestion takes the first two with the
same function before it writes anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from adoption.choices import StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.status import STATUS_FIELDS, customer_task_set_status_fields, plan_recompute_totals
from config.audit.services import audit_record
from telemetry import criteria
from telemetry.bulk import attributes_record, id_set, insert_rows, update_rows
from telemetry.models import CustomerTelemetryAttribute
from telemetry.selectors import latest_values_by_attribute

TELEMETRY_ACTOR = "telemetry"
TASK_FIELDS = (*STATUS_FIELDS, "telemetry_status")
TASK_COLUMNS = ("id", "adoption_plan_id", "name", "status", "status_update_source", "telemetry_status", "completed_at")
ATTRIBUTE_COLUMNS = (
    "id",
    "customer_task_id",
    "name",
    "data_type",
    "is_required",
    "success_criteria",
    "order",
    "is_active",
    "is_met",
)
VALUE_COLUMNS = ("value", "observed_at")
HISTORY_FIELDS = ("customer_task_id", "from_status", "to_status", "source", "actor", "note", "evidence", "created_at")


@dataclass
class StatusChange:
    """One status change (or, on reset to telemetry, a confirmed status) caused by evaluation."""

    customer_task_id: int
    adoption_plan_id: int
    task_name: str
    from_status: str
    to_status: str
    source: str = StatusSource.TELEMETRY
    history_id: int | None = None
    task: CustomerTask | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict:
        return {
            "customerTaskId": str(self.customer_task_id),
            "adoptionPlanId": str(self.adoption_plan_id),
            "taskName": self.task_name,
            "fromStatus": str(self.from_status),
            "toStatus": str(self.to_status),
            "source": str(self.source),
        }

    @classmethod
    def from_dict(cls, data: dict) -> StatusChange:
        return cls(
            customer_task_id=int(data["customerTaskId"]),
            adoption_plan_id=int(data["adoptionPlanId"]),
            task_name=data.get("taskName", ""),
            from_status=data.get("fromStatus", ""),
            to_status=data["toStatus"],
            source=data.get("source", StatusSource.TELEMETRY),
        )


def compute_task_status(attributes: Iterable) -> str | None:
    """SPEC 6.3 over the active attributes (each with is_active, is_required, is_met).

    If none is marked required, all count as required. None when there is no active attribute:
    such a task is never changed by telemetry.
    """
    active = [a for a in attributes if a.is_active]
    if not active:
        return None
    required = [a for a in active if a.is_required] or active
    if all(a.is_met for a in required):
        return TaskStatus.DONE
    if any(a.is_met for a in active):
        return TaskStatus.IN_PROGRESS
    return TaskStatus.NOT_STARTED


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _evidence(attributes: list[CustomerTelemetryAttribute], latest: dict, computed: str, extra: dict | None) -> dict:
    rows = []
    for attribute in attributes:
        value = latest.get(attribute.pk)
        rows.append(
            {
                "customerAttributeId": str(attribute.pk),
                "name": attribute.name,
                "dataType": attribute.data_type,
                "isRequired": attribute.is_required,
                "hasValue": value is not None,
                "value": value.value if value is not None else None,
                "observedAt": _iso(value.observed_at) if value is not None else None,
                "criterion": criteria.describe(attribute.success_criteria, attribute.name, attribute.data_type),
                "isMet": attribute.is_met,
            }
        )
    evidence = {"computedStatus": computed, "attributes": rows}
    if extra:
        evidence.update(extra)
    return evidence


def lock_tasks_and_attributes(task_ids: Iterable[int]) -> tuple[list[CustomerTask], list[CustomerTelemetryAttribute]]:
    """Row-lock the given customer tasks (by id), then every attribute of those tasks (by id), and
    return both, read under the lock.

    The two middle steps of the lock order. Every writer that changes attributes or values holds the
    lock on their task first, so two writers never hold each other's attribute rows and tasks. Must run
    inside a transaction; locking rows this transaction already holds is harmless.
    """
    ids = sorted({int(pk) for pk in task_ids})
    if not ids:
        return [], []
    # Only the columns evaluation and ingestion read: a 5,000-value batch reads thousands of rows here,
    # and every timestamp column costs a conversion per row.
    tasks = list(CustomerTask.objects.select_for_update().filter(pk__in=id_set(ids)).only(*TASK_COLUMNS).order_by("pk"))
    # no_key: evaluation and ingestion never change a key column of an attribute, so inserting values
    # (whose foreign key takes a key-share lock on their attribute) is not held up by this lock.
    attributes = list(
        CustomerTelemetryAttribute.objects.select_for_update(no_key=True)
        .filter(customer_task_id__in=id_set(t.pk for t in tasks))
        .only(*ATTRIBUTE_COLUMNS)
        .order_by("pk")
    )
    return tasks, attributes


def evaluate_customer_tasks(
    *,
    task_ids: Iterable[int],
    now: datetime | None = None,
    evidence_extra: dict | None = None,
    take_back: bool = False,
    note: str = "",
    locked: tuple[list[CustomerTask], list[CustomerTelemetryAttribute]] | None = None,
    last_seen: dict[int, datetime] | None = None,
) -> list[StatusChange]:
    """Evaluate the given tasks against their latest telemetry and apply what follows.

    Updates every active attribute's is_met/last_checked_at and each task's telemetry_status,
    changes the status of the tasks telemetry owns where the computed status differs (history with
    evidence, source TELEMETRY, actor 'telemetry'), and recomputes the totals of the plans whose
    tasks changed. `take_back=True` (reset to telemetry) applies the computed status to every given
    task with active attributes, user-owned or not, with a history entry even if the status stays.
    Archived tasks are evaluated like the others; plan totals leave them out anyway.

    Runs inside the caller's transaction (it opens a savepoint of its own when there is one), in a
    constant number of queries. Takes its row locks in the shared order: tasks, attributes, plans.
    `locked`: what `lock_tasks_and_attributes(task_ids)` returned earlier in this transaction (ingestion
    locks before it writes), so the rows are not read twice; the caller must not have changed their
    status, criteria or activity since. `last_seen` ({attribute id: observedAt of its newest new value},
    attributes of the given tasks) raises their last_seen_at in the same statement that records isMet.
    """
    ids = sorted({int(pk) for pk in task_ids})
    if not ids:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        # Tasks locked before their owner is read: a user's concurrent status change cannot slip
        # between our read and our write (manual beats telemetry).
        tasks, locked_attributes = locked if locked is not None else lock_tasks_and_attributes(ids)
        attributes = sorted(
            (a for a in locked_attributes if a.is_active), key=lambda a: (a.customer_task_id, a.order, a.pk)
        )
        latest = latest_values_by_attribute([a.pk for a in attributes], columns=VALUE_COLUMNS)

        by_task: dict[int, list[CustomerTelemetryAttribute]] = defaultdict(list)
        for attribute in attributes:
            value = latest.get(attribute.pk)
            attribute.is_met = criteria.evaluate(
                attribute.success_criteria,
                attribute.data_type,
                value.value if value is not None else None,
                has_value=value is not None,
                now=now,
            )
            attribute.last_checked_at = now
            by_task[attribute.customer_task_id].append(attribute)
        # One UPDATE ... FROM (the rows) for isMet, lastCheckedAt and (ingestion) lastSeenAt: no CASE
        # per row, the same statement at any size, each attribute row written once.
        seen = dict(last_seen or {})
        attributes_record(
            [(a.pk, a.is_met, now, seen.pop(a.pk, None)) for a in attributes]
            + [(pk, None, None, moment) for pk, moment in seen.items()]
        )

        changed_tasks: list[CustomerTask] = []  # status changed (every status field is written)
        recomputed_tasks: list[CustomerTask] = []  # only telemetry_status changed
        history: list[TaskStatusChange] = []
        changes: list[StatusChange] = []
        for task in tasks:
            task_attributes = by_task.get(task.pk, [])
            computed = compute_task_status(task_attributes)
            dirty = False
            if (computed or "") != task.telemetry_status:
                task.telemetry_status = computed or ""
                dirty = True
            owned_by_telemetry = task.status_update_source != StatusSource.MANUAL
            if computed is not None and (take_back or (owned_by_telemetry and computed != task.status)):
                previous = task.status
                entry = customer_task_set_status_fields(
                    task,
                    status=computed,
                    source=StatusSource.TELEMETRY,
                    actor=TELEMETRY_ACTOR,
                    notes=note,
                    evidence=_evidence(task_attributes, latest, computed, evidence_extra),
                    now=now,
                )
                history.append(entry)
                changes.append(
                    StatusChange(
                        customer_task_id=task.pk,
                        adoption_plan_id=task.adoption_plan_id,
                        task_name=task.name,
                        from_status=previous,
                        to_status=computed,
                        task=task,
                    )
                )
                changed_tasks.append(task)
            elif dirty:
                task.updated_at = now
                recomputed_tasks.append(task)

        # One UPDATE ... FROM (the rows) and one multi-row INSERT, linear in the number of tasks.
        update_rows(
            CustomerTask,
            TASK_FIELDS,
            [(task.pk, *(getattr(task, name) for name in TASK_FIELDS)) for task in changed_tasks],
        )
        update_rows(
            CustomerTask,
            ("telemetry_status", "updated_at"),
            [(task.pk, task.telemetry_status, now) for task in recomputed_tasks],
        )
        if history:
            ids = insert_rows(
                TaskStatusChange,
                HISTORY_FIELDS,
                [tuple(getattr(entry, name) for name in HISTORY_FIELDS) for entry in history],
            )
            for change, entry, pk in zip(changes, history, ids, strict=True):
                entry.pk = pk
                change.history_id = pk
            plan_recompute_totals(plan_ids={change.adoption_plan_id for change in changes})
    return changes


def adoption_plan_evaluate(*, actor, plan: AdoptionPlan, now: datetime | None = None) -> AdoptionPlan:
    """Plan-wide evaluation: re-check every (non-archived) task of the plan against its telemetry."""
    with transaction.atomic():
        task_ids = list(CustomerTask.objects.filter(adoption_plan=plan, is_archived=False).values_list("pk", flat=True))
        changes = evaluate_customer_tasks(task_ids=task_ids, now=now, evidence_extra={"trigger": "plan-evaluation"})
        audit_record(
            actor=actor,
            action="plan.evaluate",
            obj=plan,
            object_type="adoption_plan",
            customer_id=plan.customer_product.customer_id,
            summary=f"Evaluated telemetry of {len(task_ids)} tasks: {len(changes)} status changes",
            details={"tasks": len(task_ids), "statusChanges": [c.as_dict() for c in changes]},
        )
    plan.refresh_from_db()
    return plan


# --- daily re-evaluation of time-based criteria (SPEC 10 "Criteria edge cases") -------------------


def criterion_is_time_based(criterion) -> bool:
    """Does the criterion use `within_days` anywhere (its truth changes with the clock)?"""
    if isinstance(criterion, dict):
        if criterion.get("op") == "within_days":
            return True
        return any(criterion_is_time_based(v) for k, v in criterion.items() if k in ("all", "any", "not"))
    if isinstance(criterion, list):
        return any(criterion_is_time_based(v) for v in criterion)
    return False


def time_based_task_ids(*, plan_ids: Iterable[int] | None = None) -> list[int]:
    """Tasks (archived ones too: isMet stays current) with an active attribute using within_days.

    One query over the attributes, never the values: the database keeps only criteria whose text
    mentions within_days (most attributes are not time-based and never reach Python), without the
    model's default ordering (no sort of the whole table); Python then confirms that the op really is
    within_days (a string value "within_days" is not).
    """
    rows = (
        CustomerTelemetryAttribute.objects.filter(is_active=True, data_type__in=["TIMESTAMP", "JSON"])
        .annotate(criterion_text=Cast("success_criteria", TextField()))
        .filter(criterion_text__contains="within_days")
        .order_by()
    )
    if plan_ids is not None:
        rows = rows.filter(customer_task__adoption_plan_id__in=list(plan_ids))
    return sorted(
        {
            task_id
            for task_id, crit in rows.values_list("customer_task_id", "success_criteria")
            if criterion_is_time_based(crit)
        }
    )


def telemetry_reevaluate_time_based(
    *, plan_ids: Iterable[int] | None = None, now: datetime | None = None, chunk_size: int = 500, progress=None
) -> tuple[int, list[StatusChange]]:
    """Re-evaluate every task with time-based criteria, one transaction per chunk of tasks.

    Returns (number of tasks evaluated, status changes). `progress(done, total)` is called after
    each chunk, outside its transaction so that others can see it.
    """
    now = now or timezone.now()
    ids = time_based_task_ids(plan_ids=plan_ids)
    changes: list[StatusChange] = []
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        with transaction.atomic():
            changes.extend(
                evaluate_customer_tasks(task_ids=chunk, now=now, evidence_extra={"trigger": "daily-time-based"})
            )
        if progress:
            progress(min(start + chunk_size, len(ids)), len(ids))
    if ids:
        audit_record(
            actor="system",
            action="telemetry.reevaluate",
            object_type="telemetry",
            summary=f"Re-evaluated {len(ids)} tasks with time-based criteria: {len(changes)} status changes",
            details={"tasks": len(ids), "statusChanges": [c.as_dict() for c in changes[:500]]},
        )
    return len(ids), changes
