"""Every write to assignments, plans and customer tasks. Pages, GraphQL, telemetry and commands call these.

Conventions: `<noun>_<verb>(*, ...)`, keyword-only arguments, atomic, DomainError on refusal (a refused
call changes nothing). Services do not check permissions: their callers do, with the permissions modules.

Lock order, so concurrent writers never deadlock: assignment row, then customer task rows (in id
order), then the plan row (taken last, by `plan_recompute_totals`).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import (
    AdoptionPlan,
    CustomerTask,
    CustomerTaskOutcome,
    CustomerTaskRelease,
    Outcome,
    Product,
    Release,
    Task,
    TaskStatusChange,
)
from adoption.progress import percentage, round2, to_decimal
from config.errors import Conflict, ValidationFailed
from customers.audit import actor_label_of, audit_record
from customers.models import Customer, CustomerProduct
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryAttribute

# ---------------------------------------------------------------------------------------------
# Primitives shared with telemetry (which bulk-updates many tasks at once).
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Input parsing shared by the services below.
# ---------------------------------------------------------------------------------------------


def parse_license_level(value) -> LicenseLevel:
    """LicenseLevel, 1..3 or a name such as "ADVANTAGE"; anything else is VALIDATION_ERROR on licenseLevel."""
    if isinstance(value, LicenseLevel):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value in LicenseLevel.values:
            return LicenseLevel(value)
    elif isinstance(value, str):
        try:
            return LicenseLevel.from_name(value)
        except ValueError:
            pass
    raise ValidationFailed(
        f"unknown license level {value!r}; expected one of {', '.join(LicenseLevel.names)}", field="licenseLevel"
    )


def parse_task_status(value) -> TaskStatus:
    """A status name such as "DONE" (any case); anything else is VALIDATION_ERROR on status."""
    if isinstance(value, TaskStatus):
        return value
    if isinstance(value, str) and value.strip().upper() in TaskStatus.values:
        return TaskStatus(value.strip().upper())
    raise ValidationFailed(f"unknown status {value!r}; expected one of {', '.join(TaskStatus.values)}", field="status")


def _parse_ids(values, *, field_name: str, label: str) -> tuple[list[int], list[str]]:
    """Distinct positive integer ids in input order, and the malformed inputs as given."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationFailed(f"{label} ids must be a list", field=field_name)
    ids, bad = [], []
    for value in values:
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            bad.append(str(value))
            continue
        if number <= 0 or number > 2**63 - 1:
            bad.append(str(value))
        elif number not in ids:
            ids.append(number)
    return ids, bad


def _catalog_selection(model, values, *, product: Product, field_name: str, label: str) -> list[int]:
    """Validate selected outcome/release ids: each must be an active item of this product."""
    if values is None:
        return []
    ids, bad = _parse_ids(values, field_name=field_name, label=label)
    found = set(model.objects.filter(pk__in=ids, product=product, is_active=True).values_list("pk", flat=True))
    bad += [str(pk) for pk in ids if pk not in found]
    if bad:
        raise ValidationFailed(
            f"{label}s {', '.join(bad)} are not active {label}s of product {product.name!r}",
            field=field_name,
            details={"invalidIds": bad},
        )
    return sorted(ids)


# ---------------------------------------------------------------------------------------------
# Eligibility (SPEC 2): the one definition used by plan creation, sync preview and sync.
# ---------------------------------------------------------------------------------------------


def _links_filter(through, target: str, selected_ids: list[int]) -> Q:
    """Untagged (no active link) or sharing a selected item. Links to deleted items do not count."""
    active_links = through.objects.filter(task_id=OuterRef("pk"), **{f"{target}__is_active": True})
    return ~Exists(active_links) | Exists(active_links.filter(**{f"{target}_id__in": selected_ids}))


def eligible_catalog_tasks(*, product, license_level, outcome_ids, release_ids) -> QuerySet[Task]:
    """Active tasks of an active product that an assignment with these entitlements gets (SPEC 2).

    Empty (or None) outcome/release selections mean "all". Tagging goes through EXISTS subqueries,
    so every task appears once however many outcomes or releases it has.
    """
    level = parse_license_level(license_level)
    product_id = product.pk if isinstance(product, Product) else int(product)
    tasks = Task.objects.filter(
        product_id=product_id, product__is_active=True, is_active=True, license_level__lte=int(level)
    )
    outcome_ids = [int(pk) for pk in outcome_ids or []]
    release_ids = [int(pk) for pk in release_ids or []]
    if outcome_ids:
        tasks = tasks.filter(_links_filter(Task.outcomes.through, "outcome", outcome_ids))
    if release_ids:
        tasks = tasks.filter(_links_filter(Task.releases.through, "release", release_ids))
    return tasks.order_by("sequence_number", "pk")


def _selected_ids(customer_product: CustomerProduct) -> tuple[list[int], list[int]]:
    outcome_ids = sorted(
        customer_product.selected_outcomes.through.objects.filter(customerproduct_id=customer_product.pk).values_list(
            "outcome_id", flat=True
        )
    )
    release_ids = sorted(
        customer_product.selected_releases.through.objects.filter(customerproduct_id=customer_product.pk).values_list(
            "release_id", flat=True
        )
    )
    return outcome_ids, release_ids


def _eligible_for(customer_product: CustomerProduct, outcome_ids, release_ids) -> QuerySet[Task]:
    return eligible_catalog_tasks(
        product=customer_product.product_id,
        license_level=customer_product.license_level,
        outcome_ids=outcome_ids,
        release_ids=release_ids,
    )


# ---------------------------------------------------------------------------------------------
# Snapshots (SPEC 3). Everything is read and written in bulk: the number of queries does not grow
# with the number of tasks or attributes.
# ---------------------------------------------------------------------------------------------

TASK_SNAPSHOT_FIELDS = [
    "name",
    "description",
    "est_minutes",
    "weight",
    "sequence_number",
    "priority",
    "how_to_doc",
    "how_to_video",
    "notes",
    "license_level",
]
ATTRIBUTE_SNAPSHOT_FIELDS = ["name", "description", "data_type", "is_required", "success_criteria", "order"]


def _catalog_links(through, target: str, task_filter: Q) -> dict[int, set[int]]:
    """{catalog task id: ids of its active outcomes (or releases)} in one query."""
    links = defaultdict(set)
    rows = through.objects.filter(task_filter, **{f"{target}__is_active": True}).values_list("task_id", f"{target}_id")
    for task_id, target_id in rows:
        links[task_id].add(target_id)
    return links


def _catalog_attributes(task_filter: Q) -> dict[int, list[TelemetryAttribute]]:
    attributes = defaultdict(list)
    for attribute in TelemetryAttribute.objects.filter(task_filter, is_active=True).order_by("task_id", "order", "pk"):
        attributes[attribute.task_id].append(attribute)
    return attributes


def _attribute_snapshot(attribute: TelemetryAttribute, customer_task_id: int, now) -> CustomerTelemetryAttribute:
    return CustomerTelemetryAttribute(
        customer_task_id=customer_task_id,
        original_attribute_id=attribute.pk,
        **{name: getattr(attribute, name) for name in ATTRIBUTE_SNAPSHOT_FIELDS},
        is_active=True,
        created_at=now,
        updated_at=now,
    )


def _snapshot_tasks(
    *, plan: AdoptionPlan, catalog_tasks: list[Task], outcome_links, release_links, attributes, now
) -> list[CustomerTask]:
    """Copy catalog tasks into the plan with their links and active attributes: at most 4 inserts."""
    if not catalog_tasks:
        return []
    created = CustomerTask.objects.bulk_create(
        [
            CustomerTask(
                adoption_plan_id=plan.pk,
                original_task_id=task.pk,
                **{name: getattr(task, name) for name in TASK_SNAPSHOT_FIELDS},
                status=TaskStatus.NOT_STARTED,
                status_update_source=StatusSource.SYSTEM,
                created_at=now,
                updated_at=now,
            )
            for task in catalog_tasks
        ]
    )
    outcome_rows, release_rows, attribute_rows = [], [], []
    for customer_task in created:
        task_id = customer_task.original_task_id
        outcome_rows += [
            CustomerTaskOutcome(customer_task_id=customer_task.pk, outcome_id=pk)
            for pk in sorted(outcome_links.get(task_id, ()))
        ]
        release_rows += [
            CustomerTaskRelease(customer_task_id=customer_task.pk, release_id=pk)
            for pk in sorted(release_links.get(task_id, ()))
        ]
        attribute_rows += [_attribute_snapshot(a, customer_task.pk, now) for a in attributes.get(task_id, ())]
    CustomerTaskOutcome.objects.bulk_create(outcome_rows)
    CustomerTaskRelease.objects.bulk_create(release_rows)
    CustomerTelemetryAttribute.objects.bulk_create(attribute_rows)
    return created


def _set_plan_selection(plan: AdoptionPlan, outcome_ids: list[int], release_ids: list[int]) -> None:
    plan.selected_outcomes.set(outcome_ids)
    plan.selected_releases.set(release_ids)


def _plan_create(*, customer_product: CustomerProduct, now) -> tuple[AdoptionPlan, list[CustomerTask]]:
    outcome_ids, release_ids = _selected_ids(customer_product)
    eligible = _eligible_for(customer_product, outcome_ids, release_ids)
    catalog_tasks = list(eligible)
    in_plan = Q(task_id__in=eligible.values("pk"))
    outcome_links = _catalog_links(Task.outcomes.through, "outcome", in_plan)
    release_links = _catalog_links(Task.releases.through, "release", in_plan)
    attributes = _catalog_attributes(Q(task__in=eligible.values("pk")))

    # Every new task starts NOT_STARTED, so the totals are known before anything is written.
    total_weight = round2(sum((to_decimal(t.weight) for t in catalog_tasks), to_decimal(0)))
    try:
        with transaction.atomic():
            plan = AdoptionPlan.objects.create(
                customer_product=customer_product,
                product_id=customer_product.product_id,
                product_name=customer_product.product.name,
                license_level=customer_product.license_level,
                total_tasks=len(catalog_tasks),
                completed_tasks=0,
                total_weight=total_weight,
                completed_weight=0,
                progress_percentage=0,
                last_synced_at=now,
            )
    except IntegrityError:
        raise Conflict("this product assignment already has an adoption plan", field="customerProductId") from None
    AdoptionPlan.selected_outcomes.through.objects.bulk_create(
        [AdoptionPlan.selected_outcomes.through(adoptionplan_id=plan.pk, outcome_id=pk) for pk in outcome_ids]
    )
    AdoptionPlan.selected_releases.through.objects.bulk_create(
        [AdoptionPlan.selected_releases.through(adoptionplan_id=plan.pk, release_id=pk) for pk in release_ids]
    )
    created = _snapshot_tasks(
        plan=plan,
        catalog_tasks=catalog_tasks,
        outcome_links=outcome_links,
        release_links=release_links,
        attributes=attributes,
        now=now,
    )
    return plan, created


def _plan_audit_details(plan: AdoptionPlan, created: list[CustomerTask]) -> dict:
    return {
        "adoptionPlanId": plan.pk,
        "productId": plan.product_id,
        "productName": plan.product_name,
        "licenseLevel": LicenseLevel(plan.license_level).name,
        "taskCount": len(created),
        "totalWeight": str(plan.total_weight),
    }


@transaction.atomic
def adoption_plan_create(*, actor, customer_product: CustomerProduct) -> AdoptionPlan:
    """Create the plan of an assignment that has none: a snapshot of every eligible task (SPEC 3)."""
    if AdoptionPlan.objects.filter(customer_product_id=customer_product.pk).exists():
        raise Conflict("this product assignment already has an adoption plan", field="customerProductId")
    if not customer_product.product.is_active:
        raise ValidationFailed(
            f"product {customer_product.product.name!r} is no longer in the catalog", field="customerProductId"
        )
    now = timezone.now()
    plan, created = _plan_create(customer_product=customer_product, now=now)
    audit_record(
        actor=actor,
        action="adoption_plan.create",
        obj=plan,
        customer_id=customer_product.customer_id,
        summary=f"Created adoption plan for {plan.product_name} with {len(created)} tasks",
        details=_plan_audit_details(plan, created),
    )
    return plan


# ---------------------------------------------------------------------------------------------
# Assignments.
# ---------------------------------------------------------------------------------------------


def _assignment_details(license_level, outcome_ids, release_ids) -> dict:
    return {
        "licenseLevel": LicenseLevel(int(license_level)).name,
        "selectedOutcomeIds": [str(pk) for pk in outcome_ids],
        "selectedReleaseIds": [str(pk) for pk in release_ids],
    }


@transaction.atomic
def customer_product_assign(
    *, actor, customer: Customer, product: Product, license_level, outcome_ids=None, release_ids=None, purchased_at=None
) -> CustomerProduct:
    """Assign a product to a customer and create its adoption plan, in one transaction.

    `outcome_ids` / `release_ids`: None or [] mean all. Refuses an inactive product, a product the
    customer already has (CONFLICT), outcomes/releases that are not active items of this product and
    unknown license levels (VALIDATION_ERROR).
    """
    if not product.is_active:
        raise ValidationFailed(f"product {product.name!r} is no longer in the catalog", field="productId")
    level = parse_license_level(license_level)
    selected_outcomes = _catalog_selection(
        Outcome, outcome_ids, product=product, field_name="selectedOutcomeIds", label="outcome"
    )
    selected_releases = _catalog_selection(
        Release, release_ids, product=product, field_name="selectedReleaseIds", label="release"
    )
    if CustomerProduct.objects.filter(customer_id=customer.pk, product_id=product.pk).exists():
        raise Conflict(f"customer {customer.name!r} already has product {product.name!r}", field="productId")

    now = timezone.now()
    try:
        with transaction.atomic():
            assignment = CustomerProduct.objects.create(
                customer=customer,
                product=product,
                license_level=level,
                purchased_at=purchased_at or now,
                entitlements_changed_at=now,
            )
    except IntegrityError:
        raise Conflict(f"customer {customer.name!r} already has product {product.name!r}", field="productId") from None
    assignment.selected_outcomes.set(selected_outcomes)
    assignment.selected_releases.set(selected_releases)

    audit_record(
        actor=actor,
        action="customer_product.assign",
        obj=assignment,
        customer_id=customer.pk,
        summary=f"Assigned {product.name} ({level.name}) to {customer.name}",
        details={
            "productId": product.pk,
            "productName": product.name,
            **_assignment_details(level, selected_outcomes, selected_releases),
        },
    )
    plan, created = _plan_create(customer_product=assignment, now=now)
    audit_record(
        actor=actor,
        action="adoption_plan.create",
        obj=plan,
        customer_id=customer.pk,
        summary=f"Created adoption plan for {plan.product_name} with {len(created)} tasks",
        details=_plan_audit_details(plan, created),
    )
    return assignment


@transaction.atomic
def customer_product_update(
    *, actor, customer_product: CustomerProduct, license_level=None, outcome_ids=None, release_ids=None
) -> CustomerProduct:
    """Change an assignment's entitlements (None = unchanged, [] = all).

    Marks the plan as needing sync through `entitlements_changed_at` when something actually
    changed; the plan's tasks are left alone until a sync (SPEC 7).
    """
    assignment = (
        CustomerProduct.objects.select_for_update(of=("self",))
        .select_related("product", "customer")
        .get(pk=customer_product.pk)
    )
    product = assignment.product
    level = LicenseLevel(assignment.license_level) if license_level is None else parse_license_level(license_level)
    old_outcomes, old_releases = _selected_ids(assignment)
    new_outcomes = (
        old_outcomes
        if outcome_ids is None
        else _catalog_selection(Outcome, outcome_ids, product=product, field_name="selectedOutcomeIds", label="outcome")
    )
    new_releases = (
        old_releases
        if release_ids is None
        else _catalog_selection(Release, release_ids, product=product, field_name="selectedReleaseIds", label="release")
    )

    changed = []
    if int(level) != assignment.license_level:
        changed.append("licenseLevel")
    if new_outcomes != old_outcomes:
        changed.append("selectedOutcomeIds")
    if new_releases != old_releases:
        changed.append("selectedReleaseIds")
    if not changed:
        return assignment

    before = _assignment_details(assignment.license_level, old_outcomes, old_releases)
    now = timezone.now()
    assignment.license_level = int(level)
    assignment.entitlements_changed_at = now
    assignment.save(update_fields=["license_level", "entitlements_changed_at", "updated_at"])
    if new_outcomes != old_outcomes:
        assignment.selected_outcomes.set(new_outcomes)
    if new_releases != old_releases:
        assignment.selected_releases.set(new_releases)
    audit_record(
        actor=actor,
        action="customer_product.update",
        obj=assignment,
        customer_id=assignment.customer_id,
        summary=f"Changed {', '.join(changed)} of {product.name} for {assignment.customer.name}",
        details={"changed": changed, "before": before, "after": _assignment_details(level, new_outcomes, new_releases)},
    )
    return assignment


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


@transaction.atomic
def customer_product_remove(*, actor, customer_product: CustomerProduct) -> dict:
    """Remove a product from a customer. Its plan, customer tasks, status history, telemetry
    attributes and values go with it (cascade); the audit entry keeps a summary with the counts."""
    assignment = CustomerProduct.objects.select_related("customer", "product").get(pk=customer_product.pk)
    counts = assignment_contents_counts(CustomerProduct.objects.filter(pk=assignment.pk))
    summary = {
        "customerProductId": assignment.pk,
        "customerId": assignment.customer_id,
        "customerName": assignment.customer.name,
        "productId": assignment.product_id,
        "productName": assignment.product.name,
        "licenseLevel": LicenseLevel(assignment.license_level).name,
        "deleted": counts,
    }
    assignment_pk = assignment.pk
    assignment.delete()
    audit_record(
        actor=actor,
        action="customer_product.remove",
        object_type="customerproduct",
        object_id=assignment_pk,
        customer_id=summary["customerId"],
        summary=(
            f"Removed {summary['productName']} from {summary['customerName']}: "
            f"{counts['customerTasks']} tasks, {counts['statusHistoryEntries']} history entries, "
            f"{counts['telemetryValues']} telemetry values deleted"
        ),
        details=summary,
    )
    return summary


# ---------------------------------------------------------------------------------------------
# Manual status (SPEC 4).
# ---------------------------------------------------------------------------------------------


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
    ids, bad = _parse_ids(task_ids, field_name="customerTaskIds", label="customer task")
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


# ---------------------------------------------------------------------------------------------
# Sync (SPEC 7).
# ---------------------------------------------------------------------------------------------


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
    outcome_ids, release_ids = _selected_ids(assignment)
    eligible = _eligible_for(assignment, outcome_ids, release_ids)
    eligible_tasks = list(eligible)
    in_plan = Q(task_id__in=eligible.values("pk"))
    catalog_outcomes = _catalog_links(Task.outcomes.through, "outcome", in_plan)
    catalog_releases = _catalog_links(Task.releases.through, "release", in_plan)
    catalog_attributes = _catalog_attributes(Q(task__in=eligible.values("pk")))
    task_outcome_rows = _customer_links(CustomerTaskOutcome, "outcome", plan.pk)
    task_release_rows = _customer_links(CustomerTaskRelease, "release", plan.pk)
    customer_attributes = defaultdict(list)
    for attribute in CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan_id=plan.pk).order_by(
        "customer_task_id", "order", "pk"
    ):
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
                to_create.append(_attribute_snapshot(change.catalog_attribute, update.customer_task.pk, now))
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
    """Telemetry re-evaluates the tasks a sync added, restored or refreshed (none of them archived),
    when the telemetry engine is installed."""
    try:
        from telemetry.evaluation import evaluate_customer_tasks
    except ImportError as exc:
        if getattr(exc, "name", None) == "telemetry.evaluation":
            return
        raise
    # Tasks left without active attributes are passed too: evaluation clears their telemetry_status,
    # and never changes the status of a task without active attributes.
    evaluate_customer_tasks(task_ids=task_ids, evidence_extra={"trigger": "sync", "adoptionPlanId": plan_id})


@transaction.atomic
def adoption_plan_sync(*, actor, plan: AdoptionPlan) -> AdoptionPlan:
    """Bring a plan in line with its assignment and the catalog (SPEC 7), losing nothing.

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
    created = _snapshot_tasks(
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
    _set_plan_selection(plan, work.outcome_ids, work.release_ids)
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
