"""Manual status changes, one task at a time and in bulk."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.services import customer_product_assign, customer_task_update_status, customer_tasks_bulk_update_status
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from tests.conftest import postgres_only
from tests.factories import CustomerFactory, ProductFactory, TaskFactory

pytestmark = pytest.mark.django_db


def make_plan(actor, weights=("1", "1", "1"), customer=None):
    product = ProductFactory()
    for index, weight in enumerate(weights):
        TaskFactory(product=product, name=f"Task {index + 1}", weight=Decimal(weight), sequence_number=index + 1)
    assignment = customer_product_assign(
        actor=actor, customer=customer or CustomerFactory(), product=product, license_level="ESSENTIAL"
    )
    return assignment.adoption_plan


def tasks_of(plan):
    return list(plan.tasks.order_by("sequence_number"))


def snapshot(plan):
    """Everything a refused status change must leave alone."""
    return (
        list(
            CustomerTask.objects.filter(adoption_plan=plan)
            .order_by("pk")
            .values_list("pk", "status", "status_update_source", "status_updated_at", "completed_at", "is_archived")
        ),
        TaskStatusChange.objects.count(),
        AuditLog.objects.count(),
        AdoptionPlan.objects.filter(pk=plan.pk)
        .values_list("total_tasks", "completed_tasks", "total_weight", "completed_weight", "progress_percentage")
        .get(),
    )


def test_manual_status_change_sets_every_status_field(admin_user, csm):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]

    updated = customer_task_update_status(actor=csm, task=task, status="DONE", notes="  Customer confirmed  ")

    updated.refresh_from_db()
    assert updated.status == TaskStatus.DONE
    assert updated.status_update_source == StatusSource.MANUAL
    assert updated.status_updated_by == "csm_u"
    assert updated.status_notes == "Customer confirmed"
    assert updated.is_complete is True
    assert updated.completed_by == "csm_u"
    assert updated.completed_at == updated.status_updated_at
    assert updated.is_user_owned is True
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert (entry.from_status, entry.to_status, entry.source, entry.actor, entry.note) == (
        TaskStatus.NOT_STARTED,
        TaskStatus.DONE,
        StatusSource.MANUAL,
        "csm_u",
        "Customer confirmed",
    )
    assert entry.created_at == updated.status_updated_at


def test_status_change_recomputes_plan_totals(admin_user):
    plan = make_plan(admin_user, weights=("1", "1", "1"))
    first, second, _ = tasks_of(plan)

    customer_task_update_status(actor=admin_user, task=first, status=TaskStatus.DONE)
    plan.refresh_from_db()
    assert (plan.completed_tasks, plan.completed_weight, plan.progress_percentage) == (
        1,
        Decimal("1.00"),
        Decimal("33.33"),
    )

    customer_task_update_status(actor=admin_user, task=second, status=TaskStatus.NOT_APPLICABLE)
    plan.refresh_from_db()
    assert (plan.total_tasks, plan.total_weight, plan.progress_percentage) == (2, Decimal("2.00"), Decimal("50.00"))


def test_leaving_done_clears_completion_and_staying_done_keeps_it(admin_user, csm):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]
    done = customer_task_update_status(actor=admin_user, task=task, status="DONE")
    first_completion = (done.completed_at, done.completed_by)

    again = customer_task_update_status(actor=csm, task=task, status="DONE", notes="still done")
    assert (again.completed_at, again.completed_by) == first_completion

    back = customer_task_update_status(actor=csm, task=task, status="IN_PROGRESS")
    back.refresh_from_db()
    assert (back.is_complete, back.completed_at, back.completed_by) == (False, None, "")
    assert list(TaskStatusChange.objects.filter(customer_task=task).values_list("from_status", "to_status")) == [
        ("NOT_STARTED", "DONE"),
        ("DONE", "DONE"),
        ("DONE", "IN_PROGRESS"),
    ]


def test_setting_the_same_status_takes_ownership(admin_user, csm):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]
    assert task.status_update_source == StatusSource.SYSTEM

    updated = customer_task_update_status(actor=csm, task=task, status="NOT_STARTED")

    assert updated.status_update_source == StatusSource.MANUAL
    assert updated.status == TaskStatus.NOT_STARTED
    assert (
        TaskStatusChange.objects.filter(
            customer_task=task, from_status="NOT_STARTED", to_status="NOT_STARTED", source="MANUAL"
        ).count()
        == 1
    )


def test_same_status_on_a_manually_owned_task_without_a_note_records_nothing(admin_user, csm):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]
    done = customer_task_update_status(actor=csm, task=task, status="DONE")
    assert done.status_change_recorded is True
    before = snapshot(plan)

    again = customer_task_update_status(actor=admin_user, task=task, status="DONE", notes="   ")

    assert again.status_change_recorded is False
    assert snapshot(plan) == before
    again.refresh_from_db()
    assert (again.status_updated_by, again.status_updated_at) == ("csm_u", done.status_updated_at)


def test_same_status_with_a_note_is_recorded(admin_user, csm):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]
    customer_task_update_status(actor=csm, task=task, status="DONE")

    again = customer_task_update_status(actor=csm, task=task, status="DONE", notes="Confirmed on the call")

    assert again.status_change_recorded is True
    assert list(
        TaskStatusChange.objects.filter(customer_task=task).values_list("from_status", "to_status", "note")
    ) == [
        ("NOT_STARTED", "DONE", ""),
        ("DONE", "DONE", "Confirmed on the call"),
    ]
    assert AuditLog.objects.filter(action="customer_task.update_status").count() == 2


def test_bulk_leaves_tasks_already_owned_with_that_status_alone(admin_user, csm):
    plan = make_plan(admin_user, weights=("1", "1", "1"))
    first, second, third = tasks_of(plan)
    customer_task_update_status(actor=csm, task=first, status="DONE")
    first.refresh_from_db()
    kept = (first.status_updated_at, first.status_updated_by)
    history_before = TaskStatusChange.objects.count()

    result = customer_tasks_bulk_update_status(
        actor=admin_user, plan=plan, task_ids=[first.pk, second.pk, third.pk], status="DONE"
    )

    assert [(t.pk, t.status_change_recorded) for t in result] == [
        (first.pk, False),
        (second.pk, True),
        (third.pk, True),
    ]
    first.refresh_from_db()
    assert (first.status_updated_at, first.status_updated_by) == kept
    assert TaskStatusChange.objects.count() == history_before + 2
    assert set(
        TaskStatusChange.objects.filter(actor=admin_user.username).values_list("customer_task_id", flat=True)
    ) == {
        second.pk,
        third.pk,
    }
    audit = AuditLog.objects.get(action="customer_task.bulk_update_status")
    assert [c["customerTaskId"] for c in audit.details["changes"]] == [second.pk, third.pk]
    plan.refresh_from_db()
    assert (plan.completed_tasks, plan.progress_percentage) == (3, Decimal("100.00"))


def test_bulk_where_every_task_already_has_the_status_records_nothing(admin_user, csm):
    plan = make_plan(admin_user, weights=("1", "1"))
    ids = [t.pk for t in tasks_of(plan)]
    customer_tasks_bulk_update_status(actor=csm, plan=plan, task_ids=ids, status="DONE")
    before = snapshot(plan)

    result = customer_tasks_bulk_update_status(actor=admin_user, plan=plan, task_ids=ids, status="DONE")

    assert [t.status_change_recorded for t in result] == [False, False]
    assert snapshot(plan) == before


def test_bulk_same_status_over_telemetry_or_system_ownership_is_recorded(admin_user, csm):
    plan = make_plan(admin_user, weights=("1",))
    task = tasks_of(plan)[0]
    assert (task.status, task.status_update_source) == (TaskStatus.NOT_STARTED, StatusSource.SYSTEM)

    result = customer_tasks_bulk_update_status(actor=csm, plan=plan, task_ids=[task.pk], status="NOT_STARTED")

    assert result[0].status_change_recorded is True
    task.refresh_from_db()
    assert task.status_update_source == StatusSource.MANUAL
    assert TaskStatusChange.objects.filter(customer_task=task, source="MANUAL").count() == 1
    assert AuditLog.objects.get(action="customer_task.bulk_update_status").summary == "Set 1 task to Not started"


def test_status_names_are_case_insensitive(admin_user):
    plan = make_plan(admin_user)
    task = customer_task_update_status(actor=admin_user, task=tasks_of(plan)[0], status="in_progress")
    assert task.status == TaskStatus.IN_PROGRESS


@pytest.mark.parametrize("status", ["FINISHED", "", None, 3])
def test_unknown_status_is_refused_and_changes_nothing(admin_user, status):
    plan = make_plan(admin_user)
    before = snapshot(plan)

    with pytest.raises(ValidationFailed) as error:
        customer_task_update_status(actor=admin_user, task=tasks_of(plan)[0], status=status)

    assert (error.value.code, error.value.field) == ("VALIDATION_ERROR", "status")
    assert "NOT_STARTED, IN_PROGRESS, DONE, NOT_APPLICABLE" in error.value.message
    assert snapshot(plan) == before


def test_archived_task_status_is_refused(admin_user):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]
    CustomerTask.objects.filter(pk=task.pk).update(is_archived=True)
    before = snapshot(plan)

    with pytest.raises(ValidationFailed) as error:
        customer_task_update_status(actor=admin_user, task=task, status="DONE")

    assert error.value.field == "customerTaskId"
    assert snapshot(plan) == before


def test_status_change_is_audited(admin_user, csm):
    plan = make_plan(admin_user)
    task = tasks_of(plan)[0]

    customer_task_update_status(actor=csm, task=task, status="IN_PROGRESS", notes="kick-off")

    entry = AuditLog.objects.get(action="customer_task.update_status")
    assert (entry.actor, entry.actor_label, entry.object_type, entry.object_id) == (
        csm,
        "csm_u",
        "customertask",
        str(task.pk),
    )
    assert entry.customer_id == plan.customer_product.customer_id
    # In the words of the pages for people reading the log; the codes stay in the details for programs.
    assert entry.summary == "Task 1: Not started → In progress"
    assert entry.details == {"adoptionPlanId": plan.pk, "from": "NOT_STARTED", "to": "IN_PROGRESS", "notes": "kick-off"}


# --- bulk ------------------------------------------------------------------------------------------


def test_bulk_status_change_updates_every_named_task_once(admin_user, csm):
    plan = make_plan(admin_user, weights=("1", "2", "3", "4"))
    tasks = tasks_of(plan)
    ids = [str(tasks[2].pk), tasks[0].pk, tasks[2].pk]

    result = customer_tasks_bulk_update_status(actor=csm, plan=plan, task_ids=ids, status="DONE", notes="batch")

    assert [t.pk for t in result] == [tasks[2].pk, tasks[0].pk]
    stored = {t.pk: t for t in CustomerTask.objects.filter(adoption_plan=plan)}
    for task in (tasks[0], tasks[2]):
        saved = stored[task.pk]
        assert (saved.status, saved.status_update_source, saved.status_updated_by, saved.status_notes) == (
            "DONE",
            "MANUAL",
            "csm_u",
            "batch",
        )
        assert (saved.is_complete, saved.completed_by) == (True, "csm_u")
        assert saved.completed_at is not None
    assert stored[tasks[1].pk].status == "NOT_STARTED"
    assert TaskStatusChange.objects.filter(customer_task__adoption_plan=plan).count() == 2
    plan.refresh_from_db()
    assert (plan.completed_tasks, plan.completed_weight, plan.total_weight, plan.progress_percentage) == (
        2,
        Decimal("4.00"),
        Decimal("10.00"),
        Decimal("40.00"),
    )
    entry = AuditLog.objects.get(action="customer_task.bulk_update_status")
    assert entry.object_id == str(plan.pk)
    assert (entry.summary, entry.details["status"]) == ("Set 2 tasks to Done", "DONE")
    assert entry.details["changes"] == [
        {"customerTaskId": tasks[0].pk, "from": "NOT_STARTED", "to": "DONE"},
        {"customerTaskId": tasks[2].pk, "from": "NOT_STARTED", "to": "DONE"},
    ]


def test_bulk_with_a_task_of_another_plan_changes_nothing(admin_user):
    plan = make_plan(admin_user)
    other_plan = make_plan(admin_user)
    foreign = tasks_of(other_plan)[0]
    archived = tasks_of(plan)[2]
    CustomerTask.objects.filter(pk=archived.pk).update(is_archived=True)
    before, other_before = snapshot(plan), snapshot(other_plan)

    with pytest.raises(ValidationFailed) as error:
        customer_tasks_bulk_update_status(
            actor=admin_user,
            plan=plan,
            task_ids=[tasks_of(plan)[0].pk, foreign.pk, archived.pk, "abc", 10**9],
            status="DONE",
        )

    assert (error.value.code, error.value.field) == ("VALIDATION_ERROR", "customerTaskIds")
    assert error.value.details == {"invalidIds": ["abc", str(foreign.pk), str(archived.pk), str(10**9)]}
    assert str(foreign.pk) in error.value.message
    assert snapshot(plan) == before
    assert snapshot(other_plan) == other_before


def test_bulk_refuses_an_empty_list_and_an_unknown_status(admin_user):
    plan = make_plan(admin_user)
    before = snapshot(plan)
    with pytest.raises(ValidationFailed) as error:
        customer_tasks_bulk_update_status(actor=admin_user, plan=plan, task_ids=[], status="DONE")
    assert error.value.field == "customerTaskIds"
    with pytest.raises(ValidationFailed) as error:
        customer_tasks_bulk_update_status(
            actor=admin_user, plan=plan, task_ids=[tasks_of(plan)[0].pk], status="COMPLETE"
        )
    assert error.value.field == "status"
    assert snapshot(plan) == before


@postgres_only
def test_bulk_status_change_runs_a_constant_number_of_queries(admin_user):
    small, large = make_plan(admin_user, weights=["1"] * 3), make_plan(admin_user, weights=["1"] * 60)
    counts = []
    for plan in (small, large):
        ids = list(plan.tasks.values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as queries:
            customer_tasks_bulk_update_status(actor=admin_user, plan=plan, task_ids=ids, status="IN_PROGRESS")
        counts.append(len(queries))
    assert counts[0] == counts[1]
