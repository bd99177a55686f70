"""From telemetry values to task status.

One evaluation pass serves every path: ingestion (all channels), reset to telemetry, plan-wide
evaluation and the daily re-evaluation of time-based criteria. It runs in a constant number of
queries whatever the number of tasks, attributes or values.

Manual beats telemetry: a task whose status a user set (source MANUAL) keeps it; evaluation still
records each attribute's isMet and the task's telemetry_status, so the task shows that telemetry
disagrees. NOT_APPLICABLE is never set by telemetry (the computed status is one of the other three).

Lock order (shared by every writer, see adoption.services): assignment, customer tasks (by id),
customer attributes (by id), plan. Evaluation locks the tasks through `lock_tasks_and_attributes`
(which reads their attributes under the tasks' locks), then the attribute rows as it updates them,
then the plan in `plan_recompute_totals`; ingestion calls the same function before it writes anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from adoption.choices import StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.status import STATUS_FIELDS, plan_recompute_totals, status_field_values
from config.audit.services import audit_record
from telemetry import criteria
from telemetry.bulk import (
    attribute_rows_of_locked_tasks,
    attributes_record,
    insert_rows,
    task_rows_for_update,
    update_rows,
)
from telemetry.models import CustomerTelemetryAttribute

TELEMETRY_ACTOR = "telemetry"
# The status fields that differ between the tasks one evaluation changes; the others (when, by whom,
# source, note, updated_at) are the same for all of them and travel once.
CHANGED_FIELDS = ("status", "is_complete", "completed_at", "completed_by")
_CHANGED_AT = tuple(STATUS_FIELDS.index(name) for name in CHANGED_FIELDS)
HISTORY_FIELDS = ("customer_task_id", "from_status", "to_status", "evidence")


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
    """The status telemetry computes over the active attributes (each with is_active, is_required, is_met).

    DONE when every required attribute is met, IN_PROGRESS when any attribute is met, else NOT_STARTED.
    If none is marked required, all count as required. None when there is no active attribute:
    such a task is never changed by telemetry.
    """
    active = [a for a in attributes if a.is_active]
    return _status_from_counts(
        len(active),
        sum(1 for a in active if a.is_required),
        sum(1 for a in active if a.is_required and a.is_met),
        sum(1 for a in active if a.is_met),
    )


def _status_from_counts(active: int, required: int, required_met: int, met: int) -> str | None:
    """compute_task_status from counts of the active attributes: all, required, required and met, met."""
    if not active:
        return None
    if (required_met == required) if required else (met == active):
        return TaskStatus.DONE
    return TaskStatus.IN_PROGRESS if met else TaskStatus.NOT_STARTED


class Locked(NamedTuple):
    """What lock_tasks_and_attributes read under its locks: plain rows, in id order.

    tasks: (id, adoption_plan_id, name, status, status_update_source, telemetry_status, completed_at,
    completed_by, the customer's id); attributes: (id, customer_task_id, name, data_type, is_required, success_criteria
    as JSON text, order, is_active, then the latest value's id, observed_at and value as JSON text,
    None without a value or for an inactive attribute). See telemetry.bulk.TASK_ROW and ATTRIBUTE_ROW.
    """

    tasks: list[tuple]
    attributes: list[tuple]


def lock_tasks_and_attributes(
    task_ids: Iterable[int], *, of_attributes: Iterable[int] = (), customer_ids: Iterable[int] | None = None
) -> Locked:
    """Row-lock the given customer tasks (by id), then read every attribute of those tasks (by id), and
    return both as read under the tasks' locks, each active attribute with its latest value.

    Every writer that changes attributes or values holds the lock on their task first, so the
    attributes and the latest values read here stay as they are until this transaction ends, without
    a row lock of their own (the attribute rows are locked, after the tasks, by the UPDATE that
    records their evaluation). Must run inside a transaction; locking rows this transaction already
    holds is harmless. Two statements, plain rows (a 5,000-value batch reads thousands of them).

    Ingestion also names attributes (`of_attributes`: their tasks are locked too), found in the same
    statement, and limits the tasks to its scope (`customer_ids`; None: any customer).
    """
    ids = sorted({int(pk) for pk in task_ids})
    attribute_ids = sorted({int(pk) for pk in of_attributes})
    if not ids and not attribute_ids:
        return Locked([], [])
    tasks = task_rows_for_update(ids, of_attributes=attribute_ids, customer_ids=customer_ids)
    return Locked(tasks, attribute_rows_of_locked_tasks([row[0] for row in tasks]))


def _evidence(attributes: Iterable[tuple], computed: str, extra: dict | None, describe: dict, written: dict) -> dict:
    """The evidence of a status change from its task's (attribute, is_met, latest) triples, in
    attribute order. `describe` and `written` remember the criterion sentences and timestamps already
    written (a batch repeats them thousands of times)."""
    rows = []
    for attribute, met, latest in attributes:
        pk, name, data_type, is_required, criterion_text = (
            attribute[0],
            attribute[2],
            attribute[3],
            attribute[4],
            attribute[5],
        )
        value = observed_at = None
        if latest is not None:
            value, observed_at = latest[2], written.get(latest[0])
            if observed_at is None:
                # As the database gives it back: in the connection's time zone (a new value's observedAt
                # may carry another offset).
                observed_at = written[latest[0]] = latest[0].astimezone(connection.timezone).isoformat()
        key = (criterion_text, name, data_type)
        sentence = describe.get(key)
        if sentence is None:
            sentence = describe[key] = criteria.describe(_criterion(criterion_text), name, data_type)
        rows.append(
            {
                "customerAttributeId": str(pk),
                "name": name,
                "dataType": data_type,
                "isRequired": is_required,
                "hasValue": latest is not None,
                "value": value,
                "observedAt": observed_at,
                "criterion": sentence,
                "isMet": met,
            }
        )
    evidence = {"computedStatus": computed, "attributes": rows}
    if extra:
        evidence.update(extra)
    return evidence


def _task_order(attribute: tuple) -> tuple:
    return attribute[1], attribute[6], attribute[0]  # task, order, id


def _criterion(text: str | None):
    return json.loads(text) if text is not None else None


def evaluate_customer_tasks(
    *,
    task_ids: Iterable[int],
    now: datetime | None = None,
    evidence_extra: dict | None = None,
    take_back: bool = False,
    note: str = "",
    locked: Locked | None = None,
    last_seen: dict[int, datetime | str] | None = None,
    new_values: dict[int, tuple[datetime, int, Any]] | None = None,
) -> list[StatusChange]:
    """Evaluate the given tasks against their latest telemetry and apply what follows.

    Updates every active attribute's is_met/last_checked_at and each task's telemetry_status,
    changes the status of the tasks telemetry owns where the computed status differs (history with
    evidence, source TELEMETRY, actor 'telemetry'), and recomputes the totals of the plans whose
    tasks changed. `take_back=True` (reset to telemetry) applies the computed status to every given
    task with active attributes, user-owned or not, with a history entry even if the status stays.
    Archived tasks are evaluated like the others; plan totals leave them out anyway.

    Runs inside the caller's transaction (or in one of its own), in a constant number of queries.
    Takes its row locks in the shared order: tasks, attributes, plans. `locked`: what
    `lock_tasks_and_attributes(task_ids)` returned earlier in this transaction (ingestion locks before
    it writes), so the rows are not read twice; the caller must not have changed their status,
    criteria or activity since. `new_values` ({attribute id: (observedAt, id, value as the database
    gives it back)}): the newest value the caller stored since, per attribute; it is the latest
    unless the one read under the lock is later, so the values are not read back. `last_seen`
    ({attribute id: observedAt of its newest new value}, attributes of the given tasks) raises their
    last_seen_at in the same statement that records isMet.
    """
    ids = sorted({int(pk) for pk in task_ids})
    if not ids:
        return []
    now = now or timezone.now()
    new_values = new_values or {}
    with transaction.atomic(savepoint=False):  # all or nothing with the caller's work, no savepoint of its own
        # Tasks locked before their owner is read: a user's concurrent status change cannot slip
        # between our read and our write (manual beats telemetry).
        tasks, attributes = locked if locked is not None else lock_tasks_and_attributes(ids)

        # The active attributes grouped by task, in attribute order (the order of the evidence); each
        # with its isMet and its latest value, (observedAt, id, value): the greatest (observedAt, id)
        # of the new and stored values.
        active = sorted((a for a in attributes if a[7]), key=_task_order)
        mets: list[bool] = []
        latests: list[tuple | None] = []
        checks: dict[tuple, criteria.Prepared] = {}  # one check per distinct criterion and data type
        recorded = []  # (id, is_met, last seen) for attributes_record
        seen = dict(last_seen or {})
        for pk, _, _, data_type, _, criterion_text, _, _, latest_id, latest_at, latest_text in active:
            latest = new_values.get(pk)
            if latest is not None and latest_id is not None and latest[:2] < (latest_at, latest_id):
                latest = None  # a later value was stored before (a late arrival does not replace it)
            if latest is None and latest_id is not None:
                latest = (latest_at, latest_id, json.loads(latest_text))
            check = checks.get((criterion_text, data_type))
            if check is None:
                check = checks[criterion_text, data_type] = criteria.Prepared(_criterion(criterion_text), data_type)
            met = check.evaluate(latest[2] if latest is not None else None, has_value=latest is not None, now=now)
            mets.append(met)
            latests.append(latest)
            recorded.append((pk, met, seen.pop(pk, None)))
        # One UPDATE ... FROM (the rows) for isMet, lastCheckedAt and (ingestion) lastSeenAt: no CASE
        # per row, the same statement at any size, each attribute row written once.
        recorded.extend((pk, None, moment) for pk, moment in seen.items())
        attributes_record(recorded, checked_at=now)

        changed: list[tuple] = []  # status changed: (id, *CHANGED_FIELDS)
        shared: dict = {}  # the status fields that are the same for every changed task
        recomputed: list[tuple] = []  # only telemetry_status changed: (id, telemetry_status, updated_at)
        history: list[tuple] = []  # HISTORY_FIELDS
        changes: list[StatusChange] = []
        describe: dict[tuple, str] = {}
        written: dict[datetime, str] = {}
        position, count = 0, len(active)
        # Tasks and active attributes are both in task id order: each task's attributes follow.
        for pk, plan_id, name, status, source, telemetry_status, completed_at, completed_by, _ in tasks:
            while position < count and active[position][1] < pk:  # (every attribute's task is locked)
                position += 1
            start = position
            required = required_met = met_count = 0
            while position < count and active[position][1] == pk:
                met = mets[position]
                met_count += met
                if active[position][4]:
                    required += 1
                    required_met += met
                position += 1
            computed = _status_from_counts(position - start, required, required_met, met_count)
            owned_by_telemetry = source != StatusSource.MANUAL
            if computed is not None and (take_back or (owned_by_telemetry and computed != status)):
                fields = status_field_values(
                    previous=status,
                    completed_at=completed_at,
                    completed_by=completed_by,
                    status=computed,
                    source=StatusSource.TELEMETRY,
                    actor=TELEMETRY_ACTOR,
                    notes=note,
                    now=now,
                )
                changed.append((pk, *(fields[i] for i in _CHANGED_AT), computed))
                if not shared:
                    shared = {field: fields[i] for i, field in enumerate(STATUS_FIELDS) if i not in _CHANGED_AT}
                evaluated = zip(active[start:position], mets[start:position], latests[start:position], strict=True)
                evidence = _evidence(evaluated, computed, evidence_extra, describe, written)
                history.append((pk, status or "", computed, evidence))
                changes.append(StatusChange(pk, plan_id, name, status, computed))
            elif (computed or "") != telemetry_status:
                recomputed.append((pk, computed or "", now))

        # One UPDATE ... FROM (the rows) each and one multi-row INSERT, linear in the number of tasks.
        update_rows(CustomerTask, (*CHANGED_FIELDS, "telemetry_status"), changed, constants=shared)
        update_rows(CustomerTask, ("telemetry_status", "updated_at"), recomputed)
        if history:
            history_ids = insert_rows(
                TaskStatusChange,
                HISTORY_FIELDS,
                history,
                constants={
                    "source": StatusSource.TELEMETRY,
                    "actor": TELEMETRY_ACTOR,
                    "note": note or "",
                    "created_at": now,
                },
            )
            for change, pk in zip(changes, history_ids, strict=True):
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


# --- daily re-evaluation of time-based criteria ---------------------------------------------------


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
