"""Manual status changes: a user sets the status of one task or of many tasks of a plan."""

from django.db import transaction
from django.utils import timezone

from adoption.choices import StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.services.inputs import parse_ids, parse_task_status
from adoption.status import STATUS_FIELDS, customer_task_set_status_fields, plan_recompute_totals
from config.audit.services import actor_label_of, audit_record
from config.errors import ValidationFailed
from config.text import NOTE_MAX, clean_text


def status_change_is_noop(task: CustomerTask, new_status, notes: str) -> bool:
    """Setting the status a task already has, by hand, with no new note, when a person already owns the
    task: nothing changes, so nothing is recorded (no history, no audit, no new timestamp). The same
    status set over telemetry's (or an import's) ownership is still a change of owner, and recorded."""
    return task.status == new_status and task.status_update_source == StatusSource.MANUAL and not notes


def _plan_customer_id(plan_id: int) -> int | None:
    return AdoptionPlan.objects.filter(pk=plan_id).values_list("customer_product__customer_id", flat=True).first()


@transaction.atomic
def customer_task_update_status(*, actor, task: CustomerTask, status, notes: str = "") -> CustomerTask:
    """A user sets a task's status. The user takes ownership (source MANUAL) even when the status is
    unchanged; a history entry is written and the plan totals recomputed. When the user already owns
    the task, the status is the same and no note is given, nothing is written: the task comes back with
    `status_change_recorded` False (True whenever something was recorded)."""
    new_status = parse_task_status(status)
    notes = clean_text(notes, field="notes", max_length=NOTE_MAX)
    current = CustomerTask.objects.select_for_update().filter(pk=task.pk).first()
    if current is None:
        raise ValidationFailed(f"customer task {task.pk} no longer exists", field="customerTaskId")
    if current.is_archived:
        raise ValidationFailed(
            f"task {current.name!r} was archived by a sync and is no longer part of the plan", field="customerTaskId"
        )
    if status_change_is_noop(current, new_status, notes):
        current.status_change_recorded = False
        return current
    label = actor_label_of(actor)
    previous = current.status
    history = customer_task_set_status_fields(
        current, status=new_status, source=StatusSource.MANUAL, actor=label, notes=notes, now=timezone.now()
    )
    current.save(update_fields=STATUS_FIELDS)
    history.save()
    plan_recompute_totals(plan_ids=[current.adoption_plan_id])
    audit_record(
        actor=actor,
        action="customer_task.update_status",
        obj=current,
        customer_id=_plan_customer_id(current.adoption_plan_id),
        summary=f"{current.name}: {TaskStatus(previous).label} → {TaskStatus(new_status).label}",
        details={"adoptionPlanId": current.adoption_plan_id, "from": previous, "to": str(new_status), "notes": notes},
    )
    current.status_change_recorded = True
    return current


@transaction.atomic
def customer_tasks_bulk_update_status(
    *, actor, plan: AdoptionPlan, task_ids, status, notes: str = ""
) -> list[CustomerTask]:
    """Set one status on many tasks of one plan, all or nothing: every id must name a task of this
    plan that is not archived, else VALIDATION_ERROR naming the bad ids and nothing changes.

    Tasks a person already owns with this status (and no note given) are left untouched, as by
    customer_task_update_status; every returned task carries `status_change_recorded`. When no task
    changes at all, nothing is audited and the plan totals are not touched."""
    new_status = parse_task_status(status)
    notes = clean_text(notes, field="notes", max_length=NOTE_MAX)
    ids, bad = parse_ids(task_ids, field_name="customerTaskIds", label="customer task")
    if not ids and not bad:
        raise ValidationFailed("name at least one task", field="customerTaskIds")
    tasks = list(
        CustomerTask.objects.select_for_update()
        .filter(adoption_plan_id=plan.pk, pk__in=ids, is_archived=False)
        .order_by("pk")
    )
    found = {t.pk for t in tasks}
    bad += [str(pk) for pk in ids if pk not in found]
    if bad:
        raise ValidationFailed(
            f"tasks {', '.join(bad)} are not tasks of adoption plan {plan.pk}; nothing was changed",
            field="customerTaskIds",
            details={"invalidIds": bad},
        )
    label = actor_label_of(actor)
    now = timezone.now()
    changes, history, changed = [], [], []
    for task in tasks:
        if status_change_is_noop(task, new_status, notes):
            task.status_change_recorded = False
            continue
        task.status_change_recorded = True
        changed.append(task)
        changes.append({"customerTaskId": task.pk, "from": task.status, "to": str(new_status)})
        history.append(
            customer_task_set_status_fields(
                task, status=new_status, source=StatusSource.MANUAL, actor=label, notes=notes, now=now
            )
        )
    if changed:
        CustomerTask.objects.bulk_update(changed, STATUS_FIELDS)
        TaskStatusChange.objects.bulk_create(history)
        plan_recompute_totals(plan_ids=[plan.pk])
        audit_record(
            actor=actor,
            action="customer_task.bulk_update_status",
            obj=plan,
            customer_id=_plan_customer_id(plan.pk),
            summary=f"Set {len(changed)} task{'' if len(changed) == 1 else 's'} to {TaskStatus(new_status).label}",
            details={"adoptionPlanId": plan.pk, "status": str(new_status), "notes": notes, "changes": changes},
        )
    by_id = {t.pk: t for t in tasks}
    return [by_id[pk] for pk in ids]
