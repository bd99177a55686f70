import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, Product, Task, TaskStatusChange
from config.audit.models import AuditLog
from customers.models import Customer, CustomerProduct, Role
from customers.permissions import customers_visible_to, role_of
from telemetry.models import CustomerTelemetryAttribute, TelemetryAttribute

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
    assert plan.completed_tasks == 12
    assert plan.tasks.filter(status=TaskStatus.IN_PROGRESS).count() == 4
    assert plan.tasks.filter(status=TaskStatus.NOT_APPLICABLE).count() == 1
    assert plan.progress_percentage > 0
    done = plan.tasks.filter(status=TaskStatus.DONE).first()
    assert done.status_update_source == StatusSource.MANUAL
    assert done.status_updated_by == "casey.csm"
    assert done.history.get().actor == "casey.csm"
    # Every level of license appears among the assignments.
    assert set(CustomerProduct.objects.values_list("license_level", flat=True)) == set(LicenseLevel)


def test_seed_demo_refuses_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="refuses to run in production mode"):
        seed()

    assert User.objects.count() == 0
    assert Product.objects.count() == 0
    assert Customer.objects.count() == 0
