"""Background jobs: what they do, and every write to their Job rows.

A job is a Job row plus a Celery task (adoption.tasks.run_job) that runs it. With a broker
(REDIS_URL) a worker runs it; without one it runs in-process right after the request's transaction
commits, so a local `make run` needs nothing extra. Jobs are always sent with
transaction.on_commit: a worker must never look for a row that is not committed yet.

Rules every job keeps:
- no transaction spans a job: the work is done in chunks that commit one by one (a chunk of an
  import, one plan, a chunk of tasks), and progress is written after each commit, in its own short
  statement, so other connections (the job page, the API) see it move;
- an unexpected failure is retried (Celery autoretry with exponential backoff, at most 3 retries),
  and the job shows the error meanwhile; work already committed is not repeated on retry (imports
  replay their stored chunks, syncs and evaluations are idempotent);
- a refusal (a domain error: a bad row, a plan that disappeared) fails the job at once, with its
  message: trying again would not help.

Kinds:
- TELEMETRY_IMPORT: a spreadsheet too large to import inline (more than MAX_ITEMS rows);
- PRODUCT_SYNC: sync every plan of a product with the catalog, then re-evaluate those plans;
- CRITERIA_REEVALUATION: after a catalog attribute's criterion changed, the same for the plans that
  hold a copy of that attribute (catalog changes never alter plans by themselves: a changed
  criterion reaches a plan only through its sync);
- DAILY_REEVALUATION: the daily re-check of time-based criteria (within_days), started by beat.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from adoption.models import AdoptionPlan, Job, Product
from config.audit.services import actor_label_of
from config.errors import DomainError, NotFound, ValidationFailed

logger = logging.getLogger("adoption.jobs")

MAX_ERROR_LENGTH = 2000
JOB_TASK_NAME = "adoption.run_job"
WAITING = "Waiting for a worker"


# ---------------------------------------------------------------------------------------------
# Creating and sending jobs
# ---------------------------------------------------------------------------------------------


def _user_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def job_enqueue(*, kind: str, actor, params: dict | None = None, input_file: bytes | None = None) -> Job:
    """Record a job and send it to the workers once the current transaction commits."""
    if kind not in Job.Kind.values:
        raise ValidationFailed(f"unknown job kind {kind!r}", field="kind")
    params = dict(params or {})
    params.setdefault("actor", actor_label_of(actor))
    job = Job.objects.create(
        kind=kind, started_by=_user_or_none(actor), params=params, input_file=input_file, message=WAITING
    )
    transaction.on_commit(partial(job_dispatch, job.pk))
    return job


def job_dispatch(job_id: int) -> None:
    """Hand a committed job to Celery: a worker through the broker, or in-process without one.

    Reads the Django settings at call time (broker, queue, eager), so every process decides the same
    way. A broker that cannot be reached fails the job with that message instead of the request.
    """
    from adoption.tasks import run_job
    from config.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_job.apply(args=[job_id])
        return
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            app.send_task(JOB_TASK_NAME, args=[job_id], queue=settings.CELERY_TASK_DEFAULT_QUEUE, connection=connection)
    except Exception:
        logger.exception("job %s could not be sent to the job queue", job_id)
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            error="The job queue could not be reached; the job did not run. Try again later.",
            finished_at=timezone.now(),
            input_file=None,
        )


# ---------------------------------------------------------------------------------------------
# Progress and outcome: each a single short UPDATE, never inside the work's transactions
# ---------------------------------------------------------------------------------------------


def job_progress(job: Job, *, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
    fields = {}
    if done is not None:
        job.done = fields["done"] = max(0, int(done))
    if total is not None:
        job.total = fields["total"] = max(0, int(total))
    if message is not None:
        job.message = fields["message"] = message[:300]
    if fields:
        Job.objects.filter(pk=job.pk).update(**fields)


def _job_start(job: Job, attempt: int) -> None:
    now = timezone.now()
    job.status = Job.Status.RUNNING
    job.attempts = attempt
    job.started_at = job.started_at or now
    job.message = "Started" if attempt == 1 else f"Started again (attempt {attempt})"
    Job.objects.filter(pk=job.pk).update(
        status=job.status, attempts=attempt, started_at=job.started_at, message=job.message
    )


def _job_succeed(job: Job, result: dict) -> None:
    job.status = Job.Status.SUCCEEDED
    job.finished_at = timezone.now()
    job.result = result
    job.error = ""
    if job.total:
        job.done = job.total
    job.message = result.get("summary", "Done")[:300]
    Job.objects.filter(pk=job.pk).update(
        status=job.status,
        finished_at=job.finished_at,
        result=result,
        error="",
        done=job.done,
        message=job.message,
        input_file=None,
    )


def _job_fail(job: Job, *, error: str, retrying: bool, result: dict | None = None) -> None:
    job.error = error[:MAX_ERROR_LENGTH]
    fields = {"error": job.error}
    if retrying:
        job.status = fields["status"] = Job.Status.QUEUED
        job.message = fields["message"] = f"Attempt {job.attempts} failed; it will be retried"
    else:
        job.status = fields["status"] = Job.Status.FAILED
        job.finished_at = fields["finished_at"] = timezone.now()
        job.message = fields["message"] = "Failed"
        fields["input_file"] = None
        if result is not None:
            job.result = fields["result"] = result
    Job.objects.filter(pk=job.pk).update(**fields)


def job_run(job_id: int, *, attempt: int = 1, final_attempt: bool = True) -> Job | None:
    """Run one attempt of a job (called by the Celery task). Re-raises unexpected errors for retry."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("job %s does not exist (any more); nothing to run", job_id)
        return None
    if job.is_finished:
        return job  # delivered twice: the first delivery did the work
    _job_start(job, attempt)
    runner = RUNNERS[job.kind]
    try:
        result = runner(job)
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        _job_fail(job, error=exc.message, retrying=False, result={"code": exc.code, "errors": details[:200]})
        logger.info("job %s refused: %s", job.pk, exc.message)
        return job
    except Exception as exc:
        logger.exception("job %s (%s) attempt %s failed", job.pk, job.kind, attempt)
        error = f"Attempt {attempt} failed: unexpected error ({type(exc).__name__}); the details were logged."
        if final_attempt:
            error = (
                f"Failed after {attempt} attempt(s): unexpected error ({type(exc).__name__}); the details were logged."
            )
        _job_fail(job, error=error, retrying=not final_attempt)
        raise
    _job_succeed(job, result)
    return job


# ---------------------------------------------------------------------------------------------
# Telemetry spreadsheet imports
# ---------------------------------------------------------------------------------------------


def telemetry_import_enqueue(*, actor, plan_or_customer_scope, data: bytes, filename: str) -> Job:
    """A background import of a large spreadsheet (the file is kept with the job until it finishes).

    The caller has authorized the actor for the scope (a plan or a customer they may write to).
    """
    from customers.models import Customer
    from telemetry.spreadsheet import count_rows

    rows = count_rows(file=data, filename=filename)  # unreadable files and too many rows: refused now
    if isinstance(plan_or_customer_scope, AdoptionPlan):
        scope = {"planId": plan_or_customer_scope.pk}
    elif isinstance(plan_or_customer_scope, Customer):
        scope = {"customerId": plan_or_customer_scope.pk}
    elif plan_or_customer_scope is None:
        scope = {}
    else:
        raise TypeError("plan_or_customer_scope must be an AdoptionPlan, a Customer or None")
    params = {**scope, "filename": filename or "", "rows": rows, "batchId": f"import-{uuid.uuid4().hex}"}
    return job_enqueue(kind=Job.Kind.TELEMETRY_IMPORT, actor=actor, params=params, input_file=bytes(data))


def _job_actor(job: Job):
    return job.started_by or job.params.get("actor") or "system"


def _run_telemetry_import(job: Job) -> dict:
    from customers.models import Customer
    from telemetry.spreadsheet import telemetry_import_commit_in_chunks

    params = job.params
    scope = None
    if "planId" in params:
        scope = AdoptionPlan.objects.select_related("customer_product").filter(pk=params["planId"]).first()
        if scope is None:
            raise NotFound(f"adoption plan {params['planId']} no longer exists; nothing was imported")
    elif "customerId" in params:
        scope = Customer.objects.filter(pk=params["customerId"]).first()
        if scope is None:
            raise NotFound(f"customer {params['customerId']} no longer exists; nothing was imported")
    if job.input_file is None:
        raise ValidationFailed("the job has no file to import", field="file")
    job_progress(job, done=0, total=params.get("rows", 0), message=f"Checking {params.get('rows', 0)} rows")

    def progress(done, total):
        job_progress(job, done=done, total=total, message=f"Stored {done} of {total} rows")

    summary = telemetry_import_commit_in_chunks(
        actor=_job_actor(job),
        plan_or_customer_scope=scope,
        file=bytes(job.input_file),
        filename=params.get("filename", ""),
        batch_id=params["batchId"],
        chunk_rows=settings.JOB_IMPORT_CHUNK_ROWS,
        progress=progress,
    )
    summary["summary"] = (
        f"Imported {summary['stored']} values from {summary['rowsRead']} rows "
        f"({summary['skipped']} skipped, {summary['statusChanges']} task status changes)"
    )
    return summary


# ---------------------------------------------------------------------------------------------
# Syncing plans with the catalog, then re-evaluating them
# ---------------------------------------------------------------------------------------------


def product_plans_sync_enqueue(*, actor, product: Product) -> Job:
    """Sync every plan of the product with the catalog, then re-evaluate those plans (a job)."""
    return job_enqueue(
        kind=Job.Kind.PRODUCT_SYNC, actor=actor, params={"productId": product.pk, "productName": product.name}
    )


def criteria_reevaluation_enqueue(*, actor, attribute) -> Job | None:
    """After a catalog attribute's criterion (or type, or required flag) changed: sync and re-evaluate
    the plans holding a copy of it. None when no plan holds one."""
    from telemetry.models import CustomerTelemetryAttribute

    if not CustomerTelemetryAttribute.objects.filter(original_attribute=attribute).exists():
        return None
    return job_enqueue(
        kind=Job.Kind.CRITERIA_REEVALUATION,
        actor=actor,
        params={"attributeId": attribute.pk, "attributeName": attribute.name, "productId": attribute.task.product_id},
    )


def _sync_and_evaluate(job: Job, plan_ids: list[int], what: str) -> dict:
    from adoption.services import adoption_plan_sync
    from telemetry.evaluation import adoption_plan_evaluate

    actor = _job_actor(job)
    total = len(plan_ids)
    job_progress(job, done=0, total=total, message=f"Syncing {total} plans of {what}")
    synced = gone = 0
    for done, plan_id in enumerate(plan_ids, start=1):
        # One plan, one transaction: sync (which evaluates what it touched), then the plan-wide
        # evaluation, committed before the next plan starts.
        with transaction.atomic():
            plan = AdoptionPlan.objects.select_related("customer_product").filter(pk=plan_id).first()
            if plan is None:
                gone += 1
            else:
                adoption_plan_sync(actor=actor, plan=plan)
                adoption_plan_evaluate(actor=actor, plan=plan)
                synced += 1
        job_progress(job, done=done, message=f"Synced and re-evaluated {done} of {total} plans")
    return {
        "plans": total,
        "synced": synced,
        "gone": gone,
        "summary": f"Synced and re-evaluated {synced} plans of {what}",
    }


def _run_product_sync(job: Job) -> dict:
    product_id = job.params["productId"]
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"product {product_id} no longer exists")
    plan_ids = list(AdoptionPlan.objects.filter(product=product).order_by("pk").values_list("pk", flat=True))
    return {"productId": str(product.pk), **_sync_and_evaluate(job, plan_ids, repr(product.name))}


def _run_criteria_reevaluation(job: Job) -> dict:
    plan_ids = list(
        AdoptionPlan.objects.filter(tasks__telemetry_attributes__original_attribute_id=job.params["attributeId"])
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    what = f"attribute {job.params.get('attributeName', job.params['attributeId'])!r}"
    return {"attributeId": str(job.params["attributeId"]), **_sync_and_evaluate(job, plan_ids, what)}


# ---------------------------------------------------------------------------------------------
# The daily re-evaluation of time-based criteria
# ---------------------------------------------------------------------------------------------


def daily_reevaluation_enqueue() -> Job:
    """The daily job (beat starts it): recorded like any other, so admins can follow it."""
    return job_enqueue(kind=Job.Kind.DAILY_REEVALUATION, actor=None)


def _run_daily_reevaluation(job: Job) -> dict:
    from telemetry.evaluation import telemetry_reevaluate_time_based

    job_progress(job, message="Finding tasks with time-based criteria")

    def progress(done, total):
        job_progress(job, done=done, total=total, message=f"Re-evaluated {done} of {total} tasks")

    tasks, changes = telemetry_reevaluate_time_based(chunk_size=settings.JOB_EVALUATION_CHUNK_TASKS, progress=progress)
    plans = len({c.adoption_plan_id for c in changes})
    return {
        "tasks": tasks,
        "statusChanges": len(changes),
        "plans": plans,
        "summary": f"Re-evaluated {tasks} tasks with time-based criteria: {len(changes)} status changes in {plans} plans",
    }


RUNNERS: dict[str, Callable[[Job], dict]] = {
    Job.Kind.TELEMETRY_IMPORT: _run_telemetry_import,
    Job.Kind.PRODUCT_SYNC: _run_product_sync,
    Job.Kind.CRITERIA_REEVALUATION: _run_criteria_reevaluation,
    Job.Kind.DAILY_REEVALUATION: _run_daily_reevaluation,
}
