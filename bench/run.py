#!/usr/bin/env python
"""Benchmarks of the hot paths and of large portfolios, against a throwaway database.

    python bench/run.py                      # full run (a few minutes on 2 cores)
    python bench/run.py --quick              # smaller plans and portfolio, fewer repetitions
    python bench/run.py --only graphql-whole-plan --only portfolio-pages
    python bench/run.py --list               # the scenarios, in the order they run
    python bench/run.py --json out.json      # results as JSON (default: bench/results.json)

Which database: ``BENCH_DATABASE_URL`` if set, else ``DATABASE_URL`` when it is a postgres:// URL,
else a new SQLite file in a temporary folder. On PostgreSQL the script connects to that server,
creates a database ``bench_<pid>``, runs there and drops it afterwards (the database named in the URL
is only used to issue CREATE/DROP DATABASE). Data is VACUUM ANALYZEd after it is built, as autovacuum
would do after so many inserts: statistics for the planner, the visibility map for index-only scans,
and the trigram (GIN) indexes' pending lists merged; until then the planner prices those indexes as if
every search read the whole pending list, and it scans the table instead.

Everything goes through the real code: catalog services (or bulk_create for big catalogs), the plan,
status and telemetry services, the bulk portfolio generator, pages, the admin and GraphQL over HTTP
with the Django test client and a logged-in superuser. Each measurement runs once to warm up, once
under CaptureQueriesContext (the query count), then ``reps`` timed runs (median and max).

Targets: an absolute time that every timed run must beat (the slowest run decides) and, where a
scenario has one, a ratio to its raw-SQL baseline (a write: the driver's ``executemany`` of the same
rows; a read: the same SELECTs plus ``json.dumps`` of the rows), compared on medians. A scenario
without a target reports "info". EXPLAIN checks confirm that searches use their indexes. The run
exits with status 1 when any target or check fails.

Scenarios are plain functions registered with ``@scenario(name)``; shared data (catalogs, plans, the
generated portfolio) is built on first use by ``Bench.shared``, so any subset can run alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench" / "results.json"


# ---------------------------------------------------------------------------------------------
# The throwaway database
# ---------------------------------------------------------------------------------------------


def server_url() -> str:
    """The PostgreSQL server to run on, or "" for SQLite: BENCH_DATABASE_URL wins over DATABASE_URL."""
    explicit = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if explicit:
        return explicit
    configured = os.environ.get("DATABASE_URL", "").strip()
    return configured if configured.split(":", 1)[0] in ("postgres", "postgresql") else ""


@contextmanager
def throwaway_database():
    """Yield (DATABASE_URL for Django, raw connect function) and remove the database afterwards."""
    url = server_url()
    if not url:
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

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"BENCH_DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    name = f"bench_{os.getpid()}"
    bench_url = urlunsplit(parts._replace(path="/" + name))
    admin = psycopg.connect(url, autocommit=True)
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
# Results and reporting
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    size: str
    times_ms: list[float]
    queries: int | None = None
    target_ms: float | None = None
    raw_ms: float | None = None  # median of the raw-SQL baseline, where the scenario has one
    max_ratio: float | None = None  # target on median / raw median
    check: bool | None = None  # a yes/no check (EXPLAIN uses the index) instead of a time
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else 0.0

    @property
    def worst(self) -> float:
        return max(self.times_ms) if self.times_ms else 0.0

    @property
    def ratio(self) -> float | None:
        return self.median / self.raw_ms if self.raw_ms else None

    @property
    def has_target(self) -> bool:
        return self.target_ms is not None or self.max_ratio is not None or self.check is not None

    @property
    def passed(self) -> bool | None:
        """None without a target; else every target holds (the slowest run decides the time)."""
        if not self.has_target:
            return None
        holds = True
        if self.target_ms is not None:
            holds &= self.worst < self.target_ms
        if self.max_ratio is not None:
            holds &= self.ratio is not None and self.ratio <= self.max_ratio
        if self.check is not None:
            holds &= self.check
        return holds

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]

    def target_text(self) -> str:
        parts = []
        if self.target_ms is not None:
            parts.append(f"< {self.target_ms:,.0f} ms")
        if self.max_ratio is not None:
            parts.append(f"<= {self.max_ratio:g}x raw")
        if self.check is not None:
            parts.append("check")
        return ", ".join(parts) or "-"

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "size": self.size,
            "median_ms": round(self.median, 2),
            "max_ms": round(self.worst, 2),
            "runs": len(self.times_ms),
            "queries": self.queries,
            "target_ms": self.target_ms,
            "raw_median_ms": None if self.raw_ms is None else round(self.raw_ms, 2),
            "ratio": None if self.ratio is None else round(self.ratio, 2),
            "max_ratio": self.max_ratio,
            "check": self.check,
            "note": self.note,
            "result": self.verdict,
        }


def print_table(results: list[Result]) -> None:
    headers = ("benchmark", "size", "median ms", "max ms", "queries", "raw ms", "ratio", "target", "result")
    rows = [
        (
            r.name,
            r.size,
            f"{r.median:,.1f}" if r.times_ms else "-",
            f"{r.worst:,.1f}" if r.times_ms else "-",
            "-" if r.queries is None else str(r.queries),
            "-" if r.raw_ms is None else f"{r.raw_ms:,.1f}",
            "-" if r.ratio is None else f"{r.ratio:.1f}x",
            r.target_text(),
            r.verdict,
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    right = {2, 3, 4, 5, 6}

    def line(cells):
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    notes = [(r.name, r.note) for r in results if r.note]
    if notes:
        print()
        for name, note in notes:
            print(f"  {name.strip()}: {note}")


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


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


def measure_beside(run: Callable, baseline: Callable, *, reps: int) -> tuple[list[float], int, list[float]]:
    """Like measure, with a baseline timed in turn with the runs (baseline, run, baseline, run, ...):
    both see the machine as it is at that moment, so a ratio does not follow a slower minute of a
    shared machine. Returns the run's times, its query count and the baseline's times (ms)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    steps, baseline_steps = iter(range(reps + 2)), iter(range(reps + 1))  # each numbers its own runs
    baseline(next(baseline_steps))
    run(next(steps))
    with CaptureQueriesContext(connection) as captured:
        run(next(steps))
    queries = len(captured.captured_queries)
    times, baseline_times = [], []
    for _ in range(reps):
        for work, numbers, into in ((baseline, baseline_steps, baseline_times), (run, steps, times)):
            value = next(numbers)
            gc.collect()
            start = time.perf_counter()
            work(value)
            into.append((time.perf_counter() - start) * 1000)
    return times, queries, baseline_times


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
# Raw-SQL baselines: the same rows through the driver, no ORM
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
# The run: sizes, shared data, the scenario registry
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    small_plan: int
    large_plan: int
    graphql_plan: int
    ingest_tasks: int  # the ingest sends one value per attribute (2 per task)
    customers: int  # extra customers with 2 plans each for the customers/progress query
    portfolio: int  # customers of the generated portfolio, 2 plans each
    reps_small: int
    reps_large: int
    batch_total: int = 100_000  # telemetry values sent in batches of 5,000, one after the other


FULL = Sizes(
    small_plan=50,
    large_plan=1000,
    graphql_plan=300,
    ingest_tasks=500,
    customers=40,
    portfolio=10_000,
    reps_small=9,
    reps_large=5,
)
QUICK = Sizes(
    small_plan=50,
    large_plan=300,
    graphql_plan=100,
    ingest_tasks=150,
    customers=10,
    portfolio=1_000,
    reps_small=3,
    reps_large=2,
    batch_total=20_000,
)


@dataclass
class Bench:
    sizes: Sizes
    quick: bool
    raw: RawSQL
    vendor: str
    results: list[Result] = field(default_factory=list)
    _shared: dict = field(default_factory=dict)

    def add(self, result: Result) -> Result:
        self.results.append(result)
        return result

    def shared(self, key: str, build: Callable[[], object]):
        """Data several scenarios use, built by the first one that needs it."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    @property
    def admin(self):
        def build():
            from django.contrib.auth import get_user_model

            return get_user_model().objects.create_superuser(
                username="bench-admin", email="bench@example.com", password=None
            )

        return self.shared("admin", build)

    @property
    def client(self):
        def build():
            from django.test import Client

            client = Client()
            client.force_login(self.admin)
            return client

        return self.shared("client", build)

    @property
    def customers(self) -> Customers:
        return self.shared("customers", lambda: Customers(self.admin))

    def analyze(self) -> None:
        """What autovacuum does after bulk inserts (it may be off here, and is slow to notice): planner
        statistics, the visibility map, GIN pending lists merged. VACUUM runs outside a transaction."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if self.vendor == "postgresql" else "ANALYZE")

    def raw_baseline(self, statements: list[str], reps: int) -> float:
        """Median ms of the same SELECTs through the driver plus json.dumps of the rows."""
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        return statistics.median(time_only(lambda i: raw_read(self.raw, selects), reps=reps))


SCENARIOS: dict[str, Callable[[Bench], None]] = {}


def scenario(name: str):
    """Register a scenario under ``name`` (for --only); scenarios run in registration order."""

    def register(function: Callable[[Bench], None]):
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} registered twice")
        SCENARIOS[name] = function
        return function

    return register


# -- shared data ------------------------------------------------------------------------------


def catalogs(bench: Bench) -> dict:
    def build():
        sizes = bench.sizes
        progress(f"catalog of {sizes.small_plan} tasks through the catalog services")
        small = build_catalog_with_services(bench.admin, "Bench Small", sizes.small_plan)
        progress(f"catalogs of {sizes.large_plan} and {sizes.graphql_plan} tasks with bulk_create")
        return {
            "small": small,
            "large": build_catalog_in_bulk("Bench Large", sizes.large_plan),
            "read": build_catalog_in_bulk("Bench Read", sizes.graphql_plan),
            "second": build_catalog_in_bulk("Bench Second", 20),
        }

    return bench.shared("catalogs", build)


def large_plans(bench: Bench) -> list:
    """Two plans of the large catalog, made through the service (status change and ingestion use them)."""

    def build():
        product = catalogs(bench)["large"]
        return [assign(bench.admin, bench.customers.new(), product).adoption_plan for _ in range(2)]

    return bench.shared("large_plans", build)


# -- plan creation ------------------------------------------------------------------------------


@scenario("plan-creation")
def plan_creation(bench: Bench) -> None:
    from django.db import connection
    from django.utils import timezone

    from adoption.models import AdoptionPlan
    from customers.models import CustomerProduct
    from telemetry.models import CustomerTelemetryAttribute

    sizes, admin, customers = bench.sizes, bench.admin, bench.customers
    small, large = catalogs(bench)["small"], catalogs(bench)["large"]
    service_plans = []

    def create_plan(product):
        def run(customer):
            service_plans.append(assign(admin, customer, product).adoption_plan)

        return run

    def raw_prepare(product):
        def prepare(i):
            now = timezone.now()
            return CustomerProduct.objects.create(
                customer=customers.new(),
                product=product,
                license_level=3,
                purchased_at=now,
                entitlements_changed_at=now,
            )

        return prepare

    def raw_create(product):
        def run(cp):
            raw_plan_create(
                bench.raw,
                customer_product_id=cp.pk,
                product_id=product.pk,
                product_name=product.name,
                level=3,
                now=connection.ops.adapt_datetimefield_value(timezone.now()),
            )

        return run

    for product, size, reps, target in (
        (small, sizes.small_plan, sizes.reps_small, 2000),
        (large, sizes.large_plan, sizes.reps_large, None),
    ):
        progress(f"plan creation, {size} tasks")
        times, queries, _ = measure(create_plan(product), reps=reps, prepare=lambda i: customers.new())
        raw_times = time_only(raw_create(product), reps=reps, prepare=raw_prepare(product))
        bench.add(
            Result(
                "plan creation (customer_product_assign)",
                f"{size} tasks",
                times,
                queries,
                target_ms=target,
                raw_ms=statistics.median(raw_times),
            )
        )

    # The baseline must write what the service writes: same tasks, weight and attribute copies.
    def shape(plan):
        plan.refresh_from_db()
        copies = CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).count()
        return plan.tasks.count(), plan.total_weight, copies

    raw_plan = AdoptionPlan.objects.filter(product=large).order_by("-pk").first()
    if shape(raw_plan) != shape(service_plans[-1]):
        raise RuntimeError(f"the raw-SQL baseline wrote {shape(raw_plan)}, the service {shape(service_plans[-1])}")


# -- status and progress ------------------------------------------------------------------------


@scenario("status-change")
def status_change(bench: Bench) -> None:
    from adoption.services import customer_task_update_status, plan_recompute_totals

    sizes = bench.sizes
    plan = large_plans(bench)[0]
    progress(f"manual status change on a {sizes.large_plan}-task plan")
    tasks = list(plan.tasks.order_by("pk")[: sizes.reps_small + 2])
    statuses = ("DONE", "IN_PROGRESS", "NOT_APPLICABLE")

    def change_status(i):
        customer_task_update_status(actor=bench.admin, task=tasks[i], status=statuses[i % 3], notes="bench")

    times, queries, _ = measure(change_status, reps=sizes.reps_small)
    bench.add(
        Result(
            "status change (customer_task_update_status)",
            f"{sizes.large_plan}-task plan",
            times,
            queries,
            target_ms=200,
        )
    )
    progress("progress recomputation")
    times, queries, _ = measure(lambda i: plan_recompute_totals(plan_ids=[plan.pk]), reps=sizes.reps_small)
    bench.add(
        Result(
            "progress calculation (plan_recompute_totals)",
            f"{sizes.large_plan}-task plan",
            times,
            queries,
            target_ms=100,
        )
    )


# -- telemetry ------------------------------------------------------------------------------------


@scenario("telemetry")
def telemetry(bench: Bench) -> None:
    from telemetry.evaluation import evaluate_customer_tasks
    from telemetry.models import CustomerTelemetryAttribute
    from telemetry.services import telemetry_ingest

    sizes = bench.sizes
    plan = large_plans(bench)[1]
    progress(f"telemetry_ingest of {sizes.ingest_tasks * 2} values over {sizes.ingest_tasks} tasks")
    attributes = CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).order_by(
        "customer_task__sequence_number", "customer_task_id", "order"
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
                actor=bench.admin, items=items_for(tasks, i), batch_id=f"bench-{tag}-{i}", channel="api"
            )
            if len(result.status_changes) != len(tasks):
                raise RuntimeError(f"expected {len(tasks)} status changes, got {len(result.status_changes)}")

        return run

    times, queries, _ = measure(ingest(ingest_task_ids, "bulk"), reps=sizes.reps_large)
    size = f"{len(ingest_task_ids) * 2} values/{len(ingest_task_ids)} tasks"
    bench.add(Result("telemetry_ingest + evaluation", size, times, queries))
    per_task = [t / len(ingest_task_ids) for t in times]
    bench.add(Result("  evaluation cost per task (ingest / tasks)", "1 task", per_task, None, target_ms=500))

    progress("telemetry_ingest for one task")
    one_task = task_ids[-1]
    times, queries, _ = measure(ingest([one_task], "one"), reps=sizes.reps_small)
    bench.add(Result("telemetry_ingest + evaluation", "2 values/1 task", times, queries, target_ms=500))

    progress("evaluate_customer_tasks")
    times, queries, _ = measure(lambda i: evaluate_customer_tasks(task_ids=[one_task]), reps=sizes.reps_small)
    bench.add(Result("evaluate_customer_tasks", "1 task", times, queries, target_ms=500))
    times, queries, _ = measure(lambda i: evaluate_customer_tasks(task_ids=task_ids), reps=sizes.reps_large)
    bench.add(Result("evaluate_customer_tasks (whole plan)", f"{len(task_ids)} tasks", times, queries))


# -- telemetry batches: the service, the HTTP API and raw executemany of the same rows --------------

BATCH_TASKS = 2500  # two attributes each: a 5,000-value batch sends one value per attribute
# Values per second, without status changes and when half the tasks of a batch change status: for one
# 5,000-value batch and, sustained, for 100,000 values sent as 20 batches of 5,000 one after the other.
SERVICE_VALUES_PER_S = {"no status change": 20_000, "half the tasks flip": 10_000}
RAW_RATIO = 3.0  # the service within 3x of executemany of the same value rows
HTTP_RATIO = 1.5  # the HTTP endpoint within 1.5x of the service


def batch_items(attributes, *, flip: bool, run: int) -> list[dict]:
    """One value per attribute. With `flip`, the first half of the attributes meet their criteria on
    even runs (their tasks become DONE, then NOT_STARTED again on odd runs: half the tasks change
    status every run); every other value meets nothing, so those tasks stay NOT_STARTED."""
    half = len(attributes) // 2
    items = []
    for i, attribute in enumerate(attributes):
        met = flip and run % 2 == 0 and i < half
        value = (50 if met else 1) if attribute.data_type == "NUMBER" else met
        items.append({"customerAttributeId": str(attribute.pk), "value": value, "source": "bench"})
    return items


def raw_value_insert(raw: RawSQL, items: list[dict], batch_id: str) -> None:
    """The same value rows written with the driver's executemany, in one transaction (the baseline)."""
    from django.utils import timezone

    from telemetry.models import CustomerTelemetryValue

    now = timezone.now()
    cur = raw.conn.cursor()
    cur.execute("BEGIN")
    cur.executemany(
        raw.sql(
            f"INSERT INTO {CustomerTelemetryValue._meta.db_table} (customer_attribute_id, value, source, batch_id, "
            "notes, observed_at, created_at) VALUES (%s, %j, %s, %s, %s, %s, %s)"
        ),
        [
            (int(item["customerAttributeId"]), json.dumps(item["value"]), item["source"], batch_id, "", now, now)
            for item in items
        ],
    )
    cur.execute("COMMIT")
    cur.close()


@scenario("telemetry-batches")
def telemetry_batches(bench: Bench) -> None:
    """Batches of 1,000 and 5,000 values (without status changes, and with half the tasks flipping)
    through telemetry_ingest and POST /api/v1/telemetry, next to raw executemany of the same value
    rows timed in turn with them; 100,000 values sent as batches of 5,000, one after the other,
    without status changes and with half the tasks flipping in each, at the rates of
    SERVICE_VALUES_PER_S (no collection of garbage between the batches: what they leave behind is
    part of their cost), with the raw baseline of as many 5,000-value batches beside them."""
    from django.test import Client

    from telemetry.models import CustomerTelemetryAttribute
    from telemetry.services import api_key_create, telemetry_ingest

    sizes = bench.sizes
    progress(f"telemetry batches: a plan of {BATCH_TASKS} tasks with {BATCH_TASKS * 2} attributes")
    product = build_catalog_in_bulk("Bench Batches", BATCH_TASKS)
    customer = bench.customers.new()
    plan = assign(bench.admin, customer, product).adoption_plan
    bench.analyze()
    attributes = list(
        CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).order_by("customer_task_id", "pk")
    )
    api_key, secret = api_key_create(actor=bench.admin, customer=customer, name="bench")
    client = Client()
    serial = iter(range(1_000_000))

    def reset():
        # Every task back to values that meet nothing: a batch without status changes changes none,
        # and a flipping one starts from there.
        telemetry_ingest(actor=api_key, items=batch_items(attributes, flip=False, run=1), customer=customer)

    def service(chosen, flip):
        def run(i):
            result = telemetry_ingest(
                actor=api_key,
                items=batch_items(chosen, flip=flip, run=i),
                batch_id=f"bench-batch-{next(serial)}",
                customer=customer,
            )
            expected = len(chosen) // 4 if flip else 0  # half the tasks of the chosen attributes
            if len(result.status_changes) != expected:
                raise RuntimeError(f"expected {expected} status changes, got {len(result.status_changes)}")

        return run

    def http(chosen, flip):
        def run(i):
            body = {"batchId": f"bench-http-{next(serial)}", "values": batch_items(chosen, flip=flip, run=i)}
            response = client.post(
                "/api/v1/telemetry",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            if response.status_code != 200 or response.json()["stored"] != len(chosen):
                raise RuntimeError(f"POST /api/v1/telemetry answered {response.status_code}: {response.content[:200]}")

        return run

    def raw(chosen):
        return lambda i: raw_value_insert(bench.raw, batch_items(chosen, flip=False, run=i), f"raw-{next(serial)}")

    reset()
    raw_medians = {}
    for count in (1000, 5000):
        chosen = attributes[:count]
        for label, flip in (("no status change", False), ("half the tasks flip", True)):
            size = f"{count} values, {label}"
            # The baseline is timed in turn with the service's runs (see measure_beside).
            times, queries, raw_times = measure_beside(service(chosen, flip), raw(chosen), reps=sizes.reps_large)
            raw_ms = statistics.median(raw_times)
            raw_medians.setdefault(count, []).extend(raw_times)
            bench.add(Result("  raw SQL baseline: executemany of the value rows, in turn", size, raw_times))
            targets = {}
            if count == 5000:
                targets = {"target_ms": count / SERVICE_VALUES_PER_S[label] * 1000, "max_ratio": RAW_RATIO}
            service_result = bench.add(Result("telemetry_ingest", size, times, queries, raw_ms=raw_ms, **targets))
            reset()
            # Rate limit: the HTTP runs stay far below the per-key limit (warm-up, count, reps).
            times, queries, _ = measure(http(chosen, flip), reps=sizes.reps_large)
            reset()
            bench.add(
                Result(
                    "  POST /api/v1/telemetry (ratio: vs the service)",
                    size,
                    times,
                    queries,
                    raw_ms=service_result.median,
                    max_ratio=HTTP_RATIO if count == 5000 else None,
                )
            )

    batches = sizes.batch_total // 5000
    raw_batch_ms = statistics.median(raw_medians[5000])
    for label, flip in (("no status change", False), ("half the tasks flip", True)):
        progress(f"{sizes.batch_total:,} values in batches of 5,000, {label}")
        gc.collect()
        start = time.perf_counter()
        for i in range(batches):
            service(attributes[:5000], flip)(i)
        total_ms = (time.perf_counter() - start) * 1000
        reset()
        bench.add(
            Result(
                f"telemetry_ingest in batches of 5,000 ({label})",
                f"{sizes.batch_total:,} values",
                [total_ms],
                target_ms=sizes.batch_total / SERVICE_VALUES_PER_S[label] * 1000,
                raw_ms=raw_batch_ms * batches,
                note=f"{sizes.batch_total / total_ms * 1000:,.0f} values/s; raw: {batches} x the 5,000-value baseline",
            )
        )


# -- GraphQL reads --------------------------------------------------------------------------------


def read_plan(bench: Bench):
    """A plan of the GraphQL catalog with values (half the attributes twice) and a third of it DONE."""

    def build():
        from adoption.models import CustomerTask
        from adoption.services import customer_tasks_bulk_update_status
        from telemetry.models import CustomerTelemetryAttribute
        from telemetry.services import telemetry_ingest

        progress(f"a {bench.sizes.graphql_plan}-task plan with values for GraphQL")
        plan = assign(bench.admin, bench.customers.new(), catalogs(bench)["read"]).adoption_plan
        attributes = list(CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).order_by("pk"))
        for n, (chosen, met) in enumerate(((attributes, False), (attributes[1::2], True))):
            telemetry_ingest(
                actor=bench.admin,
                batch_id=f"bench-read-{n}",
                items=[
                    {"customerAttributeId": str(a.pk), "value": (50 if met else 1) if a.data_type == "NUMBER" else met}
                    for a in chosen
                ],
            )
        task_ids = list(CustomerTask.objects.filter(adoption_plan=plan).order_by("pk").values_list("pk", flat=True))
        customer_tasks_bulk_update_status(actor=bench.admin, plan=plan, task_ids=task_ids[::3], status="DONE")
        bench.analyze()
        return plan

    return bench.shared("read_plan", build)


@scenario("graphql-whole-plan")
def graphql_whole_plan(bench: Bench) -> None:
    sizes, plan = bench.sizes, read_plan(bench)
    progress("GraphQL whole-plan query")

    def whole_plan(i):
        data = graphql(bench.client, WHOLE_PLAN, {"id": str(plan.pk)})
        if len(data["adoptionPlan"]["tasks"]) != sizes.graphql_plan:
            raise RuntimeError("the whole-plan query did not return every task")

    times, queries, statements = measure(whole_plan, reps=sizes.reps_small)
    bench.add(
        Result(
            "GraphQL adoptionPlan (tasks, attributes, latestValue, ...)",
            f"{sizes.graphql_plan} tasks",
            times,
            queries,
            target_ms=150,
            raw_ms=bench.raw_baseline(statements, sizes.reps_small),
            max_ratio=3,
            note="the endpoint keeps documents that passed validation by their text, so the timed runs "
            "after the warm-up skip parsing and validation; the next line clears that cache before each run",
        )
    )
    from config.graphql.documents import valid_documents

    bench.add(
        Result(
            "  the same, document parsed and validated every run",
            f"{sizes.graphql_plan} tasks",
            time_only(whole_plan, reps=sizes.reps_small, prepare=lambda i: valid_documents.clear() or i),
        )
    )


@scenario("graphql-customers")
def graphql_customers(bench: Bench) -> None:
    from adoption.models import AdoptionPlan
    from customers.models import Customer

    sizes = bench.sizes
    small, second = catalogs(bench)["small"], catalogs(bench)["second"]
    progress(f"{sizes.customers} customers with 2 plans each")
    for _ in range(sizes.customers):
        customer = bench.customers.new()
        assign(bench.admin, customer, small)
        assign(bench.admin, customer, second)
    bench.analyze()
    count = Customer.objects.count()

    def customers_progress(i):
        data = graphql(bench.client, CUSTOMERS_PROGRESS)
        if len(data["customers"]) != count:
            raise RuntimeError("the customers query did not return every customer")

    times, queries, statements = measure(customers_progress, reps=sizes.reps_small)
    bench.add(
        Result(
            "GraphQL customers { products { adoptionPlan { progress } } }",
            f"{count} customers/{AdoptionPlan.objects.count()} plans",
            times,
            queries,
            target_ms=200,
            raw_ms=bench.raw_baseline(statements, sizes.reps_small),
        )
    )


# -- large portfolios ---------------------------------------------------------------------------

PORTFOLIO_PREFIX = "Portfolio customer"
PORTFOLIO_JOBS = 5_000
BENCH_BATCH = 5_000  # telemetry values per batch id
TIME_BASED_CRITERION = {"op": "within_days", "value": 30}


def portfolio(bench: Bench) -> dict:
    """``sizes.portfolio`` customers with 2 plans each, from the bulk generator (timed: a scenario)."""

    def build():
        from adoption.services.portfolio import portfolio_generate
        from telemetry.models import TelemetryAttribute

        products = [
            build_catalog_in_bulk(f"Portfolio {name}", size) for name, size in (("Platform", 14), ("Insight", 10))
        ]
        # Every third task also has a time-based criterion: the daily re-evaluation's work.
        TelemetryAttribute.objects.bulk_create(
            [
                TelemetryAttribute(
                    task=task, name="last_login", data_type="TIMESTAMP", success_criteria=TIME_BASED_CRITERION, order=9
                )
                for product in products
                for task in product.tasks.order_by("sequence_number")[::3]
            ]
        )
        count = bench.sizes.portfolio
        progress(f"generating {count:,} customers with {2 * count:,} plans")
        started = time.perf_counter()
        counts = portfolio_generate(
            actor=bench.admin,
            customers=count,
            products=products,
            per_customer=2,
            prefix=PORTFOLIO_PREFIX,
            progress=lambda done, total: progress(f"  {done:,}/{total:,} customers") if done % 2000 == 0 else None,
        )
        elapsed = (time.perf_counter() - started) * 1000
        values = portfolio_history(bench)
        bench.analyze()
        width = max(6, len(str(count)))
        return {"counts": counts, "ms": elapsed, "term": f"{count * 4 // 10 + 7:0{width}d}", "values": values}

    return bench.shared("portfolio", build)


def portfolio_history(bench: Bench) -> int:
    """What a portfolio accumulates in use, written in bulk (bench data, not through the services):
    a telemetry value for every time-based attribute (observed 0 to 59 days ago, so about half are
    older than their 30-day window) and for the numeric attribute of every other plan, the attributes'
    last_seen_at as ingestion records it, status history for half the tasks, and finished background
    jobs. Returns the number of values."""
    from django.db import transaction
    from django.db.models import Max, OuterRef, Subquery
    from django.utils import timezone

    from adoption.models import Job
    from adoption.services.portfolio import insert_rows
    from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue

    now = timezone.now()
    progress("telemetry values and jobs of the portfolio")
    rows = (
        CustomerTelemetryAttribute.objects.filter(name__in=("last_login", "active_users"))
        .order_by("pk")
        .values_list("pk", "name", "customer_task__adoption_plan_id")
    )
    values = []
    for i, (pk, name, plan_id) in enumerate(rows.iterator(chunk_size=10_000)):
        if name == "last_login":
            observed = now - timedelta(days=i % 60, hours=1)
            value = observed.isoformat()
        elif plan_id % 2 == 0:
            observed, value = now - timedelta(days=i % 20, hours=1), i % 20
        else:
            continue
        values.append(
            CustomerTelemetryValue(
                customer_attribute_id=pk,
                value=value,
                observed_at=observed,
                source="bench",
                batch_id=f"bench-{len(values) // BENCH_BATCH}",
            )
        )
    for start in range(0, len(values), 20_000):
        with transaction.atomic():
            insert_rows(CustomerTelemetryValue, values[start : start + 20_000])
    newest = (
        CustomerTelemetryValue.objects.filter(customer_attribute_id=OuterRef("pk"))
        .order_by()
        .values("customer_attribute_id")
        .annotate(newest=Max("observed_at"))
        .values("newest")
    )
    CustomerTelemetryAttribute.objects.filter(name__in=("last_login", "active_users")).update(
        last_seen_at=Subquery(newest)
    )
    # Status history: every other task started (by telemetry, or by hand for one in ten), every
    # fourth one finished since; the tasks themselves keep their status (the history is read here).
    from adoption.models import CustomerTask, TaskStatusChange

    history = []
    tasks = CustomerTask.objects.order_by("pk").values_list("pk", flat=True)
    for i, task_id in enumerate(tasks.iterator(chunk_size=10_000)):
        if i % 2:
            continue
        by_hand = i % 20 == 0
        steps = [("NOT_STARTED", "IN_PROGRESS")] + ([("IN_PROGRESS", "DONE")] if i % 4 == 0 else [])
        for n, (before, after) in enumerate(steps):
            history.append(
                TaskStatusChange(
                    customer_task_id=task_id,
                    from_status=before,
                    to_status=after,
                    source="MANUAL" if by_hand else "TELEMETRY",
                    actor="bench-admin" if by_hand else "telemetry",
                    note="Confirmed on the weekly call." if by_hand else "",
                    evidence={} if by_hand else {"computedStatus": after, "attributes": []},
                    created_at=now - timedelta(days=40 - 20 * n, minutes=i % 1440),
                )
            )
    for start in range(0, len(history), 20_000):
        with transaction.atomic():
            insert_rows(TaskStatusChange, history[start : start + 20_000])
    kinds, statuses = list(Job.Kind), (Job.Status.SUCCEEDED, Job.Status.FAILED)
    with transaction.atomic():
        insert_rows(
            Job,
            [
                Job(
                    kind=kinds[i % len(kinds)],
                    status=statuses[i % 7 == 0],
                    done=100,
                    total=100,
                    message=f"bench job {i}",
                    started_by=bench.admin,
                    started_at=now - timedelta(hours=i),
                    finished_at=now - timedelta(hours=i) + timedelta(minutes=5),
                )
                for i in range(PORTFOLIO_JOBS)
            ],
        )
    return len(values)


@scenario("portfolio-generate")
def portfolio_generate_timing(bench: Bench) -> None:
    data = portfolio(bench)
    counts = data["counts"]
    rows = counts.customers + counts.assignments + counts.plans + counts.tasks + counts.attributes
    bench.add(
        Result(
            "generate_portfolio (bulk, same rows as the services)",
            f"{counts.customers:,} customers/{counts.plans:,} plans",
            [data["ms"]],
            target_ms=None if bench.quick else 300_000,
            note=f"{counts.tasks:,} tasks, {counts.attributes:,} attributes; {rows / data['ms'] * 1000:,.0f} rows/s "
            f"(then, outside the timing, {data['values']:,} telemetry values and {PORTFOLIO_JOBS:,} jobs)",
        )
    )


def http_read(bench: Bench, name: str, size: str, path: str, params: dict | None = None, *, expect: Callable) -> list:
    """Time GET ``path`` (target 200 ms and its raw baseline); ``expect(response)`` checks the answer."""

    def run(i):
        response = bench.client.get(path, params or {})
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params or ''} answered {response.status_code}")
        expect(response)

    times, queries, statements = measure(run, reps=bench.sizes.reps_small)
    bench.add(
        Result(name, size, times, queries, target_ms=200, raw_ms=bench.raw_baseline(statements, bench.sizes.reps_small))
    )
    return statements


def rows_in(response, expected: int | None = None, *, at_least: int = 1) -> int:
    """The number of rows a changelist or customer list page shows, checked."""
    html = response.content.decode()
    marker = 'data-testid="customer-row"' if 'data-testid="customer-row"' in html else '<th class="field-'
    rows = html.count(marker)
    if rows < at_least or (expected is not None and rows != expected):
        raise RuntimeError(f"the page shows {rows} rows")
    return rows


def explain_check(bench: Bench, label: str, statements: list[str], indexes: tuple[str, ...]) -> None:
    """EXPLAIN ANALYZE the search statement of a request (the one with LIKE): does an index answer it?"""
    if bench.vendor != "postgresql":
        return
    searches = [s for s in statements if " LIKE " in s.upper() and s.lstrip().upper().startswith("SELECT")]
    if not searches:
        raise RuntimeError(f"{label}: the request ran no search statement")
    statement = max(searches, key=len)
    cursor = bench.raw.conn.cursor()
    plan = "\n".join(row[0] for row in cursor.execute("EXPLAIN ANALYZE " + statement).fetchall())
    cursor.close()
    used = [index for index in indexes if index in plan]
    executed = re.search(r"Execution Time: ([\d.]+) ms", plan)
    # A quick run's tables are small enough that reading them whole is the planner's right choice.
    bench.add(
        Result(
            f"  EXPLAIN ANALYZE: {label}",
            "search statement",
            [float(executed.group(1))] if executed else [],
            check=None if bench.quick else bool(used),
            note=("uses " + ", ".join(used)) if used else "no trigram index in the plan:\n" + plan,
        )
    )


@scenario("portfolio-pages")
def portfolio_pages(bench: Bench) -> None:
    data = portfolio(bench)
    count = data["counts"].customers
    size = f"{count:,} customers"
    progress("customer list page and search")
    http_read(bench, "page /customers/ (first page of 25)", size, "/customers/", expect=lambda r: rows_in(r, 25))
    statements = http_read(
        bench,
        "page /customers/?q= (search)",
        size,
        "/customers/",
        {"q": data["term"]},
        expect=lambda r: rows_in(r),
    )
    explain_check(bench, "customer list search", statements, ("customer_name_trgm",))


CUSTOMERS_PAGE = """
query Page($first: Int, $offset: Int, $search: String) {
  customers(first: $first, offset: $offset, search: $search) {
    id name products { id licenseLevel product { name } adoptionPlan { id progressPercentage totalTasks needsSync } }
  }
}
"""


@scenario("portfolio-graphql")
def portfolio_graphql(bench: Bench) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data = portfolio(bench)
    count = data["counts"].customers
    progress("GraphQL customers page and search")
    for label, variables, expected in (
        ("GraphQL customers(first: 100, offset: middle) with plans", {"first": 100, "offset": count // 2}, 100),
        ("GraphQL customers(search:) with plans", {"search": data["term"]}, None),
    ):

        def run(i, variables=variables, expected=expected, label=label):
            customers = graphql(bench.client, CUSTOMERS_PAGE, variables)["customers"]
            if not customers or (expected is not None and len(customers) != expected):
                raise RuntimeError(f"{label}: {len(customers)} customers")

        times, queries, statements = measure(run, reps=bench.sizes.reps_small)
        bench.add(
            Result(
                label,
                f"{count:,} customers",
                times,
                queries,
                target_ms=200,
                raw_ms=bench.raw_baseline(statements, bench.sizes.reps_small),
            )
        )
    with CaptureQueriesContext(connection) as captured:
        graphql(bench.client, CUSTOMERS_PAGE, {"search": data["term"]})
    explain_check(
        bench, "GraphQL customer search", [q["sql"] for q in captured.captured_queries], ("customer_name_trgm",)
    )


@scenario("portfolio-admin")
def portfolio_admin(bench: Bench) -> None:
    """Every admin changelist that grows with the portfolio: its first page, a narrow search (the
    customer number, which finds one customer's rows; a batch of BENCH_BATCH values; one job) and a
    broad one (a word in a large share of the rows)."""
    data = portfolio(bench)
    counts = data["counts"]
    term = data["term"]
    progress("admin changelists and searches")
    for label, path, size, search, indexes in (
        (
            "customers",
            "/admin/customers/customer/",
            f"{counts.customers:,} customers",
            term,
            ("customer_name_trgm",),
        ),
        (
            "assignments",
            "/admin/customers/customerproduct/",
            f"{counts.assignments:,} assignments",
            term,
            ("customer_name_trgm",),
        ),
        ("plans", "/admin/adoption/adoptionplan/", f"{counts.plans:,} plans", term, ("customer_name_trgm",)),
        (
            "customer tasks",
            "/admin/adoption/customertask/",
            f"{counts.tasks:,} tasks",
            term,
            ("customer_name_trgm", "ctask_name_trgm"),
        ),
        (
            "customer attributes",
            "/admin/telemetry/customertelemetryattribute/",
            f"{counts.attributes:,} attributes",
            term,
            ("customer_name_trgm", "ctattr_name_trgm"),
        ),
        (
            "telemetry values",
            "/admin/telemetry/customertelemetryvalue/",
            f"{data['values']:,} values",
            f"bench-{data['values'] // BENCH_BATCH // 2}",  # a batch in the middle
            (),
        ),
        (
            "audit log",
            "/admin/audit/auditlog/",
            f"{counts.customers + 2 * counts.plans:,}+ entries",
            term,
            ("audit_summary_trgm",),
        ),
        ("jobs", "/admin/adoption/job/", f"{PORTFOLIO_JOBS:,} jobs", "job 4007", ()),
        (
            "status history",
            "/admin/adoption/taskstatuschange/",
            f"{counts.tasks * 3 // 4:,}+ entries",
            term,
            ("customer_name_trgm",),
        ),
    ):
        http_read(bench, f"admin {label}: first page", size, path, expect=lambda r: rows_in(r, 100))
        statements = http_read(bench, f"admin {label}: search", size, path, {"q": search}, expect=lambda r: rows_in(r))
        if indexes:
            explain_check(bench, f"admin {label} search", statements, indexes)
    # Broad searches: a word in a large share of the rows at any portfolio size (every task's name has
    # "task", every plan's product is a "Portfolio" one, each task has an active_users attribute, about
    # half the values are last_login ones). The list counts up to its cap and pages along its ordering
    # index instead of counting and sorting every match.
    for label, path, size, search in (
        ("customers", "/admin/customers/customer/", f"{counts.customers:,} customers", "portfolio"),
        ("assignments", "/admin/customers/customerproduct/", f"{counts.assignments:,} assignments", "portfolio"),
        ("plans", "/admin/adoption/adoptionplan/", f"{counts.plans:,} plans", "portfolio"),
        ("customer tasks", "/admin/adoption/customertask/", f"{counts.tasks:,} tasks", "task"),
        (
            "customer attributes",
            "/admin/telemetry/customertelemetryattribute/",
            f"{counts.attributes:,} attributes",
            "active",
        ),
        ("telemetry values", "/admin/telemetry/customertelemetryvalue/", f"{data['values']:,} values", "last_login"),
        ("audit log", "/admin/audit/auditlog/", f"{counts.customers + 2 * counts.plans:,}+ entries", "customer"),
        ("status history", "/admin/adoption/taskstatuschange/", f"{counts.tasks * 3 // 4:,}+ entries", "telemetry"),
    ):
        http_read(
            bench,
            f"admin {label}: broad search {search!r}",
            size,
            path,
            {"q": search},
            expect=lambda r: rows_in(r, 100),
        )


@scenario("daily-reevaluation")
def daily_reevaluation(bench: Bench) -> None:
    """The daily job over the whole portfolio (every plan's tasks with a within_days criterion, about
    one task in three, each with its values), once: it changes statuses the first time, so it is not
    repeated. Its baseline replays the statements it ran (reads, row locks, updates, history and audit
    inserts) through the driver in one transaction, rolled back: what the same work costs without
    Python deciding it. The ratio is a target on PostgreSQL, the production database; SQLite answers
    in-process in microseconds, so there the ratio only measures Python and is reported."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from adoption.models import AdoptionPlan
    from telemetry.evaluation import telemetry_reevaluate_time_based

    portfolio(bench)
    plans = AdoptionPlan.objects.count()
    progress(f"daily re-evaluation over {plans:,} plans")
    gc.collect()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        tasks, changes = telemetry_reevaluate_time_based()
        elapsed = (time.perf_counter() - started) * 1000
    statements = [q["sql"] for q in captured.captured_queries]
    bench.add(
        Result(
            "daily re-evaluation (telemetry_reevaluate_time_based)",
            f"{plans:,} plans",
            [elapsed],
            len(statements),
            target_ms=60_000,
            raw_ms=raw_replay(bench.raw, statements),
            max_ratio=3 if bench.vendor == "postgresql" else None,
            note=f"{tasks:,} tasks re-evaluated, {len(changes):,} status changes",
        )
    )


def raw_replay(raw: RawSQL, statements: list[str]) -> float:
    """ms to run these statements through the driver in one transaction that is then rolled back."""
    cur = raw.conn.cursor()
    cur.execute("BEGIN")
    started = time.perf_counter()
    try:
        for statement in statements:
            if statement.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK") or statement.upper().startswith(
                ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
            ):
                continue
            cur.execute(statement)
            if cur.description is not None:
                cur.fetchall()
        return (time.perf_counter() - started) * 1000
    finally:
        cur.execute("ROLLBACK")
        cur.close()


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller plans and portfolio, fewer repetitions")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only this scenario (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"write results here (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    sizes = QUICK if args.quick else FULL
    chosen = [name for name in SCENARIOS if not args.only or name in args.only]

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
        bench = Bench(sizes=sizes, quick=args.quick, raw=raw, vendor=vendor)
        try:
            for name in chosen:
                SCENARIOS[name](bench)
        finally:
            raw.close()
        where = database_url.rsplit("/", 1)[-1] if vendor == "postgresql" else "temporary file"
    total = time.perf_counter() - started

    results = bench.results
    print()
    print(
        f"Benchmarks ({'quick' if args.quick else 'full'}): {vendor} {version} ({where}), "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"median and max of {sizes.reps_small} runs ({sizes.reps_large} for the large ones) after a warm-up"
    )
    print()
    print_table(results)
    failed = [r for r in results if r.passed is False]
    targeted = [r for r in results if r.has_target]
    print()
    print("PASS: every timed run beats the time target and the median is within the ratio of its raw-SQL")
    print("baseline (same rows with executemany; same SELECTs + json.dumps); info: measured, no target.")
    print(
        f"{len(failed)} of {len(targeted)} targets failed"
        + (": " + "; ".join(f"{r.name.strip()} {r.size}" for r in failed) if failed else "")
        + f"; total {total:.0f} s"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "mode": "quick" if args.quick else "full",
                "database": f"{vendor} {version}",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "scenarios": chosen,
                "total_s": round(total, 1),
                "failed": len(failed),
                "results": [r.as_json() for r in results],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"results written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
