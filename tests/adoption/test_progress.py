"""Weighted progress in Decimal, rounded half up; customer progress; last activity."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from adoption.models import AdoptionPlan, CustomerTask
from adoption.selectors import customer_overall_progress, plan_last_activity, plans_with_last_activity
from adoption.services import (
    customer_product_assign,
    customer_task_update_status,
    customer_tasks_bulk_update_status,
    plan_recompute_totals,
)
from tests.factories import CustomerFactory, CustomerTelemetryValueFactory, ProductFactory, TaskFactory

pytestmark = pytest.mark.django_db


def make_plan(actor, weights, customer=None):
    product = ProductFactory()
    for index, weight in enumerate(weights):
        TaskFactory(product=product, name=f"Task {index + 1}", weight=Decimal(weight), sequence_number=index + 1)
    assignment = customer_product_assign(
        actor=actor, customer=customer or CustomerFactory(), product=product, license_level="ESSENTIAL"
    )
    return assignment.adoption_plan


def set_statuses(actor, plan, statuses):
    tasks = list(plan.tasks.order_by("sequence_number"))
    for task, status in zip(tasks, statuses, strict=True):
        if status != "NOT_STARTED":
            customer_task_update_status(actor=actor, task=task, status=status)
    plan.refresh_from_db()
    return plan


def totals(plan):
    plan.refresh_from_db()
    return (plan.total_tasks, plan.completed_tasks, plan.total_weight, plan.completed_weight, plan.progress_percentage)


@pytest.mark.parametrize(
    ("weights", "statuses", "expected"),
    [
        # one of three equal tasks done: 33.333... -> 33.33
        (["1", "1", "1"], ["DONE", "NOT_STARTED", "IN_PROGRESS"], (3, 1, "3.00", "1.00", "33.33")),
        # two of three: 66.666... rounds up to 66.67
        (["1", "1", "1"], ["DONE", "DONE", "NOT_STARTED"], (3, 2, "3.00", "2.00", "66.67")),
        # exactly halfway at the third decimal: 1/800 = 0.125% rounds half UP to 0.13 (not to even 0.12)
        (["1", "799"], ["DONE", "NOT_STARTED"], (2, 1, "800.00", "1.00", "0.13")),
        # 0.375% -> 0.38
        (["3", "797"], ["DONE", "IN_PROGRESS"], (2, 1, "800.00", "3.00", "0.38")),
        # N/A tasks leave every total, also the task counts
        (["1", "1", "2"], ["DONE", "NOT_APPLICABLE", "NOT_STARTED"], (2, 1, "3.00", "1.00", "33.33")),
        # an N/A task never counts as completed
        (["5", "5"], ["NOT_APPLICABLE", "NOT_APPLICABLE"], (0, 0, "0.00", "0.00", "0.00")),
        # zero total weight: 0% even with done tasks, which still count as completed tasks
        (["0", "0"], ["DONE", "NOT_STARTED"], (2, 1, "0.00", "0.00", "0.00")),
        # a zero-weight task done adds nothing to the percentage
        (["0", "2"], ["DONE", "NOT_STARTED"], (2, 1, "2.00", "0.00", "0.00")),
        # decimal weights summed exactly (no float drift)
        (["0.10", "0.20", "0.30"], ["DONE", "DONE", "NOT_STARTED"], (3, 2, "0.60", "0.30", "50.00")),
        (["9999.99", "0.01"], ["NOT_STARTED", "DONE"], (2, 1, "10000.00", "0.01", "0.00")),
        (["2.50", "1.25", "1"], ["DONE", "DONE", "DONE"], (3, 3, "4.75", "4.75", "100.00")),
    ],
)
def test_plan_progress(admin_user, weights, statuses, expected):
    plan = set_statuses(admin_user, make_plan(admin_user, weights), statuses)
    count, done, total_weight, completed_weight, percent = expected
    assert totals(plan) == (count, done, Decimal(total_weight), Decimal(completed_weight), Decimal(percent))


def test_archived_tasks_leave_the_totals(admin_user):
    plan = set_statuses(admin_user, make_plan(admin_user, ["1", "1", "2"]), ["DONE", "DONE", "NOT_STARTED"])
    archived = plan.tasks.get(sequence_number=1)
    CustomerTask.objects.filter(pk=archived.pk).update(is_archived=True)

    plan_recompute_totals(plan_ids=[plan.pk])

    assert totals(plan) == (2, 1, Decimal("3.00"), Decimal("1.00"), Decimal("33.33"))


def test_recompute_repairs_stale_totals_from_the_database(admin_user):
    plan = set_statuses(admin_user, make_plan(admin_user, ["1", "3"]), ["NOT_STARTED", "DONE"])
    AdoptionPlan.objects.filter(pk=plan.pk).update(
        total_tasks=99, completed_tasks=0, total_weight=0, completed_weight=0, progress_percentage=0
    )

    plan_recompute_totals(plan_ids=[plan.pk])

    assert totals(plan) == (2, 1, Decimal("4.00"), Decimal("3.00"), Decimal("75.00"))


def test_recompute_handles_several_plans_and_an_empty_plan(admin_user):
    empty = make_plan(admin_user, [])
    full = set_statuses(admin_user, make_plan(admin_user, ["1", "1"]), ["DONE", "DONE"])
    AdoptionPlan.objects.filter(pk__in=[empty.pk, full.pk]).update(total_tasks=5)

    plan_recompute_totals(plan_ids=[full.pk, empty.pk, full.pk])

    assert totals(empty) == (0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    assert totals(full) == (2, 2, Decimal("2.00"), Decimal("2.00"), Decimal("100.00"))


def test_bulk_and_single_changes_give_the_same_totals(admin_user):
    single = set_statuses(admin_user, make_plan(admin_user, ["1.5", "2.5", "3"]), ["DONE", "DONE", "NOT_STARTED"])
    bulk = make_plan(admin_user, ["1.5", "2.5", "3"])
    customer_tasks_bulk_update_status(
        actor=admin_user,
        plan=bulk,
        status="DONE",
        task_ids=list(bulk.tasks.filter(sequence_number__lte=2).values_list("pk", flat=True)),
    )
    assert totals(single)[1:] == totals(bulk)[1:] == (2, Decimal("7.00"), Decimal("4.00"), Decimal("57.14"))


# --- customer progress and activity --------------------------------------------------------------------


def test_customer_overall_progress_weighs_plans_by_their_weight(admin_user):
    customer = CustomerFactory()
    set_statuses(
        admin_user, make_plan(admin_user, ["1", "1", "1"], customer=customer), ["DONE", "NOT_STARTED", "NOT_STARTED"]
    )
    set_statuses(admin_user, make_plan(admin_user, ["1", "1"], customer=customer), ["DONE", "DONE"])
    set_statuses(admin_user, make_plan(admin_user, ["10"]), ["NOT_STARTED"])  # another customer's plan

    # (1 + 2) / (3 + 2) = 60%, not the 66.67% average of 33.33% and 100%
    assert customer_overall_progress(customer) == Decimal("60.00")
    assert customer_overall_progress(customer.pk) == Decimal("60.00")


def test_customer_without_plans_or_weight_has_zero_progress(admin_user):
    assert customer_overall_progress(CustomerFactory()) == Decimal("0.00")
    customer = CustomerFactory()
    set_statuses(admin_user, make_plan(admin_user, ["0"], customer=customer), ["DONE"])
    assert customer_overall_progress(customer) == Decimal("0.00")


def test_plan_last_activity_is_the_latest_of_status_change_value_and_sync(admin_user):
    plan = make_plan(admin_user, ["1", "1"])
    assert plan_last_activity(plan) == plan.last_synced_at

    task = customer_task_update_status(actor=admin_user, task=plan.tasks.first(), status="IN_PROGRESS")
    plan.refresh_from_db()
    assert plan_last_activity(plan) == task.history.get().created_at

    attribute = task.telemetry_attributes.model.objects.create(customer_task=task, name="x", data_type="BOOLEAN")
    value = CustomerTelemetryValueFactory(customer_attribute=attribute, observed_at=timezone.now() - timedelta(days=9))
    assert plan_last_activity(plan) == value.created_at

    AdoptionPlan.objects.filter(pk=plan.pk).update(last_synced_at=timezone.now() + timedelta(minutes=1))
    plan.refresh_from_db()
    assert plan_last_activity(plan) == plan.last_synced_at


def test_last_activity_for_a_list_of_plans_needs_no_further_queries(admin_user, django_assert_num_queries):
    first, second = make_plan(admin_user, ["1"]), make_plan(admin_user, ["1"])
    customer_task_update_status(actor=admin_user, task=second.tasks.get(), status="DONE")
    with django_assert_num_queries(1):
        plans = list(plans_with_last_activity(AdoptionPlan.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")))
        activity = [plan_last_activity(p) for p in plans]
    assert activity[0] == first.last_synced_at
    assert activity[1] == second.tasks.get().history.get().created_at
