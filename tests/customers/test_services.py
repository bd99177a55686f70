"""Customer writes: create, update, delete (with an audited cascade) and assignees."""

import pytest

from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.services import customer_product_assign, customer_task_update_status
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from customers.models import Customer, CustomerProduct
from customers.services import customer_create, customer_delete, customer_set_assignees, customer_update
from telemetry.models import ApiKey, CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch
from tests.factories import (
    ApiKeyFactory,
    CustomerFactory,
    CustomerTelemetryValueFactory,
    ProductFactory,
    TaskFactory,
    TelemetryAttributeFactory,
    TelemetryBatchFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_create_customer_trims_and_audits(admin_user):
    customer = customer_create(actor=admin_user, name="  Acme Corp ", description=" Widgets ")

    customer.refresh_from_db()
    assert (customer.name, customer.description) == ("Acme Corp", "Widgets")
    entry = AuditLog.objects.get(action="customer.create")
    assert (entry.actor, entry.object_type, entry.object_id, entry.customer_id) == (
        admin_user,
        "customer",
        str(customer.pk),
        customer.pk,
    )
    assert entry.details == {"name": "Acme Corp", "description": "Widgets"}


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 201])
def test_create_customer_refuses_a_blank_or_long_name(admin_user, name):
    with pytest.raises(ValidationFailed) as error:
        customer_create(actor=admin_user, name=name)
    assert (error.value.code, error.value.field) == ("VALIDATION_ERROR", "name")
    assert not Customer.objects.exists()
    assert not AuditLog.objects.exists()


def test_name_of_exactly_200_characters_is_accepted(admin_user):
    assert customer_create(actor=admin_user, name="y" * 200).name == "y" * 200


def test_update_customer_changes_only_what_is_given(admin_user):
    customer = customer_create(actor=admin_user, name="Acme", description="old")

    customer_update(actor=admin_user, customer=customer, description="new")

    customer.refresh_from_db()
    assert (customer.name, customer.description) == ("Acme", "new")
    entry = AuditLog.objects.get(action="customer.update")
    assert entry.details == {"changes": {"description": {"from": "old", "to": "new"}}}


def test_update_without_changes_writes_no_audit_entry(admin_user):
    customer = customer_create(actor=admin_user, name="Acme")
    customer_update(actor=admin_user, customer=customer, name=" Acme ")
    assert not AuditLog.objects.filter(action="customer.update").exists()


def test_update_refuses_a_blank_name_and_changes_nothing(admin_user):
    customer = customer_create(actor=admin_user, name="Acme", description="d")
    with pytest.raises(ValidationFailed) as error:
        customer_update(actor=admin_user, customer=customer, name=" ", description="other")
    assert error.value.field == "name"
    customer.refresh_from_db()
    assert (customer.name, customer.description) == ("Acme", "d")
    assert not AuditLog.objects.filter(action="customer.update").exists()


def test_delete_customer_cascades_and_keeps_an_audit_summary(admin_user, csm):
    product = ProductFactory(name="Identity")
    task = TaskFactory(product=product, name="SSO")
    TelemetryAttributeFactory(task=task, name="sso_enabled")
    TaskFactory(product=product, name="MFA")
    customer = customer_create(actor=admin_user, name="Acme")
    plan = customer_product_assign(
        actor=admin_user, customer=customer, product=product, license_level="ESSENTIAL"
    ).adoption_plan
    customer_product_assign(
        actor=admin_user, customer=customer, product=ProductFactory(name="Access"), license_level="ESSENTIAL"
    )
    sso = plan.tasks.get(name="SSO")
    customer_task_update_status(actor=csm, task=sso, status="DONE")
    CustomerTelemetryValueFactory(customer_attribute=sso.telemetry_attributes.get(), value=True)
    ApiKeyFactory(customer=customer)
    TelemetryBatchFactory(customer=customer)
    other_plan = customer_product_assign(
        actor=admin_user, customer=CustomerFactory(), product=product, license_level="ESSENTIAL"
    ).adoption_plan
    customer_pk = customer.pk

    summary = customer_delete(actor=admin_user, customer=customer)

    assert summary == {
        "customerId": customer_pk,
        "name": "Acme",
        "products": ["Access", "Identity"],
        "deleted": {
            "customerProducts": 2,
            "adoptionPlans": 2,
            "customerTasks": 2,
            "statusHistoryEntries": 1,
            "telemetryAttributes": 1,
            "telemetryValues": 1,
            "apiKeys": 1,
            "telemetryBatches": 1,
        },
    }
    assert not Customer.objects.filter(pk=customer_pk).exists()
    assert not CustomerProduct.objects.filter(customer_id=customer_pk).exists()
    assert list(AdoptionPlan.objects.values_list("pk", flat=True)) == [other_plan.pk]
    assert set(CustomerTask.objects.values_list("adoption_plan_id", flat=True)) == {other_plan.pk}
    assert not TaskStatusChange.objects.exists()
    assert not CustomerTelemetryValue.objects.exists()
    assert CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=other_plan).count() == 1
    assert not ApiKey.objects.exists() and not TelemetryBatch.objects.exists()
    entry = AuditLog.objects.get(action="customer.delete")
    assert (entry.actor, entry.object_id, entry.customer_id) == (admin_user, str(customer_pk), customer_pk)
    assert entry.details == summary
    assert entry.summary == "Deleted customer Acme with 2 products, 2 tasks, 1 history entries, 1 telemetry values"
    # Earlier entries about the customer survive too: the log is append-only.
    assert AuditLog.objects.filter(customer_id=customer_pk, action="customer.create").exists()
    assert product.tasks.count() == 2


def test_set_assignees_replaces_the_list_and_audits_the_difference(admin_user, csm, viewer):
    other = UserFactory(username="other_csm")
    customer = CustomerFactory(assigned_users=[other])

    customer_set_assignees(actor=admin_user, customer=customer, users=[csm, str(viewer.pk), csm.pk])

    assert set(customer.assigned_users.values_list("username", flat=True)) == {"csm_u", "viewer_u"}
    entry = AuditLog.objects.get(action="customer.set_assignees")
    assert entry.details == {
        "added": ["csm_u", "viewer_u"],
        "removed": ["other_csm"],
        "assignees": ["csm_u", "viewer_u"],
    }

    customer_set_assignees(actor=admin_user, customer=customer, users=[viewer, csm])
    assert AuditLog.objects.filter(action="customer.set_assignees").count() == 1

    customer_set_assignees(actor=admin_user, customer=customer, users=[])
    assert customer.assigned_users.count() == 0


def test_set_assignees_refuses_unknown_and_inactive_users(admin_user, csm):
    inactive = UserFactory(username="gone", is_active=False)
    customer = CustomerFactory(assigned_users=[csm])

    with pytest.raises(ValidationFailed) as error:
        customer_set_assignees(actor=admin_user, customer=customer, users=[csm, inactive, 999999, "abc"])

    assert error.value.field == "userIds"
    assert error.value.details == {"invalidIds": ["abc", str(inactive.pk), "999999"]}
    assert list(customer.assigned_users.all()) == [csm]
    assert not AuditLog.objects.filter(action="customer.set_assignees").exists()
