"""Eligibility: the one definition of which catalog tasks an assignment gets, used by plan creation,
sync preview and sync."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from adoption.models import CustomerTask, Product, Task
from adoption.services.inputs import parse_license_level
from customers.models import CustomerProduct


def _links_filter(through, target: str, chosen_ids: list[int]) -> Q:
    """Untagged (no active link) or sharing a selected item. Links to deleted items do not count."""
    active_links = through.objects.filter(task_id=OuterRef("pk"), **{f"{target}__is_active": True})
    return ~Exists(active_links) | Exists(active_links.filter(**{f"{target}_id__in": chosen_ids}))


def eligible_catalog_tasks(*, product, license_level, outcome_ids, release_ids) -> QuerySet[Task]:
    """Active tasks of an active product that an assignment with these entitlements gets.

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


def selected_ids(customer_product: CustomerProduct) -> tuple[list[int], list[int]]:
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


def eligible_for(customer_product: CustomerProduct, outcome_ids, release_ids) -> QuerySet[Task]:
    return eligible_catalog_tasks(
        product=customer_product.product_id,
        license_level=customer_product.license_level,
        outcome_ids=outcome_ids,
        release_ids=release_ids,
    )


@dataclass(frozen=True)
class EntitlementsPreview:
    """What a sync would add to and archive from a plan if its assignment had other entitlements.

    to_add: catalog tasks the plan would gain (new, or an archived copy coming back);
    to_archive: the plan's current tasks that would leave it (archived, status and history kept);
    task_count: the tasks the plan would hold after that sync."""

    to_add: list[Task]
    to_archive: list[CustomerTask]
    task_count: int

    @property
    def is_empty(self) -> bool:
        return not (self.to_add or self.to_archive)


def entitlements_change_preview(
    *, customer_product: CustomerProduct, license_level=None, outcome_ids=None, release_ids=None
) -> EntitlementsPreview:
    """Read only: the tasks a sync would add/archive after `customer_product_update` with these arguments
    (None = unchanged, [] = all, as the update reads them). Uses the one eligibility definition above
    and compares with the plan's current (not archived) tasks, so it matches what the sync will do."""
    current_outcomes, current_releases = selected_ids(customer_product)
    eligible = list(
        eligible_catalog_tasks(
            product=customer_product.product_id,
            license_level=customer_product.license_level if license_level is None else license_level,
            outcome_ids=current_outcomes if outcome_ids is None else outcome_ids,
            release_ids=current_releases if release_ids is None else release_ids,
        ).only("name", "weight", "est_minutes", "license_level", "sequence_number")
    )
    current = list(
        CustomerTask.objects.filter(adoption_plan__customer_product_id=customer_product.pk, is_archived=False)
        .only("name", "original_task_id", "sequence_number")
        .order_by("sequence_number", "pk")
    )
    in_plan = {task.original_task_id for task in current}
    eligible_ids = {task.pk for task in eligible}
    return EntitlementsPreview(
        to_add=[task for task in eligible if task.pk not in in_plan],
        to_archive=[task for task in current if task.original_task_id not in eligible_ids],
        task_count=len(eligible),
    )
