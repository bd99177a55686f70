#!/usr/bin/env python
"""Benchmarks of the hot paths, against a throwaway database (strategy 12.1, SPEC 10 "Benchmarks").

    python bench/run.py            # full run, about 30 s on 2 cores
    python bench/run.py --quick    # smaller plans, fewer repetitions (about 5 s)
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/run.py

Without BENCH_DATABASE_URL the run uses a new SQLite file in a temporary folder. With it, the script
connects to that server, creates a database ``bench_<pid>``, runs there and drops it afterwards; the
database named in the URL is only used to issue CREATE/DROP DATABASE. Nothing is written to the
project folder, and the settings' DATABASE_URL is ignored.

Everything goes through the real code: catalog services (or bulk_create for big catalogs), the plan,
status and telemetry services, and GraphQL over ``/graphql/`` with the Django test client and a
logged-in superuser. Each benchmark runs once to warm up, once under CaptureQueriesContext (the
query count), then ``reps`` timed runs (median and max). Raw-SQL baselines (SPEC 10): a write is
the same rows written with the driver's ``executemany`` (psycopg or sqlite3), a read the same SELECTs
plus ``json.dumps`` of the rows; the table ends with the ratios.

Exit status 1 when an absolute target fails (the ratios have no target).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# The throwaway database
# ---------------------------------------------------------------------------------------------


@contextmanager
def throwaway_database():
    """Yield (DATABASE_URL for Django, raw connect function) and remove the database afterwards."""
    server_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if not server_url:
        folder = tempfile.mkdtemp(prefix="adoption-bench-")
        path = os.path.join(folder, "bench.sqlite3")
        try:
            import sqlite3

            yield f"sqlite:///{path}", lambda: sqlite3.connect(path, isolation_level=None, timeout=20)
        finally:
            from django.db import connections

            connections.close_all()
            shutil.rmtree(folder, ignore_errors=True)
        return

    import psycopg
    from psycopg import sql

    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"BENCH_DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    name = f"bench_{os.getpid()}"
    bench_url = urlunsplit(parts._replace(path="/" + name))
    admin = psycopg.connect(server_url, autocommit=True)
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield bench_url, lambda: psycopg.connect(bench_url, autocommit=True)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.close()


# ---------------------------------------------------------------------------------------------
# Measuring and reporting
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    size: str
    times_ms: list[float]
    queries: int | None = None
    target_ms: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def worst(self) -> float:
        return max(self.times_ms)

    @property
    def passed(self) -> bool | None:
        # The target holds for every run, so the slowest one decides.
        return None if self.target_ms is None else self.worst < self.target_ms


def measure(run: Callable, *, reps: int, prepare: Callable | None = None) -> tuple[list[float], int, list[str]]:
    """Warm up once, count queries once (CaptureQueriesContext), then time `reps` runs.

    `prepare(i)` builds the argument of run i outside the timing. Returns the times in ms, the query
    count and the SQL of the counted run.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    step = iter(range(reps + 2))

    def arg():
        return prepare(next(step)) if prepare else next(step)

    run(arg())
    with CaptureQueriesContext(connection) as captured:
        run(arg())
    # Copy now: the context reads connection.queries lazily, and the next request resets that log.
    statements = [query["sql"] for query in captured.captured_queries]
    times = []
    for _ in range(reps):
        value = arg()
        gc.collect()  # start every run with a clean heap: a collection owed by earlier work is not this run's cost
        start = time.perf_counter()
        run(value)
        times.append((time.perf_counter() - start) * 1000)
    return times, len(statements), statements


def time_only(run: Callable, *, reps: int, prepare: Callable | None = None) -> list[float]:
    step = iter(range(reps + 1))
    run(prepare(next(step)) if prepare else next(step))
    times = []
    for _ in range(reps):
        value = prepare(next(step)) if prepare else next(step)
        gc.collect()
        start = time.perf_counter()
        run(value)
        times.append((time.perf_counter() - start) * 1000)
    return times


def print_table(results: list[Result]) -> None:
    headers = ("benchmark", "size", "median ms", "max ms", "queries", "target", "result")
    rows = []
    for r in results:
        verdict = {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        rows.append(
            (
                r.name,
                r.size,
                f"{r.median:,.1f}",
                f"{r.worst:,.1f}",
                "-" if r.queries is None else str(r.queries),
                "-" if r.target_ms is None else f"< {r.target_ms:,.0f} ms",
                verdict,
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    right = {2, 3, 4}

    def line(cells):
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded)

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Synthetic catalog and plans
# ---------------------------------------------------------------------------------------------

NUMBER_CRITERION = {"op": "gte", "value": 10}
BOOLEAN_CRITERION = {"op": "eq", "value": True}
ATTRIBUTES = (("active_users", "NUMBER", NUMBER_CRITERION), ("feature_enabled", "BOOLEAN", BOOLEAN_CRITERION))
LEVELS = (1, 2, 3)  # ESSENTIAL, ADVANTAGE, SIGNATURE: tasks of every level; plans are SIGNATURE (all tasks)


def build_catalog_with_services(actor, name: str, size: int):
    """A product of `size` tasks, 3 outcomes, 2 releases, 2 attributes per task, through adoption.catalog."""
    from adoption import catalog

    product = catalog.product_create(actor=actor, name=name, description="benchmark catalog")
    outcomes = [catalog.outcome_create(actor=actor, product=product, name=f"Outcome {i}") for i in range(3)]
    releases = [catalog.release_create(actor=actor, product=product, name=f"{i}.0", level=i) for i in (1, 2)]
    for i in range(size):
        task = catalog.task_create(
            actor=actor,
            product=product,
            name=f"Task {i:04d}",
            est_minutes=30 + i % 90,
            weight=1 + i % 5,
            license_level=LEVELS[i % 3],
            sequence_number=i,
            description=f"Do step {i} of the roll-out.",
            how_to_doc=[f"https://docs.example.com/step/{i}"],
            outcome_ids=[outcomes[i % 3].pk],
            release_ids=[releases[i % 2].pk],
        )
        for order, (attr_name, data_type, criterion) in enumerate(ATTRIBUTES):
            catalog.telemetry_attribute_create(
                actor=actor,
                task=task,
                name=attr_name,
                data_type=data_type,
                is_required=True,
                success_criteria=criterion,
                order=order,
            )
    return product


def build_catalog_in_bulk(name: str, size: int):
    """The same shape as build_catalog_with_services, written with bulk_create (big catalogs)."""
    from adoption.models import Outcome, Product, Release, Task
    from telemetry.models import TelemetryAttribute

    product = Product.objects.create(name=name, description="benchmark catalog")
    outcomes = Outcome.objects.bulk_create([Outcome(product=product, name=f"Outcome {i}") for i in range(3)])
    releases = Release.objects.bulk_create([Release(product=product, name=f"{i}.0", level=Decimal(i)) for i in (1, 2)])
    tasks = Task.objects.bulk_create(
        [
            Task(
                product=product,
                name=f"Task {i:04d}",
                est_minutes=30 + i % 90,
                weight=Decimal(1 + i % 5),
                license_level=LEVELS[i % 3],
                sequence_number=i,
                description=f"Do step {i} of the roll-out.",
                how_to_doc=[f"https://docs.example.com/step/{i}"],
            )
            for i in range(size)
        ]
    )
    Task.outcomes.through.objects.bulk_create(
        [Task.outcomes.through(task=t, outcome=outcomes[i % 3]) for i, t in enumerate(tasks)]
    )
    Task.releases.through.objects.bulk_create(
        [Task.releases.through(task=t, release=releases[i % 2]) for i, t in enumerate(tasks)]
    )
    TelemetryAttribute.objects.bulk_create(
        [
            TelemetryAttribute(
                task=t, name=attr_name, data_type=data_type, is_required=True, success_criteria=criterion, order=order
            )
            for t in tasks
            for order, (attr_name, data_type, criterion) in enumerate(ATTRIBUTES)
        ]
    )
    return product


class Customers:
    """Fresh customers named in sequence (a product can be assigned once per customer)."""

    def __init__(self, actor):
        self.actor = actor
        self.count = 0

    def new(self):
        from customers.services import customer_create

        self.count += 1
        return customer_create(actor=self.actor, name=f"Bench customer {self.count:04d}")


def assign(actor, customer, product):
    from adoption.services import customer_product_assign

    return customer_product_assign(actor=actor, customer=customer, product=product, license_level="SIGNATURE")


# ---------------------------------------------------------------------------------------------
# Raw-SQL baselines (SPEC 10): the same rows through the driver, no ORM
# ---------------------------------------------------------------------------------------------


class RawSQL:
    """SQL for the driver's own connection (psycopg or sqlite3), written once for both: `%s` is a
    parameter, `%j` a JSON parameter, json_col() reads a JSON column as text."""

    def __init__(self, connect, vendor: str):
        self.conn = connect()
        self.pg = vendor == "postgresql"

    def sql(self, text: str) -> str:
        if self.pg:
            return text.replace("%j", "%s::jsonb")
        return text.replace("%j", "?").replace("%s", "?")

    def json_col(self, column: str) -> str:
        return f"{column}::text" if self.pg else column

    def close(self):
        self.conn.close()


def raw_plan_create(
    raw: RawSQL, *, customer_product_id: int, product_id: int, product_name: str, level: int, now
) -> int:
    """Plan creation the way a hand-written implementation would do it: read the eligible catalog
    tasks, their links and attributes, then insert the plan, its tasks (executemany), the tasks'
    outcome/release links and attribute copies (executemany), in one transaction."""
    from adoption.models import AdoptionPlan, CustomerTask, CustomerTaskOutcome, CustomerTaskRelease, Task
    from telemetry.models import CustomerTelemetryAttribute, TelemetryAttribute

    q, j = raw.sql, raw.json_col
    task_t, plan_t, ctask_t = Task._meta.db_table, AdoptionPlan._meta.db_table, CustomerTask._meta.db_table
    eligible = "t.product_id = %s AND t.is_active = %s AND t.license_level <= %s"
    cur = raw.conn.cursor()
    cur.execute("BEGIN")
    catalog_tasks = cur.execute(
        q(
            f"SELECT t.id, t.name, t.description, t.est_minutes, t.weight, t.sequence_number, t.priority, "
            f"{j('t.how_to_doc')}, {j('t.how_to_video')}, t.notes, t.license_level FROM {task_t} t "
            f"WHERE {eligible} ORDER BY t.sequence_number, t.id"
        ),
        (product_id, True, level),
    ).fetchall()
    links = {}
    for through, target, table in (
        (Task.outcomes.through, "outcome", "adoption_outcome"),
        (Task.releases.through, "release", "adoption_release"),
    ):
        links[target] = cur.execute(
            q(
                f"SELECT l.task_id, l.{target}_id FROM {through._meta.db_table} l JOIN {task_t} t ON t.id = l.task_id "
                f"JOIN {table} x ON x.id = l.{target}_id WHERE {eligible} AND x.is_active = %s ORDER BY l.id"
            ),
            (product_id, True, level, True),
        ).fetchall()
    attributes = cur.execute(
        q(
            f"SELECT a.id, a.task_id, a.name, a.description, a.data_type, a.is_required, {j('a.success_criteria')}, "
            f'a."order" FROM {TelemetryAttribute._meta.db_table} a JOIN {task_t} t ON t.id = a.task_id '
            f'WHERE {eligible} AND a.is_active = %s ORDER BY a.task_id, a."order", a.id'
        ),
        (product_id, True, level, True),
    ).fetchall()

    total_weight = sum((Decimal(str(row[4])) for row in catalog_tasks), Decimal("0"))
    plan_id = cur.execute(
        q(
            f"INSERT INTO {plan_t} (customer_product_id, product_id, product_name, license_level, total_tasks, "
            "completed_tasks, total_weight, completed_weight, progress_percentage, last_synced_at, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, 0, %s, 0, 0, %s, %s, %s) RETURNING id"
        ),
        (customer_product_id, product_id, product_name, level, len(catalog_tasks), total_weight, now, now, now),
    ).fetchone()[0]
    cur.executemany(
        q(
            f"INSERT INTO {ctask_t} (adoption_plan_id, original_task_id, name, description, est_minutes, weight, "
            "sequence_number, priority, how_to_doc, how_to_video, notes, license_level, status, status_updated_by, "
            "status_update_source, status_notes, telemetry_status, is_complete, completed_by, is_archived, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %j, %j, %s, %s, 'NOT_STARTED', '', 'SYSTEM', '', '', "
            "%s, '', %s, %s, %s)"
        ),
        [(plan_id, *row, False, False, now, now) for row in catalog_tasks],
    )
    task_ids = dict(
        cur.execute(q(f"SELECT original_task_id, id FROM {ctask_t} WHERE adoption_plan_id = %s"), (plan_id,)).fetchall()
    )
    for model, target in ((CustomerTaskOutcome, "outcome"), (CustomerTaskRelease, "release")):
        cur.executemany(
            q(f"INSERT INTO {model._meta.db_table} (customer_task_id, {target}_id) VALUES (%s, %s)"),
            [(task_ids[task_id], target_id) for task_id, target_id in links[target]],
        )
    cur.executemany(
        q(
            f"INSERT INTO {CustomerTelemetryAttribute._meta.db_table} (customer_task_id, original_attribute_id, name, "
            'description, data_type, is_required, success_criteria, "order", is_active, is_met, created_at, '
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %j, %s, %s, %s, %s, %s)"
        ),
        [(task_ids[a[1]], a[0], *a[2:], True, False, now, now) for a in attributes],
    )
    cur.execute("COMMIT")
    cur.close()
    return plan_id


def raw_read(raw: RawSQL, statements: list[str]) -> str:
    """The same SELECTs the request ran, fetched with the driver, plus json.dumps of every row."""
    cur = raw.conn.cursor()
    result = []
    for statement in statements:
        cur.execute(statement)
        result.append(cur.fetchall())
    cur.close()
    return json.dumps(result, default=str)


# ---------------------------------------------------------------------------------------------
# GraphQL documents
# ---------------------------------------------------------------------------------------------

WHOLE_PLAN = """
query WholePlan($id: ID!) {
  adoptionPlan(id: $id) {
    id productName licenseLevel totalTasks completedTasks totalWeight completedWeight progressPercentage
    needsSync lastSyncedAt
    tasks {
      id name status weight licenseLevel sequenceNumber statusUpdateSource telemetryDisagrees
      outcomes { id name }
      releases { id name level }
      telemetryProgress { totalAttributes requiredAttributes metAttributes completionPercentage allRequiredMet }
      telemetryAttributes {
        id name dataType isRequired isMet successCriteria
        latestValue { id value observedAt }
      }
    }
  }
}
"""

CUSTOMERS_PROGRESS = "{ customers { id name products { id adoptionPlan { progressPercentage } } } }"


def graphql(client, query: str, variables: dict | None = None) -> dict:
    body = {"query": query, **({"variables": variables} if variables else {})}
    response = client.post("/graphql/", data=json.dumps(body), content_type="application/json")
    payload = response.json()
    if response.status_code != 200 or payload.get("errors"):
        raise RuntimeError(f"GraphQL failed ({response.status_code}): {json.dumps(payload)[:500]}")
    return payload["data"]


# ---------------------------------------------------------------------------------------------
# The benchmarks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    small_plan: int
    large_plan: int
    graphql_plan: int
    ingest_tasks: int  # the ingest sends one value per attribute (2 per task)
    customers: int  # extra customers with 2 plans each for the customers/progress query
    reps_small: int
    reps_large: int


FULL = Sizes(
    small_plan=50, large_plan=1000, graphql_plan=300, ingest_tasks=500, customers=40, reps_small=9, reps_large=5
)
QUICK = Sizes(
    small_plan=50, large_plan=300, graphql_plan=100, ingest_tasks=150, customers=10, reps_small=3, reps_large=2
)


def run_benchmarks(sizes: Sizes, raw: RawSQL) -> tuple[list[Result], list[tuple[str, float, float]]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from adoption.models import AdoptionPlan, CustomerTask
    from adoption.services import customer_task_update_status, customer_tasks_bulk_update_status, plan_recompute_totals
    from customers.models import CustomerProduct
    from telemetry.evaluation import evaluate_customer_tasks
    from telemetry.models import CustomerTelemetryAttribute
    from telemetry.services import telemetry_ingest

    results: list[Result] = []
    ratios: list[tuple[str, float, float]] = []
    admin = get_user_model().objects.create_superuser(username="bench-admin", email="bench@example.com", password=None)
    customers = Customers(admin)

    # -- catalogs ---------------------------------------------------------------------------------
    progress(f"catalog of {sizes.small_plan} tasks through the catalog services")
    small = build_catalog_with_services(admin, "Bench Small", sizes.small_plan)
    progress(f"catalogs of {sizes.large_plan} and {sizes.graphql_plan} tasks with bulk_create")
    large = build_catalog_in_bulk("Bench Large", sizes.large_plan)
    read_product = build_catalog_in_bulk("Bench Read", sizes.graphql_plan)
    second = build_catalog_in_bulk("Bench Second", 20)

    # -- (1) plan creation ------------------------------------------------------------------------
    large_plans: list[AdoptionPlan] = []

    def create_plan(product, keep=None):
        def run(customer):
            assignment = assign(admin, customer, product)
            if keep is not None:
                keep.append(assignment.adoption_plan)

        return run

    progress(f"plan creation, {sizes.small_plan} tasks")
    times, queries, _ = measure(create_plan(small), reps=sizes.reps_small, prepare=lambda i: customers.new())
    results.append(
        Result("plan creation (customer_product_assign)", f"{sizes.small_plan} tasks", times, queries, target_ms=2000)
    )
    progress(f"plan creation, {sizes.large_plan} tasks")
    times, queries, _ = measure(
        create_plan(large, large_plans), reps=sizes.reps_large, prepare=lambda i: customers.new()
    )
    django_large = Result("plan creation (customer_product_assign)", f"{sizes.large_plan} tasks", times, queries)
    results.append(django_large)

    progress("raw SQL plan creation baseline")
    level = 3

    def raw_prepare(product):
        def prepare(i):
            customer = customers.new()
            now = timezone.now()
            return CustomerProduct.objects.create(
                customer=customer, product=product, license_level=level, purchased_at=now, entitlements_changed_at=now
            )

        return prepare

    def raw_create(product):
        def run(cp):
            raw_plan_create(
                raw,
                customer_product_id=cp.pk,
                product_id=product.pk,
                product_name=product.name,
                level=level,
                now=connection.ops.adapt_datetimefield_value(timezone.now()),
            )

        return run

    for product, size, reps, django_result in (
        (small, sizes.small_plan, sizes.reps_small, results[0]),
        (large, sizes.large_plan, sizes.reps_large, django_large),
    ):
        times = time_only(raw_create(product), reps=reps, prepare=raw_prepare(product))
        results.append(Result("  raw SQL baseline: executemany of the same rows", f"{size} tasks", times, queries=None))
        ratios.append((f"plan creation, {size} tasks", django_result.median, statistics.median(times)))

    # The baseline must write what the service writes: same tasks, weight and attribute copies.
    def shape(plan):
        plan.refresh_from_db()
        copies = CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).count()
        return plan.tasks.count(), plan.total_weight, copies

    raw_plan = AdoptionPlan.objects.filter(product=large).order_by("-pk").first()
    if shape(raw_plan) != shape(large_plans[0]):
        raise RuntimeError(f"the raw-SQL baseline wrote {shape(raw_plan)}, the service {shape(large_plans[0])}")

    # -- (2) manual status change on a large plan -------------------------------------------------
    status_plan, ingest_plan = large_plans[0], large_plans[1]
    progress(f"manual status change on a {sizes.large_plan}-task plan")
    status_tasks = list(status_plan.tasks.order_by("pk")[: sizes.reps_small + 2])
    statuses = ("DONE", "IN_PROGRESS", "NOT_APPLICABLE")

    def change_status(i):
        customer_task_update_status(actor=admin, task=status_tasks[i], status=statuses[i % 3], notes="bench")

    times, queries, _ = measure(change_status, reps=sizes.reps_small)
    results.append(
        Result(
            "status change (customer_task_update_status)",
            f"{sizes.large_plan}-task plan",
            times,
            queries,
            target_ms=200,
        )
    )

    progress("progress recomputation")
    times, queries, _ = measure(lambda i: plan_recompute_totals(plan_ids=[status_plan.pk]), reps=sizes.reps_small)
    results.append(
        Result(
            "progress calculation (plan_recompute_totals)",
            f"{sizes.large_plan}-task plan",
            times,
            queries,
            target_ms=100,
        )
    )

    # -- (3) telemetry ------------------------------------------------------------------------------
    progress(f"telemetry_ingest of {sizes.ingest_tasks * 2} values over {sizes.ingest_tasks} tasks")
    attributes = list(
        CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=ingest_plan).order_by(
            "customer_task__sequence_number", "customer_task_id", "order"
        )
    )
    by_task: dict[int, list] = {}
    for attribute in attributes:
        by_task.setdefault(attribute.customer_task_id, []).append(attribute)
    task_ids = list(by_task)
    ingest_task_ids = task_ids[: sizes.ingest_tasks]

    def items_for(tasks, i):
        # Even runs meet every criterion (tasks become DONE), odd runs none (back to NOT_STARTED):
        # every run changes the status of every task it touches, the expensive case.
        met = i % 2 == 0
        return [
            {"customerAttributeId": str(a.pk), "value": (50 if met else 1) if a.data_type == "NUMBER" else met}
            for task_id in tasks
            for a in by_task[task_id]
        ]

    def ingest(tasks, tag):
        def run(i):
            result = telemetry_ingest(
                actor=admin, items=items_for(tasks, i), batch_id=f"bench-{tag}-{i}", channel="api"
            )
            if len(result.status_changes) != len(tasks):
                raise RuntimeError(f"expected {len(tasks)} status changes, got {len(result.status_changes)}")

        return run

    times, queries, _ = measure(ingest(ingest_task_ids, "bulk"), reps=sizes.reps_large)
    results.append(
        Result(
            "telemetry_ingest + evaluation",
            f"{len(ingest_task_ids) * 2} values/{len(ingest_task_ids)} tasks",
            times,
            queries,
        )
    )
    per_task = [t / len(ingest_task_ids) for t in times]
    results.append(Result("  evaluation cost per task (ingest / tasks)", "1 task", per_task, None, target_ms=500))

    progress("telemetry_ingest for one task")
    one_task = task_ids[-1]
    times, queries, _ = measure(ingest([one_task], "one"), reps=sizes.reps_small)
    results.append(Result("telemetry_ingest + evaluation", "2 values/1 task", times, queries, target_ms=500))

    progress("evaluate_customer_tasks")
    times, queries, _ = measure(lambda i: evaluate_customer_tasks(task_ids=[one_task]), reps=sizes.reps_small)
    results.append(Result("evaluate_customer_tasks", "1 task", times, queries, target_ms=500))
    times, queries, _ = measure(lambda i: evaluate_customer_tasks(task_ids=task_ids), reps=sizes.reps_large)
    results.append(Result("evaluate_customer_tasks (whole plan)", f"{len(task_ids)} tasks", times, queries))

    # -- (4) GraphQL reads ------------------------------------------------------------------------
    progress(f"data for GraphQL: a {sizes.graphql_plan}-task plan with values, {sizes.customers} customers")
    read_plan = assign(admin, customers.new(), read_product).adoption_plan
    read_attributes = list(
        CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=read_plan).order_by("pk")
    )
    # Every attribute gets a value that misses, then every second one a later value that meets its
    # criterion: half the attributes have two values (latestValue must choose), tasks are IN_PROGRESS.
    for n, (chosen, met) in enumerate(((read_attributes, False), (read_attributes[1::2], True))):
        telemetry_ingest(
            actor=admin,
            batch_id=f"bench-read-{n}",
            items=[
                {"customerAttributeId": str(a.pk), "value": (50 if met else 1) if a.data_type == "NUMBER" else met}
                for a in chosen
            ],
        )
    read_task_ids = list(
        CustomerTask.objects.filter(adoption_plan=read_plan).order_by("pk").values_list("pk", flat=True)
    )
    customer_tasks_bulk_update_status(actor=admin, plan=read_plan, task_ids=read_task_ids[::3], status="DONE")
    for _ in range(sizes.customers):
        customer = customers.new()
        assign(admin, customer, small)
        assign(admin, customer, second)
    client = Client()
    client.force_login(admin)

    progress("GraphQL whole-plan query")

    def whole_plan(i):
        data = graphql(client, WHOLE_PLAN, {"id": str(read_plan.pk)})
        if len(data["adoptionPlan"]["tasks"]) != sizes.graphql_plan:
            raise RuntimeError("the whole-plan query did not return every task")

    times, queries, statements = measure(whole_plan, reps=sizes.reps_small)
    plan_result = Result(
        "GraphQL adoptionPlan (tasks, attributes, latestValue, ...)",
        f"{sizes.graphql_plan} tasks",
        times,
        queries,
        target_ms=200,
    )
    results.append(plan_result)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    times = time_only(lambda i: raw_read(raw, selects), reps=sizes.reps_small)
    results.append(
        Result(
            f"  raw SQL baseline: the same {len(selects)} SELECTs + json.dumps",
            f"{sizes.graphql_plan} tasks",
            times,
            len(selects),
        )
    )
    ratios.append((f"GraphQL whole plan, {sizes.graphql_plan} tasks", plan_result.median, statistics.median(times)))

    progress("GraphQL customers/progress query")
    customer_count = customers.count

    def customers_progress(i):
        data = graphql(client, CUSTOMERS_PROGRESS)
        if len(data["customers"]) != customer_count:
            raise RuntimeError("the customers query did not return every customer")

    times, queries, statements = measure(customers_progress, reps=sizes.reps_small)
    plans = AdoptionPlan.objects.count()
    list_result = Result(
        "GraphQL customers { products { adoptionPlan { progress } } }",
        f"{customer_count} customers/{plans} plans",
        times,
        queries,
        target_ms=200,
    )
    results.append(list_result)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    times = time_only(lambda i: raw_read(raw, selects), reps=sizes.reps_small)
    results.append(
        Result(
            f"  raw SQL baseline: the same {len(selects)} SELECTs + json.dumps",
            f"{customer_count} customers",
            times,
            len(selects),
        )
    )
    ratios.append((f"GraphQL customers, {customer_count} customers", list_result.median, statistics.median(times)))
    return results, ratios


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller plans and fewer repetitions")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    sys.path.insert(0, str(ROOT))
    # A terminated run still drops its database and deletes its temporary folder (the finally blocks).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # Production-like request handling (no debug cursor), no Redis: the run needs nothing but the database.
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "0"
    for name in ("PRODUCTION", "REDIS_URL"):
        os.environ.pop(name, None)

    started = time.perf_counter()
    with throwaway_database() as (database_url, connect):
        os.environ["DATABASE_URL"] = database_url
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        progress("migrate")
        call_command("migrate", verbosity=0, interactive=False)
        vendor = connection.vendor
        version = (
            ".".join(str(n) for n in connection.Database.sqlite_version_info)
            if vendor == "sqlite"
            else (f"{connection.pg_version // 10000}.{connection.pg_version % 10000}")
        )
        raw = RawSQL(connect, vendor)
        try:
            results, ratios = run_benchmarks(sizes, raw)
        finally:
            raw.close()
        where = database_url.rsplit("/", 1)[-1] if vendor == "postgresql" else "temporary file"

    print()
    print(
        f"Benchmarks ({'quick' if args.quick else 'full'}): {vendor} {version} ({where}), "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"median and max of {sizes.reps_small} runs ({sizes.reps_large} for the large ones) after a warm-up"
    )
    print()
    print_table(results)
    print()
    print("Django / raw SQL (medians):")
    for name, django_ms, raw_ms in ratios:
        print(f"  {name}: {django_ms:,.1f} ms / {raw_ms:,.1f} ms = {django_ms / raw_ms:.1f}x")
    failed = [r for r in results if r.passed is False]
    print()
    print("PASS: every timed run is under the target. Targets: plan creation < 2 s for 50 tasks, operations and")
    print("GraphQL reads < 200 ms, telemetry evaluation < 500 ms per task, progress < 100 ms.")
    print(
        f"{len(failed)} of {sum(r.target_ms is not None for r in results)} targets failed"
        + (": " + "; ".join(f"{r.name.strip()} {r.size}" for r in failed) if failed else "")
        + f"; total {time.perf_counter() - started:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
