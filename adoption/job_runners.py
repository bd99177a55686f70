"""What background jobs do, and one attempt of a job (run by the Celery task adoption.tasks.run_job).

Rules every runner keeps:
- no transaction spans a job: the work is done in chunks that commit one by one (a chunk of an
  import, one plan, a chunk of tasks), and progress is written after each commit (adoption.jobs);
- an unexpected failure is re-raised so that Celery retries it (autoretry with exponential backoff,
  at most 3 retries), and the job shows the error meanwhile; work already committed is not repeated
  on retry (imports replay their stored chunks, syncs and evaluations are idempotent);
- a refusal (a domain error: a bad row, a plan that disappeared) fails the job at once, with its
  message: trying again would not help.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from adoption.jobs import job_enqueue, job_fail, job_progress, job_start, job_succeed
from adoption.models import AdoptionPlan, Job, Product
from adoption.services import adoption_plan_sync
from config.errors import DomainError, NotFound, ValidationFailed
from customers.models import Customer
from telemetry.evaluation import adoption_plan_evaluate, telemetry_reevaluate_time_based
from telemetry.spreadsheet import count_rows, telemetry_import_commit_in_chunks

logger = logging.getLogger("adoption.jobs")


def job_run(job_id: int, *, attempt: int = 1, final_attempt: bool = True) -> Job | None:
    """Run one attempt of a job (called by the Celery task). Re-raises unexpected errors for retry."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("job %s does not exist (any more); nothing to run", job_id)
        return None
    if job.is_finished:
        return job  # delivered twice: the first delivery did the work
    job_start(job, attempt)
    runner = RUNNERS[job.kind]
    try:
        result = runner(job)
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        job_fail(job, error=exc.message, retrying=False, result={"code": exc.code, "errors": details[:200]})
        logger.info("job %s refused: %s", job.pk, exc.message)
        return job
    except Exception as exc:
        logger.exception("job %s (%s) attempt %s failed", job.pk, job.kind, attempt)
        error = f"Attempt {attempt} failed: unexpected error ({type(exc).__name__}); the details were logged."
        if final_attempt:
            error = (
                f"Failed after {attempt} attempt(s): unexpected error ({type(exc).__name__}); the details were logged."
            )
        job_fail(job, error=error, retrying=not final_attempt)
        raise
    job_succeed(job, result)
    return job


# ---------------------------------------------------------------------------------------------
# Telemetry spreadsheet imports
# ---------------------------------------------------------------------------------------------


def telemetry_import_enqueue(*, actor, plan_or_customer_scope, data: bytes, filename: str) -> Job:
    """A background import of a large spreadsheet (the file is kept with the job until it finishes).

    The caller has authorized the actor for the scope (a plan or a customer they may write to).
    """
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


def _sync_and_evaluate(job: Job, plan_ids: list[int], what: str) -> dict:

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


def _run_daily_reevaluation(job: Job) -> dict:

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
