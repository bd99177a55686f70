"""Evaluation: from attribute values to isMet, telemetry status, task status and totals."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import DataType, StatusSource, TaskStatus
from adoption.models import CustomerTask, TaskStatusChange
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from telemetry.evaluation import (
    adoption_plan_evaluate,
    compute_task_status,
    evaluate_customer_tasks,
    time_based_task_ids,
)
from telemetry.services import customer_task_reset_to_telemetry
from tests.conftest import postgres_only
from tests.factories import AdoptionPlanFactory, CustomerTelemetryValueFactory
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def a(met, required=False, active=True):
    return SimpleNamespace(is_met=met, is_required=required, is_active=active)


# --- compute_task_status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes, expected",
    [
        ([], None),
        ([a(True, active=False)], None),  # only inactive attributes: telemetry leaves the task alone
        ([a(True), a(True)], TaskStatus.DONE),  # none required: all count as required
        ([a(True), a(False)], TaskStatus.IN_PROGRESS),
        ([a(False), a(False)], TaskStatus.NOT_STARTED),
        ([a(True, required=True), a(False)], TaskStatus.DONE),  # optional attributes do not hold DONE back
        ([a(False, required=True), a(True)], TaskStatus.IN_PROGRESS),  # an optional one met: in progress
        ([a(True, required=True), a(False, required=True)], TaskStatus.IN_PROGRESS),
        ([a(False, required=True), a(True, active=False)], TaskStatus.NOT_STARTED),  # inactive ones do not count
        ([a(True, required=True), a(False, required=True, active=False)], TaskStatus.DONE),
    ],
)
def test_compute_task_status_follows_spec_6_3(attributes, expected):
    assert compute_task_status(attributes) == expected


# --- evaluate_customer_tasks ---------------------------------------------------------------------


def test_telemetry_owned_task_moves_to_done_with_history_evidence_and_totals(plan):
    task, (sso, users) = add_task(
        plan,
        attr("sso_enabled"),
        attr("active_users", DataType.NUMBER, {"op": "gte", "value": 100}),
        name="Enable SSO",
        weight="3.00",
    )
    add_task(plan, attr("other"), weight="1.00")
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW - timedelta(hours=1))
    CustomerTelemetryValueFactory(customer_attribute=users, value=150, observed_at=NOW - timedelta(hours=2))

    changes = evaluate_customer_tasks(task_ids=[task.pk], now=NOW, evidence_extra={"batchId": "b-1"})

    assert [(c.customer_task_id, c.from_status, c.to_status) for c in changes] == [
        (task.pk, TaskStatus.NOT_STARTED, TaskStatus.DONE)
    ]
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.status_update_source == StatusSource.TELEMETRY
    assert task.status_updated_by == "telemetry"
    assert task.is_complete and task.completed_at == NOW and task.completed_by == "telemetry"
    assert task.telemetry_status == TaskStatus.DONE
    sso.refresh_from_db()
    users.refresh_from_db()
    assert sso.is_met and users.is_met and sso.last_checked_at == NOW

    entry = TaskStatusChange.objects.get(customer_task=task)
    assert (entry.from_status, entry.to_status, entry.source, entry.actor) == (
        "NOT_STARTED",
        "DONE",
        "TELEMETRY",
        "telemetry",
    )
    assert entry.evidence["batchId"] == "b-1"
    assert entry.evidence["computedStatus"] == "DONE"
    assert entry.evidence["attributes"] == [
        {
            "customerAttributeId": str(sso.pk),
            "name": "sso_enabled",
            "dataType": "BOOLEAN",
            "isRequired": True,
            "hasValue": True,
            "value": True,
            "observedAt": (NOW - timedelta(hours=1)).isoformat(),
            "criterion": "sso_enabled is true",
            "isMet": True,
        },
        {
            "customerAttributeId": str(users.pk),
            "name": "active_users",
            "dataType": "NUMBER",
            "isRequired": True,
            "hasValue": True,
            "value": 150,
            "observedAt": (NOW - timedelta(hours=2)).isoformat(),
            "criterion": "active_users ≥ 100",
            "isMet": True,
        },
    ]
    plan.refresh_from_db()
    assert (plan.total_tasks, plan.completed_tasks) == (2, 1)
    assert (plan.total_weight, plan.completed_weight, plan.progress_percentage) == (
        Decimal("4.00"),
        Decimal("3.00"),
        Decimal("75.00"),
    )


def test_missing_value_is_never_met_and_records_evidence_without_value(plan):
    task, (sso, users) = add_task(plan, attr("sso_enabled"), attr("active_users", DataType.NUMBER, {}, required=False))
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW)

    changes = evaluate_customer_tasks(task_ids=[task.pk], now=NOW)

    # sso required and met, active_users optional without value: DONE (no criteria = met when any value)
    assert [c.to_status for c in changes] == [TaskStatus.DONE]
    users.refresh_from_db()
    assert users.is_met is False and users.last_checked_at == NOW
    evidence = TaskStatusChange.objects.get(customer_task=task).evidence
    assert evidence["attributes"][1] == {
        "customerAttributeId": str(users.pk),
        "name": "active_users",
        "dataType": "NUMBER",
        "isRequired": False,
        "hasValue": False,
        "value": None,
        "observedAt": None,
        "criterion": "active_users has any value",
        "isMet": False,
    }


def test_manual_status_is_never_overwritten_and_task_shows_disagreement(plan):
    task, (sso,) = add_task(plan, attr("sso_enabled"), status=TaskStatus.IN_PROGRESS, source=StatusSource.MANUAL)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW)

    assert evaluate_customer_tasks(task_ids=[task.pk], now=NOW) == []

    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and task.status_update_source == StatusSource.MANUAL
    assert task.telemetry_status == TaskStatus.DONE
    assert task.telemetry_disagrees is True
    sso.refresh_from_db()
    assert sso.is_met is True
    assert not TaskStatusChange.objects.filter(customer_task=task).exists()


def test_manual_not_applicable_is_kept(plan):
    task, (sso,) = add_task(plan, attr("sso_enabled"), status=TaskStatus.NOT_APPLICABLE, source=StatusSource.MANUAL)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=False, observed_at=NOW)

    assert evaluate_customer_tasks(task_ids=[task.pk], now=NOW) == []

    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_APPLICABLE
    assert task.telemetry_status == TaskStatus.NOT_STARTED and task.telemetry_disagrees is True


def test_telemetry_done_task_regresses_when_criteria_stop_holding(plan):
    task, (sso,) = add_task(plan, attr("sso_enabled"), weight="2.00")
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW - timedelta(days=1))
    evaluate_customer_tasks(task_ids=[task.pk], now=NOW - timedelta(days=1))
    plan.refresh_from_db()
    assert plan.completed_tasks == 1 and plan.progress_percentage == Decimal("100.00")

    CustomerTelemetryValueFactory(customer_attribute=sso, value=False, observed_at=NOW)
    changes = evaluate_customer_tasks(task_ids=[task.pk], now=NOW)

    assert [(c.from_status, c.to_status) for c in changes] == [(TaskStatus.DONE, TaskStatus.NOT_STARTED)]
    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_STARTED and not task.is_complete
    assert task.completed_at is None and task.completed_by == ""
    plan.refresh_from_db()
    assert (plan.completed_tasks, plan.completed_weight, plan.progress_percentage) == (
        0,
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert list(TaskStatusChange.objects.filter(customer_task=task).values_list("from_status", "to_status")) == [
        ("NOT_STARTED", "DONE"),
        ("DONE", "NOT_STARTED"),
    ]


def test_latest_value_is_the_greatest_observed_at_not_the_last_inserted(plan):
    task, (sso,) = add_task(plan, attr("sso_enabled"))
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=False, observed_at=NOW - timedelta(days=3))  # late

    evaluate_customer_tasks(task_ids=[task.pk], now=NOW)

    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_same_observed_at_the_greater_id_wins(plan):
    task, (sso,) = add_task(plan, attr("sso_enabled"))
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=False, observed_at=NOW)

    evaluate_customer_tasks(task_ids=[task.pk], now=NOW)

    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_STARTED and task.telemetry_status == TaskStatus.NOT_STARTED


def test_task_without_active_attributes_is_never_changed(plan):
    task, (old,) = add_task(plan, attr("retired", is_active=False), status=TaskStatus.IN_PROGRESS)
    CustomerTelemetryValueFactory(customer_attribute=old, value=True, observed_at=NOW)

    assert evaluate_customer_tasks(task_ids=[task.pk], now=NOW) == []

    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and task.telemetry_status == ""
    assert task.telemetry_disagrees is False
    old.refresh_from_db()
    assert old.is_met is False and old.last_checked_at is None  # inactive attributes are not evaluated


def test_archived_task_is_evaluated_but_stays_out_of_totals(plan):
    live, _ = add_task(plan, attr("a"), weight="1.00")
    archived, (b,) = add_task(plan, attr("b"), weight="5.00", is_archived=True)
    CustomerTelemetryValueFactory(customer_attribute=b, value=True, observed_at=NOW)

    changes = evaluate_customer_tasks(task_ids=[archived.pk], now=NOW)

    assert [c.to_status for c in changes] == [TaskStatus.DONE]
    b.refresh_from_db()
    assert b.is_met is True
    plan.refresh_from_db()
    assert (plan.total_tasks, plan.completed_tasks, plan.total_weight) == (1, 0, Decimal("1.00"))


def test_within_days_uses_the_evaluation_time(plan):
    task, (login,) = add_task(plan, attr("last_login", DataType.TIMESTAMP, {"op": "within_days", "value": 7}))
    CustomerTelemetryValueFactory(customer_attribute=login, value="2024-06-10T09:00:00Z", observed_at=NOW)

    evaluate_customer_tasks(task_ids=[task.pk], now=NOW)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    evaluate_customer_tasks(task_ids=[task.pk], now=NOW + timedelta(days=10))
    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_STARTED


def test_plan_evaluation_checks_every_live_task_and_is_audited(plan, admin_user):
    one, (x,) = add_task(plan, attr("x"))
    two, (y,) = add_task(plan, attr("y"))
    archived, (z,) = add_task(plan, attr("z"), is_archived=True)
    for attribute in (x, y, z):
        CustomerTelemetryValueFactory(customer_attribute=attribute, value=True, observed_at=NOW)

    result = adoption_plan_evaluate(actor=admin_user, plan=plan, now=NOW)

    assert result.completed_tasks == 2 and result.total_tasks == 2
    statuses = {t.pk: t.status for t in plan.tasks.all()}
    assert statuses == {one.pk: "DONE", two.pk: "DONE", archived.pk: "NOT_STARTED"}
    entry = AuditLog.objects.get(action="plan.evaluate")
    assert entry.actor == admin_user and entry.object_id == str(plan.pk)
    assert entry.customer_id == plan.customer_product.customer_id
    assert entry.details["tasks"] == 2 and len(entry.details["statusChanges"]) == 2


# --- reset to telemetry ------------------------------------------------------------------------


def test_reset_to_telemetry_of_a_done_task_that_stays_done_keeps_when_and_by_whom_it_was_completed(plan, admin_user):
    task, (sso,) = add_task(plan, attr("sso_enabled"), status=TaskStatus.DONE, source=StatusSource.MANUAL)
    completed = NOW - timedelta(days=3)
    CustomerTask.objects.filter(pk=task.pk).update(completed_at=completed, completed_by="csm_u")
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW)

    task = customer_task_reset_to_telemetry(actor=admin_user, task=task)

    assert (task.status, task.status_update_source, task.is_complete) == ("DONE", "TELEMETRY", True)
    assert (task.completed_at, task.completed_by) == (completed, "csm_u")
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert (entry.from_status, entry.to_status, entry.actor) == ("DONE", "DONE", "telemetry")


def test_reset_to_telemetry_applies_the_computed_status_at_once(plan, admin_user):
    task, (sso,) = add_task(plan, attr("sso_enabled"), status=TaskStatus.DONE, source=StatusSource.MANUAL)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=False, observed_at=NOW)
    evaluate_customer_tasks(task_ids=[task.pk], now=NOW)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.telemetry_disagrees

    task = customer_task_reset_to_telemetry(actor=admin_user, task=task)

    assert task.status == TaskStatus.NOT_STARTED
    assert task.status_update_source == StatusSource.TELEMETRY and task.telemetry_disagrees is False
    assert not task.is_complete and task.completed_at is None
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert (entry.from_status, entry.to_status, entry.source) == ("DONE", "NOT_STARTED", "TELEMETRY")
    assert entry.evidence["resetBy"] == "admin_u"
    assert entry.note == "Handed back to telemetry by admin_u"
    plan.refresh_from_db()
    assert plan.completed_tasks == 0
    audit = AuditLog.objects.get(action="task.reset_to_telemetry")
    assert audit.object_id == str(task.pk) and audit.details["status"] == "NOT_STARTED"
    assert audit.summary == f"Reset task {task.name!r} to telemetry: Not started"

    # from now on telemetry moves it again
    CustomerTelemetryValueFactory(customer_attribute=sso, value=True, observed_at=NOW + timedelta(minutes=1))
    evaluate_customer_tasks(task_ids=[task.pk], now=NOW + timedelta(minutes=1))
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_reset_with_the_same_status_still_hands_the_task_back_with_history(plan, csm):
    task, (sso,) = add_task(plan, attr("sso_enabled"), status=TaskStatus.NOT_STARTED, source=StatusSource.MANUAL)

    task = customer_task_reset_to_telemetry(actor=csm, task=task)

    assert task.status == TaskStatus.NOT_STARTED and task.status_update_source == StatusSource.TELEMETRY
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert (entry.from_status, entry.to_status, entry.source) == ("NOT_STARTED", "NOT_STARTED", "TELEMETRY")


def test_reset_without_active_attributes_is_a_validation_error_and_changes_nothing(plan, admin_user):
    task, _ = add_task(plan, attr("retired", is_active=False), status=TaskStatus.DONE, source=StatusSource.MANUAL)

    with pytest.raises(ValidationFailed) as err:
        customer_task_reset_to_telemetry(actor=admin_user, task=task)

    assert err.value.code == "VALIDATION_ERROR" and err.value.field == "customerTaskId"
    assert "no active telemetry attributes" in err.value.message
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.status_update_source == StatusSource.MANUAL
    assert not TaskStatusChange.objects.exists() and not AuditLog.objects.exists()


# --- daily re-evaluation of time-based criteria -------------------------------------------------


def test_time_based_tasks_are_found_in_nested_criteria(plan):
    nested, _ = add_task(
        plan,
        attr(
            "j", DataType.JSON, {"all": [{"op": "exists"}, {"not": {"op": "within_days", "value": 3, "path": "last"}}]}
        ),
    )
    plain, _ = add_task(plan, attr("t", DataType.TIMESTAMP, {"op": "within_days", "value": 7}))
    add_task(plan, attr("n", DataType.NUMBER, {"op": "gt", "value": 1}))
    add_task(plan, attr("old", DataType.TIMESTAMP, {"op": "within_days", "value": 7}, is_active=False))

    assert time_based_task_ids() == sorted([nested.pk, plain.pk])


def test_evaluate_telemetry_command_moves_stale_time_based_tasks_back(plan):
    task, (login,) = add_task(plan, attr("last_login", DataType.TIMESTAMP, {"op": "within_days", "value": 7}))
    recent = datetime.now(UTC) - timedelta(days=20)
    CustomerTelemetryValueFactory(customer_attribute=login, value=recent.isoformat(), observed_at=recent)
    evaluate_customer_tasks(task_ids=[task.pk], now=recent + timedelta(days=1))
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    out = StringIO()
    call_command("evaluate_telemetry", stdout=out, stderr=StringIO())

    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_STARTED
    assert "1 tasks" in out.getvalue() and "1 status changes" in out.getvalue()
    assert AuditLog.objects.filter(action="telemetry.reevaluate").count() == 1


# --- query counts ------------------------------------------------------------------------------


def _plan_with_tasks(count):
    plan = AdoptionPlanFactory()
    ids = []
    for i in range(count):
        task, (flag, number) = add_task(
            plan, attr("flag"), attr("number", DataType.NUMBER, {"op": "gt", "value": 1}, required=False)
        )
        CustomerTelemetryValueFactory(customer_attribute=flag, value=i % 2 == 0, observed_at=NOW)
        CustomerTelemetryValueFactory(customer_attribute=number, value=i + 2, observed_at=NOW)
        ids.append(task.pk)
    return ids


@postgres_only
def test_evaluation_runs_in_a_constant_number_of_queries():
    small, large = _plan_with_tasks(2), _plan_with_tasks(40)

    with CaptureQueriesContext(connection) as few:
        assert len(evaluate_customer_tasks(task_ids=small, now=NOW)) == 2
    with CaptureQueriesContext(connection) as many:
        assert len(evaluate_customer_tasks(task_ids=large, now=NOW)) == 40

    assert len(many) == len(few)


def test_evaluate_telemetry_command_limits_to_known_plans(plan):
    task, (login,) = add_task(plan, attr("last_login", DataType.TIMESTAMP, {"op": "within_days", "value": 7}))
    other = AdoptionPlanFactory()
    add_task(other, attr("last_login", DataType.TIMESTAMP, {"op": "within_days", "value": 7}))
    out = StringIO()

    call_command("evaluate_telemetry", "--plan", str(plan.pk), stdout=out, stderr=StringIO())

    assert "Re-evaluated 1 tasks with time-based criteria: 0 status changes in 0 plans" in out.getvalue()
    login.refresh_from_db()
    assert login.last_checked_at is not None
    with pytest.raises(CommandError, match="adoption plan\\(s\\) not found: 999999"):
        call_command("evaluate_telemetry", "--plan", "999999", stdout=StringIO())
