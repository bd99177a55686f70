"""Plans for the plan page tests, built with the real services (assignment creates the plan)."""

from decimal import Decimal

import pytest
from django.test import Client

from adoption.choices import DataType, LicenseLevel
from adoption.models import Task
from adoption.services import customer_product_assign
from customers.models import Role
from telemetry.models import TelemetryAttribute
from tests.factories import CustomerFactory, OutcomeFactory, ProductFactory, ReleaseFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def build_plan(*, users=(), tasks: int = 5, attributes: int = 0, name: str = "Northwind Logistics", product=None):
    """A customer (assigned to `users`) owning a product of `tasks` tasks, each with `attributes`
    required NUMBER telemetry attributes (met at >= 90); the plan made by customer_product_assign.

    Task n (1-based) weighs n, takes 30 * n minutes, has sequence number n, and every odd task serves
    the outcome "Zero-trust access" and the release "7.2"; task 2 has a how-to document and video.
    """
    product = product or ProductFactory(name="Identity Guard")
    outcome = OutcomeFactory(product=product, name="Zero-trust access")
    OutcomeFactory(product=product, name="Compliance reporting")
    release = ReleaseFactory(product=product, name="7.2", level=Decimal("7.2"))
    catalog = Task.objects.bulk_create(
        [
            Task(
                product=product,
                name=f"Task {n}",
                weight=Decimal(n),
                est_minutes=30 * n,
                sequence_number=n,
                license_level=LicenseLevel.ESSENTIAL,
                how_to_doc=["https://docs.example.com/t2", "javascript:alert(1)"] if n == 2 else [],
                how_to_video=["https://video.example.com/t2"] if n == 2 else [],
            )
            for n in range(1, tasks + 1)
        ]
    )
    Task.outcomes.through.objects.bulk_create(
        [Task.outcomes.through(task_id=t.pk, outcome_id=outcome.pk) for t in catalog if t.sequence_number % 2]
    )
    Task.releases.through.objects.bulk_create(
        [Task.releases.through(task_id=t.pk, release_id=release.pk) for t in catalog if t.sequence_number % 2]
    )
    TelemetryAttribute.objects.bulk_create(
        [
            TelemetryAttribute(
                task_id=t.pk,
                name=f"metric_{i}",
                data_type=DataType.NUMBER,
                is_required=True,
                order=i,
                success_criteria={"op": "gte", "value": 90},
            )
            for t in catalog
            for i in range(1, attributes + 1)
        ]
    )
    customer = CustomerFactory(name=name, assigned_users=list(users))
    admin = UserFactory(username="plan_builder", is_superuser=True, is_staff=True)
    assignment = customer_product_assign(
        actor=admin, customer=customer, product=product, license_level=LicenseLevel.ESSENTIAL
    )
    return assignment.adoption_plan


@pytest.fixture
def people(db):
    """A CSM and a viewer of the customer, and a CSM of someone else."""
    return {
        "csm": UserFactory(username="casey", first_name="Casey", role=Role.CSM),
        "viewer": UserFactory(username="vera", first_name="Vera", role=Role.VIEWER),
        "stranger": UserFactory(username="sam", first_name="Sam", role=Role.CSM),
    }


@pytest.fixture
def plan(people):
    return build_plan(users=[people["csm"], people["viewer"]], attributes=1)


__all__ = ["build_plan", "client_for", "fast_password_hashing", "people", "plan"]
