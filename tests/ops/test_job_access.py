"""Following a job: the page (/jobs/<id>/, polled by htmx), the GraphQL job/jobs queries and the
syncProductPlans mutation, the admin action and the Job admin; who may see and start what."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from adoption.models import Job
from customers.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOB_FIELDS = (
    "id kind status done total percentage message error attempts result startedBy createdAt startedAt finishedAt url"
)


def gql(client, query, variables=None):
    response = client.post(
        "/graphql/", json.dumps({"query": query, "variables": variables or {}}), content_type="application/json"
    )
    return response.json()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def running(owner):
    return Job.objects.create(
        kind=Job.Kind.TELEMETRY_IMPORT,
        status=Job.Status.RUNNING,
        started_by=owner,
        done=3000,
        total=6000,
        attempts=1,
        message="Stored 3000 of 6000 rows",
        params={"filename": "usage.xlsx", "actor": "casey"},
    )


@pytest.fixture
def other_csm(db):
    return UserFactory(username="robin", role=Role.CSM)


# --- the page -----------------------------------------------------------------------------------------


def test_job_page_shows_progress_and_polls_while_running(running, owner):
    response = client_for(owner).get(f"/jobs/{running.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Telemetry spreadsheet import" in html
    assert "file usage.xlsx" in html
    assert '<progress class="w-100" max="6000" value="3000" aria-label="Progress">50 %</progress>' in html
    assert "<strong>Running</strong>: 3000 of 6000 done (50 %)." in html
    assert f'hx-get="/jobs/{running.pk}/" hx-trigger="every 2s" hx-swap="outerHTML"' in html


def test_htmx_poll_gets_the_status_block_and_polling_stops_when_finished(running, owner):
    client = client_for(owner)
    partial = client.get(f"/jobs/{running.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section id="job-status"')
    assert "<html" not in partial
    Job.objects.filter(pk=running.pk).update(
        status=Job.Status.FAILED,
        error="Failed after 4 attempt(s): unexpected error (OperationalError); the details were logged.",
    )
    partial = client.get(f"/jobs/{running.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial
    assert "<strong>Failed</strong>" in partial
    assert "Failed after 4 attempt(s): unexpected error (OperationalError); the details were logged." in partial


def test_job_page_is_the_starters_and_the_admins_only(running, other_csm, admin_user, client):
    assert client_for(other_csm).get(f"/jobs/{running.pk}/").status_code == 404
    assert client_for(other_csm).get("/jobs/999999/").status_code == 404
    assert client_for(admin_user).get(f"/jobs/{running.pk}/").status_code == 200
    response = client.get(f"/jobs/{running.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- GraphQL ------------------------------------------------------------------------------------------


def test_job_query_answers_the_starter(running, owner):
    body = gql(client_for(owner), f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}", {"id": str(running.pk)})
    job = body["data"]["job"]
    assert job == {
        "id": str(running.pk),
        "kind": "TELEMETRY_IMPORT",
        "status": "RUNNING",
        "done": 3000,
        "total": 6000,
        "percentage": 50,
        "message": "Stored 3000 of 6000 rows",
        "error": None,
        "attempts": 1,
        "result": {},
        "startedBy": "casey",
        "createdAt": running.created_at.isoformat(),
        "startedAt": None,
        "finishedAt": None,
        "url": f"/jobs/{running.pk}/",
    }


def test_job_of_someone_else_is_not_found(running, other_csm):
    body = gql(client_for(other_csm), "query($id: ID!) { job(id: $id) { id } }", {"id": str(running.pk)})
    assert body["data"] == {"job": None}
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}


def test_jobs_lists_own_jobs_newest_first_and_admins_see_all(running, owner, other_csm, admin_user):
    mine = [running] + [
        Job.objects.create(kind=Job.Kind.PRODUCT_SYNC, started_by=owner, params={"productId": n}) for n in range(3)
    ]
    Job.objects.create(kind=Job.Kind.PRODUCT_SYNC, started_by=other_csm)
    expected = [str(job.pk) for job in sorted(mine, key=lambda j: (j.created_at, j.pk), reverse=True)]
    body = gql(client_for(owner), "{ jobs { id } }")
    assert [job["id"] for job in body["data"]["jobs"]] == expected
    body = gql(client_for(owner), "{ jobs(first: 2, offset: 1) { id } }")
    assert [job["id"] for job in body["data"]["jobs"]] == expected[1:3]
    body = gql(client_for(admin_user), "{ jobs(first: 100) { id } }")
    assert len(body["data"]["jobs"]) == 5


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ("first: 0", "first", "first must be between 1 and 100, got 0"),
        ("first: 101", "first", "first must be between 1 and 100, got 101"),
        ("offset: -1", "offset", "offset must be 0 or more, got -1"),
    ],
)
def test_jobs_page_arguments_are_checked(owner, arguments, field, message):
    body = gql(client_for(owner), f"{{ jobs({arguments}) {{ id }} }}")
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR", "field": field}


def test_sync_product_plans_mutation_starts_a_job(catalog, plans, editor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = gql(
            client_for(editor),
            "mutation($id: ID!) { syncProductPlans(productId: $id) { id kind status startedBy url } }",
            {"id": str(catalog["product"].pk)},
        )
    job = Job.objects.get()
    assert body == {
        "data": {
            "syncProductPlans": {
                "id": str(job.pk),
                "kind": "PRODUCT_SYNC",
                "status": "QUEUED",
                "startedBy": "editor_u",
                "url": f"/jobs/{job.pk}/",
            }
        }
    }
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["synced"] == 2


def test_sync_product_plans_is_refused_to_csms_and_for_unknown_products(catalog, owner, editor):
    body = gql(
        client_for(owner),
        "mutation($id: ID!) { syncProductPlans(productId: $id) { id } }",
        {"id": str(catalog["product"].pk)},
    )
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert body["errors"][0]["message"] == "Only admins and catalog editors may sync every plan of a product."
    body = gql(client_for(editor), 'mutation { syncProductPlans(productId: "424242") { id } }')
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "productId"}
    assert not Job.objects.exists()


# --- admin ----------------------------------------------------------------------------------------------


def test_admin_action_starts_a_job_and_links_to_its_page(
    catalog, plans, admin_user, django_capture_on_commit_callbacks
):
    client = client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:adoption_product_changelist"),
            {"action": "sync_all_plans", "_selected_action": [catalog["product"].pk]},
            follow=True,
        )
    job = Job.objects.get()
    assert job.kind == Job.Kind.PRODUCT_SYNC and job.started_by == admin_user
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        f'Syncing every plan of Identity Guard as job {job.pk}: <a href="/jobs/{job.pk}/">follow its progress</a>.'
    ]
    assert f'<a href="/jobs/{job.pk}/">follow its progress</a>' in response.content.decode()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED


def test_job_admin_is_read_only_and_scoped(running, owner, other_csm, admin_user):
    Job.objects.create(kind=Job.Kind.PRODUCT_SYNC, started_by=other_csm)
    owner.is_staff = True
    owner.save()
    client = client_for(owner)
    response = client.get(reverse("admin:adoption_job_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert client.get(reverse("admin:adoption_job_add")).status_code == 403
    assert client_for(admin_user).get(reverse("admin:adoption_job_changelist")).context["cl"].result_count == 2
    response = client_for(admin_user).get(reverse("admin:adoption_job_change", args=[running.pk]))
    assert response.status_code == 200
    assert "Save" not in [b for b in response.context["adminform"].form.fields]  # no editable fields
    assert list(response.context["adminform"].form.fields) == []
