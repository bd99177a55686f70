"""SPEC 5: stored totals equal a fresh count, also when several users change one plan at once.

Runs on PostgreSQL only: SQLite has no row locks (select_for_update is a no-op there) and
serialises writers on the whole file anyway.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from adoption.choices import TaskStatus
from adoption.models import AdoptionPlan, CustomerTask
from adoption.progress import percentage, round2, to_decimal
from adoption.services import customer_product_assign, customer_task_update_status, customer_tasks_bulk_update_status
from tests.conftest import postgres_only
from tests.factories import CustomerFactory, ProductFactory, TaskFactory, UserFactory

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
            connection.close()

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
