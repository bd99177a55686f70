"""Changing a customer task's status in the admin: the note belongs to the change being made."""

import pytest

from adoption.models import AdoptionPlan, CustomerTask
from adoption.services import customer_task_update_status
from config.audit.models import AuditLog
from tests.admin.helpers import rendered_form, staff, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(world, csm):
    """Task 1 of the CSM's customer is IN_PROGRESS with the note "kickoff"."""
    task = CustomerTask.objects.get(adoption_plan__customer_product__customer=world["mine"], name="Task 1")
    customer_task_update_status(actor=csm, task=task, status="IN_PROGRESS", notes="kickoff")
    return task


@pytest.fixture
def csm_client(client, csm):
    client.force_login(staff(csm))
    return client


def counts(task):
    return task.history.count(), AuditLog.objects.count()


def test_the_note_field_starts_empty_and_shows_the_last_note(csm_client, started):
    page = csm_client.get(url(CustomerTask, "change", started.pk))

    field = page.context["adminform"].form["status_notes"]
    assert field.value() == ""
    assert field.help_text == "Last note: kickoff"


def test_changing_only_the_status_does_not_repeat_the_old_note(csm_client, started):
    address = url(CustomerTask, "change", started.pk)
    data = rendered_form(csm_client, address)
    data["status"] = "DONE"

    response = csm_client.post(address, data)

    assert response.status_code == 302
    started.refresh_from_db()
    assert (started.status, started.status_notes) == ("DONE", "")
    entry = started.history.order_by("-pk").first()
    assert (entry.from_status, entry.to_status, entry.note) == ("IN_PROGRESS", "DONE", "")
    assert AuditLog.objects.filter(action="customer_task.update_status").order_by("-pk").first().details["notes"] == ""


def test_a_save_that_changes_nothing_records_nothing(csm_client, started):
    before = counts(started)
    address = url(CustomerTask, "change", started.pk)

    response = csm_client.post(address, rendered_form(csm_client, address))

    assert response.status_code == 302
    assert counts(started) == before
    started.refresh_from_db()
    assert (started.status, started.status_notes, started.status_updated_by) == ("IN_PROGRESS", "kickoff", "csm_u")


def test_a_note_without_a_status_change_is_refused_and_records_nothing(csm_client, started):
    before = counts(started)
    address = url(CustomerTask, "change", started.pk)
    data = rendered_form(csm_client, address)
    data["status_notes"] = "waiting for the customer"

    response = csm_client.post(address, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["status_notes"] == [
        "A note is recorded with a status change: choose the new status as well "
        "(the note alone would record a change that did not happen)."
    ]
    assert counts(started) == before
    started.refresh_from_db()
    assert started.status_notes == "kickoff"
    assert not started.history.filter(from_status="IN_PROGRESS", to_status="IN_PROGRESS").exists()


def test_saving_a_task_returns_to_its_plan(csm_client, started):
    address = url(CustomerTask, "change", started.pk)
    data = rendered_form(csm_client, address)
    data.update({"status": "DONE", "status_notes": "verified on site"})

    response = csm_client.post(address, data)

    assert response.status_code == 302
    assert response.url == url(AdoptionPlan, "change", started.adoption_plan_id)
    assert csm_client.get(response.url).status_code == 200
    started.refresh_from_db()
    assert (started.status, started.status_notes) == ("DONE", "verified on site")

    data.update({"status": "IN_PROGRESS", "status_notes": "", "_continue": "1"})
    response = csm_client.post(address, data)
    assert response.url == address  # "Save and continue editing" stays on the task
