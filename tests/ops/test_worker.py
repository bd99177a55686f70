"""The jobs with a real Celery worker: a `celery worker` subprocess on the local Redis and the test
database (PostgreSQL), an import of more than 5,000 rows enqueued as in production (on commit,
through the broker), its progress watched from another connection until it succeeds.

Eager mode (every other test) runs jobs in-process and would hide what only a real worker shows:
arguments that do not serialize, a job sent before its row is committed, progress written inside a
transaction that nobody else can see until the end.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from adoption import job_runners
from adoption.models import Job
from telemetry.models import CustomerTelemetryValue
from tests.ops.conftest import import_csv

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = 11  # a database of its own, and a queue name of its own per run: parallel runs never meet
ROWS = 6000
CHUNK_ROWS = 500
TIMEOUT_SECONDS = 180

postgres_only = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in ("postgres", "postgresql"),
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the worker process must share the test database",
)


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A Celery worker process on a queue of its own, pointed at the test database."""
    if not _redis_answers():
        pytest.skip(f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT}")
    queue = f"ops-test-{uuid.uuid4().hex[:12]}"
    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PRODUCTION", "DB_POOL", "DATABASE_REPLICA_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker,
        "CELERY_QUEUE": queue,
        "JOB_IMPORT_CHUNK_ROWS": str(CHUNK_ROWS),
        "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--queues",
                queue,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield {"queue": queue, "broker": broker, "log": log, "process": process}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        # PostgreSQL ends a departed client's session a moment later; the test database can only be
        # dropped at the end of the run once it has.
        with connection.cursor() as cursor:
            for _ in range(100):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.1)


@postgres_only
def test_real_worker_imports_a_large_file_with_progress_seen_from_another_connection(worker, plans, admin_user):
    plan = plans["Northwind"]
    data = import_csv(plan, ROWS)
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False,
        CELERY_BROKER_URL=worker["broker"],
        CELERY_TASK_DEFAULT_QUEUE=worker["queue"],
    ):
        # Not inside a transaction (transactional_db): on_commit sends the job at once, to the broker.
        job = job_runners.telemetry_import_enqueue(
            actor=admin_user, plan_or_customer_scope=plan, data=data, filename="big.csv"
        )

    seen: list[tuple[str, int, int]] = []
    deadline = time.monotonic() + TIMEOUT_SECONDS
    # Another connection, as the job page or a second app server would have.
    with psycopg.connect(_database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute("SELECT status, done, total FROM adoption_job WHERE id = %s", [job.pk]).fetchone()
            if not seen or seen[-1] != row:
                seen.append(row)
            if row[0] in ("SUCCEEDED", "FAILED"):
                break
            if worker["process"].poll() is not None:
                break
            time.sleep(0.02)
    log = worker["log"].read_text(errors="replace")
    assert seen and seen[-1][0] == "SUCCEEDED", f"progress seen: {seen}\nworker log:\n{log[-4000:]}"
    intermediate = [done for status, done, total in seen if status == "RUNNING" and 0 < done < total]
    assert intermediate, f"no progress strictly between 0 and {ROWS} was visible: {seen}"
    assert all(total == ROWS for status, done, total in seen if status == "RUNNING" and done)
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)  # progress never goes back

    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == ("SUCCEEDED", ROWS, ROWS, 1)
    assert job.result["stored"] == ROWS and job.result["chunks"] == ROWS // CHUNK_ROWS
    assert job.input_file is None
    assert CustomerTelemetryValue.objects.filter(customer_attribute__customer_task__adoption_plan=plan).count() == ROWS
    assert Job.objects.count() == 1
