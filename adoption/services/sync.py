"""Sync: bring a plan in line with its assignment and the catalog, losing nothing; and its preview.

Lock order (the same as every other writer): assignment row, then customer task rows by id, then
the plan's customer attributes by id, then the plan row (plan_recompute_totals).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from adoption.choices import LicenseLevel, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, CustomerTaskOutcome, CustomerTaskRelease, Task
from adoption.services.eligibility import eligible_for, selected_ids
from adoption.services.plans import (
    ATTRIBUTE_SNAPSHOT_FIELDS,
    TASK_SNAPSHOT_FIELDS,
    attribute_snapshot,
    catalog_attributes_by_task,
    catalog_links_by_task,
    set_plan_selection,
    snapshot_tasks,
)
from adoption.status import plan_recompute_totals
from config.audit.services import audit_record
from customers.models import CustomerProduct
from telemetry.evaluation import evaluate_customer_tasks
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryAttribute


@dataclass(frozen=True)
class AttributeChange:
    """How one telemetry attribute of a kept task changes: added (new in the catalog), restored (back
    in the catalog: the customer's copy is reactivated with its values), changed (fields refreshed)
    or removed (gone from the catalog: the customer's copy becomes inactive and keeps its values)."""

    kind: str
    name: str
    changed_fields: list[str] = field(default_factory=list)
    customer_attribute: CustomerTelemetryAttribute | None = None
    catalog_attribute: TelemetryAttribute | None = None


@dataclass(frozen=True)
class TaskRemoval:
    customer_task: CustomerTask
    has_progress: bool  # a status other than NOT_STARTED, or any telemetry value


@dataclass(frozen=True)
class TaskUpdate:
    customer_task: CustomerTask
    catalog_task: Task
    changed_fields: list[str]  # snapshot fields, plus "outcomes" / "releases" when links changed
    attribute_changes: list[AttributeChange]


@dataclass(frozen=True)
class SyncPreview:
    """What a sync would do, without doing it.

    to_add: every catalog task that joins the plan, including those whose archived copy returns;
    to_restore: those archived copies (status, history and values intact);
    to_remove: tasks that would be archived; to_update: kept or restored tasks whose snapshot changed.
    """

    to_add: list[Task]
    to_restore: list[CustomerTask]
    to_remove: list[TaskRemoval]
    to_update: list[TaskUpdate]

    @property
    def is_empty(self) -> bool:
        return not (self.to_add or self.to_restore or self.to_remove or self.to_update)


@dataclass
class _SyncPlan:
    preview: SyncPreview
    new_tasks: list[Task]
    outcome_ids: list[int]
    release_ids: list[int]
    catalog_outcomes: dict
    catalog_releases: dict
    catalog_attributes: dict
    task_outcome_rows: dict
    task_release_rows: dict
    customer_attributes: dict


def _customer_links(through, target: str, plan_id: int) -> dict[int, dict[int, int]]:
    """{customer task id: {outcome (or release) id: through row id}} for a whole plan, in one query."""
    links = defaultdict(dict)
    rows = through.objects.filter(customer_task__adoption_plan_id=plan_id).values_list(
        "pk", "customer_task_id", f"{target}_id"
    )
    for pk, task_id, target_id in rows:
        links[task_id][target_id] = pk
    return links


def _attribute_changes(
    catalog: list[TelemetryAttribute], customer: list[CustomerTelemetryAttribute]
) -> list[AttributeChange]:
    by_original = {a.original_attribute_id: a for a in customer if a.original_attribute_id}
    catalog_ids = {a.pk for a in catalog}
    changes = []
    for attribute in catalog:
        copy = by_original.get(attribute.pk)
        if copy is None:
            changes.append(AttributeChange(kind="added", name=attribute.name, catalog_attribute=attribute))
            continue
        fields = [name for name in ATTRIBUTE_SNAPSHOT_FIELDS if getattr(copy, name) != getattr(attribute, name)]
        if not copy.is_active:
            changes.append(
                AttributeChange(
                    kind="restored",
                    name=attribute.name,
                    changed_fields=fields,
                    customer_attribute=copy,
                    catalog_attribute=attribute,
                )
            )
        elif fields:
            changes.append(
                AttributeChange(
                    kind="changed",
                    name=attribute.name,
                    changed_fields=fields,
                    customer_attribute=copy,
                    catalog_attribute=attribute,
                )
            )
    for copy in customer:
        if copy.is_active and copy.original_attribute_id not in catalog_ids:
            changes.append(AttributeChange(kind="removed", name=copy.name, customer_attribute=copy))
    return changes


def _sync_plan(plan: AdoptionPlan, *, lock: bool) -> _SyncPlan:
    assignment_query = CustomerProduct.objects.all()
    task_query = CustomerTask.objects.filter(adoption_plan_id=plan.pk).order_by("pk")
    if lock:
        assignment_query = assignment_query.select_for_update()
        task_query = task_query.select_for_update()
    assignment = assignment_query.get(pk=plan.customer_product_id)
    customer_tasks = list(task_query)
    outcome_ids, release_ids = selected_ids(assignment)
    eligible = eligible_for(assignment, outcome_ids, release_ids)
    eligible_tasks = list(eligible)
    in_plan = Q(task_id__in=eligible.values("pk"))
    catalog_outcomes = catalog_links_by_task(Task.outcomes.through, "outcome", in_plan)
    catalog_releases = catalog_links_by_task(Task.releases.through, "release", in_plan)
    catalog_attributes = catalog_attributes_by_task(Q(task__in=eligible.values("pk")))
    task_outcome_rows = _customer_links(CustomerTaskOutcome, "outcome", plan.pk)
    task_release_rows = _customer_links(CustomerTaskRelease, "release", plan.pk)
    # Locked by id right after the tasks (lock order); grouped per task in display order below.
    attribute_query = CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan_id=plan.pk).order_by("pk")
    if lock:
        attribute_query = attribute_query.select_for_update(of=("self",))
    customer_attributes = defaultdict(list)
    for attribute in sorted(attribute_query, key=lambda a: (a.customer_task_id, a.order, a.pk)):
        customer_attributes[attribute.customer_task_id].append(attribute)

    by_original = {t.original_task_id: t for t in customer_tasks}
    eligible_ids = {t.pk for t in eligible_tasks}
    to_add, new_tasks, to_restore, to_update = [], [], [], []
    for catalog_task in eligible_tasks:
        copy = by_original.get(catalog_task.pk)
        if copy is None:
            to_add.append(catalog_task)
            new_tasks.append(catalog_task)
            continue
        if copy.is_archived:
            to_add.append(catalog_task)
            to_restore.append(copy)
        fields = [name for name in TASK_SNAPSHOT_FIELDS if getattr(copy, name) != getattr(catalog_task, name)]
        if set(task_outcome_rows.get(copy.pk, {})) != catalog_outcomes.get(catalog_task.pk, set()):
            fields.append("outcomes")
        if set(task_release_rows.get(copy.pk, {})) != catalog_releases.get(catalog_task.pk, set()):
            fields.append("releases")
        attribute_changes = _attribute_changes(
            catalog_attributes.get(catalog_task.pk, []), customer_attributes.get(copy.pk, [])
        )
        if fields or attribute_changes:
            to_update.append(
                TaskUpdate(
                    customer_task=copy,
                    catalog_task=catalog_task,
                    changed_fields=fields,
                    attribute_changes=attribute_changes,
                )
            )

    leaving = [t for t in customer_tasks if not t.is_archived and t.original_task_id not in eligible_ids]
    with_values = set()
    if leaving:
        with_values = set(
            CustomerTelemetryValue.objects.filter(customer_attribute__customer_task__in=[t.pk for t in leaving])
            .values_list("customer_attribute__customer_task_id", flat=True)
            .distinct()
        )
    to_remove = [
        TaskRemoval(customer_task=t, has_progress=t.status != TaskStatus.NOT_STARTED or t.pk in with_values)
        for t in leaving
    ]
    preview = SyncPreview(to_add=to_add, to_restore=to_restore, to_remove=to_remove, to_update=to_update)
    return _SyncPlan(
        preview=preview,
        new_tasks=new_tasks,
        outcome_ids=outcome_ids,
        release_ids=release_ids,
        catalog_outcomes=catalog_outcomes,
        catalog_releases=catalog_releases,
        catalog_attributes=catalog_attributes,
        task_outcome_rows=task_outcome_rows,
        task_release_rows=task_release_rows,
        customer_attributes=customer_attributes,
    )


def adoption_plan_sync_preview(*, plan: AdoptionPlan) -> SyncPreview:
    """What `adoption_plan_sync` would add, archive, restore and refresh; changes nothing."""
    return _sync_plan(plan, lock=False).preview


def _retired_name(attribute: CustomerTelemetryAttribute) -> str:
    suffix = f" (retired #{attribute.pk})"
    return attribute.name[: 100 - len(suffix)] + suffix


def _apply_attribute_changes(work: _SyncPlan, now) -> list[CustomerTelemetryAttribute]:
    """Refresh the attributes of kept tasks. Copies are never deleted: removed ones turn inactive and
    keep their values. Names stay unique per task: a retired copy whose name an active one needs is
    renamed, and renames go through temporary names so that swaps cannot collide midway."""
    to_create, to_save = [], {}
    original_names = {a.pk: a.name for copies in work.customer_attributes.values() for a in copies}
    for update in work.preview.to_update:
        if not update.attribute_changes:
            continue
        for change in update.attribute_changes:
            copy = change.customer_attribute
            if change.kind == "added":
                to_create.append(attribute_snapshot(change.catalog_attribute, update.customer_task.pk, now))
                continue
            if change.kind == "removed":
                copy.is_active = False
            else:
                for name in ATTRIBUTE_SNAPSHOT_FIELDS:
                    setattr(copy, name, getattr(change.catalog_attribute, name))
                copy.is_active = True
            copy.updated_at = now
            to_save[copy.pk] = copy
        active_names = {a.name for a in work.catalog_attributes.get(update.catalog_task.pk, [])}
        for copy in work.customer_attributes.get(update.customer_task.pk, []):
            if not copy.is_active and copy.name in active_names:
                copy.name = _retired_name(copy)
                copy.updated_at = now
                to_save[copy.pk] = copy

    if to_save:
        saved = list(to_save.values())
        renamed = [a for a in saved if original_names[a.pk] != a.name]
        if renamed:
            CustomerTelemetryAttribute.objects.bulk_update(
                [CustomerTelemetryAttribute(pk=a.pk, name=f"~sync~{a.pk}") for a in renamed], ["name"]
            )
        CustomerTelemetryAttribute.objects.bulk_update(saved, [*ATTRIBUTE_SNAPSHOT_FIELDS, "is_active", "updated_at"])
    CustomerTelemetryAttribute.objects.bulk_create(to_create)
    return to_create


def _apply_link_changes(work: _SyncPlan) -> None:
    outcome_rows_gone, release_rows_gone, outcome_rows_new, release_rows_new = [], [], [], []
    for update in work.preview.to_update:
        task_id, catalog_id = update.customer_task.pk, update.catalog_task.pk
        if "outcomes" in update.changed_fields:
            current = work.task_outcome_rows.get(task_id, {})
            wanted = work.catalog_outcomes.get(catalog_id, set())
            outcome_rows_gone += [row for target, row in current.items() if target not in wanted]
            outcome_rows_new += [
                CustomerTaskOutcome(customer_task_id=task_id, outcome_id=pk) for pk in sorted(wanted - set(current))
            ]
        if "releases" in update.changed_fields:
            current = work.task_release_rows.get(task_id, {})
            wanted = work.catalog_releases.get(catalog_id, set())
            release_rows_gone += [row for target, row in current.items() if target not in wanted]
            release_rows_new += [
                CustomerTaskRelease(customer_task_id=task_id, release_id=pk) for pk in sorted(wanted - set(current))
            ]
    if outcome_rows_gone:
        CustomerTaskOutcome.objects.filter(pk__in=outcome_rows_gone).delete()
    if release_rows_gone:
        CustomerTaskRelease.objects.filter(pk__in=release_rows_gone).delete()
    CustomerTaskOutcome.objects.bulk_create(outcome_rows_new)
    CustomerTaskRelease.objects.bulk_create(release_rows_new)


def _evaluate_after_sync(plan_id: int, task_ids: list[int]) -> None:
    """Telemetry re-evaluates the tasks a sync added, restored or refreshed (none of them archived).

    Tasks left without active attributes are passed too: evaluation clears their telemetry_status,
    and never changes the status of a task without active attributes.
    """
    evaluate_customer_tasks(task_ids=task_ids, evidence_extra={"trigger": "sync", "adoptionPlanId": plan_id})


@transaction.atomic
def adoption_plan_sync(*, actor, plan: AdoptionPlan) -> AdoptionPlan:
    """Bring a plan in line with its assignment and the catalog, losing nothing.

    Adds newly eligible tasks, archives tasks that are no longer eligible (keeping status, history and
    values), restores archived tasks that are eligible again, refreshes snapshot fields, links and
    attributes of the tasks that stay, refreshes the plan's license and selections, recomputes totals,
    sets last_synced_at and records the diff in the audit log.
    """
    now = timezone.now()
    work = _sync_plan(plan, lock=True)
    preview = work.preview
    plan = AdoptionPlan.objects.select_related("product", "customer_product").get(pk=plan.pk)
    before = {"licenseLevel": LicenseLevel(plan.license_level).name, "productName": plan.product_name}

    archived_ids = [r.customer_task.pk for r in preview.to_remove]
    if archived_ids:
        CustomerTask.objects.filter(pk__in=archived_ids).update(is_archived=True, archived_at=now, updated_at=now)
    restored_ids = [t.pk for t in preview.to_restore]
    if restored_ids:
        CustomerTask.objects.filter(pk__in=restored_ids).update(is_archived=False, archived_at=None, updated_at=now)

    refreshed = []
    for update in preview.to_update:
        if set(update.changed_fields) & set(TASK_SNAPSHOT_FIELDS):
            task = update.customer_task
            for name in TASK_SNAPSHOT_FIELDS:
                setattr(task, name, getattr(update.catalog_task, name))
            task.updated_at = now
            refreshed.append(task)
    if refreshed:
        CustomerTask.objects.bulk_update(refreshed, [*TASK_SNAPSHOT_FIELDS, "updated_at"])
    _apply_link_changes(work)
    _apply_attribute_changes(work, now)
    created = snapshot_tasks(
        plan=plan,
        catalog_tasks=work.new_tasks,
        outcome_links=work.catalog_outcomes,
        release_links=work.catalog_releases,
        attributes=work.catalog_attributes,
        now=now,
    )

    assignment = plan.customer_product
    plan.product_name = plan.product.name
    plan.license_level = assignment.license_level
    plan.last_synced_at = now
    plan.save(update_fields=["product_name", "license_level", "last_synced_at", "updated_at"])
    set_plan_selection(plan, work.outcome_ids, work.release_ids)
    plan_recompute_totals(plan_ids=[plan.pk])

    details = {
        "before": before,
        "after": {
            "licenseLevel": LicenseLevel(plan.license_level).name,
            "productName": plan.product_name,
            "selectedOutcomeIds": [str(pk) for pk in work.outcome_ids],
            "selectedReleaseIds": [str(pk) for pk in work.release_ids],
        },
        "added": [{"customerTaskId": t.pk, "taskId": t.original_task_id, "name": t.name} for t in created],
        "restored": [
            {"customerTaskId": t.pk, "taskId": t.original_task_id, "name": t.name} for t in preview.to_restore
        ],
        "archived": [
            {
                "customerTaskId": r.customer_task.pk,
                "taskId": r.customer_task.original_task_id,
                "name": r.customer_task.name,
                "status": r.customer_task.status,
                "hadProgress": r.has_progress,
            }
            for r in preview.to_remove
        ],
        "updated": [
            {
                "customerTaskId": u.customer_task.pk,
                "name": u.customer_task.name,
                "fields": u.changed_fields,
                "attributes": [
                    {"name": c.name, "change": c.kind, "fields": c.changed_fields} for c in u.attribute_changes
                ],
            }
            for u in preview.to_update
        ],
    }
    plan.refresh_from_db()
    audit_record(
        actor=actor,
        action="adoption_plan.sync",
        obj=plan,
        customer_id=assignment.customer_id,
        summary=(
            f"Synced {plan.product_name}: {len(created)} added, {len(preview.to_restore)} restored, "
            f"{len(preview.to_remove)} archived, {len(preview.to_update)} updated"
        ),
        details=details,
    )
    touched = [t.pk for t in created] + restored_ids + [u.customer_task.pk for u in preview.to_update]
    if touched:
        _evaluate_after_sync(plan.pk, sorted(set(touched)))
        plan.refresh_from_db()
    return plan
