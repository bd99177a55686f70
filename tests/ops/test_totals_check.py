"""The plan totals consistency check (adoption.selectors.plan_totals_mismatches and
`manage.py check_plan_totals`) that `make loadtest` runs after the load: a fresh count of each plan's
tasks compared field by field with the stored totals."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from adoption.choices import TaskStatus
from adoption.models import AdoptionPlan, CustomerTask
from adoption.selectors import PlanTotalsMismatch, plan_totals_fresh_count, plan_totals_mismatches
from adoption.services import customer_task_update_status

pytestmark = pytest.mark.django_db


def task(plan, name):
    return CustomerTask.objects.get(adoption_plan=plan, name=name)


def stored(plan):
    plan.refresh_from_db()
    return (plan.total_tasks, plan.completed_tasks, plan.total_weight, plan.completed_weight, plan.progress_percentage)


def test_totals_written_by_the_services_equal_the_fresh_count(plans, admin_user):
    northwind = plans["Northwind"]
    customer_task_update_status(actor=admin_user, task=task(northwind, "Roll out MFA"), status=TaskStatus.DONE)

    checked, mismatches = plan_totals_mismatches()

    assert (checked, mismatches) == (2, [])
    assert plan_totals_fresh_count(plan_ids=[northwind.pk]) == {
        northwind.pk: {
            "total_tasks": 2,
            "completed_tasks": 1,
            "total_weight": Decimal("8.00"),
            "completed_weight": Decimal("5.00"),
            "progress_percentage": Decimal("62.50"),
        }
    }


def test_not_applicable_and_archived_tasks_are_left_out_of_the_fresh_count(plans, admin_user):
    northwind = plans["Northwind"]
    customer_task_update_status(
        actor=admin_user, task=task(northwind, "Connect directory"), status=TaskStatus.NOT_APPLICABLE
    )
    # Archived behind the services' back: the stored totals still count the task, the fresh count does not.
    CustomerTask.objects.filter(pk=task(northwind, "Roll out MFA").pk).update(is_archived=True)

    checked, mismatches = plan_totals_mismatches()

    assert checked == 2
    assert mismatches == [
        PlanTotalsMismatch(
            plan_id=northwind.pk,
            product_name="Identity Guard",
            differences={"total_tasks": (1, 0), "total_weight": (Decimal("5.00"), Decimal("0.00"))},
        )
    ]


def test_each_differing_field_is_reported_with_stored_and_counted_values(plans):
    northwind, contoso = plans["Northwind"], plans["Contoso"]
    AdoptionPlan.objects.filter(pk=northwind.pk).update(
        completed_tasks=1, completed_weight=Decimal("3.00"), progress_percentage=Decimal("37.50")
    )

    checked, mismatches = plan_totals_mismatches()

    assert checked == 2
    assert len(mismatches) == 1
    assert mismatches[0].differences == {
        "completed_tasks": (1, 0),
        "completed_weight": (Decimal("3.00"), Decimal("0.00")),
        "progress_percentage": (Decimal("37.50"), Decimal("0.00")),
    }
    assert mismatches[0].describe() == (
        f"plan {northwind.pk} (Identity Guard): completed_tasks stored 1 but counted 0; "
        "completed_weight stored 3.00 but counted 0.00; progress_percentage stored 37.50 but counted 0.00"
    )
    assert plan_totals_mismatches(plan_ids=[contoso.pk]) == (1, [])


def test_command_reports_success_on_consistent_plans(plans):
    out = StringIO()

    call_command("check_plan_totals", stdout=out)

    assert out.getvalue() == "Checked 2 plans: every stored total equals a fresh count.\n"


def test_command_fails_on_a_mismatch_and_repairs_nothing(plans):
    northwind = plans["Northwind"]
    AdoptionPlan.objects.filter(pk=northwind.pk).update(total_tasks=7)
    err = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("check_plan_totals", stdout=StringIO(), stderr=err)

    assert str(raised.value) == "1 of 2 plans have stored totals that differ from a fresh count"
    assert err.getvalue() == f"plan {northwind.pk} (Identity Guard): total_tasks stored 7 but counted 2\n"
    assert stored(northwind) == (7, 0, Decimal("8.00"), Decimal("0.00"), Decimal("0.00"))


def test_command_checks_only_the_named_plans_and_refuses_unknown_ids(plans):
    northwind, contoso = plans["Northwind"], plans["Contoso"]
    AdoptionPlan.objects.filter(pk=northwind.pk).update(total_tasks=7)
    out = StringIO()

    call_command("check_plan_totals", "--plan", str(contoso.pk), stdout=out)
    assert out.getvalue() == "Checked 1 plan: every stored total equals a fresh count.\n"

    missing = contoso.pk + 1000
    with pytest.raises(CommandError) as raised:
        call_command("check_plan_totals", "--plan", str(contoso.pk), "--plan", str(missing), stdout=StringIO())
    assert str(raised.value) == f"no adoption plan with id {missing}"
