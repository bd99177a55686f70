"""A small catalog and two customers' plans built with the real services, for the job tests."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adoption.choices import DataType, LicenseLevel
from tests.factories import ProductFactory, TaskFactory, TelemetryAttributeFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalog(db):
    """Product "Identity Guard": task Roll out MFA (NUMBER enrolled_pct >= 90, and BOOLEAN mfa_on),
    task Connect directory (no attributes)."""
    product = ProductFactory(name="Identity Guard")
    mfa = TaskFactory(product=product, name="Roll out MFA", weight=Decimal("5"), license_level=LicenseLevel.ESSENTIAL)
    TaskFactory(product=product, name="Connect directory", weight=Decimal("3"), license_level=LicenseLevel.ESSENTIAL)
    enrolled = TelemetryAttributeFactory(
        task=mfa,
        name="enrolled_pct",
        data_type=DataType.NUMBER,
        is_required=True,
        order=0,
        success_criteria={"op": "gte", "value": 90},
    )
    mfa_on = TelemetryAttributeFactory(
        task=mfa, name="mfa_on", data_type=DataType.BOOLEAN, is_required=True, order=1, success_criteria={}
    )
    return {"product": product, "mfa": mfa, "enrolled": enrolled, "mfa_on": mfa_on}


@pytest.fixture
def plans(catalog, admin_user):
    """Two customers with the product, each with a plan."""
    from adoption.services import customer_product_assign
    from customers.services import customer_create

    result = {}
    for name in ("Northwind", "Contoso"):
        customer = customer_create(actor=admin_user, name=name)
        assignment = customer_product_assign(
            actor=admin_user, customer=customer, product=catalog["product"], license_level=LicenseLevel.ESSENTIAL
        )
        result[name] = assignment.adoption_plan
    return result


@pytest.fixture
def owner(db):
    """A CSM assigned to Northwind."""
    from customers.models import Role

    return UserFactory(username="casey", role=Role.CSM)


def import_csv(plan, rows: int, *, start: datetime | None = None, bad_row: int | None = None) -> bytes:
    """A telemetry file of `rows` data rows for the plan's enrolled_pct attribute, one hour apart;
    `bad_row` (1-based data row) holds text where a number belongs."""
    from telemetry.models import CustomerTelemetryAttribute

    attribute = CustomerTelemetryAttribute.objects.get(customer_task__adoption_plan=plan, name="enrolled_pct")
    start = start or datetime(2024, 1, 1, tzinfo=UTC)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["customerAttributeId", "value", "observedAt"])
    for index in range(1, rows + 1):
        value = "lots" if index == bad_row else str(index % 100)
        writer.writerow([attribute.pk, value, (start + timedelta(hours=index)).isoformat()])
    return buffer.getvalue().encode()
