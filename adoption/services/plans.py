"""Plans: creating a plan as a snapshot of every eligible catalog task, with its links and attributes.

Everything is read and written in bulk: the number of queries does not grow with the number of tasks or
attributes. The snapshot helpers are shared with sync.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, CustomerTaskOutcome, CustomerTaskRelease, Task
from adoption.progress import round2, to_decimal
from adoption.services.eligibility import eligible_for, selected_ids
from config.audit.services import audit_record
from config.errors import Conflict, ValidationFailed
from customers.models import CustomerProduct
from telemetry.models import CustomerTelemetryAttribute, TelemetryAttribute

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


def catalog_links_by_task(through, target: str, task_filter: Q) -> dict[int, set[int]]:
    """{catalog task id: ids of its active outcomes (or releases)} in one query."""
    links = defaultdict(set)
    rows = through.objects.filter(task_filter, **{f"{target}__is_active": True}).values_list("task_id", f"{target}_id")
    for task_id, target_id in rows:
        links[task_id].add(target_id)
    return links


def catalog_attributes_by_task(task_filter: Q) -> dict[int, list[TelemetryAttribute]]:
    attributes = defaultdict(list)
    for attribute in TelemetryAttribute.objects.filter(task_filter, is_active=True).order_by("task_id", "order", "pk"):
        attributes[attribute.task_id].append(attribute)
    return attributes


def attribute_snapshot(attribute: TelemetryAttribute, customer_task_id: int, now) -> CustomerTelemetryAttribute:
    return CustomerTelemetryAttribute(
        customer_task_id=customer_task_id,
        original_attribute_id=attribute.pk,
        **{name: getattr(attribute, name) for name in ATTRIBUTE_SNAPSHOT_FIELDS},
        is_active=True,
        created_at=now,
        updated_at=now,
    )


def snapshot_tasks(
    *, plan: AdoptionPlan, catalog_tasks: list[Task], outcome_links, release_links, attributes, now
) -> list[CustomerTask]:
    """Copy catalog tasks into the plan with their links and active attributes: at most 4 inserts."""
    if not catalog_tasks:
        return []
    created = CustomerTask.objects.bulk_create(
        [customer_task_snapshot(task, plan.pk, now, attributes=attributes) for task in catalog_tasks]
    )
    write_snapshot_children(
        created, outcome_links=outcome_links, release_links=release_links, attributes=attributes, now=now
    )
    return created


def customer_task_snapshot(task: Task, plan_id: int, now, *, attributes) -> CustomerTask:
    """The unsaved copy of one catalog task in a plan, as it starts (``attributes``: the catalog
    attributes by catalog task id)."""
    return CustomerTask(
        adoption_plan_id=plan_id,
        original_task_id=task.pk,
        **{name: getattr(task, name) for name in TASK_SNAPSHOT_FIELDS},
        status=TaskStatus.NOT_STARTED,
        status_update_source=StatusSource.SYSTEM,
        # What an evaluation would compute now: no attribute has a value yet, so none is met.
        telemetry_status=TaskStatus.NOT_STARTED if attributes.get(task.pk) else "",
        created_at=now,
        updated_at=now,
    )


def write_snapshot_children(
    created: list[CustomerTask],
    *,
    outcome_links,
    release_links,
    attributes,
    now,
    batch_size: int | None = None,
    insert=None,
) -> None:
    """The outcome and release links and the attribute copies of saved customer tasks: 3 inserts (more
    with ``batch_size``, for many plans at once). ``insert(model, rows)`` writes the rows instead of
    ``bulk_create`` (the portfolio generator copies them in)."""
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
        attribute_rows += [attribute_snapshot(a, customer_task.pk, now) for a in attributes.get(task_id, ())]
    for model, rows in (
        (CustomerTaskOutcome, outcome_rows),
        (CustomerTaskRelease, release_rows),
        (CustomerTelemetryAttribute, attribute_rows),
    ):
        if insert is not None:
            insert(model, rows)
        else:
            model.objects.bulk_create(rows, batch_size=batch_size)


def set_plan_selection(plan: AdoptionPlan, outcome_ids: list[int], release_ids: list[int]) -> None:
    plan.selected_outcomes.set(outcome_ids)
    plan.selected_releases.set(release_ids)


@dataclass
class PlanContents:
    """What a new plan of an assignment copies: its eligible catalog tasks, their active links and
    attributes, and the totals it starts with. The same for every assignment with the same product and
    entitlements, so bulk creation reads it once."""

    catalog_tasks: list[Task]
    outcome_links: dict[int, set[int]]
    release_links: dict[int, set[int]]
    attributes: dict[int, list[TelemetryAttribute]]

    @property
    def total_weight(self):
        # Every new task starts NOT_STARTED, so the totals are known before anything is written.
        return round2(sum((to_decimal(t.weight) for t in self.catalog_tasks), to_decimal(0)))


def plan_contents(customer_product: CustomerProduct, outcome_ids, release_ids) -> PlanContents:
    eligible = eligible_for(customer_product, outcome_ids, release_ids)
    in_plan = Q(task_id__in=eligible.values("pk"))
    return PlanContents(
        catalog_tasks=list(eligible),
        outcome_links=catalog_links_by_task(Task.outcomes.through, "outcome", in_plan),
        release_links=catalog_links_by_task(Task.releases.through, "release", in_plan),
        attributes=catalog_attributes_by_task(Q(task__in=eligible.values("pk"))),
    )


def plan_row(customer_product: CustomerProduct, contents: PlanContents, now) -> AdoptionPlan:
    """The unsaved plan row of an assignment, with its starting totals."""
    return AdoptionPlan(
        customer_product=customer_product,
        product_id=customer_product.product_id,
        product_name=customer_product.product.name,
        license_level=customer_product.license_level,
        total_tasks=len(contents.catalog_tasks),
        completed_tasks=0,
        total_weight=contents.total_weight,
        completed_weight=0,
        progress_percentage=0,
        last_synced_at=now,
    )


def plan_create(*, customer_product: CustomerProduct, now) -> tuple[AdoptionPlan, list[CustomerTask]]:
    outcome_ids, release_ids = selected_ids(customer_product)
    contents = plan_contents(customer_product, outcome_ids, release_ids)
    catalog_tasks = contents.catalog_tasks
    outcome_links, release_links, attributes = contents.outcome_links, contents.release_links, contents.attributes
    try:
        with transaction.atomic():
            plan = plan_row(customer_product, contents, now)
            plan.save(force_insert=True)
    except IntegrityError:
        raise Conflict("this product assignment already has an adoption plan", field="customerProductId") from None
    AdoptionPlan.selected_outcomes.through.objects.bulk_create(
        [AdoptionPlan.selected_outcomes.through(adoptionplan_id=plan.pk, outcome_id=pk) for pk in outcome_ids]
    )
    AdoptionPlan.selected_releases.through.objects.bulk_create(
        [AdoptionPlan.selected_releases.through(adoptionplan_id=plan.pk, release_id=pk) for pk in release_ids]
    )
    created = snapshot_tasks(
        plan=plan,
        catalog_tasks=catalog_tasks,
        outcome_links=outcome_links,
        release_links=release_links,
        attributes=attributes,
        now=now,
    )
    return plan, created


def plan_audit_details(plan: AdoptionPlan, created: list[CustomerTask]) -> dict:
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
    """Create the plan of an assignment that has none: a snapshot of every eligible task."""
    if AdoptionPlan.objects.filter(customer_product_id=customer_product.pk).exists():
        raise Conflict("this product assignment already has an adoption plan", field="customerProductId")
    if not customer_product.product.is_active:
        raise ValidationFailed(
            f"product {customer_product.product.name!r} is no longer in the catalog", field="customerProductId"
        )
    now = timezone.now()
    plan, created = plan_create(customer_product=customer_product, now=now)
    audit_record(
        actor=actor,
        action="adoption_plan.create",
        obj=plan,
        customer_id=customer_product.customer_id,
        summary=f"Created adoption plan for {plan.product_name} with {len(created)} tasks",
        details=plan_audit_details(plan, created),
    )
    return plan
