"""Query budgets: plan creation and sync write in bulk; plan reads prefetch (DESIGN rule 2)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import DataType, LicenseLevel
from adoption.models import Task
from adoption.selectors import plan_tasks, plan_with_tasks
from adoption.services import adoption_plan_sync, customer_product_assign, customer_product_update
from telemetry.models import CustomerTelemetryAttribute, TelemetryAttribute
from tests.conftest import postgres_only
from tests.factories import CustomerFactory, OutcomeFactory, ProductFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def build_catalog(size: int, *, level=LicenseLevel.ESSENTIAL, product=None):
    """`size` tasks, each with two outcomes, one release and two telemetry attributes, written in bulk."""
    product = product or ProductFactory()
    outcomes = [OutcomeFactory(product=product), OutcomeFactory(product=product)]
    release = ReleaseFactory(product=product)
    start = Task.objects.filter(product=product).count()
    tasks = Task.objects.bulk_create(
        [
            Task(
                product=product,
                name=f"Task {start + n}",
                weight=Decimal("1.50"),
                sequence_number=start + n,
                license_level=level,
                how_to_doc=["https://docs"],
            )
            for n in range(size)
        ]
    )
    Task.outcomes.through.objects.bulk_create(
        [Task.outcomes.through(task_id=t.pk, outcome_id=o.pk) for t in tasks for o in outcomes]
    )
    Task.releases.through.objects.bulk_create(
        [Task.releases.through(task_id=t.pk, release_id=release.pk) for t in tasks]
    )
    TelemetryAttribute.objects.bulk_create(
        [
            TelemetryAttribute(
                task_id=t.pk,
                name=f"attr{i}",
                data_type=DataType.BOOLEAN,
                order=i,
                success_criteria={"op": "eq", "value": True},
            )
            for t in tasks
            for i in range(2)
        ]
    )
    return product, outcomes


def assign_counting(actor, product, outcomes, level="ESSENTIAL"):
    with CaptureQueriesContext(connection) as queries:
        assignment = customer_product_assign(
            actor=actor,
            customer=CustomerFactory(),
            product=product,
            license_level=level,
            outcome_ids=[o.pk for o in outcomes],
        )
    return assignment, len(queries)


@postgres_only
def test_plan_creation_takes_the_same_queries_for_5_and_1000_tasks(admin_user):
    small, large = build_catalog(5), build_catalog(1000)

    small_assignment, small_count = assign_counting(admin_user, *small)
    large_assignment, large_count = assign_counting(admin_user, *large)

    assert small_count == large_count
    assert large_assignment.adoption_plan.tasks.count() == 1000
    assert (
        CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=large_assignment.adoption_plan).count()
        == 2000
    )
    assert large_assignment.adoption_plan.total_weight == Decimal("1500.00")
    assert small_assignment.adoption_plan.tasks.count() == 5


@postgres_only
def test_sync_adding_5_or_1000_tasks_takes_the_same_queries(admin_user):
    counts = []
    for size in (5, 1000):
        product, outcomes = build_catalog(3)
        build_catalog(size, level=LicenseLevel.SIGNATURE, product=product)
        assignment, _ = assign_counting(admin_user, product, [])
        customer_product_update(actor=admin_user, customer_product=assignment, license_level="SIGNATURE")
        with CaptureQueriesContext(connection) as queries:
            plan = adoption_plan_sync(actor=admin_user, plan=assignment.adoption_plan)
        counts.append(len(queries))
        assert plan.total_tasks == 3 + size
    assert counts[0] == counts[1]


def test_plan_reads_take_the_same_queries_for_2_and_40_tasks(admin_user):
    plans = []
    for size in (2, 40):
        product, outcomes = build_catalog(size)
        assignment, _ = assign_counting(admin_user, product, outcomes[:1])
        plans.append(assignment.adoption_plan)

    def read_plan(plan_id):
        plan = plan_with_tasks(plan_id)
        rows = [
            (
                t.name,
                [o.name for o in t.outcomes.all()],
                [r.name for r in t.releases.all()],
                [a.name for a in t.telemetry_attributes.all()],
            )
            for t in plan.tasks.all()
        ]
        header = [plan.customer_product.customer.name, plan.product.name, plan.needs_sync]
        header += [o.name for o in plan.selected_outcomes.all()] + [r.name for r in plan.selected_releases.all()]
        assert len(header) == 4
        return rows

    def read_tasks(plan):
        return [
            (t.name, [o.name for o in t.outcomes.all()], [a.name for a in t.telemetry_attributes.all()])
            for t in plan_tasks(plan)
        ]

    for reader in (lambda p: read_plan(p.pk), read_tasks):
        counts = []
        for plan in plans:
            with CaptureQueriesContext(connection) as queries:
                rows = reader(plan)
            counts.append(len(queries))
            assert len(rows) == plan.total_tasks
            assert all(len(row[1]) == 2 and len(row[-1]) == 2 for row in rows)
        assert counts[0] == counts[1]
