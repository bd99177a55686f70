"""Assignments: giving a customer a product (with its plan), changing its entitlements, removing it."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from adoption.choices import LicenseLevel
from adoption.models import Outcome, Product, Release
from adoption.selectors import assignment_contents_counts
from adoption.services.eligibility import selected_ids
from adoption.services.inputs import catalog_selection, parse_license_level
from adoption.services.plans import plan_audit_details, plan_create
from adoption.status import assignments_lock_for_delete
from config.audit.services import audit_record
from config.errors import Conflict, ValidationFailed
from customers.models import Customer, CustomerProduct


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
    selected_outcomes = catalog_selection(
        Outcome, outcome_ids, product=product, field_name="selectedOutcomeIds", label="outcome"
    )
    selected_releases = catalog_selection(
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
        summary=f"Assigned {product.name} ({level.label}) to {customer.name}",
        details={
            "productId": product.pk,
            "productName": product.name,
            **_assignment_details(level, selected_outcomes, selected_releases),
        },
    )
    plan, created = plan_create(customer_product=assignment, now=now)
    audit_record(
        actor=actor,
        action="adoption_plan.create",
        obj=plan,
        customer_id=customer.pk,
        summary=f"Created adoption plan for {plan.product_name} with {len(created)} tasks",
        details=plan_audit_details(plan, created),
    )
    return assignment


@transaction.atomic
def customer_product_update(
    *, actor, customer_product: CustomerProduct, license_level=None, outcome_ids=None, release_ids=None
) -> CustomerProduct:
    """Change an assignment's entitlements (None = unchanged, [] = all).

    Marks the plan as needing sync through `entitlements_changed_at` when something actually
    changed; the plan's tasks are left alone until a sync.
    """
    assignment = (
        CustomerProduct.objects.select_for_update(of=("self",))
        .select_related("product", "customer")
        .get(pk=customer_product.pk)
    )
    product = assignment.product
    level = LicenseLevel(assignment.license_level) if license_level is None else parse_license_level(license_level)
    old_outcomes, old_releases = selected_ids(assignment)
    new_outcomes = (
        old_outcomes
        if outcome_ids is None
        else catalog_selection(Outcome, outcome_ids, product=product, field_name="selectedOutcomeIds", label="outcome")
    )
    new_releases = (
        old_releases
        if release_ids is None
        else catalog_selection(Release, release_ids, product=product, field_name="selectedReleaseIds", label="release")
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
    words = {
        "licenseLevel": f"license level ({LicenseLevel(assignment.license_level).label} → {level.label})",
        "selectedOutcomeIds": "outcomes",
        "selectedReleaseIds": "releases",
    }
    parts = [words[name] for name in changed]
    changed_words = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
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
        summary=f"Changed {changed_words} of {product.name} for {assignment.customer.name}",
        details={"changed": changed, "before": before, "after": _assignment_details(level, new_outcomes, new_releases)},
    )
    return assignment


@transaction.atomic
def customer_product_remove(*, actor, customer_product: CustomerProduct) -> dict:
    """Remove a product from a customer. Its plan, customer tasks, status history, telemetry
    attributes and values go with it (cascade); the audit entry keeps a summary with the counts."""
    # The cascade deletes attributes before tasks; lock everything first, in the shared order, so a
    # concurrent ingestion or sync waits for us instead of deadlocking with us.
    assignment = (
        CustomerProduct.objects.select_for_update(of=("self",))
        .select_related("customer", "product")
        .get(pk=customer_product.pk)
    )
    assignments_lock_for_delete([assignment.pk])
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
