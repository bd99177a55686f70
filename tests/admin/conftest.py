import pytest

from adoption.models import CustomerTask
from adoption.services import customer_product_assign, customer_task_update_status
from tests.factories import (
    ApiKeyFactory,
    CustomerFactory,
    CustomerTelemetryValueFactory,
    OutcomeFactory,
    PersonalAccessTokenFactory,
    ProductFactory,
    ReleaseFactory,
    TaskFactory,
    TelemetryAttributeFactory,
    TelemetryBatchFactory,
)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def build_catalog(n_tasks=2):
    product = ProductFactory(name="Identity Guard")
    outcome = OutcomeFactory(product=product, name="Zero-trust access")
    release = ReleaseFactory(product=product, name="7.2", level="7.2")
    tasks = [
        TaskFactory(product=product, name=f"Task {i}", outcomes=[outcome], releases=[release]) for i in range(n_tasks)
    ]
    TelemetryAttributeFactory(task=tasks[0], name="mfa_enabled")
    return product, tasks


@pytest.fixture
def world(admin_user, csm, viewer, editor):
    product, tasks = build_catalog()
    mine = CustomerFactory(name="Mine", assigned_users=[csm, viewer])
    other = CustomerFactory(name="Other")
    for customer in (mine, other):
        customer_product_assign(actor=admin_user, customer=customer, product=product, license_level="SIGNATURE")
    task = CustomerTask.objects.get(adoption_plan__customer_product__customer=mine, name="Task 0")
    customer_task_update_status(actor=csm, task=task, status="DONE", notes="checked")
    CustomerTelemetryValueFactory(customer_attribute=task.telemetry_attributes.get())
    TelemetryBatchFactory(customer=mine)
    ApiKeyFactory(customer=mine)
    PersonalAccessTokenFactory(user=csm)
    return {"product": product, "tasks": tasks, "mine": mine, "other": other, "task": task}
