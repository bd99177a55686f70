"""Freshness: each attribute knows when it was last seen; a plan its stalest required one."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import DataType
from telemetry.selectors import (
    attribute_freshness,
    latest_values_by_attribute,
    plan_stalest_required_attribute,
    plans_stalest_required_attributes,
)
from telemetry.services import telemetry_ingest
from tests.factories import AdoptionPlanFactory, CustomerTelemetryValueFactory
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_attribute_freshness_is_the_observed_time_of_its_latest_value(plan, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))
    assert attribute_freshness(sso, now=NOW).never_seen

    telemetry_ingest(
        actor=admin_user, items=[{"customerAttributeId": sso.pk, "value": True, "observedAt": "2024-05-31T12:00:00Z"}]
    )
    sso.refresh_from_db()

    freshness = attribute_freshness(sso, now=NOW)
    assert freshness.last_seen_at == datetime(2024, 5, 31, 12, tzinfo=UTC)
    assert freshness.age == timedelta(days=1)
    assert freshness.as_dict() == {"lastSeenAt": "2024-05-31T12:00:00+00:00", "ageSeconds": 86400}


def test_stalest_required_attribute_never_seen_first_then_oldest(plan):
    _, (fresh, stale) = add_task(
        plan, attr("fresh", last_seen_at=NOW), attr("stale", last_seen_at=NOW - timedelta(days=9))
    )
    add_task(
        plan,
        attr("optional", required=False, last_seen_at=NOW - timedelta(days=90)),
        attr("req", last_seen_at=NOW - timedelta(days=1)),
    )

    # an optional attribute of a task that marks others as required does not count
    assert plan_stalest_required_attribute(plan) == stale

    _, (never,) = add_task(plan, attr("never"))
    assert plan_stalest_required_attribute(plan) == never


def test_when_no_attribute_is_required_all_count(plan):
    _, (a, b) = add_task(
        plan,
        attr("a", required=False, last_seen_at=NOW),
        attr("b", required=False, last_seen_at=NOW - timedelta(days=3)),
    )

    assert plan_stalest_required_attribute(plan) == b


def test_archived_tasks_and_inactive_attributes_do_not_count(plan):
    add_task(plan, attr("gone", last_seen_at=NOW - timedelta(days=300)), is_archived=True)
    add_task(plan, attr("retired", is_active=False, last_seen_at=NOW - timedelta(days=300)))
    _, (live,) = add_task(plan, attr("live", last_seen_at=NOW))

    assert plan_stalest_required_attribute(plan) == live
    assert plan_stalest_required_attribute(AdoptionPlanFactory()) is None


def test_stalest_for_many_plans_in_one_query(plan):
    other = AdoptionPlanFactory()
    _, (p1a, p1b) = add_task(plan, attr("a", last_seen_at=NOW), attr("b", last_seen_at=NOW - timedelta(days=2)))
    _, (p2a,) = add_task(other, attr("a", last_seen_at=NOW - timedelta(days=5)))
    empty = AdoptionPlanFactory()

    with CaptureQueriesContext(connection) as queries:
        answer = plans_stalest_required_attributes([plan.pk, other.pk, empty.pk])

    assert answer == {plan.pk: p1b, other.pk: p2a}
    assert answer[plan.pk].customer_task.adoption_plan_id == plan.pk
    assert len(queries) == 1


def test_latest_values_by_attribute_in_one_query(plan):
    _, (a, b, c) = add_task(plan, attr("a"), attr("b", DataType.NUMBER, {}), attr("c"))
    CustomerTelemetryValueFactory(customer_attribute=a, value=True, observed_at=NOW)
    latest_a = CustomerTelemetryValueFactory(customer_attribute=a, value=False, observed_at=NOW + timedelta(hours=1))
    CustomerTelemetryValueFactory(customer_attribute=a, value=True, observed_at=NOW - timedelta(hours=1))
    latest_b = CustomerTelemetryValueFactory(customer_attribute=b, value=1, observed_at=NOW)

    with CaptureQueriesContext(connection) as queries:
        latest = latest_values_by_attribute([a.pk, b.pk, c.pk])

    assert latest == {a.pk: latest_a, b.pk: latest_b}
    assert len(queries) == 1
