"""Customers' names are unique regardless of case and surrounding spaces, in every path."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from config.audit.models import AuditLog
from config.errors import ValidationFailed
from customers.models import Customer
from customers.services import customer_create, customer_update
from tests.admin.helpers import management, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(admin_user):
    return customer_create(actor=admin_user, name="Acme Corp")


def snapshot():
    return sorted(Customer.objects.values_list("pk", "name")), AuditLog.objects.count()


def test_create_refuses_a_name_that_differs_only_in_case_and_spaces(admin_user, acme):
    before = snapshot()

    with pytest.raises(ValidationFailed) as refused:
        customer_create(actor=admin_user, name="  ACME corp ")

    assert refused.value.field == "name"
    assert refused.value.message == (
        f"customer 'Acme Corp' (id {acme.pk}) already has this name; customer names are unique regardless of case"
    )
    assert refused.value.details == {"existingCustomerId": str(acme.pk), "existingCustomerName": "Acme Corp"}
    assert snapshot() == before


def test_update_refuses_another_customers_name_but_may_change_its_own_case(admin_user, acme):
    globex = customer_create(actor=admin_user, name="Globex")
    before = snapshot()

    with pytest.raises(ValidationFailed) as refused:
        customer_update(actor=admin_user, customer=globex, name="acme corp")

    assert (refused.value.field, refused.value.details["existingCustomerName"]) == ("name", "Acme Corp")
    assert snapshot() == before
    customer_update(actor=admin_user, customer=acme, name="ACME Corp")
    assert Customer.objects.get(pk=acme.pk).name == "ACME Corp"


def test_the_database_refuses_a_duplicate_that_bypasses_the_service(acme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name=" acme CORP")
    assert Customer.objects.count() == 1


def test_graphql_answers_validation_error_on_name(admin_user, acme):
    client = Client()
    client.force_login(admin_user)
    before = snapshot()

    response = client.post(
        "/graphql/",
        data=json.dumps({"query": 'mutation { createCustomer(input: {name: "acme corp"}) { id } }'}),
        content_type="application/json",
    )

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert error["extensions"]["field"] == "name"
    assert "'Acme Corp'" in error["message"]
    assert snapshot() == before


def test_admin_shows_the_error_next_to_the_name(admin_client, acme):
    before = snapshot()

    response = admin_client.post(
        url(Customer, "add"), {"name": "ACME CORP ", "description": "", **management("products")}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [
        f"customer 'Acme Corp' (id {acme.pk}) already has this name; customer names are unique regardless of case"
    ]
    assert snapshot() == before
