"""Many customers with their plans at once: the rows `customer_create` and `customer_product_assign`
would write (customers, assignments, plans, customer tasks with their links and attribute copies, audit
entries), written in bulk, for load tests, benchmarks and demos of large portfolios.

Plans are made by the same snapshot code as `plan_create` (plan_contents, plan_row,
customer_task_snapshot, write_snapshot_children), read once per product and license level instead of
once per plan. On PostgreSQL every table of a chunk of customers is written with COPY, its ids drawn
from the table's sequence first (one query per table), so parents know their ids before their children
are written; elsewhere (SQLite) with bulk INSERTs. Either way the rows are the model instances the
services would save, prepared by the model fields themselves (defaults, auto_now dates, JSON).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, connections, transaction
from django.db.models import JSONField
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
BATCH_SIZE = 2000  # rows per INSERT (SQLite): within PostgreSQL's 65,535 parameters for every table here
MAX_CUSTOMERS = 1_000_000


def insert_rows(model, objs: list) -> list:
    """Save new model instances at once: COPY on PostgreSQL (ids from the table's sequence, set on the
    instances), bulk_create elsewhere. Returns the instances, saved."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    opts = model._meta
    db = connections[connection.alias]  # the connection itself: the proxy costs a lookup per attribute
    quote = db.ops.quote_name
    with db.cursor() as cursor:
        missing = [obj for obj in objs if obj.pk is None]
        if missing:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [opts.db_table, opts.pk.column, len(missing)],
            )
            for obj, pk in zip(missing, sorted(row[0] for row in cursor.fetchall()), strict=True):
                obj.pk = pk
        fields = opts.concrete_fields
        columns = ", ".join(quote(field.column) for field in fields)
        # What an INSERT of the instance would send: pre_save fills auto_now dates; JSON goes through its
        # field (the driver's JSON wrapper). The other values are already what the driver adapts: the
        # snapshot copies catalog rows read from the database, with their Python types.
        json = [isinstance(field, JSONField) for field in fields]
        with cursor.cursor.copy(f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                row = [field.pre_save(obj, True) for field in fields]
                for i, field in enumerate(fields):
                    if json[i]:
                        row[i] = field.get_db_prep_save(row[i], db)
                copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias
    return objs


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
    created_customers = insert_rows(Customer, [Customer(name=f"{prefix} {i + 1:0{width}d}") for i in indexes])
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
    insert_rows(CustomerProduct, assignments)
    plans = insert_rows(AdoptionPlan, [plan_row(a, contents[a.product_id, a.license_level], now) for a in assignments])
    tasks = insert_rows(
        CustomerTask,
        [
            customer_task_snapshot(
                task, plan.pk, now, attributes=contents[assignment.product_id, assignment.license_level].attributes
            )
            for plan, assignment in zip(plans, assignments, strict=True)
            for task in contents[assignment.product_id, assignment.license_level].catalog_tasks
        ],
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
            insert=insert_rows,
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
                summary=f"Assigned {product.name} ({level.label}) to {assignment.customer.name}",
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
    insert_rows(AuditLog, audit)
    counts.customers += len(created_customers)
    counts.assignments += len(assignments)
    counts.plans += len(plans)
    counts.tasks += len(tasks)
