import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, Product, Task, TaskStatusChange
from config.audit.models import AuditLog
from customers.models import Customer, CustomerProduct, Role
from customers.permissions import customers_visible_to, role_of
from telemetry.evaluation import compute_task_status
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryAttribute, TelemetryBatch

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed():
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot():
    return {
        "users": sorted(User.objects.values_list("username", "is_staff", "is_superuser", "password")),
        "products": Product.objects.count(),
        "tasks": Task.objects.count(),
        "attributes": TelemetryAttribute.objects.count(),
        "catalog_changed_at": sorted(Product.objects.values_list("name", "catalog_changed_at")),
        "customers": sorted(Customer.objects.values_list("name", "description")),
        "assignments": CustomerProduct.objects.count(),
        "plans": sorted(
            AdoptionPlan.objects.values_list("pk", "total_tasks", "completed_tasks", "progress_percentage")
        ),
        "customer_tasks": sorted(CustomerTask.objects.values_list("pk", "status", "status_updated_at")),
        "customer_attributes": CustomerTelemetryAttribute.objects.count(),
        "attribute_state": sorted(
            CustomerTelemetryAttribute.objects.values_list("pk", "is_met", "last_seen_at", "last_checked_at")
        ),
        "values": sorted(CustomerTelemetryValue.objects.values_list("pk", "observed_at")),
        "batches": sorted(TelemetryBatch.objects.values_list("customer__name", "batch_id")),
        "history": TaskStatusChange.objects.count(),
        "audit": AuditLog.objects.count(),
    }


def test_seed_demo_twice_changes_nothing(fast_passwords):
    out = seed()
    first = snapshot()

    again = seed()

    assert snapshot() == first
    assert "Demo data: 5 users, 4 customers and 7 adoption plans created" in out
    assert "Demo data: 0 users, 0 customers and 0 adoption plans created" in again
    assert "Demo telemetry: 14 values stored, 6 task status changes." in out
    assert "Demo telemetry: 0 values stored, 0 task status changes." in again
    assert "tasks:      0 created, 0 updated, 126 unchanged" in again
    for line in ("admin        demo-admin-password", "casey.csm    demo-password", "erin.editor  demo-password"):
        assert line in again


def test_seed_demo_creates_users_of_every_role_and_customers_with_progress(fast_passwords):
    seed()

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("demo-admin-password")
    roles = {u.username: role_of(u) for u in User.objects.all()}
    assert roles == {
        "admin": Role.ADMIN,
        "casey.csm": Role.CSM,
        "sam.csm": Role.CSM,
        "erin.editor": Role.CATALOG_EDITOR,
        "vic.viewer": Role.VIEWER,
    }
    assert User.objects.get(username="vic.viewer").check_password("demo-password")
    assert Product.objects.count() == 3
    assert Customer.objects.count() == 4
    casey = User.objects.get(username="casey.csm")
    assert sorted(customers_visible_to(casey).values_list("name", flat=True)) == [
        "Fabrikam Retail",
        "Northwind Logistics",
    ]
    assert customers_visible_to(User.objects.get(username="erin.editor")).count() == 0

    northwind_identity = CustomerProduct.objects.get(
        customer__name="Northwind Logistics", product__name="Identity Guard"
    )
    assert northwind_identity.license_level == LicenseLevel.SIGNATURE
    assert sorted(northwind_identity.selected_outcomes.values_list("name", flat=True)) == [
        "Phishing-resistant authentication",
        "Zero-trust access",
    ]
    plan = northwind_identity.adoption_plan
    # 12 DONE and 2 IN_PROGRESS set by the CSM, 2 DONE and 1 IN_PROGRESS by telemetry.
    assert plan.completed_tasks == 14
    assert plan.tasks.filter(status=TaskStatus.DONE, status_update_source=StatusSource.MANUAL).count() == 12
    assert plan.tasks.filter(status=TaskStatus.IN_PROGRESS).count() == 3
    assert plan.tasks.filter(status=TaskStatus.NOT_APPLICABLE).count() == 1
    assert plan.progress_percentage > 0
    done = plan.tasks.filter(status=TaskStatus.DONE).first()
    assert done.status_update_source == StatusSource.MANUAL
    assert done.status_updated_by == "casey.csm"
    assert done.history.get().actor == "casey.csm"
    # Every level of license appears among the assignments.
    assert set(CustomerProduct.objects.values_list("license_level", flat=True)) == set(LicenseLevel)


def _task(customer, product, name):
    return CustomerTask.objects.get(
        adoption_plan__customer_product__customer__name=customer,
        adoption_plan__customer_product__product__name=product,
        name=name,
    )


def test_seed_demo_tasks_moved_by_telemetry_carry_their_evidence(fast_passwords):
    seed()

    by_telemetry = {
        (t.name, t.status)
        for t in CustomerTask.objects.filter(status_update_source=StatusSource.TELEMETRY, is_archived=False)
    }
    assert by_telemetry == {
        ("Configure risk-based step-up authentication", TaskStatus.DONE),
        ("Go passwordless for the workforce", TaskStatus.IN_PROGRESS),
        ("Protect SSH and RDP with the access gateway", TaskStatus.DONE),
        ("Define the first service-level objective", TaskStatus.DONE),
        ("Review the security dashboard weekly", TaskStatus.DONE),
        ("Export the audit log to your SIEM", TaskStatus.IN_PROGRESS),
    }
    step_up = _task("Northwind Logistics", "Identity Guard", "Configure risk-based step-up authentication")
    assert step_up.status_updated_by == "telemetry"
    assert step_up.completed_by == "telemetry"
    entry = step_up.history.get()
    assert (entry.from_status, entry.to_status, entry.source, entry.actor) == (
        TaskStatus.NOT_STARTED,
        TaskStatus.DONE,
        StatusSource.TELEMETRY,
        "telemetry",
    )
    assert entry.evidence["computedStatus"] == "DONE"
    assert entry.evidence["batchId"] == f"demo-plan-{step_up.adoption_plan_id}"
    assert [(a["name"], a["value"], a["isMet"]) for a in entry.evidence["attributes"]] == [
        ("step_up_risk_level", "medium", True)
    ]
    passwordless = _task("Northwind Logistics", "Identity Guard", "Go passwordless for the workforce")
    evidence = passwordless.history.get().evidence
    assert [(a["name"], a["value"], a["isMet"]) for a in evidence["attributes"]] == [
        ("passwordless_pct", 35, False),
        ("password_signins_7d", 80, True),
        ("passwordless_launch", None, False),
    ]
    # The plan totals include what telemetry completed: 12 DONE by the CSM plus 2 by telemetry.
    assert step_up.adoption_plan.completed_tasks == 14


def test_seed_demo_has_a_manual_status_that_telemetry_disagrees_with(fast_passwords):
    seed()

    mfa = _task("Northwind Logistics", "Identity Guard", "Roll out MFA to all users")
    assert (mfa.status, mfa.status_update_source, mfa.status_updated_by) == (
        TaskStatus.DONE,
        StatusSource.MANUAL,
        "casey.csm",
    )
    assert mfa.telemetry_status == TaskStatus.IN_PROGRESS
    assert mfa.telemetry_disagrees is True
    assert mfa.history.get().source == StatusSource.MANUAL  # telemetry wrote no history: the CSM owns it
    met = dict(mfa.telemetry_attributes.values_list("name", "is_met"))
    assert met == {"mfa_enrolled_pct": False, "mfa_enforced": True}
    # Same data, same answer: every CSM status that differs from what the task's telemetry computes
    # disagrees, whether or not the task has been evaluated since the plan was created.
    manual = CustomerTask.objects.filter(status_update_source=StatusSource.MANUAL).prefetch_related(
        "telemetry_attributes"
    )
    computed = {t.pk: compute_task_status(t.telemetry_attributes.all()) for t in manual}
    assert {t.pk for t in manual if t.telemetry_disagrees} == {
        t.pk for t in manual if computed[t.pk] is not None and computed[t.pk] != t.status
    }
    assert mfa.pk in {t.pk for t in manual if t.telemetry_disagrees}


def test_seed_demo_has_only_a_handful_of_disagreements(fast_passwords):
    """Alive but credible: the CSM sets statuses on tasks that telemetry does not report on, and on two
    that it does (the directory, where it agrees, and the MFA showcase, where it does not)."""
    seed()

    disagreeing = [t for t in CustomerTask.objects.filter(is_archived=False) if t.telemetry_disagrees]
    assert 1 <= len(disagreeing) <= 3
    assert [t.name for t in disagreeing] == ["Roll out MFA to all users"]
    by_hand = CustomerTask.objects.filter(status_update_source=StatusSource.MANUAL, is_archived=False)
    with_telemetry = by_hand.filter(telemetry_attributes__is_active=True).distinct()
    assert sorted(with_telemetry.values_list("name", flat=True)) == [
        "Connect the corporate directory",
        "Roll out MFA to all users",
    ]
    assert by_hand.count() == 52


def test_seed_demo_has_stale_required_telemetry(fast_passwords):
    seed()

    three_weeks_ago = timezone.now() - timedelta(days=20)
    stale = {
        (a.customer_task.name, a.name, a.is_met)
        for a in CustomerTelemetryAttribute.objects.filter(
            is_required=True, last_seen_at__lte=three_weeks_ago
        ).select_related("customer_task")
    }
    assert stale == {
        ("Enable continuous access evaluation", "cae_mode", False),
        ("Export the audit log to your SIEM", "siem_destination", True),
        ("Export the audit log to your SIEM", "last_audit_export", False),
    }
    fresh = CustomerTelemetryAttribute.objects.filter(last_seen_at__gt=three_weeks_ago).count()
    assert fresh == 11


def test_seed_demo_refuses_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="refuses to run in production mode"):
        seed()

    assert User.objects.count() == 0
    assert Product.objects.count() == 0
    assert Customer.objects.count() == 0
