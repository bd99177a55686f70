"""Background jobs: their Job rows and how they are sent to the workers.

A job is a Job row plus a Celery task (adoption.tasks.run_job) that runs it with the runners of
adoption.job_runners. With a broker (REDIS_URL) a worker runs it; without one it runs in-process
right after the request's transaction commits, so a local `make run` needs nothing extra. Jobs are
always sent with transaction.on_commit: a worker must never look for a row that is not committed yet.

This module sits low (the catalog service uses it to start a re-evaluation); what jobs do lives in
adoption.job_runners, above every service they call. Progress and outcome are each one short UPDATE,
written between the work's own transactions, so other connections see the job move.

Kinds:
- TELEMETRY_IMPORT: a spreadsheet too large to import inline (more than 5,000 rows);
- PRODUCT_SYNC: sync every plan of a product with the catalog, then re-evaluate those plans;
- CRITERIA_REEVALUATION: after a catalog attribute's criterion changed, the same for the plans that
  hold a copy of that attribute (catalog changes never alter plans by themselves: a changed
  criterion reaches a plan only through its sync);
- DAILY_REEVALUATION: the daily re-check of time-based criteria (within_days), started by beat.
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from adoption.models import Job, Product
from config.audit.services import actor_label_of
from config.errors import ValidationFailed
from telemetry.models import CustomerTelemetryAttribute

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
    from config.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        app.tasks[JOB_TASK_NAME].apply(args=[job_id])  # registered by adoption.tasks, loaded with the app
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


def job_start(job: Job, attempt: int) -> None:
    now = timezone.now()
    job.status = Job.Status.RUNNING
    job.attempts = attempt
    job.started_at = job.started_at or now
    job.message = "Started" if attempt == 1 else f"Started again (attempt {attempt})"
    Job.objects.filter(pk=job.pk).update(
        status=job.status, attempts=attempt, started_at=job.started_at, message=job.message
    )


def job_succeed(job: Job, result: dict) -> None:
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


def job_fail(job: Job, *, error: str, retrying: bool, result: dict | None = None) -> None:
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


# ---------------------------------------------------------------------------------------------
# Starting the kinds that need no upload
# ---------------------------------------------------------------------------------------------


def product_plans_sync_enqueue(*, actor, product: Product) -> Job:
    """Sync every plan of the product with the catalog, then re-evaluate those plans (a job)."""
    return job_enqueue(
        kind=Job.Kind.PRODUCT_SYNC, actor=actor, params={"productId": product.pk, "productName": product.name}
    )


def criteria_reevaluation_enqueue(*, actor, attribute) -> Job | None:
    """After a catalog attribute's criterion (or type, or required flag) changed: sync and re-evaluate
    the plans holding a copy of it. None when no plan holds one."""
    if not CustomerTelemetryAttribute.objects.filter(original_attribute=attribute).exists():
        return None
    return job_enqueue(
        kind=Job.Kind.CRITERIA_REEVALUATION,
        actor=actor,
        params={"attributeId": attribute.pk, "attributeName": attribute.name, "productId": attribute.task.product_id},
    )


def daily_reevaluation_enqueue() -> Job:
    """The daily job (beat starts it): recorded like any other, so admins can follow it."""
    return job_enqueue(kind=Job.Kind.DAILY_REEVALUATION, actor=None)
