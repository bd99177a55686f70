"""Many customers with their plans at once: the rows `customer_create` and `customer_product_assign`
would write (customers, assignments, plans, customer tasks with their links and attribute copies, audit
entries), written in bulk, for load tests, benchmarks and demos of large portfolios.

Plans are made by the same snapshot code as `plan_create` (plan_contents, plan_row,
customer_task_snapshot, write_snapshot_children), read once per product and license level instead of
once per plan, and every table is written with one bulk INSERT per chunk of customers.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from adoption.choices import LicenseLevel
from adoption.models import AdoptionPlan, CustomerTask, Product
from adoption.services.assignments import _assignment_details
from adoption.services.plans import (
    PlanContents,
    customer_task_snapshot,
    plan_audit_details,
    plan_contents,
    plan_row,
    write_snapshot_children,
)
from config.audit.models import AuditLog
from config.audit.services import audit_entry
from config.errors import ValidationFailed
from customers.models import Customer, CustomerProduct

LEVELS = (LicenseLevel.ESSENTIAL, LicenseLevel.ADVANTAGE, LicenseLevel.SIGNATURE)
BATCH_SIZE = 2000  # rows per INSERT: within PostgreSQL's 65,535 parameters for every table here
MAX_CUSTOMERS = 1_000_000


@dataclass
class PortfolioCounts:
    customers: int = 0
    assignments: int = 0
    plans: int = 0
    tasks: int = 0
    attributes: int = 0
    by_product: dict[str, int] = field(default_factory=dict)


def portfolio_assignments(index: int, products: list[Product], per_customer: int) -> list[tuple[Product, int]]:
    """(product, license level) of customer number ``index``: consecutive products of the list and the
    license levels in turn, so every product and level is represented."""
    return [
        (products[(index + j) % len(products)], int(LEVELS[(index + j) % len(LEVELS)])) for j in range(per_customer)
    ]


def portfolio_generate(
    *,
    actor,
    customers: int,
    products: list[Product],
    per_customer: int = 2,
    prefix: str = "Portfolio customer",
    chunk_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> PortfolioCounts:
    """Create ``customers`` customers named "<prefix> 000001", ... each assigned ``per_customer`` of the
    active ``products`` (all outcomes and releases) with a plan, as the services would. One transaction
    per chunk of customers; refuses names that exist already and writes nothing then."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValidationFailed(f"customers must be between 1 and {MAX_CUSTOMERS:,}, got {customers}", field="customers")
    products = [product for product in products if product.is_active]
    if not products:
        raise ValidationFailed("no active product to assign: load a catalog first", field="products")
    if not 1 <= per_customer <= len(products):
        raise ValidationFailed(
            f"products per customer must be between 1 and {len(products)} (the active products), got {per_customer}",
            field="perCustomer",
        )
    prefix = prefix.strip()
    if not prefix or len(prefix) > 180:
        raise ValidationFailed("the name prefix must be 1 to 180 characters", field="prefix")
    if Customer.objects.filter(name__istartswith=f"{prefix} ").exists():
        raise ValidationFailed(f"customers named {prefix!r} ... exist already: choose another prefix", field="prefix")

    contents: dict[tuple[int, int], PlanContents] = {}
    for product in products:
        for level in LEVELS:
            contents[product.pk, int(level)] = plan_contents(
                CustomerProduct(product=product, license_level=int(level)), [], []
            )
    counts = PortfolioCounts()
    width = max(6, len(str(customers)))
    for start in range(0, customers, chunk_size):
        indexes = range(start, min(start + chunk_size, customers))
        _write_chunk(actor, indexes, products, per_customer, prefix, width, contents, counts)
        if progress is not None:
            progress(counts.customers, customers)
    return counts


@transaction.atomic
def _write_chunk(actor, indexes, products, per_customer, prefix, width, contents, counts) -> None:
    now = timezone.now()
    created_customers = Customer.objects.bulk_create(
        [Customer(name=f"{prefix} {i + 1:0{width}d}") for i in indexes], batch_size=BATCH_SIZE
    )
    audit = [
        audit_entry(
            actor=actor,
            action="customer.create",
            obj=customer,
            customer_id=customer.pk,
            summary=f"Created customer {customer.name}",
            details={"name": customer.name, "description": customer.description},
        )
        for customer in created_customers
    ]
    assignments = []
    for i, customer in zip(indexes, created_customers, strict=True):
        for product, level in portfolio_assignments(i, products, per_customer):
            assignments.append(
                CustomerProduct(
                    customer=customer,
                    product=product,
                    license_level=level,
                    purchased_at=now,
                    entitlements_changed_at=now,
                )
            )
    CustomerProduct.objects.bulk_create(assignments, batch_size=BATCH_SIZE)
    plans = AdoptionPlan.objects.bulk_create(
        [plan_row(a, contents[a.product_id, a.license_level], now) for a in assignments], batch_size=BATCH_SIZE
    )
    tasks = CustomerTask.objects.bulk_create(
        [
            customer_task_snapshot(
                task, plan.pk, now, attributes=contents[assignment.product_id, assignment.license_level].attributes
            )
            for plan, assignment in zip(plans, assignments, strict=True)
            for task in contents[assignment.product_id, assignment.license_level].catalog_tasks
        ],
        batch_size=BATCH_SIZE,
    )
    # Links and attribute copies: every (product, level) has its own catalog links and attributes.
    by_contents: dict[tuple[int, int], list[CustomerTask]] = {}
    position = 0
    for assignment in assignments:
        key = (assignment.product_id, assignment.license_level)
        size = len(contents[key].catalog_tasks)
        by_contents.setdefault(key, []).extend(tasks[position : position + size])
        position += size
    for key, created in by_contents.items():
        plan_copy = contents[key]
        write_snapshot_children(
            created,
            outcome_links=plan_copy.outcome_links,
            release_links=plan_copy.release_links,
            attributes=plan_copy.attributes,
            now=now,
            batch_size=BATCH_SIZE,
        )
        counts.attributes += sum(len(plan_copy.attributes.get(t.original_task_id, ())) for t in created)
    for plan, assignment in zip(plans, assignments, strict=True):
        product, level = assignment.product, LicenseLevel(assignment.license_level)
        created = contents[assignment.product_id, assignment.license_level].catalog_tasks
        audit.append(
            audit_entry(
                actor=actor,
                action="customer_product.assign",
                obj=assignment,
                customer_id=assignment.customer_id,
                summary=f"Assigned {product.name} ({level.name}) to {assignment.customer.name}",
                details={"productId": product.pk, "productName": product.name, **_assignment_details(level, [], [])},
            )
        )
        audit.append(
            audit_entry(
                actor=actor,
                action="adoption_plan.create",
                obj=plan,
                customer_id=assignment.customer_id,
                summary=f"Created adoption plan for {plan.product_name} with {len(created)} tasks",
                details=plan_audit_details(plan, created),
            )
        )
        counts.by_product[product.name] = counts.by_product.get(product.name, 0) + 1
    AuditLog.objects.bulk_create(audit, batch_size=BATCH_SIZE)
    counts.customers += len(created_customers)
    counts.assignments += len(assignments)
    counts.plans += len(plans)
    counts.tasks += len(tasks)
