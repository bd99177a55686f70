"""The task drawer: telemetry cards, typed value forms through the ingestion service, evaluation,
hand back to telemetry, and the status history with its evidence."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import DataType
from adoption.models import CustomerTask, TaskStatusChange
from adoption.services import customer_task_update_status
from config.audit.models import AuditLog
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue
from telemetry.services import telemetry_ingest
from tests.factories import CustomerTelemetryAttributeFactory, CustomerTelemetryValueFactory, ProductFactory
from tests.pages.plan_fixtures import *  # noqa: F403  (the fixtures: people, plan, fast hashing)
from tests.pages.plan_fixtures import build_plan, client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def first_task(plan) -> CustomerTask:
    return CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number").first()


def attribute_of(task) -> CustomerTelemetryAttribute:
    return CustomerTelemetryAttribute.objects.get(customer_task=task, name="metric_1")


def url(plan, task, suffix=""):
    return f"/plans/{plan.pk}/tasks/{task.pk}/{suffix}"


def text(html: str) -> str:
    """The words of some HTML as a reader sees them (no space before punctuation)."""
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return re.sub(r" ([,:.)])", r"\1", words)


def test_drawer_page_shows_the_task_its_telemetry_and_a_typed_value_form(plan, people):
    task = CustomerTask.objects.get(adoption_plan=plan, sequence_number=2)
    response = client_for(people["csm"]).get(url(plan, task))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="drawer-title" class="h4 mb-0" tabindex="-1">Task 2</h2>' in html
    assert "<html" in html and "Back to the plan" in html  # a page of its own
    assert "Number · metric_1 ≥ 90" in html
    assert (
        "No value yet." in html
        and 'data-testid="attribute-met"><i class="bi bi-x-circle" aria-hidden="true"></i> Not met' in html
    )
    attribute = attribute_of(task)
    assert (
        f'<input type="number" name="value" step="any" class="form-control form-control-sm" required id="id_attr{attribute.pk}_value">'
        in html
    )
    assert 'type="datetime-local"' in html
    assert 'href="https://docs.example.com/t2"' in html and "How-to video" in html
    assert "No status change yet" in html


def test_drawer_as_htmx_panel_answers_only_the_panel(plan, people):
    task = first_task(plan)
    html = client_for(people["csm"]).get(url(plan, task), **HTMX).content.decode()
    assert html.lstrip().startswith('<article class="task-drawer"')
    assert "<html" not in html and "data-close-drawer" in html
    assert 'name="context" value="panel"' in html


def test_value_forms_follow_the_data_type(plan, people):
    task = first_task(plan)
    kinds = {}
    for data_type in (DataType.BOOLEAN, DataType.STRING, DataType.TIMESTAMP, DataType.JSON):
        kinds[data_type] = CustomerTelemetryAttributeFactory(
            customer_task=task, name=f"a_{data_type.lower()}", data_type=data_type, success_criteria={}
        )
    html = client_for(people["csm"]).get(url(plan, task)).content.decode()
    assert (
        f'<input type="checkbox" name="value" class="form-check-input" id="id_attr{kinds["BOOLEAN"].pk}_value">' in html
    )
    assert (
        f'<input type="text" name="value" maxlength="10000" class="form-control form-control-sm" required id="id_attr{kinds["STRING"].pk}_value">'
        in html
    )
    assert re.search(rf'<input type="datetime-local" name="value"[^>]*id="id_attr{kinds["TIMESTAMP"].pk}_value"', html)
    assert re.search(rf'<textarea name="value" cols="40" rows="3"[^>]*id="id_attr{kinds["JSON"].pk}_value"', html)


def test_adding_a_value_turns_the_task_done_with_its_evidence_and_updates_the_dashboard(plan, people):
    task = first_task(plan)
    attribute = attribute_of(task)
    response = client_for(people["csm"]).post(
        url(plan, task, f"attributes/{attribute.pk}/values/"), {"value": "93", "context": "panel"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"toast": "Value stored for metric_1. “Task 1” is now Done."}
    value = CustomerTelemetryValue.objects.get(customer_attribute=attribute)
    assert (value.value, value.source) == (93, "manual entry")
    task.refresh_from_db()
    assert (task.status, task.status_update_source, task.status_updated_by) == ("DONE", "TELEMETRY", "telemetry")
    # the drawer: latest value, met, and the history entry with its evidence
    assert 'Latest value <strong class="font-monospace">93</strong>' in html
    assert "Met</span>" in html
    history = text(re.search(r'<section id="drawer-history".*?</section>', html, re.S)[0])
    assert re.fullmatch(
        r"History Done, by telemetry, \d+ \w{3} \d\d:\d\d \(was Not started\): met: metric_1 = 93 \(metric_1 ≥ 90\)",
        history,
    )
    # and, out of band, the dashboard's row, progress and counts
    assert re.search(rf'<template>\s*<tr id="task-{task.pk}" class="task-row row-DONE" hx-swap-oob="true">', html)
    assert 'data-testid="plan-percentage">6.7 %<' in html and 'data-testid="count-DONE">1<' in html


def test_add_a_value_stays_open_empty_and_focused_after_a_value_is_stored(plan, people):
    task = first_task(plan)
    attribute = attribute_of(task)
    other = CustomerTelemetryAttributeFactory(customer_task=task, name="seats", data_type=DataType.NUMBER)
    client = client_for(people["csm"])

    response = client.post(
        url(plan, task, f"attributes/{attribute.pk}/values/"), {"value": "42", "context": "panel"}, **HTMX
    )

    html = response.content.decode()
    card = re.search(rf'<div class="card attribute-card mb-2" id="attribute-{attribute.pk}">.*?</details>', html, re.S)[
        0
    ]
    assert '<details class="value-form" open>' in card
    value_input = re.search(r"<input[^>]*name=\"value\"[^>]*>", card)[0]
    assert "autofocus" in value_input and "value=" not in value_input.replace('name="value"', "")
    other_card = re.search(rf'id="attribute-{other.pk}">.*?</details>', html, re.S)[0]
    assert '<details class="value-form">' in other_card and "autofocus" not in other_card
    fresh = client.get(url(plan, task), **HTMX).content.decode()
    assert '<details class="value-form" open>' not in fresh


def test_value_added_on_the_page_redirects_back_to_it(plan, people):
    task = first_task(plan)
    attribute = attribute_of(task)
    client = client_for(people["csm"])
    response = client.post(
        url(plan, task, f"attributes/{attribute.pk}/values/"), {"value": "12.5", "notes": "from QBR"}
    )
    assert response.status_code == 302 and response["Location"] == url(plan, task)
    assert "Value stored for metric_1." in client.get(response["Location"]).content.decode()
    value = CustomerTelemetryValue.objects.get(customer_attribute=attribute)
    assert (value.value, value.notes) == (12.5, "from QBR")


def test_value_form_errors_show_under_the_field_and_store_nothing(plan, people):
    task = first_task(plan)
    attribute = attribute_of(task)
    json_attribute = CustomerTelemetryAttributeFactory(
        customer_task=task, name="config", data_type=DataType.JSON, success_criteria={}
    )
    client = client_for(people["csm"])
    post = lambda attr, data: client.post(url(plan, task, f"attributes/{attr.pk}/values/"), data, **HTMX)  # noqa: E731

    not_a_number = post(attribute, {"value": "lots"}).content.decode()
    assert 'data-testid="value-error">Enter a number.<' in not_a_number
    missing = post(attribute, {"value": ""}).content.decode()
    assert 'data-testid="value-error">This field is required.<' in missing
    null = post(json_attribute, {"value": "null"}).content.decode()
    assert "attribute &#x27;config&#x27; of task &#x27;Task 1&#x27;: expected JSON, got null" in null
    broken = post(json_attribute, {"value": "{oops"}).content.decode()
    assert "This is not valid JSON: Expecting property name enclosed in double quotes (line 1)." in broken
    later = post(attribute, {"value": "95", "observed_at": "2031-01-01T10:00"}).content.decode()
    assert (
        'data-testid="value-error">Observed at can&#x27;t be in the future (you entered 1 Jan 2031, 10:00).<' in later
    )
    assert '<details class="value-form" open>' in later
    assert CustomerTelemetryValue.objects.count() == 0
    task.refresh_from_db()
    assert task.status == "NOT_STARTED" and TaskStatusChange.objects.count() == 0


def test_manual_status_against_telemetry_shows_disagreement_and_hand_back_restores_telemetry(plan, people):
    task = first_task(plan)
    client = client_for(people["csm"])
    customer_task_update_status(actor=people["csm"], task=task, status="DONE", notes="customer says so")
    client.post(url(plan, task, "evaluate/"), {"context": "page"})

    html = client.get(url(plan, task)).content.decode()
    assert 'data-testid="drawer-disagrees"' in html
    assert "Telemetry says Not started (0 of 1 required met)" in html
    assert "Hand back to telemetry" in html

    response = client.post(url(plan, task, "hand-back/"), {"context": "panel", "confirm": "yes"}, **HTMX)
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"toast": "“Task 1” is back with telemetry: Not started."}
    task.refresh_from_db()
    assert (task.status, task.status_update_source) == ("NOT_STARTED", "TELEMETRY")
    html = response.content.decode()
    assert "Hand back to telemetry" not in html and 'data-testid="drawer-disagrees"' not in html
    newest = text(re.findall(r'<li class="history-entry.*?</li>\s*(?=<li class="history-entry|</ol>)', html, re.S)[0])
    assert "Not started, by telemetry" in newest and "“Handed back to telemetry by casey”" in newest


def test_hand_back_that_would_change_the_status_asks_first_and_changes_nothing(plan, people):
    task = first_task(plan)
    client = client_for(people["csm"])
    customer_task_update_status(actor=people["csm"], task=task, status="DONE")
    client.post(url(plan, task, "evaluate/"), {"context": "page"})
    history, audit = TaskStatusChange.objects.count(), AuditLog.objects.count()

    response = client.post(url(plan, task, "hand-back/"), {"context": "panel"}, **HTMX)

    assert response.status_code == 200 and "HX-Trigger" not in response
    html = response.content.decode()
    assert text(re.search(r'<div class="alert[^>]*id="hand-back-confirm".*?</p>', html, re.S)[0]) == (
        "Handing it back moves the task from Done to Not started, and plan progress will change."
    )
    assert '<input type="hidden" name="confirm" value="yes">' in html
    assert re.search(
        r"<button type=\"submit\" class=\"btn btn-sm btn-warning\" autofocus>Hand back: move to Not started<", html
    )
    assert f'hx-get="/plans/{plan.pk}/tasks/{task.pk}/"' in html and ">Keep Done<" in html
    task.refresh_from_db()
    assert (task.status, task.status_update_source) == ("DONE", "MANUAL")
    assert (TaskStatusChange.objects.count(), AuditLog.objects.count()) == (history, audit)
    plan.refresh_from_db()
    assert plan.completed_tasks == 1


def test_hand_back_that_keeps_the_status_needs_no_confirmation(plan, people):
    task = first_task(plan)
    client = client_for(people["csm"])
    customer_task_update_status(actor=people["csm"], task=task, status="NOT_STARTED")
    client.post(url(plan, task, "evaluate/"), {"context": "page"})

    response = client.post(url(plan, task, "hand-back/"), {"context": "panel"}, **HTMX)

    assert json.loads(response["HX-Trigger"]) == {"toast": "“Task 1” is back with telemetry: Not started."}
    assert 'id="hand-back-confirm"' not in response.content.decode()
    task.refresh_from_db()
    assert (task.status, task.status_update_source) == ("NOT_STARTED", "TELEMETRY")


def test_evaluate_now_on_a_task_set_by_hand_says_what_telemetry_thinks(plan, people):
    task = first_task(plan)
    client = client_for(people["csm"])
    customer_task_update_status(actor=people["csm"], task=task, status="DONE")

    disagrees = client.post(url(plan, task, "evaluate/"), {"context": "panel"}, **HTMX)
    assert json.loads(disagrees["HX-Trigger"]) == {"toast": "Status set by hand; telemetry says Not started."}

    CustomerTelemetryValueFactory(customer_attribute=attribute_of(task), value=95)
    agrees = client.post(url(plan, task, "evaluate/"), {"context": "panel"}, **HTMX)
    assert json.loads(agrees["HX-Trigger"]) == {"toast": "Status set by hand; telemetry now agrees."}
    task.refresh_from_db()
    assert (task.status, task.status_update_source) == ("DONE", "MANUAL")


def test_hand_back_without_telemetry_is_refused_in_words(people):
    plan = build_plan(users=[people["csm"]], attributes=0, name="No telemetry")
    task = first_task(plan)
    customer_task_update_status(actor=people["csm"], task=task, status="DONE")
    before = TaskStatusChange.objects.count()
    response = client_for(people["csm"]).post(url(plan, task, "hand-back/"), **HTMX)
    assert response.status_code == 400
    assert "has no active telemetry attributes" in response["X-Error-Message"].replace("%20", " ")
    assert TaskStatusChange.objects.count() == before
    html = client_for(people["csm"]).get(url(plan, task)).content.decode()
    assert "Hand back to telemetry" not in html and "This task has no telemetry" in html


def test_evaluate_now_applies_values_that_arrived_without_evaluation(plan, people):
    task = first_task(plan)
    CustomerTelemetryValueFactory(customer_attribute=attribute_of(task), value=95)  # stored behind evaluation's back
    response = client_for(people["csm"]).post(url(plan, task, "evaluate/"), {"context": "panel"}, **HTMX)
    assert json.loads(response["HX-Trigger"]) == {"toast": "Telemetry evaluated: now Done."}
    task.refresh_from_db()
    assert task.status == "DONE"
    again = client_for(people["csm"]).post(url(plan, task, "evaluate/"), {"context": "panel"}, **HTMX)
    assert json.loads(again["HX-Trigger"]) == {"toast": "Telemetry evaluated: still Done."}


def test_status_change_from_the_drawer_refreshes_its_status_and_history(plan, people):
    task = first_task(plan)
    response = client_for(people["csm"]).post(
        url(plan, task, "status/"), {"status": "IN_PROGRESS", "note": "kick-off", "context": "drawer"}, **HTMX
    )
    html = response.content.decode()
    assert (
        '<div id="drawer-status" class="drawer-status d-flex flex-wrap align-items-center gap-2 mb-3" hx-swap-oob="true">'
        in html
    )
    assert '<section id="drawer-history" aria-labelledby="history-heading" hx-swap-oob="true">' in html
    assert "In progress</strong>, by casey" in html and "“kick-off”" in html


def test_viewer_reads_the_drawer_without_controls_and_forged_writes_change_nothing(plan, people):
    task = first_task(plan)
    attribute = attribute_of(task)
    customer_task_update_status(actor=people["csm"], task=task, status="DONE")
    client = client_for(people["viewer"])
    html = client.get(url(plan, task)).content.decode()
    assert "Add a value" not in html and "Evaluate now" not in html and "Hand back to telemetry" not in html
    assert "<form" not in html.split('id="drawer-content"')[1]
    before = (TaskStatusChange.objects.count(), CustomerTelemetryValue.objects.count())
    for path, data in (
        (f"attributes/{attribute.pk}/values/", {"value": "99"}),
        ("evaluate/", {}),
        ("hand-back/", {}),
    ):
        response = client.post(url(plan, task, path), data)
        assert response.status_code == 403, path
        assert "You may not change this adoption plan." in response.content.decode()
    assert (TaskStatusChange.objects.count(), CustomerTelemetryValue.objects.count()) == before
    task.refresh_from_db()
    assert task.status_update_source == "MANUAL"


def test_foreign_archived_and_mismatched_objects_are_404(plan, people):
    other = build_plan(users=[people["csm"]], attributes=1, name="Other", product=ProductFactory(name="Other"))
    task, foreign_task = first_task(plan), first_task(other)
    client = client_for(people["csm"])
    assert client_for(people["stranger"]).get(url(plan, task)).status_code == 404
    assert client.get(url(plan, foreign_task)).status_code == 404
    foreign_attribute = attribute_of(foreign_task)
    response = client.post(url(plan, task, f"attributes/{foreign_attribute.pk}/values/"), {"value": "99"})
    assert response.status_code == 404
    CustomerTask.objects.filter(pk=task.pk).update(is_archived=True)
    assert client.get(url(plan, task)).status_code == 404
    assert CustomerTelemetryValue.objects.count() == 0


def _drawer_queries(client, plan, task) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(plan, task), **HTMX)
    assert response.status_code == 200
    return len(queries)


def test_drawer_query_count_does_not_grow_with_attributes_values_or_history(people):
    one = build_plan(users=[people["csm"]], tasks=1, attributes=1, name="One")
    ten = build_plan(users=[people["csm"]], tasks=1, attributes=10, name="Ten", product=ProductFactory())
    for plan_ in (one, ten):
        task = first_task(plan_)
        items = [
            {"customerAttributeId": str(a.pk), "value": 95}
            for a in CustomerTelemetryAttribute.objects.filter(customer_task=task)
        ]
        telemetry_ingest(actor=people["csm"], items=items)
        customer_task_update_status(actor=people["csm"], task=task, status="IN_PROGRESS")
    client = client_for(people["csm"])
    assert _drawer_queries(client, one, first_task(one)) == _drawer_queries(client, ten, first_task(ten))
