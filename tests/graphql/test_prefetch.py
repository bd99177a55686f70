"""The selection-driven loader (config.graphql.prefetch.fetch) gives every parent exactly the lists
Django's prefetch_related gives (same members, same order, same filters), with one query per reverse
foreign key and two per many-to-many whatever the number of parents, and children know their parent."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adoption.models import CustomerTask, Outcome, Release, Task
from config.graphql.prefetch import Fetch, Relation, fetch
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue
from telemetry.schema import _latest_values
from tests.factories import (
    AdoptionPlanFactory,
    CustomerTaskFactory,
    CustomerTelemetryAttributeFactory,
    CustomerTelemetryValueFactory,
    OutcomeFactory,
    ProductFactory,
    ReleaseFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def relation(lookup, model_queryset, to_attr="gql_test"):
    return Relation(lookup, "Test", model_queryset, to_attr)


def lists(objects, attr="gql_test"):
    return {obj.pk: [child.pk for child in getattr(obj, attr)] for obj in objects}


def django_lists(model, pks, lookup, queryset):
    objects = list(model.objects.filter(pk__in=pks))
    prefetch_related_objects(objects, Prefetch(lookup, queryset=queryset, to_attr="gql_django"))
    return lists(objects, "gql_django")


@pytest.fixture
def catalog():
    product = ProductFactory()
    zeta, alpha, gone = (OutcomeFactory(product=product, name=name) for name in ("Zeta", "Alpha", "Gone"))
    gone.is_active = False
    gone.save()
    later, first = ReleaseFactory(product=product, level=5), ReleaseFactory(product=product, level=1)
    tasks = [
        TaskFactory(product=product, outcomes=[zeta, alpha, gone], releases=[later, first]),
        TaskFactory(product=product, outcomes=[gone]),
        TaskFactory(product=product, outcomes=[alpha]),
        TaskFactory(product=product),
    ]
    return product, tasks


def test_many_to_many_lists_are_djangos(catalog):
    _, tasks = catalog
    pks = [task.pk for task in tasks]
    for lookup, queryset in (
        ("outcomes", lambda: Outcome.objects.filter(is_active=True).order_by("name", "pk")),
        ("outcomes", lambda: Outcome.objects.order_by("-name", "pk")),
        ("releases", lambda: Release.objects.order_by("level", "pk")),
    ):
        objects = list(Task.objects.filter(pk__in=pks))
        with CaptureQueriesContext(connection) as queries:
            fetch(objects, [Fetch(relation(lookup, queryset), None, [])])
        assert lists(objects) == django_lists(Task, pks, lookup, queryset())
        assert len(queries) == 2  # the links, then the targets


def test_many_to_many_through_model_and_shared_targets():
    plan = AdoptionPlanFactory()
    outcomes = [OutcomeFactory(product=plan.product, name=name) for name in ("B", "A")]
    tasks = [CustomerTaskFactory(adoption_plan=plan) for _ in range(3)]
    tasks[0].outcomes.set(outcomes)
    tasks[1].outcomes.set(outcomes[:1])
    objects = list(CustomerTask.objects.filter(adoption_plan=plan))
    queryset = lambda: Outcome.objects.order_by("name", "pk")  # noqa: E731
    fetch(objects, [Fetch(relation("outcomes", queryset), None, [])])
    assert lists(objects) == django_lists(CustomerTask, [t.pk for t in tasks], "outcomes", queryset())
    by_pk = {task.pk: task for task in objects}
    assert by_pk[tasks[0].pk].gql_test[1] is by_pk[tasks[1].pk].gql_test[0]  # one instance per outcome


def test_reverse_foreign_key_lists_are_djangos_and_children_know_their_parent(django_assert_num_queries):
    plans = [AdoptionPlanFactory() for _ in range(3)]
    for plan, count in zip(plans, (3, 0, 2), strict=True):
        for sequence in reversed(range(count)):
            CustomerTaskFactory(adoption_plan=plan, sequence_number=sequence)
    archived = CustomerTaskFactory(adoption_plan=plans[0], sequence_number=9)
    archived.is_archived = True
    archived.save()
    queryset = lambda: CustomerTask.objects.visible().order_by("sequence_number", "pk")  # noqa: E731
    objects = [type(plan).objects.get(pk=plan.pk) for plan in plans]
    with django_assert_num_queries(1):
        fetch(objects, [Fetch(relation("tasks", queryset), None, [])])
    children = [task for plan in objects for task in plan.gql_test]
    assert lists(objects) == django_lists(type(plans[0]), [p.pk for p in plans], "tasks", queryset())
    assert archived.pk not in {task.pk for task in children}
    with django_assert_num_queries(0):
        assert all(task.adoption_plan is plan for plan in objects for task in plan.gql_test)


def test_levels_below_load_once_per_level(django_assert_num_queries):
    plan = AdoptionPlanFactory()
    now = timezone.now()
    for _ in range(4):
        task = CustomerTaskFactory(adoption_plan=plan)
        for _ in range(2):
            attribute = CustomerTelemetryAttributeFactory(customer_task=task)
            for age in (3, 1, 2):
                CustomerTelemetryValueFactory(customer_attribute=attribute, observed_at=now - timedelta(days=age))
    latest = CustomerTelemetryValue.objects.order_by("-observed_at", "-pk")
    tree = [
        Fetch(
            relation("tasks", lambda: CustomerTask.objects.order_by("sequence_number", "pk"), "gql_tasks"),
            None,
            [
                Fetch(
                    relation(
                        "telemetry_attributes",
                        lambda: CustomerTelemetryAttribute.objects.order_by("order", "pk"),
                        "gql_attributes",
                    ),
                    None,
                    [Fetch(relation("values", _latest_values, "gql_latest"), None, [])],
                )
            ],
        )
    ]
    objects = [type(plan).objects.get(pk=plan.pk)]
    with django_assert_num_queries(3):
        fetch(objects, tree)
    attributes = [a for task in objects[0].gql_tasks for a in task.gql_attributes]
    assert len(attributes) == 8
    for attribute in attributes:
        assert [value.pk for value in attribute.gql_latest] == [latest.filter(customer_attribute=attribute)[0].pk]


def test_nothing_to_load_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert fetch([], [Fetch(relation("tasks", CustomerTask.objects.all), None, [])]) == []
