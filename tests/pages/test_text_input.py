"""Pages refuse text the services would refuse: a NUL character in any text field of a form is shown
as an error on that field and nothing changes. A lone surrogate cannot reach a page at all: forms
are sent as UTF-8, and bytes that are not UTF-8 are decoded as U+FFFD, never as a surrogate."""

import pytest

from adoption.choices import DataType
from adoption.models import CustomerTask
from customers.models import Customer
from tests.db_state import database_state
from tests.factories import CustomerTelemetryAttributeFactory
from tests.pages.plan_fixtures import *  # noqa: F403  (the fixtures: people, plan, fast hashing)
from tests.pages.plan_fixtures import client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
NUL_REFUSED = "Null characters are not allowed."


def _task(plan, sequence=1) -> CustomerTask:
    return CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number")[sequence - 1]


@pytest.mark.parametrize("field", ["name", "description"])
def test_customer_dialog_refuses_nul(admin_user, field):
    client = client_for(admin_user)
    data = {"name": "Initech", "description": "Printers", field: "Ini\x00tech"}
    before = database_state()
    response = client.post("/customers/new/", data, **HTMX)
    assert response.status_code == 200  # the dialog again, with the error under the field
    assert NUL_REFUSED in response.content.decode()
    assert database_state() == before


def test_customer_edit_refuses_nul(admin_user, plan):
    customer = plan.customer_product.customer
    client = client_for(admin_user)
    before = database_state()
    response = client.post(f"/customers/{customer.pk}/edit/", {"name": "Renamed\x00"}, **HTMX)
    assert NUL_REFUSED in response.content.decode()
    assert database_state() == before


def test_status_dialog_refuses_a_nul_in_the_note(plan, people):
    task = _task(plan)
    before = database_state()
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE", "note": "done\x00"}, **HTMX
    )
    assert NUL_REFUSED in response.content.decode()
    assert database_state() == before


def test_bulk_status_refuses_a_nul_in_the_note(plan, people):
    tasks = [_task(plan, 1), _task(plan, 2)]
    before = database_state()
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/status/",
        {"task": [t.pk for t in tasks], "status": "DONE", "note": "\x00"},
        **HTMX,
    )
    assert NUL_REFUSED in response.content.decode()
    assert database_state() == before


@pytest.mark.parametrize("field", ["value", "notes"])
def test_value_form_refuses_nul(plan, people, field):
    task = _task(plan)
    attribute = CustomerTelemetryAttributeFactory(
        customer_task=task, name="region", data_type=DataType.STRING, success_criteria={}
    )
    data = {"value": "eu", "notes": "", field: "e\x00u"}
    before = database_state()
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/{task.pk}/attributes/{attribute.pk}/values/", data, **HTMX
    )
    assert NUL_REFUSED in response.content.decode()
    assert database_state() == before


def test_bytes_of_a_surrogate_arrive_as_replacement_characters(admin_user):
    """U+D800 written as UTF-8 would be ED A0 80, which is not UTF-8: the form data decodes it as
    U+FFFD, so what a page hands to a service never holds a surrogate."""
    response = client_for(admin_user).post(
        "/customers/new/",
        data=b"name=Ini%ED%A0%80tech&description=",
        content_type="application/x-www-form-urlencoded",
        **HTMX,
    )
    assert response.status_code in (200, 204)
    (customer,) = Customer.objects.all()
    assert customer.name == "Ini\ufffd\ufffd\ufffdtech"
