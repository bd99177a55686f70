#!/usr/bin/env python
"""Load test: `make serve` on loopback under a mixed locust load, with 1 and then 2 app server processes.

    python bench/loadtest.py                       # 60 s per run, 20 simulated users
    python bench/loadtest.py --run-time 30s --users 10 --processes 1,2

Against a throwaway PostgreSQL database ``loadtest_<pid>`` created on the server of
LOADTEST_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432 (the database named
in the URL is not touched; CREATE/DROP DATABASE go through the server's ``postgres`` database), and
dropped at the end whatever happens. Steps:

1. migrate and seed: the demo catalog and users (seed_demo), 50 customers with two plans each (the
   bulk generator generate_portfolio when the project has it, else the customer and assignment
   services), 10 CSMs with known passwords and a personal access token each, an API key per customer;
2. for each process count: `make serve` with WEB_CONCURRENCY=N on a free port, rate limits and the
   sign-in lockout switched off by environment variables, then locust headless for --run-time with the
   load of bench/locustfile.py;
3. a table per run: requests/s, p50/p95/p99 latency and errors by status for each kind of request;
4. `manage.py check_plan_totals`: every plan's stored totals against a fresh count.

Exit status 1 on any 5xx answer, any connection error, or any plan whose totals differ.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"

CUSTOMERS = 50
CSMS = 10
CSM_PASSWORD = "load-test-password"
HOT_CUSTOMERS = 3

# Rate limits and the sign-in lockout would refuse most of a load run: off (or out of reach) here.
LOAD_ENV = {
    "GRAPHQL_RATE_LIMIT": "0",
    "TELEMETRY_RATE_LIMIT": "0",
    "LOGIN_FAILURE_LIMIT": "1000000",
    "DEBUG": "0",
    "DB_POOL": "1",
    "LOG_LEVEL": "WARNING",
    "CELERY_TASK_ALWAYS_EAGER": "1",
}
KINDS = ["dashboard", "status (page)", "graphql plan", "status (graphql)", "telemetry", "login page", "login"]


# ---------------------------------------------------------------------------------------------
# Seeding (runs as `bench/loadtest.py seed OUT`, a subprocess with the throwaway DATABASE_URL)
# ---------------------------------------------------------------------------------------------


def attribute_values(data_type: str, criterion) -> list:
    """A few values of the attribute's type to send; the criterion's own value among them when it has
    one, so some batches meet the criteria and move tasks, and others move them back."""
    target = criterion.get("value") if isinstance(criterion, dict) else None
    if data_type == "BOOLEAN":
        return [True, False]
    if data_type == "NUMBER":
        base = target if isinstance(target, int | float) and not isinstance(target, bool) else 50
        if isinstance(target, list) and target and isinstance(target[0], int | float):
            base = target[0]
        return [base, base + 10, max(base - 10, 0), 0]
    if data_type == "STRING":
        choices = ["enabled", "disabled"]
        if isinstance(target, str):
            choices.append(target)
        elif isinstance(target, list):
            choices += [item for item in target if isinstance(item, str)][:2]
        return choices
    if data_type == "TIMESTAMP":
        return ["2026-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2026-11-29T12:00:00Z"]
    return [{"enabled": True, "count": 3, "objectives": [{"name": "load", "target": 99.5}]}, {"enabled": False}]


def seed(out_path: str) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from adoption.models import AdoptionPlan, CustomerTask
    from customers.models import Customer, Role, UserProfile
    from customers.services import customer_set_assignees, personal_token_issue
    from telemetry.models import CustomerTelemetryAttribute
    from telemetry.services import api_key_create

    devnull = open(os.devnull, "w")  # noqa: SIM115 (closed with the process)
    call_command("seed_demo", stdout=devnull)
    admin = get_user_model().objects.get(username="admin")
    extra = CUSTOMERS - Customer.objects.count()
    call_command("generate_portfolio", customers=extra, per_customer=2, prefix="Load customer", stdout=devnull)

    User = get_user_model()
    customers = list(Customer.objects.order_by("pk"))
    csms = []
    for number in range(1, CSMS + 1):
        user = User(username=f"load.csm{number:02d}", email=f"load.csm{number:02d}@example.com")
        user.set_password(CSM_PASSWORD)
        user.save()
        UserProfile.objects.update_or_create(user=user, defaults={"role": Role.CSM})
        csms.append(user)
    assignees = defaultdict(list)
    for index, customer in enumerate(customers):
        assignees[customer.pk].append(csms[index % CSMS])
    for customer in customers:
        customer_set_assignees(actor=admin, customer=customer, users=assignees[customer.pk])

    tasks_by_plan = defaultdict(list)
    for plan_id, task_id in CustomerTask.objects.filter(is_archived=False).values_list("adoption_plan_id", "pk"):
        tasks_by_plan[plan_id].append(task_id)
    plans_by_customer = defaultdict(list)
    for plan_id, customer_id in AdoptionPlan.objects.values_list("pk", "customer_product__customer_id"):
        if tasks_by_plan[plan_id]:
            plans_by_customer[customer_id].append({"id": plan_id, "tasks": tasks_by_plan[plan_id]})

    data = {"hot_customers": HOT_CUSTOMERS, "csms": [], "telemetry": []}
    for number, user in enumerate(csms):
        _token, raw = personal_token_issue(actor="system", user=user, name="load test")
        mine = [customer.pk for index, customer in enumerate(customers) if index % CSMS == number]
        plans = [plan for customer_id in mine for plan in plans_by_customer[customer_id]]
        data["csms"].append({"username": user.username, "password": CSM_PASSWORD, "token": raw, "plans": plans})

    attributes = defaultdict(list)
    rows = CustomerTelemetryAttribute.objects.filter(is_active=True, customer_task__is_archived=False).values_list(
        "pk", "customer_task__adoption_plan__customer_product__customer_id", "data_type", "success_criteria"
    )
    for pk, customer_id, data_type, criterion in rows:
        attributes[customer_id].append({"id": pk, "values": attribute_values(data_type, criterion)})
    # The customers with the most attributes first: they are the "hot" ones most batches go to.
    for customer in sorted(customers, key=lambda c: -len(attributes[c.pk])):
        if not attributes[customer.pk]:
            continue
        _key, raw = api_key_create(actor="system", customer=customer, name="load test")
        data["telemetry"].append({"customer": customer.pk, "key": raw, "attributes": attributes[customer.pk]})

    Path(out_path).write_text(json.dumps(data))
    print(
        f"seeded {len(customers)} customers, {AdoptionPlan.objects.count()} plans, "
        f"{CustomerTask.objects.count()} tasks, {CSMS} CSMs with tokens, {len(data['telemetry'])} API keys",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# The throwaway database, the server, locust
# ---------------------------------------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("LOADTEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"the load test needs PostgreSQL: DATABASE_URL must be a postgres:// URL, got {url!r}")
    return url


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        connection.execute(statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base: str, server: subprocess.Popen, log_path: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"make serve stopped (exit {server.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer /healthz within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """Stop make and the gunicorn it started (their own process group), gently first."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_load(env: dict, processes: int, args, workdir: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = workdir / f"serve-{processes}.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "serve", f"WEB_CONCURRENCY={processes}", f"PORT={port}", "HOST=127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_health(base, server, log_path)
        print(
            f"[{processes} process(es)] serving on {base}; locust: {args.users} users for {args.run_time}", flush=True
        )
        prefix = workdir / f"run{processes}"
        locust = subprocess.run(
            [
                str(Path(PYTHON).with_name("locust")),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--host",
                base,
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.users),
                "--run-time",
                args.run_time,
                "--stop-timeout",
                "10",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "ERROR",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if not (prefix.parent / f"{prefix.name}_stats.csv").exists():
            raise SystemExit(f"locust wrote no statistics (exit {locust.returncode}):\n{locust.stderr[-3000:]}")
    finally:
        stop(server)
    stats = read_stats(prefix)
    # The server's own account of what went wrong (tracebacks, ERROR lines), shown when it answered 5xx.
    stats["server_errors"] = [
        line.rstrip()
        for line in log_path.read_text(errors="replace").splitlines()
        if "ERROR" in line or "Traceback" in line
    ]
    return stats


def read_stats(prefix: Path) -> dict:
    """{kind: {requests, rps, p50, p95, p99, errors: {label: count}}} from locust's CSV files."""
    stats = {}
    with open(f"{prefix}_stats.csv", newline="") as stats_file:
        for row in csv.DictReader(stats_file):
            name = "all" if row["Name"] == "Aggregated" else row["Name"]
            stats[name] = {
                "requests": int(row["Request Count"]),
                "rps": float(row["Requests/s"]),
                "p50": row["50%"],
                "p95": row["95%"],
                "p99": row["99%"],
                "errors": defaultdict(int),
            }
    with open(f"{prefix}_failures.csv", newline="") as failures_file:
        for row in csv.DictReader(failures_file):
            label = row["Error"].removeprefix("CatchResponseError(").strip("')\"")
            count = int(row["Occurrences"])
            if row["Name"] in stats:
                stats[row["Name"]]["errors"][label] += count
            stats["all"]["errors"][label] += count
    return stats


def print_table(processes: int, stats: dict) -> None:
    print(f"\n{processes} app server process(es) (WEB_CONCURRENCY={processes})")
    header = f"{'kind':<18} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  errors"
    print(header)
    print("-" * len(header))
    for kind in [*KINDS, "all"]:
        if kind not in stats:
            continue
        row = stats[kind]
        errors = ", ".join(f"{label} x{count}" for label, count in sorted(row["errors"].items())) or "-"
        print(
            f"{kind:<18} {row['requests']:>8} {row['rps']:>7.1f} {row['p50']:>7} {row['p95']:>7} {row['p99']:>7}  {errors}"
        )


def is_fatal(label: str) -> bool:
    return label.startswith("HTTP 5") or label == "connection error"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    seed_parser = sub.add_parser("seed", help="(internal) seed the database of DATABASE_URL, write the load data")
    seed_parser.add_argument("out")
    parser.add_argument(
        "--run-time",
        default=os.environ.get("LOADTEST_RUN_TIME", "60s"),
        help="per run, e.g. 60s, 2m (LOADTEST_RUN_TIME)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=int(os.environ.get("LOADTEST_USERS", "20")),
        help="simulated users (LOADTEST_USERS)",
    )
    parser.add_argument("--processes", default="1,2", help="app server process counts to run, comma-separated")
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.out)
        return 0
    counts = [int(item) for item in args.processes.split(",") if item.strip()]
    if not counts or min(counts) < 1 or args.users < 1:
        parser.error("--processes needs positive counts and --users at least 1")

    url = server_url()
    name = f"loadtest_{os.getpid()}"
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "PRODUCTION")}
    with tempfile.TemporaryDirectory(prefix="adoption-loadtest-") as folder:
        workdir = Path(folder)
        env.update(
            LOAD_ENV,
            DATABASE_URL=with_database(url, name),
            STATIC_ROOT=str(workdir / "static"),
            LOADTEST_DATA=str(workdir / "data.json"),
        )
        started = time.perf_counter()
        admin_sql(url, f'CREATE DATABASE "{name}"')
        try:
            print(f"database {name}: migrating and seeding", flush=True)
            subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
            subprocess.run([PYTHON, __file__, "seed", env["LOADTEST_DATA"]], cwd=ROOT, env=env, check=True)
            results = {processes: run_load(env, processes, args, workdir) for processes in counts}
            for processes, stats in results.items():
                print_table(processes, stats)
            print()
            check = subprocess.run([PYTHON, "manage.py", "check_plan_totals"], cwd=ROOT, env=env)
        finally:
            admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    fatal = defaultdict(int)
    for stats in results.values():
        for label, count in stats.get("all", {"errors": {}})["errors"].items():
            if is_fatal(label):
                fatal[label] += count
    print(f"\nload test finished in {time.perf_counter() - started:.0f} s; database {name} dropped")
    if fatal:
        print("FAILED: server errors: " + ", ".join(f"{label} x{count}" for label, count in sorted(fatal.items())))
        for processes, stats in results.items():
            for line in stats["server_errors"][:20]:
                print(f"  [{processes} process(es)] {line}")
    if check.returncode:
        print("FAILED: stored plan totals differ from a fresh count (see above)")
    return 1 if fatal or check.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
