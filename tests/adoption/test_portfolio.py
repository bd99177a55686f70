"""The bulk portfolio generator writes what the services write: the same assignments, plans, tasks,
links, attribute copies, totals and audit entries as customer_create + customer_product_assign."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from adoption.choices import DataType, LicenseLevel
from adoption.models import AdoptionPlan, CustomerTask
from adoption.selectors import plan_totals_mismatches
from adoption.services import customer_product_assign
from adoption.services.portfolio import portfolio_assignments, portfolio_generate
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from customers.models import Customer, CustomerProduct
from customers.services import customer_create
from tests.factories import OutcomeFactory, ProductFactory, ReleaseFactory, TaskFactory, TelemetryAttributeFactory

TIMESTAMPS = {"id", "created_at", "updated_at", "last_synced_at", "status_updated_at"}


@pytest.fixture
def catalog(db):
    """Two products with tasks of every license level, outcome and release tags, required and optional
    attributes, and an inactive task and attribute that plans must leave out."""
    products = []
    for name, size in (("Billing Suite", 5), ("Analytics Hub", 4)):
        product = ProductFactory(name=name)
        outcomes = [OutcomeFactory(product=product, name=f"{name} outcome {i}") for i in range(2)]
        releases = [ReleaseFactory(product=product, name=f"{i}.0", level=Decimal(i)) for i in (1, 2)]
        for i in range(size):
            task = TaskFactory(
                product=product,
                name=f"{name} task {i}",
                weight=Decimal(i + 1) / 2,
                sequence_number=i,
                license_level=(LicenseLevel.ESSENTIAL, LicenseLevel.ADVANTAGE, LicenseLevel.SIGNATURE)[i % 3],
                outcomes=[outcomes[i % 2]] if i % 3 else [],
                releases=[releases[i % 2]] if i % 2 else [],
            )
            TelemetryAttributeFactory(
                task=task,
                name="enabled",
                data_type=DataType.BOOLEAN,
                is_required=True,
                success_criteria={"op": "eq", "value": True},
            )
            if i % 2:
                TelemetryAttributeFactory(
                    task=task,
                    name="users",
                    data_type=DataType.NUMBER,
                    order=1,
                    success_criteria={"op": "gte", "value": 5},
                )
                TelemetryAttributeFactory(
                    task=task, name="retired", data_type=DataType.STRING, order=2, is_active=False
                )
        TaskFactory(product=product, name=f"{name} retired task", is_active=False)
        products.append(product)
    return products


def _row(obj, *exclude) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if k not in TIMESTAMPS and k not in exclude}


def _plan_shape(assignment: CustomerProduct) -> dict:
    plan = AdoptionPlan.objects.get(customer_product=assignment)
    tasks = []
    for task in CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number", "pk"):
        tasks.append(
            {
                **_row(task, "adoption_plan", "outcomes", "releases"),
                "outcomes": sorted(task.outcomes.values_list("pk", flat=True)),
                "releases": sorted(task.releases.values_list("pk", flat=True)),
                "attributes": [_row(a, "customer_task") for a in task.telemetry_attributes.order_by("order", "pk")],
            }
        )
    return {
        "assignment": _row(assignment, "customer", "purchased_at", "entitlements_changed_at"),
        "plan": {
            **_row(plan, "customer_product"),
            "selected_outcomes": list(plan.selected_outcomes.all()),
            "selected_releases": list(plan.selected_releases.all()),
        },
        "tasks": tasks,
    }


def _customer_shape(customer: Customer) -> dict:
    def words(text: str) -> str:
        return text.replace(customer.name, "<customer>")

    entries = AuditLog.objects.filter(customer_id=customer.pk).order_by("pk")
    audit = sorted(
        (
            entry.action,
            entry.object_type,
            entry.actor_label,
            words(entry.summary),
            words(str({k: v for k, v in entry.details.items() if k != "adoptionPlanId"})),
        )
        for entry in entries
    )
    assignments = customer.products.order_by("product__name")
    return {"description": customer.description, "plans": [_plan_shape(a) for a in assignments], "audit": audit}


def test_generated_customers_equal_what_the_services_create(catalog, admin_user):
    count = 4
    counts = portfolio_generate(actor=admin_user, customers=count, products=catalog, per_customer=2, chunk_size=3)
    generated = list(Customer.objects.filter(name__startswith="Portfolio customer").order_by("name"))
    assert [c.name for c in generated] == [f"Portfolio customer {i:06d}" for i in range(1, count + 1)]

    by_service = []
    for i in range(count):
        customer = customer_create(actor=admin_user, name=f"Service customer {i}")
        for product, level in portfolio_assignments(i, catalog, 2):
            customer_product_assign(actor=admin_user, customer=customer, product=product, license_level=level)
        by_service.append(customer)

    for made, expected in zip(generated, by_service, strict=True):
        assert _customer_shape(made) == _customer_shape(expected)
    # Every license level occurs, so the comparison covered every eligibility rule of the catalog.
    assert {a.license_level for a in CustomerProduct.objects.all()} == {1, 2, 3}
    service_plans = AdoptionPlan.objects.filter(customer_product__customer__in=by_service)
    assert counts.customers == count
    assert counts.plans == counts.assignments == service_plans.count() == 2 * count
    assert counts.tasks == CustomerTask.objects.filter(adoption_plan__in=service_plans).count()
    assert counts.attributes == sum(
        task.telemetry_attributes.count() for task in CustomerTask.objects.filter(adoption_plan__in=service_plans)
    )


def test_generated_plans_hold_the_totals_a_fresh_count_gives(catalog, admin_user):
    counts = portfolio_generate(actor=admin_user, customers=7, products=catalog, per_customer=2, chunk_size=3)

    checked, mismatches = plan_totals_mismatches()

    assert (checked, mismatches) == (counts.plans, [])
    assert counts.plans == 14
    # Not vacuous: the plans have tasks and weight, and every new task starts not started.
    assert AdoptionPlan.objects.filter(total_tasks=0).count() == 0
    assert AdoptionPlan.objects.filter(completed_tasks=0, progress_percentage=0).count() == 14
    assert {t.status for t in CustomerTask.objects.all()} == {"NOT_STARTED"}


def test_generated_rows_read_back_like_saved_ones(catalog, admin_user):
    """JSON, decimals and dates survive the bulk path (COPY on PostgreSQL) with their types."""
    portfolio_generate(actor=admin_user, customers=2, products=catalog, per_customer=2)
    plan = AdoptionPlan.objects.order_by("pk").first()
    assert isinstance(plan.total_weight, Decimal) and plan.total_weight > 0
    task = CustomerTask.objects.filter(adoption_plan=plan).order_by("pk").first()
    assert task.created_at is not None and task.created_at.tzinfo is not None
    attribute = task.telemetry_attributes.order_by("pk").first()
    assert attribute.success_criteria == {"op": "eq", "value": True}
    entry = AuditLog.objects.filter(action="adoption_plan.create").order_by("pk").first()
    assert entry.details["productName"] in {"Billing Suite", "Analytics Hub"}
    assert entry.created_at is not None
    # Ids came from the tables' own sequences: a row saved next gets a fresh one.
    later = customer_create(actor=admin_user, name="Saved after the portfolio")
    assert later.pk > Customer.objects.exclude(pk=later.pk).order_by("-pk").first().pk


def test_refusals_write_nothing(catalog, admin_user):
    portfolio_generate(actor=admin_user, customers=1, products=catalog, prefix="Taken")
    before = (Customer.objects.count(), AdoptionPlan.objects.count(), AuditLog.objects.count())
    cases = [
        ({"customers": 0}, "customers", "customers must be between 1 and 1,000,000, got 0"),
        (
            {"customers": 2, "per_customer": 3},
            "perCustomer",
            "products per customer must be between 1 and 2 (the active products), got 3",
        ),
        (
            {"customers": 2, "prefix": "taken"},
            "prefix",
            "customers named 'taken' ... exist already: choose another prefix",
        ),
        ({"customers": 2, "prefix": "  "}, "prefix", "the name prefix must be 1 to 180 characters"),
    ]
    for arguments, field, message in cases:
        with pytest.raises(ValidationFailed) as refused:
            portfolio_generate(actor=admin_user, products=catalog, **arguments)
        assert (refused.value.field, refused.value.message) == (field, message)
    assert (Customer.objects.count(), AdoptionPlan.objects.count(), AuditLog.objects.count()) == before


def test_command_generates_and_reports(catalog):
    out = io.StringIO()
    call_command(
        "generate_portfolio",
        "--customers",
        "3",
        "--per-customer",
        "1",
        "--product",
        "Analytics Hub",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert out.getvalue().startswith("Created 3 customers, 3 assignments with their plans, ")
    assert list(AdoptionPlan.objects.order_by().values_list("product_name", flat=True).distinct()) == ["Analytics Hub"]
    assert AdoptionPlan.objects.count() == 3


def test_command_refuses_in_production_mode_and_unknown_products(catalog, settings):
    with pytest.raises(CommandError, match="^no active product named: Nope$"):
        call_command("generate_portfolio", "--customers", "1", "--product", "Nope", stderr=io.StringIO())
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="does not run in production mode"):
        call_command("generate_portfolio", "--customers", "1", stderr=io.StringIO())
    assert Customer.objects.count() == 0
