"""The plan dashboard: progress, counts, task table, filters, roles and query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import TaskStatus
from adoption.models import CustomerTask
from adoption.services import customer_product_update, customer_task_update_status
from telemetry.evaluation import adoption_plan_evaluate
from telemetry.models import CustomerTelemetryAttribute
from tests.factories import ProductFactory
from tests.pages.plan_fixtures import *  # noqa: F403  (the fixtures: people, plan, fast hashing)
from tests.pages.plan_fixtures import build_plan, client_for

pytestmark = pytest.mark.django_db


def row_of(html: str, task) -> str:
    match = re.search(rf'<tr id="task-{task.pk}".*?</tr>', html, re.S)
    assert match, f"no row for task {task.pk}"
    return match.group(0)


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="task-(\d+)"', html)]


def tasks_of(plan) -> list[CustomerTask]:
    return list(CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number"))


def test_dashboard_shows_progress_counts_and_tasks_in_sequence(plan, people):
    tasks = tasks_of(plan)
    customer_task_update_status(actor=people["csm"], task=tasks[2], status="DONE")  # weight 3 of 15
    customer_task_update_status(actor=people["csm"], task=tasks[1], status="IN_PROGRESS")

    response = client_for(people["csm"]).get(f"/plans/{plan.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<li class="breadcrumb-item active" aria-current="page">Identity Guard (Essential)</li>' in html
    assert 'data-testid="plan-percentage">20.0 %<' in html
    assert 'value="20.00"' in html  # the <progress> bar
    totals = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", "", re.search(r'data-testid="plan-totals">(.*?)</p>', html, re.S)[1])
    )
    assert totals.strip() == "1 of 5 tasks, 3.0 of 15.0 weight"  # nothing not applicable: no note
    assert 'data-testid="count-NOT_STARTED">3<' in html
    assert 'data-testid="count-IN_PROGRESS">1<' in html
    assert 'data-testid="count-DONE">1<' in html
    assert 'data-testid="count-NOT_APPLICABLE">0<' in html
    assert (
        '<title id="donut-title">Tasks by status: Not started 3, In progress 1, Done 1, Not applicable 0</title>'
        in html
    )
    assert row_ids(html) == [t.pk for t in tasks]
    done_row = row_of(html, tasks[2])
    assert "status-DONE" in done_row and "manual · casey" in done_row
    assert '<td class="num">1.5 h</td>' in done_row  # 90 minutes
    assert "0 of 1 criteria met" in done_row
    assert "Missing required telemetry" in html  # a required attribute without any value yet


def test_archived_tasks_are_never_shown_and_not_applicable_weight_is_struck(plan, people):
    tasks = tasks_of(plan)
    CustomerTask.objects.filter(pk=tasks[4].pk).update(is_archived=True)
    customer_task_update_status(actor=people["csm"], task=tasks[0], status="NOT_APPLICABLE")

    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode()

    assert row_ids(html) == [t.pk for t in tasks[:4]]
    assert 'class="task-row row-NOT_APPLICABLE"' in row_of(html, tasks[0])
    assert '<td class="num weight">1.0</td>' in row_of(html, tasks[0])
    # The status chart counts it, progress does not: the progress card says so.
    assert 'data-testid="count-NOT_APPLICABLE">1<' in html
    assert 'data-testid="not-applicable-note">1 not applicable task left out of progress.<' in html


def test_how_to_links_have_accessible_names_and_only_http_targets(plan, people):
    task = tasks_of(plan)[1]
    html = row_of(client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode(), task)
    assert 'href="https://docs.example.com/t2"' in html
    assert "How-to document 1 for “Task 2” (opens in a new tab)" in html
    assert 'href="https://video.example.com/t2"' in html
    assert "javascript:" not in html


def test_telemetry_disagrees_flag_says_what_telemetry_computes(plan, people):
    task = tasks_of(plan)[0]
    customer_task_update_status(actor=people["csm"], task=task, status="DONE")
    adoption_plan_evaluate(actor=people["csm"], plan=plan)

    html = row_of(client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode(), task)

    assert 'data-testid="disagrees"' in html
    assert 'title="Telemetry says Not started (0 of 1 required met)"' in html
    assert "Telemetry disagrees: telemetry says Not started (0 of 1 required met)" in html


def test_the_customer_pages_disagreement_links_to_those_tasks(plan, people):
    task = tasks_of(plan)[0]
    customer_task_update_status(actor=people["csm"], task=task, status="DONE")
    adoption_plan_evaluate(actor=people["csm"], plan=plan)
    client = client_for(people["csm"])

    customer_page = client.get(f"/customers/{plan.customer_product.customer_id}/").content.decode()
    link = re.search(r'href="([^"]+)" data-testid="disagreeing-link">1 task</a>', customer_page)
    assert link and link[1] == f"/plans/{plan.pk}/?disagrees=on"
    assert row_ids(client.get(link[1]).content.decode()) == [task.pk]


def test_csm_sees_edit_controls_and_viewer_sees_none(plan, people):
    csm_html = client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="bulk-bar"' in csm_html and 'name="task"' in csm_html and "status-button" in csm_html
    assert "Evaluate telemetry" in csm_html

    response = client_for(people["viewer"]).get(f"/plans/{plan.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="bulk-bar"' not in html
    assert 'type="checkbox" class="form-check-input task-check"' not in html
    assert "status-button" not in html and "hx-post" not in html
    assert "Evaluate telemetry" not in html
    assert len(row_ids(html)) == 5


def test_foreign_missing_and_malformed_plans_are_the_same_404(plan, people):
    client = client_for(people["stranger"])
    foreign = client.get(f"/plans/{plan.pk}/")
    missing = client_for(people["csm"]).get("/plans/999999/")
    assert foreign.status_code == missing.status_code == 404
    assert b"This page does not exist, or you may not see it." in foreign.content
    assert b"This page does not exist, or you may not see it." in missing.content


def test_dashboard_requires_login(client, plan):
    response = client.get(f"/plans/{plan.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_a_required_attribute_without_a_value_is_missing_telemetry_with_its_description(plan, people):
    first = tasks_of(plan)[0]
    CustomerTelemetryAttribute.objects.filter(customer_task=first).update(description="Share of users enrolled in MFA")

    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode()

    card = words(re.search(r'data-testid="stalest-telemetry">(.*?)</p>', html, re.S)[1])
    assert card == "Missing required telemetry: metric_1 on “Task 1” Share of users enrolled in MFA"
    assert "Stalest" not in html and "no value yet" not in html


def test_the_source_tag_and_the_set_by_filter_use_the_same_words(plan, people):
    tasks = tasks_of(plan)
    customer_task_update_status(actor=people["csm"], task=tasks[0], status="DONE")

    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode()

    assert '<option value="SYSTEM">Not yet changed</option>' in html
    assert (
        words(re.search(r'<span class="source-tag">.*?</span>', row_of(html, tasks[1]), re.S)[0]) == "not yet changed"
    )
    assert words(re.search(r'<span class="source-tag">.*?</span>', row_of(html, tasks[0]), re.S)[0]) == "manual · casey"


def test_filters_live_in_the_url_and_narrow_the_table(plan, people):
    tasks = tasks_of(plan)
    customer_task_update_status(actor=people["csm"], task=tasks[0], status="DONE")
    client = client_for(people["csm"])
    outcome = plan.product.outcomes.get(name="Zero-trust access")
    release = plan.product.releases.get(name="7.2")

    def shown(query):
        return row_ids(client.get(f"/plans/{plan.pk}/?{query}").content.decode())

    assert shown("status=DONE") == [tasks[0].pk]
    assert shown("status=NOT_STARTED") == [t.pk for t in tasks[1:]]
    assert shown(f"outcome={outcome.pk}") == [tasks[0].pk, tasks[2].pk, tasks[4].pk]
    assert shown(f"release={release.pk}&status=NOT_STARTED") == [tasks[2].pk, tasks[4].pk]
    assert shown("license=ESSENTIAL") == [t.pk for t in tasks]
    assert shown("license=SIGNATURE") == []
    assert shown("source=MANUAL") == [tasks[0].pk]
    assert shown("source=SYSTEM") == [t.pk for t in tasks[1:]]
    html = client.get(f"/plans/{plan.pk}/?status=DONE").content.decode()
    assert '<option value="DONE" selected>Done</option>' in html
    assert "1 task shown (filtered)." in html


def test_disagrees_filter(plan, people):
    tasks = tasks_of(plan)
    customer_task_update_status(actor=people["csm"], task=tasks[1], status="DONE")
    customer_task_update_status(actor=people["csm"], task=tasks[2], status="NOT_STARTED")  # agrees
    adoption_plan_evaluate(actor=people["csm"], plan=plan)
    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/?disagrees=on").content.decode()
    assert row_ids(html) == [tasks[1].pk]


def test_an_unknown_filter_value_is_shown_next_to_the_filter_and_ignored(plan, people):
    other_outcome = build_plan(name="Other", product=ProductFactory(name="Other product")).product.outcomes.first()
    html = (
        client_for(people["csm"]).get(f"/plans/{plan.pk}/?status=FINISHED&outcome={other_outcome.pk}").content.decode()
    )
    assert "Select a valid choice. FINISHED is not one of the available choices." in html
    assert "Select a valid choice. That choice is not one of the available choices." in html
    assert len(row_ids(html)) == 5


def test_htmx_filter_request_answers_only_the_table(plan, people):
    response = client_for(people["csm"]).get(
        f"/plans/{plan.pk}/?status=NOT_STARTED", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="task-table"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="task-table">')
    assert "<html" not in html and 'id="plan-progress"' not in html
    assert len(row_ids(html)) == 5
    # The bulk form keeps the filters, so the refreshed table after a bulk change stays filtered.
    assert f'hx-post="/plans/{plan.pk}/tasks/status/?status=NOT_STARTED"' in html


def test_clear_filters_shows_only_while_a_filter_is_in_use(plan, people):
    client = client_for(people["csm"])
    clear = f'<a class="btn btn-sm btn-link" href="/plans/{plan.pk}/">Clear filters</a>'

    assert clear not in client.get(f"/plans/{plan.pk}/").content.decode()
    assert clear not in client.get(f"/plans/{plan.pk}/?status=&outcome=&source=").content.decode()
    assert clear in client.get(f"/plans/{plan.pk}/?status=NOT_STARTED").content.decode()
    # a live filter change answers the table and, out of band, the link's new state
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "task-table"}
    on = client.get(f"/plans/{plan.pk}/?status=NOT_STARTED&outcome=", **htmx).content.decode()
    assert f'<span id="clear-filters" hx-swap-oob="true">{clear}</span>' in on
    off = client.get(f"/plans/{plan.pk}/?status=&outcome=", **htmx).content.decode()
    assert '<span id="clear-filters" hx-swap-oob="true"></span>' in off


def test_the_bulk_form_and_its_redirect_keep_only_the_filters_in_use(plan, people):
    client = client_for(people["csm"])
    html = client.get(
        f"/plans/{plan.pk}/?status=NOT_STARTED&outcome=&release=", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="task-table"
    ).content.decode()
    assert f'hx-post="/plans/{plan.pk}/tasks/status/?status=NOT_STARTED"' in html
    task = tasks_of(plan)[1]
    response = client.post(f"/plans/{plan.pk}/tasks/status/?status=&outcome=", {"task": [task.pk], "status": "DONE"})
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/"


def test_the_status_counts_are_labelled_as_the_whole_plan(plan, people):
    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/?status=DONE").content.decode()
    heading = words(re.search(r'<h2 id="counts-heading".*?</h2>', html, re.S)[0])
    assert heading == "Tasks by status · whole plan"


def test_empty_filter_result_says_what_to_do(plan, people):
    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/?status=DONE").content.decode()
    assert "No task matches these filters." in html and "Clear the filters" in html


def test_needs_sync_banner_says_what_changed(plan, people):
    customer_product_update(actor=people["csm"], customer_product=plan.customer_product, license_level="SIGNATURE")
    from tests.factories import TaskFactory

    TaskFactory(product=plan.product, name="Signature task", license_level=3, sequence_number=99)
    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/").content.decode()
    banner = re.sub(r"\s+", " ", re.search(r'id="sync-banner">(.*?)</div>\s*<a', html, re.S)[1])
    assert "1 task to add, 0 to archive, 0 changed." in banner
    assert f'href="/plans/{plan.pk}/sync/"' in html


def _dashboard_queries(client, plan) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/plans/{plan.pk}/")
    assert response.status_code == 200
    return len(queries)


def test_dashboard_query_count_does_not_grow_with_the_plan(people):
    small = build_plan(users=[people["csm"]], tasks=5, attributes=2, name="Small")
    large = build_plan(users=[people["csm"]], tasks=200, attributes=2, name="Large", product=ProductFactory())
    for plan_ in (small, large):
        for task in CustomerTask.objects.filter(adoption_plan=plan_)[:3]:
            customer_task_update_status(actor=people["csm"], task=task, status=TaskStatus.DONE)
    client = client_for(people["csm"])
    assert _dashboard_queries(client, small) == _dashboard_queries(client, large)
