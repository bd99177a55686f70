"""Nothing is half-written, and the database itself backs the invariants the code relies on.

1. A crash injected at the last step of a bulk status change, a telemetry import, a sync and a plan
   creation leaves every table exactly as before. These tests commit for real (transactional test
   cases), so the service's own transaction is what rolls back, not the test's.
2. Raw writes that break an invariant are refused by the database (IntegrityError): one plan per
   assignment, one customer task per plan and catalog task, one customer attribute per task and
   catalog attribute, non-negative weights and plan totals that fit together.
"""

import io
from decimal import Decimal
from unittest import mock

import pytest
from django.db import IntegrityError, transaction

from adoption.choices import DataType, LicenseLevel, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, Task
from adoption.services import (
    adoption_plan_create,
    adoption_plan_sync,
    customer_product_assign,
    customer_product_update,
    customer_tasks_bulk_update_status,
)
from config.audit import services as audit_services
from customers.services import customer_create
from telemetry.models import CustomerTelemetryAttribute
from telemetry.spreadsheet import telemetry_import_commit
from tests.db_state import database_state
from tests.pages.helpers import make_catalog


class InjectedCrash(Exception):
    """Stands for anything that can go wrong at the last moment: a lost connection, a bug, a kill."""


def audit_failing_on(action: str):
    """The real audit_record, except that it raises for ``action``: every step before it has written."""
    real = audit_services.audit_record

    def audit_record(**kwargs):
        if kwargs.get("action") == action:
            raise InjectedCrash(action)
        return real(**kwargs)

    return audit_record


@pytest.fixture
def world(admin_user):
    """A customer with a 6-task product (one BOOLEAN attribute per task) at ESSENTIAL: 4 tasks."""
    product, outcomes, release = make_catalog(tasks=6, name="Identity Guard")
    customer = customer_create(actor=admin_user, name="Northwind")
    assignment = customer_product_assign(
        actor=admin_user, customer=customer, product=product, license_level=LicenseLevel.ESSENTIAL
    )
    plan = assignment.adoption_plan
    return {"product": product, "customer": customer, "assignment": assignment, "plan": plan}


# --- 1. crashes at the last step ------------------------------------------------------------------

crash_test = pytest.mark.django_db(transaction=True)


@crash_test
def test_bulk_status_change_crashing_at_its_audit_entry_leaves_nothing(admin_user, world):
    plan = world["plan"]
    task_ids = list(plan.tasks.values_list("pk", flat=True))
    before = database_state()
    with (
        mock.patch(
            "adoption.services.status_changes.audit_record", audit_failing_on("customer_task.bulk_update_status")
        ),
        pytest.raises(InjectedCrash),
    ):
        customer_tasks_bulk_update_status(actor=admin_user, plan=plan, task_ids=task_ids, status=TaskStatus.DONE)
    assert database_state() == before


@crash_test
def test_bulk_status_change_crashing_at_the_totals_leaves_nothing(admin_user, world):
    plan = world["plan"]
    task_ids = list(plan.tasks.values_list("pk", flat=True))
    before = database_state()
    with (
        mock.patch("adoption.services.status_changes.plan_recompute_totals", side_effect=InjectedCrash("totals")),
        pytest.raises(InjectedCrash),
    ):
        customer_tasks_bulk_update_status(actor=admin_user, plan=plan, task_ids=task_ids, status=TaskStatus.DONE)
    assert database_state() == before


@crash_test
def test_telemetry_import_crashing_at_its_audit_entry_leaves_nothing(admin_user, world):
    """By then the values are stored, the tasks evaluated and moved, totals and the ingestion's own
    audit entry written: all of it goes."""
    plan = world["plan"]
    attributes = CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).order_by("pk")
    data = ("customerAttributeId,value\n" + "".join(f"{a.pk},true\n" for a in attributes)).encode()
    before = database_state()
    with (
        mock.patch("telemetry.spreadsheet.audit_record", audit_failing_on("telemetry.import")),
        pytest.raises(InjectedCrash),
    ):
        telemetry_import_commit(
            actor=admin_user, plan_or_customer_scope=plan, file=io.BytesIO(data), filename="values.csv"
        )
    assert database_state() == before


@crash_test
def test_sync_crashing_at_its_last_step_leaves_nothing(admin_user, world):
    """An upgrade to SIGNATURE adds tasks, a catalog edit refreshes one; the crash comes in the
    evaluation of the touched tasks, after the audit entry."""
    plan, assignment = world["plan"], world["assignment"]
    customer_product_update(actor=admin_user, customer_product=assignment, license_level=LicenseLevel.SIGNATURE)
    Task.objects.filter(product=world["product"], sequence_number=0).update(name="Renamed in the catalog")
    before = database_state()
    with (
        mock.patch("adoption.services.sync.evaluate_customer_tasks", side_effect=InjectedCrash("evaluation")),
        pytest.raises(InjectedCrash),
    ):
        adoption_plan_sync(actor=admin_user, plan=plan)
    assert database_state() == before


@crash_test
def test_sync_crashing_at_its_audit_entry_leaves_nothing(admin_user, world):
    plan, assignment = world["plan"], world["assignment"]
    customer_product_update(actor=admin_user, customer_product=assignment, license_level=LicenseLevel.SIGNATURE)
    before = database_state()
    with (
        mock.patch("adoption.services.sync.audit_record", audit_failing_on("adoption_plan.sync")),
        pytest.raises(InjectedCrash),
    ):
        adoption_plan_sync(actor=admin_user, plan=plan)
    assert database_state() == before


@crash_test
def test_plan_creation_crashing_at_its_audit_entry_leaves_nothing(admin_user, world):
    assignment = world["assignment"]
    assignment.adoption_plan.delete()  # an assignment without a plan, as after a failed migration
    before = database_state()
    with (
        mock.patch("adoption.services.plans.audit_record", audit_failing_on("adoption_plan.create")),
        pytest.raises(InjectedCrash),
    ):
        adoption_plan_create(actor=admin_user, customer_product=assignment)
    assert database_state() == before


@crash_test
def test_assigning_a_product_crashing_at_the_plans_audit_entry_leaves_nothing(admin_user, world):
    """The assignment, its selections, its audit entry and the whole plan are written before."""
    other, _, _ = make_catalog(tasks=4, name="Pulse")
    before = database_state()
    with (
        mock.patch("adoption.services.assignments.audit_record", audit_failing_on("adoption_plan.create")),
        pytest.raises(InjectedCrash),
    ):
        customer_product_assign(
            actor=admin_user, customer=world["customer"], product=other, license_level=LicenseLevel.SIGNATURE
        )
    assert database_state() == before


# --- 2. constraints the database enforces -----------------------------------------------------------


def refused(write) -> None:
    """The raw write fails with IntegrityError inside its own savepoint (the test goes on)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.mark.django_db
def test_one_plan_per_assignment(world):
    plan = world["plan"]
    refused(
        lambda: AdoptionPlan.objects.create(
            customer_product=world["assignment"],
            product=plan.product,
            product_name=plan.product_name,
            license_level=plan.license_level,
        )
    )
    assert AdoptionPlan.objects.filter(customer_product=world["assignment"]).count() == 1


@pytest.mark.django_db
def test_one_customer_task_per_plan_and_catalog_task(world):
    task = world["plan"].tasks.order_by("pk").first()
    refused(
        lambda: CustomerTask.objects.create(
            adoption_plan=world["plan"], original_task_id=task.original_task_id, name="Copy", license_level=1
        )
    )
    assert CustomerTask.objects.filter(adoption_plan=world["plan"], original_task_id=task.original_task_id).count() == 1


@pytest.mark.django_db
def test_one_customer_attribute_per_task_and_catalog_attribute(world):
    attribute = CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=world["plan"]).first()
    refused(
        lambda: CustomerTelemetryAttribute.objects.create(
            customer_task=attribute.customer_task,
            original_attribute=attribute.original_attribute,
            name="another name",
            data_type=DataType.BOOLEAN,
        )
    )
    # Copies whose catalog attribute was deleted for good (original null) may be several.
    for name in ("orphan 1", "orphan 2"):
        CustomerTelemetryAttribute.objects.create(
            customer_task=attribute.customer_task, original_attribute=None, name=name, data_type=DataType.BOOLEAN
        )
    assert CustomerTelemetryAttribute.objects.filter(customer_task=attribute.customer_task).count() == 3


@pytest.mark.django_db
def test_weights_are_never_negative(world):
    catalog_task = Task.objects.filter(product=world["product"]).first()
    customer_task = world["plan"].tasks.first()
    refused(lambda: Task.objects.filter(pk=catalog_task.pk).update(weight=Decimal("-0.01")))
    refused(lambda: CustomerTask.objects.filter(pk=customer_task.pk).update(weight=Decimal("-0.01")))
    refused(lambda: AdoptionPlan.objects.filter(pk=world["plan"].pk).update(total_weight=Decimal("-1")))
    refused(
        lambda: AdoptionPlan.objects.filter(pk=world["plan"].pk).update(
            total_weight=Decimal("0"), completed_weight=Decimal("-1")
        )
    )


@pytest.mark.django_db
def test_plan_totals_fit_together(world):
    plan = AdoptionPlan.objects.get(pk=world["plan"].pk)
    assert (plan.total_tasks, plan.total_weight) == (4, Decimal("10.00"))
    refused(lambda: AdoptionPlan.objects.filter(pk=plan.pk).update(completed_weight=Decimal("10.01")))
    refused(lambda: AdoptionPlan.objects.filter(pk=plan.pk).update(completed_tasks=5))
    AdoptionPlan.objects.filter(pk=plan.pk).update(completed_weight=Decimal("10.00"), completed_tasks=4)  # the edge
