"""Builders shared by the telemetry tests: plans, tasks and attributes from the factories."""

from decimal import Decimal

import pytest

from adoption.choices import DataType, StatusSource, TaskStatus
from tests.factories import (
    AdoptionPlanFactory,
    CustomerFactory,
    CustomerTaskFactory,
    CustomerTelemetryAttributeFactory,
)


def attr(name, data_type=DataType.BOOLEAN, criteria=None, required=True, **kwargs):
    """An attribute spec for `add_task`; criteria None means {"op": "eq", "value": True} for BOOLEAN."""
    if criteria is None and data_type == DataType.BOOLEAN:
        criteria = {"op": "eq", "value": True}
    return {"name": name, "data_type": data_type, "success_criteria": criteria or {}, "is_required": required, **kwargs}


def add_task(
    plan, *specs, name=None, weight="1.00", status=TaskStatus.NOT_STARTED, source=StatusSource.SYSTEM, **kwargs
):
    """A customer task in `plan` with one customer attribute per spec; returns (task, [attributes])."""
    extra = {"name": name} if name else {}
    task = CustomerTaskFactory(
        adoption_plan=plan,
        weight=Decimal(weight),
        status=status,
        status_update_source=source,
        is_complete=status == TaskStatus.DONE,
        **extra,
        **kwargs,
    )
    attributes = [
        CustomerTelemetryAttributeFactory(customer_task=task, order=i, **spec) for i, spec in enumerate(specs)
    ]
    return task, attributes


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Acme")


@pytest.fixture
def plan(customer):
    return AdoptionPlanFactory(customer_product__customer=customer)


@pytest.fixture
def other_customer(db):
    return CustomerFactory(name="Globex")


@pytest.fixture
def other_plan(other_customer):
    return AdoptionPlanFactory(customer_product__customer=other_customer)
