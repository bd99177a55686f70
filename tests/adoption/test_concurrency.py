"""Stored totals equal a fresh count, also when several users and telemetry change one plan at once;
concurrent writers never deadlock (they share one lock order) and a database conflict is never a 500.

Runs on PostgreSQL only: SQLite has no row locks (select_for_update is a no-op there) and
serialises writers on the whole file anyway.
"""

import json
import re
import threading
import time
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, Q, Sum
from django.test import Client

from adoption.choices import DataType, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask
from adoption.progress import percentage, round2, to_decimal
from adoption.services import (
    adoption_plan_sync,
    customer_product_assign,
    customer_task_update_status,
    customer_tasks_bulk_update_status,
)
from config.errors import RETRY_MESSAGE, conflict_from_database_error
from config.middleware import PAGE_RETRY_MESSAGE
from customers.models import Customer, CustomerProduct, PersonalAccessToken
from customers.services import customer_delete
from customers.tokens import generate_token
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryAttribute, TelemetryBatch
from telemetry.services import api_key_create
from tests.conftest import postgres_only, raised_by_django
from tests.factories import CustomerFactory, ProductFactory, TaskFactory, TelemetryAttributeFactory, UserFactory

THREADS = 6
TASKS_PER_THREAD = 3
# Each thread walks its own tasks through these statuses; the last one stays.
WALK = [TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.NOT_APPLICABLE, TaskStatus.DONE]


def fresh_count(plan_id):
    applicable = Q(is_archived=False) & ~Q(status=TaskStatus.NOT_APPLICABLE)
    row = CustomerTask.objects.filter(adoption_plan_id=plan_id).aggregate(
        total_tasks=Count("pk", filter=applicable),
        completed_tasks=Count("pk", filter=applicable & Q(status=TaskStatus.DONE)),
        total_weight=Sum("weight", filter=applicable),
        completed_weight=Sum("weight", filter=applicable & Q(status=TaskStatus.DONE)),
    )
    total, completed = round2(to_decimal(row["total_weight"])), round2(to_decimal(row["completed_weight"]))
    return row["total_tasks"], row["completed_tasks"], total, completed, percentage(completed, total)


def stored(plan_id):
    return (
        AdoptionPlan.objects.filter(pk=plan_id)
        .values_list("total_tasks", "completed_tasks", "total_weight", "completed_weight", "progress_percentage")
        .get()
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_status_changes_keep_plan_totals_exact():
    actor = UserFactory(username="admin_c", is_superuser=True)
    product = ProductFactory()
    for n in range(THREADS * TASKS_PER_THREAD + 2):
        TaskFactory(product=product, sequence_number=n, weight=Decimal(n % 4) + Decimal("0.25"))
    plan = customer_product_assign(
        actor=actor, customer=CustomerFactory(), product=product, license_level="ESSENTIAL"
    ).adoption_plan
    task_ids = list(plan.tasks.order_by("pk").values_list("pk", flat=True))
    shares = [task_ids[i * TASKS_PER_THREAD : (i + 1) * TASKS_PER_THREAD] for i in range(THREADS)]
    start = threading.Barrier(THREADS)
    errors = []

    def work(index, ids):
        try:
            start.wait(timeout=30)
            for status in WALK:
                if index % 2:  # half the threads change their tasks one by one, half in bulk
                    for pk in ids:
                        customer_task_update_status(actor=actor, task=CustomerTask(pk=pk), status=status)
                else:
                    customer_tasks_bulk_update_status(actor=actor, plan=plan, task_ids=ids, status=status)
        except Exception as exc:  # reported below, with the thread it came from
            errors.append((index, repr(exc)))
        finally:
            connections.close_all()  # every alias this thread opened, so none outlives it

    threads = [threading.Thread(target=work, args=(i, ids)) for i, ids in enumerate(shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    done_ids = [pk for ids in shares for pk in ids]
    assert set(CustomerTask.objects.filter(pk__in=done_ids).values_list("status", flat=True)) == {TaskStatus.DONE}
    assert stored(plan.pk) == fresh_count(plan.pk)
    untouched_weight = sum(
        (t.weight for t in CustomerTask.objects.exclude(pk__in=done_ids).filter(adoption_plan=plan)), Decimal("0")
    )
    total_tasks, completed_tasks, total_weight, completed_weight, _ = stored(plan.pk)
    assert (total_tasks, completed_tasks) == (THREADS * TASKS_PER_THREAD + 2, THREADS * TASKS_PER_THREAD)
    assert total_weight - completed_weight == untouched_weight


# --- lock order: assignment, customer tasks (by id), customer attributes (by id), plan -----------------
#
# Each test below forces the interleaving that deadlocked when ingestion locked attribute rows before
# task rows: each side runs in its own thread and connection and is paused right after its first row
# lock on rows the other side also locks; the second side is started only once the first holds that
# lock, and both are let go only when the second holds its own first lock or waits for the first.

DOMAIN_TABLES = {
    CustomerProduct._meta.db_table,
    CustomerTask._meta.db_table,
    CustomerTelemetryAttribute._meta.db_table,
    AdoptionPlan._meta.db_table,
}


def locked_table(sql: str) -> str | None:
    """The table whose rows a statement locks: UPDATE, DELETE, or SELECT ... FOR [NO KEY] UPDATE."""
    write = re.match(r'\s*(?:UPDATE|DELETE\s+FROM)\s+"(\w+)"', sql)
    if write:
        return write[1]
    if re.search(r"\bFOR (NO KEY )?UPDATE\b", sql):
        select = re.search(r'\bFROM\s+"(\w+)"', sql)
        return select[1] if select else None
    return None


class Side:
    """One writer in a thread of its own, paused right after its first row lock on `tables`.

    The pause is a Django execute wrapper on the thread's connection: the statement has run (the
    lock is held) when the side stops and waits to be released."""

    def __init__(self, name, work, tables=DOMAIN_TABLES):
        self.name, self.work, self.tables = name, work, set(tables)
        self.paused, self.release = threading.Event(), threading.Event()
        self.pid = self.result = self.error = None
        self.thread = threading.Thread(target=self._run, name=name)

    def __call__(self, execute, sql, params, many, context):
        self.pid = context["connection"].connection.info.backend_pid
        result = execute(sql, params, many, context)
        if not self.paused.is_set() and locked_table(sql) in self.tables:
            self.paused.set()
            self.release.wait(timeout=60)
        return result

    def _run(self):
        try:
            with connection.execute_wrapper(self):
                self.result = self.work()
        except Exception as exc:  # reported by the test, with the side it came from
            self.error = exc
        finally:
            self.paused.set()
            connections.close_all()  # every alias this thread opened, so none outlives it


def waits_for_a_lock(pid) -> bool:
    with connection.cursor() as cursor:  # autocommit here: every query sees the current activity
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def force_interleaving(first: Side, second: Side) -> None:
    first.thread.start()
    assert first.paused.wait(timeout=30), f"{first.name} took no lock"
    second.thread.start()
    deadline = time.monotonic() + 30
    while not second.paused.is_set() and not (second.pid and waits_for_a_lock(second.pid)):
        assert time.monotonic() < deadline, f"{second.name} neither took its first lock nor waited for one"
        time.sleep(0.01)
    first.release.set()
    second.release.set()
    for side in (first, second):
        side.thread.join(timeout=120)
        assert not side.thread.is_alive(), f"{side.name} did not finish"


@pytest.fixture
def telemetry_world():
    """A plan with a measured task (two attributes, both required) and an unmeasured one, and an API key."""
    actor = UserFactory(username="admin_t", is_superuser=True)
    product = ProductFactory()
    measured = TaskFactory(product=product, name="Enable SSO", sequence_number=1, weight=Decimal("3"))
    TelemetryAttributeFactory(task=measured, name="sso_enabled")
    TelemetryAttributeFactory(
        task=measured, name="users", data_type=DataType.NUMBER, success_criteria={"op": "gt", "value": 5}
    )
    TaskFactory(product=product, name="Train admins", sequence_number=2, weight=Decimal("2"))
    customer = CustomerFactory()
    plan = customer_product_assign(
        actor=actor, customer=customer, product=product, license_level="ESSENTIAL"
    ).adoption_plan
    task = plan.tasks.get(name="Enable SSO")
    _, key = api_key_create(actor=actor, customer=customer)
    return SimpleNamespace(
        actor=actor,
        plan=plan,
        task=task,
        attributes={a.name: a for a in task.telemetry_attributes.all()},
        key=key,
    )


def post_telemetry(world, batch_id, values):
    body = {
        "batchId": batch_id,
        "values": [{"customerAttributeId": str(world.attributes[name].pk), "value": v} for name, v in values],
    }
    response = Client().post(
        "/api/v1/telemetry",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.key}",
    )
    return response.status_code, response.json()


def assert_finished_cleanly(*sides):
    assert [(side.name, side.error) for side in sides] == [(side.name, None) for side in sides]
    for side in sides:
        if isinstance(side.result, tuple):  # an HTTP answer: (status, body)
            assert side.result[0] == 200, (side.name, side.result)


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ingestion_first", [True, False], ids=["ingest-then-sync", "sync-then-ingest"])
def test_ingestion_and_sync_never_deadlock(telemetry_world, ingestion_first):
    world = telemetry_world
    catalog_attribute = TelemetryAttribute.objects.get(name="sso_enabled")
    catalog_attribute.description = "Single sign-on is switched on"  # the sync refreshes the attribute rows
    catalog_attribute.save()
    ingest = Side("ingest", lambda: post_telemetry(world, "n-1", [("sso_enabled", True), ("users", 10)]))
    # Its first lock on rows ingestion locks too: the tasks (the assignment row comes before them).
    sync = Side(
        "sync", lambda: adoption_plan_sync(actor=world.actor, plan=world.plan), tables={CustomerTask._meta.db_table}
    )

    force_interleaving(*((ingest, sync) if ingestion_first else (sync, ingest)))

    assert_finished_cleanly(ingest, sync)
    assert ingest.result[1]["stored"] == 2
    world.task.refresh_from_db()
    assert (world.task.status, world.task.status_update_source) == (TaskStatus.DONE, StatusSource.TELEMETRY)
    assert CustomerTelemetryAttribute.objects.get(pk=world.attributes["sso_enabled"].pk).description == (
        "Single sign-on is switched on"
    )
    assert CustomerTelemetryValue.objects.count() == 2
    assert (
        stored(world.plan.pk)
        == fresh_count(world.plan.pk)
        == (2, 1, Decimal("5.00"), Decimal("3.00"), Decimal("60.00"))
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_ingestions_for_one_task_never_deadlock(telemetry_world):
    world = telemetry_world
    first = Side("ingest sso_enabled", lambda: post_telemetry(world, "a", [("sso_enabled", True)]))
    second = Side("ingest users", lambda: post_telemetry(world, "b", [("users", 10)]))

    force_interleaving(first, second)

    assert_finished_cleanly(first, second)
    world.task.refresh_from_db()
    assert world.task.status == TaskStatus.DONE  # the later evaluation saw both values
    assert set(
        CustomerTelemetryAttribute.objects.filter(customer_task=world.task).values_list("is_met", flat=True)
    ) == {True}
    assert (
        stored(world.plan.pk)
        == fresh_count(world.plan.pk)
        == (2, 1, Decimal("5.00"), Decimal("3.00"), Decimal("60.00"))
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_request_naming_another_customers_attribute_takes_no_lock_on_that_customers_rows(telemetry_world):
    world = telemetry_world
    product = ProductFactory()
    TelemetryAttributeFactory(task=TaskFactory(product=product, name="Foreign"), name="foreign_flag")
    foreign_plan = customer_product_assign(
        actor=world.actor, customer=CustomerFactory(), product=product, license_level="ESSENTIAL"
    ).adoption_plan
    foreign_task = foreign_plan.tasks.get()
    foreign = foreign_task.telemetry_attributes.get()
    holding, done = threading.Event(), threading.Event()

    def hold_the_foreign_task():
        try:
            with transaction.atomic():
                list(CustomerTask.objects.select_for_update().filter(pk=foreign_task.pk))
                holding.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_foreign_task)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        started = time.monotonic()
        response = Client().post(
            "/api/v1/telemetry",
            data=json.dumps({"values": [{"customerAttributeId": str(foreign.pk), "value": True}]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world.key}",
        )
        elapsed = time.monotonic() - started
    finally:
        done.set()
        holder.join(timeout=30)

    # Answered at once (the foreign task was not waited for), as for an unknown attribute.
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert elapsed < 5
    assert not CustomerTelemetryValue.objects.exists()


class PauseAfterBatchInsert(Side):
    """A request paused right after it wrote its batch row (not committed yet)."""

    def __call__(self, execute, sql, params, many, context):
        self.pid = context["connection"].connection.info.backend_pid
        result = execute(sql, params, many, context)
        if not self.paused.is_set() and sql.startswith(f'INSERT INTO "{TelemetryBatch._meta.db_table}"'):
            self.paused.set()
            self.release.wait(timeout=60)
        return result


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_is_stored_once_and_answered_twice_alike(telemetry_world):
    world = telemetry_world
    values = [("sso_enabled", True), ("users", 10)]
    first = PauseAfterBatchInsert("first", lambda: post_telemetry(world, "twice", values))
    second = Side("second", lambda: post_telemetry(world, "twice", values))

    # The second request waits (for the first one's task rows, locked before its batch row was written),
    # then finds the batch and answers as the first did: nothing is stored twice.
    force_interleaving(first, second)

    assert_finished_cleanly(first, second)
    assert first.result[1]["replayed"] is False and second.result[1]["replayed"] is True
    assert second.result[1] == {**first.result[1], "replayed": True}
    assert CustomerTelemetryValue.objects.count() == 2 and TelemetryBatch.objects.count() == 1
    assert world.task.history.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ingestion_first", [True, False], ids=["ingest-then-manual", "manual-then-ingest"])
def test_ingestion_and_a_manual_status_never_deadlock(telemetry_world, ingestion_first):
    world = telemetry_world
    ingest = Side("ingest", lambda: post_telemetry(world, "n-1", [("sso_enabled", True), ("users", 10)]))
    manual = Side(
        "manual status",
        lambda: customer_task_update_status(
            actor=world.actor, task=CustomerTask(pk=world.task.pk), status="NOT_APPLICABLE"
        ),
    )

    force_interleaving(*((ingest, manual) if ingestion_first else (manual, ingest)))

    assert_finished_cleanly(ingest, manual)
    world.task.refresh_from_db()
    # Manual beats telemetry whichever came first; telemetry's own verdict is kept beside it.
    assert (world.task.status, world.task.status_update_source) == (TaskStatus.NOT_APPLICABLE, StatusSource.MANUAL)
    assert world.task.telemetry_status == TaskStatus.DONE and world.task.telemetry_disagrees is True
    assert (
        stored(world.plan.pk) == fresh_count(world.plan.pk) == (1, 0, Decimal("2.00"), Decimal("0.00"), Decimal("0.00"))
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ingestion_first", [True, False], ids=["ingest-then-delete", "delete-then-ingest"])
def test_deleting_the_customer_and_ingestion_never_deadlock(telemetry_world, ingestion_first):
    """The cascade deletes attribute rows before task rows: unless the deletion first locks in the
    shared order, it holds the attributes ingestion wants while it waits for the tasks ingestion holds."""
    world = telemetry_world
    customer_id = world.plan.customer_product.customer_id
    ingest = Side("ingest", lambda: post_telemetry(world, "n-1", [("sso_enabled", True), ("users", 10)]))
    # Paused at its first lock (or delete) of task rows, the rows ingestion locks first.
    delete = Side(
        "delete customer",
        lambda: customer_delete(actor=world.actor, customer=Customer(pk=customer_id)),
        tables={CustomerTask._meta.db_table},
    )

    force_interleaving(*((ingest, delete) if ingestion_first else (delete, ingest)))

    assert [(side.name, side.error) for side in (ingest, delete)] == [("ingest", None), ("delete customer", None)]
    status, body = ingest.result
    if ingestion_first:  # stored and evaluated, then deleted with the rest
        assert (status, body["stored"]) == (200, 2)
        assert delete.result["deleted"]["telemetryValues"] == 2
    else:  # its attributes were gone once it got their locks: refused in words, nothing stored
        attribute = world.attributes["sso_enabled"].pk
        assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
        assert (
            body["error"]["message"]
            == f"item 0: customer telemetry attribute '{attribute}' not found; nothing was stored"
        )
        assert delete.result["deleted"]["telemetryValues"] == 0
    assert not Customer.objects.filter(pk=customer_id).exists()
    assert not CustomerTask.objects.exists() and not CustomerTelemetryAttribute.objects.exists()
    assert not CustomerTelemetryValue.objects.exists() and not TelemetryBatch.objects.exists()


# --- a deadlock, should one ever happen, is a clean CONFLICT -------------------------------------------


class RogueWriter:
    """A writer that breaks the lock order (an attribute row, then its task row), as a hand-written
    script might: with the request it makes a real deadlock for PostgreSQL to detect."""

    def __init__(self, world):
        self.world = world
        self.holding, self.go = threading.Event(), threading.Event()
        self.pid = self.error = None
        self.thread = threading.Thread(target=self._run, name="rogue")

    def _run(self):
        try:
            with transaction.atomic():
                attribute = self.world.attributes["sso_enabled"]
                CustomerTelemetryAttribute.objects.filter(pk=attribute.pk).update(description="x")
                self.pid = connection.connection.info.backend_pid
                self.holding.set()
                assert self.go.wait(timeout=30)
                list(CustomerTask.objects.select_for_update().filter(pk=self.world.task.pk))
                transaction.set_rollback(True)
        except Exception as exc:
            self.error = exc
        finally:
            self.holding.set()
            connections.close_all()  # every alias this thread opened, so none outlives it


def make_the_request_a_deadlock_victim(request: Side, rogue: RogueWriter) -> None:
    """PostgreSQL checks a lock wait for a deadlock once, deadlock_timeout (1 s) after it began, and
    aborts the waiter whose check finds the cycle. So: the request holds its task lock (paused); the
    rogue, holding the attribute row, waits for that task and its one check passes without a cycle;
    only then does the request go on to the attribute row and close the cycle, and its check finds it."""
    rogue.thread.start()
    assert rogue.holding.wait(timeout=30) and rogue.error is None, rogue.error
    request.thread.start()
    assert request.paused.wait(timeout=30)
    rogue.go.set()
    deadline = time.monotonic() + 30
    while not waits_for_a_lock(rogue.pid):
        assert time.monotonic() < deadline, "the rogue writer never waited for the task row"
        time.sleep(0.01)
    time.sleep(1.5)
    request.release.set()
    for side in (request, rogue):
        side.thread.join(timeout=60)
        assert not side.thread.is_alive(), f"{side.thread.name} did not finish"


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", ["api", "graphql", "page"])
def test_a_deadlock_is_answered_with_a_retryable_conflict_and_changes_nothing(telemetry_world, channel):
    world = telemetry_world
    if channel == "api":
        request = Side("api", lambda: post_telemetry(world, "n-1", [("sso_enabled", True)]))
    elif channel == "page":  # a value typed into the task drawer, with htmx
        attribute = world.attributes["sso_enabled"]
        url = f"/plans/{world.plan.pk}/tasks/{world.task.pk}/attributes/{attribute.pk}/values/"

        def page():
            client = Client()
            client.force_login(world.actor)
            response = client.post(url, {"value": "on"}, HTTP_HX_REQUEST="true")
            return response.status_code, dict(response.headers) | {"body": response.content.decode()}

        request = Side("page", page)
    else:
        raw, prefix, digest = generate_token()
        PersonalAccessToken.objects.create(user=world.actor, prefix=prefix, token_hash=digest)
        query = 'mutation { bulkAddCustomerTelemetryValues(inputs: [{customerAttributeId: "%s", value: true}]) { id } }'

        def graphql():
            response = Client().post(
                "/graphql/",
                data=json.dumps({"query": query % world.attributes["sso_enabled"].pk}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
            return response.status_code, response.json()

        request = Side("graphql", graphql)
    rogue = RogueWriter(world)

    make_the_request_a_deadlock_victim(request, rogue)

    assert (request.error, rogue.error) == (None, None)
    status, body = request.result
    retry = {"retryable": True, "reason": "deadlock detected"}
    if channel == "api":
        assert status == 409
        assert body == {"error": {"code": "CONFLICT", "message": RETRY_MESSAGE, "details": retry}}
    elif channel == "page":
        assert (status, body["Retry-After"]) == (409, "1")
        assert unquote(body["X-Error-Message"]) == body["body"] == PAGE_RETRY_MESSAGE
    else:
        assert body["data"] is None
        assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
            (RETRY_MESSAGE, {"code": "CONFLICT", "details": retry})
        ]
    world.task.refresh_from_db()
    assert (world.task.status, world.task.history.count()) == (TaskStatus.NOT_STARTED, 0)
    assert not CustomerTelemetryValue.objects.exists() and not TelemetryBatch.objects.exists()
    assert CustomerTelemetryAttribute.objects.get(pk=world.attributes["sso_enabled"].pk).description != "x"


def test_conflict_from_database_error_recognises_deadlocks_and_serialization_failures():
    from psycopg import errors as pg

    for driver_error, reason in (
        (pg.DeadlockDetected("x"), "deadlock detected"),
        (pg.SerializationFailure("x"), "serialization failure"),
    ):
        conflict = conflict_from_database_error(raised_by_django(driver_error))
        assert (conflict.code, conflict.message, conflict.details) == (
            "CONFLICT",
            RETRY_MESSAGE,
            {"retryable": True, "reason": reason},
        )
    assert conflict_from_database_error(raised_by_django(pg.UniqueViolation("x"))) is None
    assert conflict_from_database_error(ValueError("x")) is None
    assert conflict_from_database_error(None) is None
