"""Status changes from the plan page: the dialog, one task, many tasks; refusals change nothing."""

import json
import re

import pytest

from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from tests.factories import ProductFactory
from tests.pages.plan_fixtures import *  # noqa: F403  (the fixtures: people, plan, fast hashing)
from tests.pages.plan_fixtures import build_plan, client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def tasks_of(plan) -> list[CustomerTask]:
    return list(CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number"))


def snapshot(plan) -> tuple:
    """What a refused action must leave alone."""
    plan = AdoptionPlan.objects.get(pk=plan.pk)
    return (
        list(
            CustomerTask.objects.filter(adoption_plan=plan).order_by("pk").values_list("status", "status_update_source")
        ),
        TaskStatusChange.objects.count(),
        (plan.completed_tasks, plan.completed_weight, plan.progress_percentage),
    )


def test_status_dialog_offers_every_status_with_the_current_one_chosen(plan, people):
    task = tasks_of(plan)[1]
    response = client_for(people["csm"]).get(f"/plans/{plan.pk}/tasks/{task.pk}/status/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h2 id="modal-title" class="h5 mb-0">Status of “Task 2”</h2>' in html
    assert re.findall(r'<option value="(\w+)"', html) == ["NOT_STARTED", "IN_PROGRESS", "DONE", "NOT_APPLICABLE"]
    assert '<option value="NOT_STARTED" selected>' in html
    assert 'for="status-select"' in html and 'for="status-note"' in html


def test_status_change_answers_the_row_and_out_of_band_progress_and_counts(plan, people):
    task = tasks_of(plan)[3]  # weight 4 of 15
    response = client_for(people["csm"], csrf=False).post(
        f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE", "note": "Go-live call"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'<template>\s*<tr id="task-{task.pk}" class="task-row row-DONE" hx-swap-oob="true">', html)
    assert (
        '<section id="plan-progress" class="card h-100" aria-labelledby="progress-heading" hx-swap-oob="true">' in html
    )
    assert 'data-testid="plan-percentage">26.7 %<' in html
    assert '<section id="plan-counts" class="card h-100" aria-labelledby="counts-heading" hx-swap-oob="true">' in html
    assert 'data-testid="count-DONE">1<' in html
    assert json.loads(response["HX-Trigger"]) == {"modal:close": True, "toast": "“Task 4” is now Done."}
    task.refresh_from_db()
    assert (task.status, task.status_update_source, task.status_updated_by, task.status_notes) == (
        "DONE",
        "MANUAL",
        "casey",
        "Go-live call",
    )
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert (entry.from_status, entry.to_status, entry.actor, entry.note) == (
        "NOT_STARTED",
        "DONE",
        "casey",
        "Go-live call",
    )
    plan.refresh_from_db()
    assert (plan.completed_tasks, str(plan.completed_weight), str(plan.progress_percentage)) == (1, "4.00", "26.67")


def test_status_change_without_htmx_redirects_to_the_plan_with_a_message(plan, people):
    task = tasks_of(plan)[0]
    client = client_for(people["csm"])
    response = client.post(f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "IN_PROGRESS"})
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/"
    assert "“Task 1” is now In progress." in client.get(response["Location"]).content.decode()


def test_invalid_status_shows_in_the_dialog_and_changes_nothing(plan, people):
    task = tasks_of(plan)[0]
    before = snapshot(plan)
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "FINISHED", "note": "x"}, **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#modal-content" and response["HX-Reswap"] == "innerHTML"
    html = response.content.decode()
    assert "Select a valid choice. FINISHED is not one of the available choices." in html
    assert 'class="form-select is-invalid"' in html
    assert "HX-Trigger" not in response
    assert snapshot(plan) == before


def test_too_long_note_is_refused_next_to_the_note(plan, people):
    task = tasks_of(plan)[0]
    before = snapshot(plan)
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE", "note": "x" * 4001}, **HTMX
    )
    assert "Ensure this value has at most 4000 characters (it has 4001)." in response.content.decode()
    assert snapshot(plan) == before


def test_archived_task_is_refused_in_words_in_the_dialog(plan, people):
    task = tasks_of(plan)[0]
    CustomerTask.objects.filter(pk=task.pk).update(is_archived=True)
    before = snapshot(plan)
    response = client_for(people["csm"]).post(f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE"}, **HTMX)
    assert (
        "task &#x27;Task 1&#x27; was archived by a sync and is no longer part of the plan" in response.content.decode()
    )
    assert snapshot(plan) == before


def test_viewer_forged_status_post_is_403_and_changes_nothing(plan, people):
    task = tasks_of(plan)[0]
    before = snapshot(plan)
    client = client_for(people["viewer"], csrf=True)
    client.get(f"/plans/{plan.pk}/")  # a CSRF cookie, as a browser would have
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 403
    assert "You may not change this adoption plan." in response.content.decode()
    htmx = client.post(f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert htmx.status_code == 403 and htmx["X-Error-Message"] == "You%20may%20not%20change%20this%20adoption%20plan."
    assert client.get(f"/plans/{plan.pk}/tasks/{task.pk}/status/", **HTMX).status_code == 403
    assert snapshot(plan) == before


def test_post_without_csrf_token_is_refused(plan, people):
    task = tasks_of(plan)[0]
    before = snapshot(plan)
    response = client_for(people["csm"], csrf=True).post(
        f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE"}
    )
    assert response.status_code == 403
    assert snapshot(plan) == before


def test_stranger_and_task_of_another_plan_get_404_and_nothing_changes(plan, people):
    other = build_plan(users=[people["csm"]], name="Other", product=ProductFactory(name="Other"))
    task, foreign = tasks_of(plan)[0], tasks_of(other)[0]
    before, before_other = snapshot(plan), snapshot(other)
    assert (
        client_for(people["stranger"]).post(f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE"}).status_code
        == 404
    )
    mixed = client_for(people["csm"]).post(f"/plans/{plan.pk}/tasks/{foreign.pk}/status/", {"status": "DONE"})
    assert mixed.status_code == 404
    assert snapshot(plan) == before and snapshot(other) == before_other


# --- bulk ---------------------------------------------------------------------------------------------


def test_bulk_change_refreshes_table_progress_and_counts(plan, people):
    tasks = tasks_of(plan)
    ids = [t.pk for t in tasks[:3]]  # weights 1 + 2 + 3 of 15
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/status/", {"task": ids, "status": "DONE", "note": "Workshop"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="task-table">')
    assert 'data-testid="plan-percentage">40.0 %<' in html and 'hx-swap-oob="true"' in html
    assert 'data-testid="count-DONE">3<' in html
    assert json.loads(response["HX-Trigger"]) == {"toast": "3 tasks set to Done."}
    assert [t.status for t in tasks_of(plan)] == ["DONE", "DONE", "DONE", "NOT_STARTED", "NOT_STARTED"]
    assert set(TaskStatusChange.objects.filter(note="Workshop").values_list("customer_task_id", flat=True)) == set(ids)


def test_bulk_change_keeps_the_filtered_view(plan, people):
    tasks = tasks_of(plan)
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/status/?status=NOT_STARTED", {"task": [tasks[0].pk], "status": "DONE"}, **HTMX
    )
    html = response.content.decode()
    assert f'<tr id="task-{tasks[0].pk}"' not in html  # no longer NOT_STARTED
    assert len(re.findall(r'<tr id="task-\d+"', html)) == 4


def test_bulk_with_a_task_of_another_plan_changes_nothing(plan, people):
    other = build_plan(users=[people["csm"]], name="Other", product=ProductFactory(name="Other"))
    tasks, foreign = tasks_of(plan), tasks_of(other)[0]
    before, before_other = snapshot(plan), snapshot(other)
    response = client_for(people["csm"]).post(
        f"/plans/{plan.pk}/tasks/status/", {"task": [tasks[0].pk, foreign.pk], "status": "DONE"}, **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#bulk-feedback"
    assert (
        f"Nothing was changed: tasks {foreign.pk} are not tasks of adoption plan {plan.pk}; nothing was changed"
        in response.content.decode()
    )
    assert snapshot(plan) == before and snapshot(other) == before_other


def test_bulk_without_tasks_or_status_says_what_is_missing(plan, people):
    before = snapshot(plan)
    client = client_for(people["csm"])
    none_ticked = client.post(f"/plans/{plan.pk}/tasks/status/", {"status": "DONE"}, **HTMX).content.decode()
    assert "Tick at least one task." in none_ticked
    no_status = client.post(f"/plans/{plan.pk}/tasks/status/", {"task": [tasks_of(plan)[0].pk]}, **HTMX)
    assert "Choose the status to set." in no_status.content.decode()
    garbage = client.post(f"/plans/{plan.pk}/tasks/status/", {"task": ["abc"], "status": "DONE"}, **HTMX)
    assert "abc is not a task id." in garbage.content.decode()
    assert snapshot(plan) == before


def test_bulk_without_htmx_redirects_with_a_message(plan, people):
    client = client_for(people["csm"])
    ids = [t.pk for t in tasks_of(plan)[:2]]
    response = client.post(f"/plans/{plan.pk}/tasks/status/?status=NOT_STARTED", {"task": ids, "status": "IN_PROGRESS"})
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/?status=NOT_STARTED"
    assert "2 tasks set to In progress." in client.get(response["Location"]).content.decode()


def test_viewer_forged_bulk_post_is_403_and_changes_nothing(plan, people):
    before = snapshot(plan)
    response = client_for(people["viewer"]).post(
        f"/plans/{plan.pk}/tasks/status/", {"task": [t.pk for t in tasks_of(plan)], "status": "DONE"}
    )
    assert response.status_code == 403
    assert snapshot(plan) == before


# --- setting the status a task already has --------------------------------------------------------


def test_bulk_counts_tasks_that_already_had_the_status_apart(plan, people):
    tasks = tasks_of(plan)
    client = client_for(people["csm"])
    client.post(f"/plans/{plan.pk}/tasks/status/", {"task": [tasks[0].pk], "status": "DONE"}, **HTMX)
    history = TaskStatusChange.objects.count()

    response = client.post(
        f"/plans/{plan.pk}/tasks/status/", {"task": [t.pk for t in tasks[:3]], "status": "DONE"}, **HTMX
    )

    assert json.loads(response["HX-Trigger"]) == {"toast": "2 tasks set to Done; 1 was already Done."}
    assert TaskStatusChange.objects.count() == history + 2
    assert not TaskStatusChange.objects.filter(customer_task=tasks[0], from_status="DONE").exists()


def test_bulk_where_every_ticked_task_already_has_the_status_says_nothing_changed(plan, people):
    tasks = tasks_of(plan)
    client = client_for(people["csm"])
    ids = [t.pk for t in tasks[:3]]
    client.post(f"/plans/{plan.pk}/tasks/status/", {"task": ids, "status": "DONE"}, **HTMX)
    before = snapshot(plan)

    response = client.post(f"/plans/{plan.pk}/tasks/status/", {"task": ids, "status": "DONE"}, **HTMX)

    assert json.loads(response["HX-Trigger"]) == {"toast": "3 tasks were already Done; nothing changed."}
    assert snapshot(plan) == before


def test_saving_the_status_a_task_already_has_says_nothing_changed(plan, people):
    task = tasks_of(plan)[0]
    client = client_for(people["csm"])
    client.post(f"/plans/{plan.pk}/tasks/status/", {"task": [task.pk], "status": "DONE"}, **HTMX)
    before = snapshot(plan)

    response = client.post(f"/plans/{plan.pk}/tasks/{task.pk}/status/", {"status": "DONE", "note": ""}, **HTMX)

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {
        "modal:close": True,
        "toast": "“Task 1” was already Done; nothing changed.",
    }
    assert snapshot(plan) == before
