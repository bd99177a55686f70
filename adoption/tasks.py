"""Celery tasks: thin wrappers around adoption.jobs (found by the Celery app's autodiscovery)."""

from celery import shared_task

from adoption import job_runners, jobs
from config.errors import DomainError
from config.observability import bind_request_id, unbind_request_id

MAX_RETRIES = 3


@shared_task(
    bind=True,
    name=jobs.JOB_TASK_NAME,
    autoretry_for=(Exception,),
    dont_autoretry_for=(DomainError,),
    max_retries=MAX_RETRIES,
    retry_backoff=5,  # 5 s, 10 s, 20 s (with jitter) between attempts
    retry_backoff_max=300,
    retry_jitter=True,
    acks_late=True,
    ignore_result=True,
)
def run_job(self, job_id: int) -> None:
    # Log lines written by the job carry its id as their request id.
    token = bind_request_id(f"job-{job_id}")
    try:
        job_runners.job_run(
            job_id, attempt=self.request.retries + 1, final_attempt=self.request.retries >= self.max_retries
        )
    finally:
        unbind_request_id(token)


@shared_task(name="adoption.daily_reevaluation", ignore_result=True)
def daily_reevaluation() -> None:
    """Started by Celery beat (CELERY_BEAT_SCHEDULE): records the daily job and sends it to a worker."""
    jobs.daily_reevaluation_enqueue()
