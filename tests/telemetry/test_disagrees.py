"""telemetryDisagrees gives the same answer for the same data: the computed telemetry status is known
from the moment a task enters a plan (creation and sync), not only after a first evaluation."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from adoption.choices import DataType, StatusSource, TaskStatus
from adoption.models import CustomerTask
from adoption.services import (
    adoption_plan_sync,
    customer_product_assign,
    customer_product_update,
    customer_task_update_status,
)
from telemetry.evaluation import adoption_plan_evaluate
from telemetry.models import TelemetryAttribute
from tests.factories import (
    CustomerFactory,
    CustomerTelemetryAttributeFactory,
    ProductFactory,
    TaskFactory,
    TelemetryAttributeFactory,
)
from tests.telemetry.conftest import add_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    product = ProductFactory(name="Identity")
    measured = TaskFactory(product=product, name="Enable SSO", sequence_number=1, weight=Decimal("2"))
    TelemetryAttributeFactory(task=measured, name="sso_enabled")
    TaskFactory(product=product, name="Train admins", sequence_number=2)  # no telemetry
    TelemetryAttributeFactory(
        task=TaskFactory(product=product, name="Adopt SCIM", sequence_number=3, license_level=2),
        name="scim_users",
        data_type=DataType.NUMBER,
        success_criteria={"op": "gte", "value": 10},
    )
    return product


def tasks_of(plan):
    return {t.name: t for t in CustomerTask.objects.filter(adoption_plan=plan)}


def test_fresh_plan_knows_the_computed_status_and_a_user_status_disagrees_at_once(product, admin_user, csm):
    plan = customer_product_assign(
        actor=admin_user, customer=CustomerFactory(), product=product, license_level="ESSENTIAL"
    ).adoption_plan
    tasks = tasks_of(plan)
    assert tasks["Enable SSO"].telemetry_status == TaskStatus.NOT_STARTED
    assert tasks["Train admins"].telemetry_status == ""

    sso = customer_task_update_status(actor=csm, task=tasks["Enable SSO"], status="DONE")
    train = customer_task_update_status(actor=csm, task=tasks["Train admins"], status="DONE")
    assert sso.telemetry_disagrees is True
    assert train.telemetry_disagrees is False  # no active attributes: nothing to disagree with

    adoption_plan_evaluate(actor=admin_user, plan=plan)  # changes nothing: the answer stays
    after = tasks_of(plan)
    assert (after["Enable SSO"].status, after["Enable SSO"].telemetry_status) == (TaskStatus.DONE, "NOT_STARTED")
    assert after["Enable SSO"].telemetry_disagrees is True
    assert after["Enable SSO"].history.count() == 1  # the evaluation wrote nothing
    assert after["Train admins"].telemetry_disagrees is False


def test_tasks_and_attributes_a_sync_brings_in_have_their_computed_status(product, admin_user, csm):
    assignment = customer_product_assign(
        actor=admin_user, customer=CustomerFactory(), product=product, license_level="ESSENTIAL"
    )
    plan = assignment.adoption_plan
    train = tasks_of(plan)["Train admins"]
    customer_task_update_status(actor=csm, task=train, status="IN_PROGRESS")
    TelemetryAttributeFactory(task=train.original_task, name="trained_admins")
    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ADVANTAGE")

    adoption_plan_sync(actor=admin_user, plan=plan)

    tasks = tasks_of(plan)
    assert tasks["Adopt SCIM"].telemetry_status == TaskStatus.NOT_STARTED  # a new task
    assert tasks["Train admins"].telemetry_status == TaskStatus.NOT_STARTED  # a new attribute
    assert tasks["Train admins"].telemetry_disagrees is True

    TelemetryAttribute.objects.filter(name="trained_admins").update(is_active=False)  # sync still needed
    adoption_plan_sync(actor=admin_user, plan=plan)
    train = tasks_of(plan)["Train admins"]
    assert (train.telemetry_status, train.telemetry_disagrees) == ("", False)


def test_migration_fills_in_the_status_of_tasks_never_evaluated(plan):
    fresh, _ = add_task(plan, {"name": "a", "data_type": DataType.BOOLEAN, "is_required": True}, name="Fresh")
    half, (met, _) = add_task(
        plan,
        {"name": "a", "data_type": DataType.BOOLEAN, "is_required": True},
        {"name": "b", "data_type": DataType.BOOLEAN, "is_required": True},
        name="Half",
        status=TaskStatus.DONE,
        source=StatusSource.MANUAL,
    )
    met.is_met = True
    met.save()
    done, _ = add_task(plan, name="Done")
    CustomerTelemetryAttributeFactory(customer_task=done, name="a", is_required=False, is_met=True)
    CustomerTelemetryAttributeFactory(customer_task=done, name="old", is_active=False, is_met=False)
    bare, _ = add_task(plan, name="Bare")
    evaluated, _ = add_task(plan, {"name": "a", "data_type": DataType.BOOLEAN}, name="Evaluated")
    CustomerTask.objects.filter(pk=evaluated.pk).update(telemetry_status=TaskStatus.IN_PROGRESS)
    CustomerTask.objects.filter(adoption_plan=plan).exclude(pk=evaluated.pk).update(telemetry_status="")

    importlib.import_module("telemetry.migrations.0002_backfill_telemetry_status").backfill(apps, None)

    after = tasks_of(plan)
    assert {name: t.telemetry_status for name, t in after.items()} == {
        "Fresh": "NOT_STARTED",
        "Half": "IN_PROGRESS",
        "Done": "DONE",
        "Bare": "",
        "Evaluated": "IN_PROGRESS",
    }
    assert after["Half"].telemetry_disagrees is True
