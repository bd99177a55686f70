"""Data for the page tests, built through the real services (catalog rows by factories, since the
catalog is edited in the admin)."""

import re
from decimal import Decimal

from adoption.choices import DataType, LicenseLevel, TaskStatus
from adoption.models import Task
from adoption.services import customer_product_assign, customer_task_update_status
from customers.services import customer_create, customer_set_assignees
from telemetry.models import TelemetryAttribute
from tests.factories import OutcomeFactory, ProductFactory, ReleaseFactory

CSRF_IN_BODY = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')


def without_csrf(content: bytes) -> bytes:
    """The page with its (per-render masked) CSRF tokens blanked, to compare two answers."""
    return CSRF_IN_BODY.sub(rb"\1", content)


def make_catalog(*, tasks: int = 5, name: str | None = None, attributes: bool = True):
    """A product with two outcomes, one release and `tasks` tasks: the even ones serve the first outcome,
    the odd ones the second; every third task needs ADVANTAGE; each task has one telemetry attribute."""
    product = ProductFactory(**({"name": name} if name else {}))
    outcomes = [OutcomeFactory(product=product, name="Zero-trust access"), OutcomeFactory(product=product, name="MFA")]
    release = ReleaseFactory(product=product, name="7.2", level=Decimal("7.2"))
    created = Task.objects.bulk_create(
        [
            Task(
                product=product,
                name=f"{product.name} task {n}",
                weight=Decimal("2.50"),
                est_minutes=60,
                sequence_number=n,
                license_level=LicenseLevel.ADVANTAGE if n % 3 == 2 else LicenseLevel.ESSENTIAL,
            )
            for n in range(tasks)
        ]
    )
    Task.outcomes.through.objects.bulk_create(
        [Task.outcomes.through(task_id=t.pk, outcome_id=outcomes[i % 2].pk) for i, t in enumerate(created)]
    )
    if attributes:
        TelemetryAttribute.objects.bulk_create(
            [
                TelemetryAttribute(
                    task_id=t.pk,
                    name=f"attr_{t.pk}",
                    data_type=DataType.BOOLEAN,
                    is_required=True,
                    success_criteria={"op": "eq", "value": True},
                )
                for t in created
            ]
        )
    return product, outcomes, release


def make_customer(actor, name: str, *, assignees=(), products=(), level=LicenseLevel.SIGNATURE, done: int = 0):
    """A customer with these people assigned and these products assigned (plans created), the first
    `done` tasks of each plan set DONE by `actor`."""
    customer = customer_create(actor=actor, name=name, description=f"{name} description")
    if assignees:
        customer_set_assignees(actor=actor, customer=customer, users=list(assignees))
    for product in products:
        assignment = customer_product_assign(actor=actor, customer=customer, product=product, license_level=level)
        for task in assignment.adoption_plan.tasks.order_by("sequence_number")[:done]:
            customer_task_update_status(actor=actor, task=task, status=TaskStatus.DONE)
    return customer
