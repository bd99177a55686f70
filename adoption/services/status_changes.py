"""Manual status changes: a user sets the status of one task or of many tasks of a plan."""

from django.db import transaction
from django.utils import timezone

from adoption.choices import StatusSource
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.services.inputs import parse_ids, parse_task_status
from adoption.status import STATUS_FIELDS, customer_task_set_status_fields, plan_recompute_totals
from config.audit.services import actor_label_of, audit_record
from config.errors import ValidationFailed


def _plan_customer_id(plan_id: int) -> int | None:
    return AdoptionPlan.objects.filter(pk=plan_id).values_list("customer_product__customer_id", flat=True).first()


@transaction.atomic
def customer_task_update_status(*, actor, task: CustomerTask, status, notes: str = "") -> CustomerTask:
    """A user sets a task's status. The user takes ownership (source MANUAL) even when the status is
    unchanged; a history entry is written and the plan totals recomputed."""
    new_status = parse_task_status(status)
    notes = (notes or "").strip()
    current = CustomerTask.objects.select_for_update().filter(pk=task.pk).first()
    if current is None:
        raise ValidationFailed(f"customer task {task.pk} no longer exists", field="customerTaskId")
    if current.is_archived:
        raise ValidationFailed(
            f"task {current.name!r} was archived by a sync and is no longer part of the plan", field="customerTaskId"
        )
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
        summary=f"{current.name}: {previous} -> {new_status}",
        details={"adoptionPlanId": current.adoption_plan_id, "from": previous, "to": str(new_status), "notes": notes},
    )
    return current


@transaction.atomic
def customer_tasks_bulk_update_status(
    *, actor, plan: AdoptionPlan, task_ids, status, notes: str = ""
) -> list[CustomerTask]:
    """Set one status on many tasks of one plan, all or nothing: every id must name a task of this
    plan that is not archived, else VALIDATION_ERROR naming the bad ids and nothing changes."""
    new_status = parse_task_status(status)
    notes = (notes or "").strip()
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
    changes, history = [], []
    for task in tasks:
        changes.append({"customerTaskId": task.pk, "from": task.status, "to": str(new_status)})
        history.append(
            customer_task_set_status_fields(
                task, status=new_status, source=StatusSource.MANUAL, actor=label, notes=notes, now=now
            )
        )
    CustomerTask.objects.bulk_update(tasks, STATUS_FIELDS)
    TaskStatusChange.objects.bulk_create(history)
    plan_recompute_totals(plan_ids=[plan.pk])
    audit_record(
        actor=actor,
        action="customer_task.bulk_update_status",
        obj=plan,
        customer_id=_plan_customer_id(plan.pk),
        summary=f"Set {len(tasks)} tasks to {new_status}",
        details={"adoptionPlanId": plan.pk, "status": str(new_status), "notes": notes, "changes": changes},
    )
    by_id = {t.pk: t for t in tasks}
    return [by_id[pk] for pk in ids]
