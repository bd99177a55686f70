"""A page write the database rolls back because a concurrent write got in the way (a deadlock or a
serialization failure) is answered like the API's retryable CONFLICT: 409 with Retry-After and the
words "someone else changed this at the same moment", a toast for htmx, the error page otherwise.
Nothing is saved. Any other database error stays a server error.

The failure is forced the way PostgreSQL reports it (Django's OperationalError raised from the
driver's DeadlockDetected, as in tests/adoption/test_concurrency.py) at the last statement of the
write, its audit entry, so that everything the write did before has to be rolled back.
"""

import re
from urllib.parse import unquote

import pytest
from django.db import OperationalError, connection
from psycopg import errors as pg

from adoption.choices import LicenseLevel
from adoption.models import CustomerTask
from adoption.services import customer_task_update_status
from config.audit.models import AuditLog
from config.middleware import PAGE_RETRY_MESSAGE
from telemetry.models import CustomerTelemetryAttribute
from tests.conftest import raised_by_django
from tests.db_state import database_state
from tests.factories import ProductFactory, TaskFactory
from tests.pages.plan_fixtures import *  # noqa: F403  (the fixtures: people, plan, fast hashing)
from tests.pages.plan_fixtures import client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
AUDIT_INSERT = re.compile(rf'^\s*INSERT INTO "{AuditLog._meta.db_table}"')


class FailAtAuditEntry:
    """An execute wrapper that fails the write's audit INSERT with `error` (once) and counts it."""

    def __init__(self, error: Exception):
        self.error, self.fired = error, 0

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and AUDIT_INSERT.match(sql):
            self.fired += 1
            raise raised_by_django(self.error)
        return execute(sql, params, many, context)


def _tasks(plan):
    return list(CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number"))


def _customer(plan):
    return plan.customer_product.customer


# Every page that writes: (name, how to prepare it and what to post). `prepare(plan, admin)` returns
# (url, data); it may change the data first (a catalog change for the sync, a manual status to hand back).
def _task_status(plan, admin):
    return f"/plans/{plan.pk}/tasks/{_tasks(plan)[0].pk}/status/", {"status": "DONE", "note": "live"}


def _bulk_status(plan, admin):
    return f"/plans/{plan.pk}/tasks/status/", {"task": [t.pk for t in _tasks(plan)[:3]], "status": "DONE"}


def _value_add(plan, admin):
    task = _tasks(plan)[0]
    attribute = CustomerTelemetryAttribute.objects.get(customer_task=task)
    return f"/plans/{plan.pk}/tasks/{task.pk}/attributes/{attribute.pk}/values/", {"value": "95", "notes": "n"}


def _hand_back(plan, admin):
    task = _tasks(plan)[0]
    customer_task_update_status(actor=admin, task=task, status="DONE")
    return f"/plans/{plan.pk}/tasks/{task.pk}/hand-back/", {"confirm": "yes", "context": "panel"}


def _plan_evaluate(plan, admin):
    return f"/plans/{plan.pk}/evaluate/", {}


def _plan_sync(plan, admin):
    TaskFactory(product=plan.customer_product.product, name="Added to the catalog", sequence_number=99)
    return f"/plans/{plan.pk}/sync/", {}


def _customer_create(plan, admin):
    return "/customers/new/", {"name": "Initech", "description": "Printers"}


def _customer_edit(plan, admin):
    return f"/customers/{_customer(plan).pk}/edit/", {"name": "Northwind Renamed", "description": "d"}


def _customer_delete(plan, admin):
    return f"/customers/{_customer(plan).pk}/delete/", {}


def _assign(plan, admin):
    product = ProductFactory(name="Pulse Observability")
    TaskFactory(product=product, name="Install the agent")
    return f"/customers/{_customer(plan).pk}/products/new/", {
        "product": product.pk,
        "license_level": LicenseLevel.SIGNATURE,
    }


def _assignment_edit(plan, admin):
    assignment = plan.customer_product
    return f"/customers/{assignment.customer_id}/products/{assignment.pk}/edit/", {
        "license_level": LicenseLevel.SIGNATURE
    }


def _assignment_remove(plan, admin):
    assignment = plan.customer_product
    return f"/customers/{assignment.customer_id}/products/{assignment.pk}/remove/", {}


def _admin_deactivate_product(plan, admin):
    product = plan.customer_product.product
    return "/admin/adoption/product/", {"action": "deactivate_selected", "_selected_action": [product.pk]}


WRITES = [
    _task_status,
    _bulk_status,
    _value_add,
    _hand_back,
    _plan_evaluate,
    _plan_sync,
    _customer_create,
    _customer_edit,
    _customer_delete,
    _assign,
    _assignment_edit,
    _assignment_remove,
    _admin_deactivate_product,
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("prepare", WRITES, ids=lambda f: f.__name__.lstrip("_"))
def test_a_deadlocked_page_write_is_a_retryable_409_and_changes_nothing(plan, admin_user, prepare, htmx):
    url, data = prepare(plan, admin_user)
    client = client_for(admin_user)
    before = database_state()
    deadlock = FailAtAuditEntry(pg.DeadlockDetected("deadlock detected"))

    with connection.execute_wrapper(deadlock):
        response = client.post(url, data, **(HTMX if htmx else {}))

    assert deadlock.fired == 1, "the write never reached its audit entry"
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    if htmx:  # the page shows X-Error-Message as a toast and swaps nothing
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert unquote(response["X-Error-Message"]) == PAGE_RETRY_MESSAGE == response.content.decode()
    else:
        html = response.content.decode()
        assert 'data-testid="error-page"' in html and "Changed meanwhile" in html and PAGE_RETRY_MESSAGE in html
    assert database_state() == before


def test_a_serialization_failure_is_a_retryable_409_too(plan, admin_user):
    url, data = _task_status(plan, admin_user)
    before = database_state()
    failure = FailAtAuditEntry(pg.SerializationFailure("could not serialize access"))

    with connection.execute_wrapper(failure):
        response = client_for(admin_user).post(url, data, **HTMX)

    assert (response.status_code, unquote(response["X-Error-Message"])) == (409, PAGE_RETRY_MESSAGE)
    assert database_state() == before


def test_the_same_form_sent_again_succeeds(plan, admin_user):
    url, data = _task_status(plan, admin_user)
    client = client_for(admin_user)
    with connection.execute_wrapper(FailAtAuditEntry(pg.DeadlockDetected("deadlock detected"))):
        assert client.post(url, data, **HTMX).status_code == 409
    assert client.post(url, data, **HTMX).status_code == 200
    assert _tasks(plan)[0].status == "DONE"


def test_another_database_error_is_still_a_server_error(plan, admin_user):
    """Only a conflict with a concurrent write is worth retrying; a statement timeout, say, is not."""
    url, data = _task_status(plan, admin_user)
    client = client_for(admin_user)
    client.raise_request_exception = True
    with (
        connection.execute_wrapper(FailAtAuditEntry(pg.QueryCanceled("canceling statement due to statement timeout"))),
        pytest.raises(OperationalError),
    ):
        client.post(url, data, **HTMX)
