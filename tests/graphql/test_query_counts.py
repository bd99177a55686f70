"""No N+1: the same number of SQL queries for a small and a large plan, and for few
and many customers. Constant-count assertions run on PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adoption.choices import DataType, LicenseLevel, TaskStatus
from adoption.models import Outcome, Product, Release, Task
from adoption.services import customer_product_assign, customer_tasks_bulk_update_status
from customers.models import Customer
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryAttribute
from tests.conftest import postgres_only
from tests.graphql.conftest import data_of

WHOLE_PLAN = """
query($id: ID!) {
  adoptionPlan(id: $id) {
    id productName licenseLevel totalTasks completedTasks totalWeight progressPercentage needsSync lastSyncedAt
    selectedOutcomes { id name }
    selectedReleases { id name level }
    customerProduct { id licenseLevel purchasedAt customer { id name } product { id name } }
    tasks {
      id name status weight licenseLevel statusUpdateSource telemetryDisagrees
      outcomes { id name }
      releases { id name }
      history { id fromStatus toStatus actor }
      telemetryProgress { totalAttributes requiredAttributes metAttributes completionPercentage allRequiredMet }
      telemetryAttributes {
        id name dataType isMet successCriteria
        values { id value observedAt source }
        latestValue { id value observedAt }
      }
    }
    done: tasksByStatus(status: DONE) { id }
  }
}
"""


def build_plan(name: str, size: int, *, actor, customer):
    """A product of `size` tasks (each with an outcome, a release and two attributes), assigned to
    `customer`; every attribute gets two values and half the tasks are DONE."""
    product = Product.objects.create(name=name)
    outcome = Outcome.objects.create(product=product, name="Goal")
    release = Release.objects.create(product=product, name="1.0", level=Decimal("1.0"))
    tasks = Task.objects.bulk_create(
        [
            Task(
                product=product,
                name=f"Task {i}",
                sequence_number=i,
                weight=Decimal("1.50"),
                license_level=LicenseLevel.ESSENTIAL,
            )
            for i in range(size)
        ]
    )
    Task.outcomes.through.objects.bulk_create([Task.outcomes.through(task=t, outcome=outcome) for t in tasks])
    Task.releases.through.objects.bulk_create([Task.releases.through(task=t, release=release) for t in tasks])
    TelemetryAttribute.objects.bulk_create(
        [
            TelemetryAttribute(
                task=t,
                name=attr,
                data_type=DataType.NUMBER,
                is_required=True,
                order=order,
                success_criteria={"op": "gte", "value": 10},
            )
            for t in tasks
            for order, attr in enumerate(("users", "logins"))
        ]
    )
    assignment = customer_product_assign(
        actor=actor, customer=customer, product=product, license_level=LicenseLevel.ESSENTIAL
    )
    plan = assignment.adoption_plan
    now = timezone.now()
    CustomerTelemetryValue.objects.bulk_create(
        [
            CustomerTelemetryValue(customer_attribute=attribute, value=value, observed_at=now - timedelta(days=age))
            for attribute in CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan)
            for value, age in ((5, 2), (50, 1))
        ]
    )
    task_ids = list(plan.tasks.order_by("pk").values_list("pk", flat=True))
    customer_tasks_bulk_update_status(actor=actor, plan=plan, task_ids=task_ids[::2], status=TaskStatus.DONE)
    return plan


def count_queries(client, query, variables=None):
    with CaptureQueriesContext(connection) as captured:
        data = data_of(client, query, variables)
    return len(captured), data


@postgres_only
def test_whole_plan_query_count_does_not_grow_with_the_plan(as_csm, csm, admin_user):
    customer = Customer.objects.create(name="Acme")
    customer.assigned_users.add(csm)
    small = build_plan("Small", 5, actor=admin_user, customer=customer)
    large = build_plan("Large", 300, actor=admin_user, customer=customer)

    small_count, small_data = count_queries(as_csm, WHOLE_PLAN, {"id": str(small.pk)})
    large_count, large_data = count_queries(as_csm, WHOLE_PLAN, {"id": str(large.pk)})

    assert small_count == large_count, (small_count, large_count)
    plan = large_data["adoptionPlan"]
    assert (plan["totalTasks"], plan["completedTasks"], plan["totalWeight"]) == (300, 150, 450.0)
    assert len(plan["tasks"]) == 300 and len(plan["done"]) == 150
    first = plan["tasks"][0]
    assert first["status"] == "DONE" and first["history"][0]["toStatus"] == "DONE"
    assert [a["name"] for a in first["telemetryAttributes"]] == ["users", "logins"]
    assert [v["value"] for v in first["telemetryAttributes"][0]["values"]] == [5, 50]
    assert first["telemetryAttributes"][0]["latestValue"]["value"] == 50
    assert first["outcomes"] == [{"id": str(Outcome.objects.get(product__name="Large").pk), "name": "Goal"}]
    assert plan["customerProduct"]["customer"]["name"] == "Acme"
    assert len(small_data["adoptionPlan"]["tasks"]) == 5


CUSTOMERS_PROGRESS = "{ customers { id name products { id product { name } adoptionPlan { progressPercentage } } } }"


def build_customers(count: int, products: list, *, actor, csm):
    for _ in range(count):
        # Customer names are unique: number them across calls.
        customer = Customer.objects.create(name=f"Customer {Customer.objects.count() + 1}")
        customer.assigned_users.add(csm)
        for product in products:
            customer_product_assign(
                actor=actor, customer=customer, product=product, license_level=LicenseLevel.ESSENTIAL
            )


@postgres_only
def test_customers_with_plan_progress_query_count_does_not_grow(as_csm, csm, admin_user):
    products = [Product.objects.create(name=f"P{i}") for i in range(2)]
    for product in products:
        Task.objects.create(product=product, name="Only", weight=Decimal("1"))
    build_customers(1, products, actor=admin_user, csm=csm)
    few, few_data = count_queries(as_csm, CUSTOMERS_PROGRESS)
    build_customers(8, products, actor=admin_user, csm=csm)
    many, many_data = count_queries(as_csm, CUSTOMERS_PROGRESS)

    assert few == many, (few, many)
    assert len(few_data["customers"]) == 1 and len(many_data["customers"]) == 9
    assert all(len(c["products"]) == 2 for c in many_data["customers"])
    assert {p["adoptionPlan"]["progressPercentage"] for c in many_data["customers"] for p in c["products"]} == {0.0}


@postgres_only
def test_catalog_query_count_does_not_grow(as_editor, admin_user):
    query = (
        "{ products { id name outcomes { id } releases { id } tasks { id name outcomes { id } releases { id } "
        "telemetryAttributes { id name successCriteria } } } }"
    )
    build_plan("One", 3, actor=admin_user, customer=Customer.objects.create(name="C1"))
    few, _ = count_queries(as_editor, query)
    build_plan("Two", 60, actor=admin_user, customer=Customer.objects.create(name="C2"))
    many, data = count_queries(as_editor, query)
    assert few == many, (few, many)
    assert sorted(len(p["tasks"]) for p in data["products"]) == [3, 60]
