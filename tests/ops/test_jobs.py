"""Background jobs run in-process (eager, as without a broker): imports, product syncs, re-evaluation
after a criterion change, the daily re-evaluation, retries and failures, and who may see a job."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption import job_runners, jobs
from adoption.catalog import telemetry_attribute_update
from adoption.models import AdoptionPlan, CustomerTask, Job, TaskStatusChange
from adoption.tasks import MAX_RETRIES, daily_reevaluation, run_job
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from telemetry.evaluation import time_based_task_ids
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch
from telemetry.spreadsheet import telemetry_import_commit_in_chunks
from tests.factories import CustomerTelemetryValueFactory
from tests.ops.conftest import import_csv
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chunks_of_1000(settings):
    settings.JOB_IMPORT_CHUNK_ROWS = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True


def values_of(plan) -> int:
    return CustomerTelemetryValue.objects.filter(customer_attribute__customer_task__adoption_plan=plan).count()


# --- imports ----------------------------------------------------------------------------------------


def test_large_import_job_stores_every_row_in_chunks(plans, admin_user, django_capture_on_commit_callbacks):
    plan = plans["Northwind"]
    data = import_csv(plan, 5095)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_runners.telemetry_import_enqueue(
            actor=admin_user, plan_or_customer_scope=plan, data=data, filename="mfa.csv"
        )
        assert job.status == Job.Status.QUEUED and job.message == "Waiting for a worker"
        assert values_of(plan) == 0  # nothing runs before the transaction commits
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.done, job.total, job.attempts, job.error) == (5095, 5095, 1, "")
    assert job.input_file is None  # the upload is not kept once imported
    batch_id = job.params["batchId"]
    assert job.result == {
        "filename": "mfa.csv",
        "batchId": batch_id,
        "rowsRead": 5095,
        "stored": 5095,
        "skipped": 0,
        "statusChanges": 1,
        "chunks": 6,
        "summary": "Imported 5095 values from 5095 rows (0 skipped, 1 task status changes)",
    }
    assert job.message == job.result["summary"]
    assert values_of(plan) == 5095
    assert sorted(TelemetryBatch.objects.values_list("batch_id", flat=True)) == [f"{batch_id}-{n}" for n in range(1, 7)]
    assert AuditLog.objects.filter(action="telemetry.import", object_id=batch_id).count() == 1
    # Each chunk's last row holds 0 (row 1000, 2000 ...): not met; the file's last row (5095) holds
    # 95 >= 90: met, while mfa_on has no value yet, so the last chunk moved the task to IN_PROGRESS.
    task = CustomerTask.objects.get(adoption_plan=plan, name="Roll out MFA")
    assert task.status == "IN_PROGRESS"
    change = TaskStatusChange.objects.get(customer_task=task)
    assert (change.source, change.evidence["batchId"]) == ("TELEMETRY", f"{batch_id}-6")


def test_large_import_with_a_bad_row_fails_at_once_and_stores_nothing(
    plans, admin_user, django_capture_on_commit_callbacks
):
    plan = plans["Northwind"]
    data = import_csv(plan, 5200, bad_row=4321)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_runners.telemetry_import_enqueue(
            actor=admin_user, plan_or_customer_scope=plan, data=data, filename="x.csv"
        )
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.attempts == 1  # a refusal is not retried
    assert job.error == (
        "1 row(s) have errors (row 4322: attribute 'enrolled_pct' of task 'Roll out MFA': expected NUMBER, "
        "got text 'lots'); nothing was stored"
    )
    assert job.result["code"] == "VALIDATION_ERROR"
    assert job.result["errors"] == [
        {
            "row": 4322,
            "field": "value",
            "message": "attribute 'enrolled_pct' of task 'Roll out MFA': expected NUMBER, got text 'lots'",
        }
    ]
    assert values_of(plan) == 0
    assert not TelemetryBatch.objects.exists()
    assert job.input_file is None


def test_enqueueing_refuses_unreadable_and_oversized_files_at_once(plans, admin_user):
    with pytest.raises(ValidationFailed) as error:
        job_runners.telemetry_import_enqueue(
            actor=admin_user, plan_or_customer_scope=plans["Northwind"], data=b"value\n", filename="x.pdf"
        )
    assert error.value.message == "unsupported file type 'x.pdf'; use .xlsx or .csv"
    assert not Job.objects.exists()


def test_chunked_import_resumes_after_a_failure_without_storing_twice(plans, admin_user):
    plan = plans["Northwind"]
    data = import_csv(plan, 3500)
    seen = []

    def fail_after_second_chunk(done, total):
        seen.append((done, total))
        if done == 2000:
            raise ConnectionError("worker lost its database connection")

    with pytest.raises(ConnectionError):
        telemetry_import_commit_in_chunks(
            actor=admin_user,
            plan_or_customer_scope=plan,
            file=data,
            filename="big.csv",
            batch_id="import-resume",
            chunk_rows=1000,
            progress=fail_after_second_chunk,
        )
    assert seen == [(1000, 3500), (2000, 3500)]
    assert values_of(plan) == 2000  # the first two chunks committed on their own

    progress = []
    summary = telemetry_import_commit_in_chunks(
        actor=admin_user,
        plan_or_customer_scope=plan,
        file=data,
        filename="big.csv",
        batch_id="import-resume",
        chunk_rows=1000,
        progress=lambda done, total: progress.append(done),
    )
    assert progress == [1000, 2000, 3000, 3500]
    assert values_of(plan) == 3500  # nothing twice
    assert summary["stored"] == 3500 and summary["chunks"] == 4
    assert TelemetryBatch.objects.filter(batch_id__startswith="import-resume-").count() == 4


def test_import_command_uses_a_job_for_large_files(transactional_db, plans, tmp_path, capsys):
    # Outside a transaction, as in a shell: the job is sent (and, without a broker, run) at once.
    path = tmp_path / "big.csv"
    path.write_bytes(import_csv(plans["Northwind"], 5001))
    call_command("import_telemetry", str(path), "--plan", str(plans["Northwind"].pk))
    job = Job.objects.get()
    assert job.kind == Job.Kind.TELEMETRY_IMPORT and job.status == Job.Status.SUCCEEDED
    assert job.started_by is None and job.params["actor"] == "cli:import_telemetry"
    out = capsys.readouterr().out
    assert (
        out.strip()
        == f"Job {job.pk}: Imported 5001 values from 5001 rows (0 skipped, 0 task status changes) in 6 chunks."
    )


# --- retries and failures -------------------------------------------------------------------------------


def _broken_job(owner):
    # A job whose parameters lack the batch id: the runner hits an unexpected KeyError.
    return Job.objects.create(kind=Job.Kind.TELEMETRY_IMPORT, started_by=owner, params={}, input_file=b"value\n1\n")


def test_unexpected_error_is_shown_and_retried(owner):
    job = _broken_job(owner)
    with pytest.raises(KeyError):
        job_runners.job_run(job.pk, attempt=1, final_attempt=False)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.error == "Attempt 1 failed: unexpected error (KeyError); the details were logged."
    assert job.message == "Attempt 1 failed; it will be retried"
    assert job.finished_at is None and job.input_file is not None


def test_celery_retries_three_times_with_backoff_then_fails(owner):
    job = _broken_job(owner)
    assert run_job.max_retries == MAX_RETRIES == 3
    assert run_job.retry_backoff == 5 and run_job.autoretry_for == (Exception,)
    run_job.apply(args=[job.pk])  # eager: the retries run at once, one after the other
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.attempts == 4
    assert job.error == "Failed after 4 attempt(s): unexpected error (KeyError); the details were logged."
    assert job.finished_at is not None and job.input_file is None


def test_a_finished_job_delivered_again_does_nothing(owner):
    job = Job.objects.create(kind=Job.Kind.PRODUCT_SYNC, started_by=owner, params={"productId": 1}, status="SUCCEEDED")
    assert job_runners.job_run(job.pk).status == Job.Status.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 0


def test_unreachable_broker_fails_the_job_not_the_request(owner, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_enqueue(kind=Job.Kind.DAILY_REEVALUATION, actor=owner)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "The job queue could not be reached; the job did not run. Try again later."


# --- syncing every plan of a product --------------------------------------------------------------------


def test_product_sync_job_syncs_and_reevaluates_every_plan(
    catalog, plans, admin_user, django_capture_on_commit_callbacks
):
    from adoption.catalog import task_create

    new_task = task_create(
        actor=admin_user, product=catalog["product"], name="Review reports", est_minutes=30, weight=2
    )
    assert not CustomerTask.objects.filter(original_task=new_task).exists()  # the catalog alone changes no plan
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.product_plans_sync_enqueue(actor=admin_user, product=catalog["product"])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.done, job.total) == (2, 2)
    assert job.result == {
        "productId": str(catalog["product"].pk),
        "plans": 2,
        "synced": 2,
        "gone": 0,
        "summary": "Synced and re-evaluated 2 plans of 'Identity Guard'",
    }
    assert CustomerTask.objects.filter(original_task=new_task).count() == 2
    for plan in plans.values():
        plan.refresh_from_db()
        assert plan.total_tasks == 3
    assert AuditLog.objects.filter(action="adoption_plan.sync").count() == 2
    assert AuditLog.objects.filter(action="plan.evaluate").count() == 2


def test_criterion_change_syncs_and_reevaluates_the_plans_holding_the_attribute(
    catalog, plans, admin_user, django_capture_on_commit_callbacks
):
    plan = plans["Northwind"]
    copy = CustomerTelemetryAttribute.objects.get(customer_task__adoption_plan=plan, name="enrolled_pct")
    flag = CustomerTelemetryAttribute.objects.get(customer_task__adoption_plan=plan, name="mfa_on")
    CustomerTelemetryValueFactory(customer_attribute=copy, value=75)
    CustomerTelemetryValueFactory(customer_attribute=flag, value=True)
    task = copy.customer_task

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        telemetry_attribute_update(
            actor=admin_user, attribute=catalog["enrolled"], success_criteria={"op": "gte", "value": 70}
        )
    # Until the job runs, plans keep their copy of the old criterion.
    copy.refresh_from_db()
    assert copy.success_criteria == {"op": "gte", "value": 90}
    job = Job.objects.get()
    assert job.kind == Job.Kind.CRITERIA_REEVALUATION and job.status == Job.Status.QUEUED
    assert job.started_by == admin_user
    assert job.params == {
        "attributeId": catalog["enrolled"].pk,
        "attributeName": "enrolled_pct",
        "productId": catalog["product"].pk,
        "actor": admin_user.username,
    }
    for callback in callbacks:
        callback()

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and (job.done, job.total) == (2, 2)
    copy.refresh_from_db()
    task.refresh_from_db()
    assert copy.success_criteria == {"op": "gte", "value": 70}
    assert copy.is_met is True
    assert task.status == "DONE"
    assert TaskStatusChange.objects.filter(customer_task=task, to_status="DONE", source="TELEMETRY").count() == 1


def test_changes_that_do_not_affect_evaluation_start_no_job(catalog, plans, admin_user):
    telemetry_attribute_update(actor=admin_user, attribute=catalog["enrolled"], description="Share of users enrolled")
    telemetry_attribute_update(
        actor=admin_user, attribute=catalog["enrolled"], success_criteria={"op": "gte", "value": 90}
    )
    assert not Job.objects.exists()


def test_criterion_change_of_an_attribute_no_plan_holds_starts_no_job(catalog, admin_user):
    telemetry_attribute_update(actor=admin_user, attribute=catalog["enrolled"], is_required=False)
    assert not Job.objects.exists()


# --- the daily re-evaluation ----------------------------------------------------------------------------


def test_daily_task_records_and_runs_a_job(plan, settings):
    from datetime import timedelta

    from django.utils import timezone

    task, (login,) = add_task(plan, attr("last_login", "TIMESTAMP", {"op": "within_days", "value": 7}))
    CustomerTelemetryValueFactory(customer_attribute=login, value=(timezone.now() - timedelta(days=1)).isoformat())
    assert "daily-time-based-reevaluation" in settings.CELERY_BEAT_SCHEDULE
    assert settings.CELERY_BEAT_SCHEDULE["daily-time-based-reevaluation"]["task"] == daily_reevaluation.name
    daily_reevaluation.apply()  # records the job; inside the test transaction its dispatch waits, so run it here
    job = Job.objects.get(kind=Job.Kind.DAILY_REEVALUATION)
    assert job.started_by is None and job.params == {"actor": "system"}
    job_runners.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.done, job.total) == (1, 1)
    assert job.result == {
        "tasks": 1,
        "statusChanges": 1,
        "plans": 1,
        "summary": "Re-evaluated 1 tasks with time-based criteria: 1 status changes in 1 plans",
    }
    task.refresh_from_db()
    assert task.status == "DONE"


def test_time_based_scan_reads_only_time_based_attributes(plan):
    nested, _ = add_task(
        plan, attr("usage", "JSON", {"all": [{"not": {"op": "within_days", "value": 3, "path": "seen"}}]})
    )
    decoy, _ = add_task(plan, attr("label", "JSON", {"op": "eq", "value": "within_days", "path": "name"}))
    string, _ = add_task(plan, attr("note", "STRING", {"op": "eq", "value": "within_days"}))
    inactive, _ = add_task(plan, attr("old", "TIMESTAMP", {"op": "within_days", "value": 3}, is_active=False))
    plain, _ = add_task(plan, attr("since", "TIMESTAMP", {"op": "within_days", "value": 30}))
    with CaptureQueriesContext(connection) as queries:
        ids = time_based_task_ids()
    assert ids == sorted([nested.pk, plain.pk])
    assert len(queries) == 1
    assert "ORDER BY" not in queries[0]["sql"]
    assert "telemetry_customertelemetryvalue" not in queries[0]["sql"]
    assert time_based_task_ids(plan_ids=[plan.pk + 1000]) == []
    assert decoy.pk not in ids and string.pk not in ids and inactive.pk not in ids


@pytest.fixture
def plan(db):
    from tests.factories import AdoptionPlanFactory

    return AdoptionPlanFactory()


def test_plan_rows_of_a_vanished_plan_are_skipped(catalog, plans, admin_user, django_capture_on_commit_callbacks):
    job = jobs.product_plans_sync_enqueue(actor=admin_user, product=catalog["product"])
    AdoptionPlan.objects.filter(pk=plans["Contoso"].pk).delete()
    job_runners.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.result["plans"], job.result["synced"], job.result["gone"]) == (1, 1, 0)
    assert json.dumps(job.result)  # plain JSON
