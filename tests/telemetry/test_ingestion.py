"""The one ingestion service: validation, scope, batches, evaluation, query counts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adoption.choices import DataType, LicenseLevel, StatusSource, TaskStatus
from adoption.models import CustomerTask, Task, TaskStatusChange
from config.audit.models import AuditLog
from config.errors import Conflict, Forbidden, NotFound, ValidationFailed
from customers.permissions import customer_ids_visible_to
from telemetry.criteria import CLOCK_SKEW_TOLERANCE
from telemetry.ingestion import content_hash, parse_observed_at
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch
from telemetry.services import customer_task_reset_to_telemetry, telemetry_ingest
from tests.conftest import postgres_only
from tests.factories import AdoptionPlanFactory, CustomerTelemetryValueFactory
from tests.telemetry.conftest import add_task, attr

pytestmark = pytest.mark.django_db

B, N, S, T, J = DataType.BOOLEAN, DataType.NUMBER, DataType.STRING, DataType.TIMESTAMP, DataType.JSON
_RECENT = (datetime.now(UTC) - timedelta(days=2)).isoformat()
_OLD = (datetime.now(UTC) - timedelta(days=30)).isoformat()
DOC = {
    "sso": {"enabled": True, "provider": "Okta"},
    "seats": 120,
    "modules": ["vpn", "dlp"],
    "last_audit": _RECENT,
    "nothing": None,
    "items": [{"name": "first"}],
}
THREE_DEEP = {
    "all": [
        {"any": [{"not": {"op": "lt", "value": 10}}, {"all": [{"op": "eq", "value": 3}, {"op": "exists"}]}]},
        {"not": {"any": [{"op": "gt", "value": 1000}, {"not": {"op": "exists"}}]}},
    ]
}

# (data type, criterion, value, met): every op of every data type, through ingestion and evaluation.
CASES = [
    (B, {"op": "eq", "value": True}, True, True),
    (B, {"op": "eq", "value": True}, False, False),
    (B, {"op": "eq", "value": False}, False, True),
    (B, {"op": "exists"}, False, True),
    (B, {}, False, True),  # no criteria: any value meets
    (N, {"op": "eq", "value": 5}, 5.0, True),
    (N, {"op": "eq", "value": 5}, 6, False),
    (N, {"op": "ne", "value": 5}, 6, True),
    (N, {"op": "ne", "value": 5}, 5, False),
    (N, {"op": "gt", "value": 100}, 101, True),
    (N, {"op": "gt", "value": 100}, 100, False),
    (N, {"op": "gte", "value": 100}, 100, True),
    (N, {"op": "gte", "value": 100}, 99.5, False),
    (N, {"op": "lt", "value": 0.5}, 0.25, True),
    (N, {"op": "lt", "value": 0.5}, 0.5, False),
    (N, {"op": "lte", "value": 3}, 3, True),
    (N, {"op": "lte", "value": 3}, 4, False),
    (N, {"op": "between", "value": [10, 20]}, 20, True),
    (N, {"op": "between", "value": [10, 20]}, 21, False),
    (N, {"op": "exists"}, 0, True),
    (S, {"op": "eq", "value": "Okta"}, "Okta", True),
    (S, {"op": "eq", "value": "Okta"}, "okta", False),
    (S, {"op": "eq", "value": "Okta", "caseSensitive": False}, "OKTA", True),
    (S, {"op": "ne", "value": "none"}, "saml", True),
    (S, {"op": "ne", "value": "none"}, "none", False),
    (S, {"op": "contains", "value": "prod"}, "eu-prod-1", True),
    (S, {"op": "contains", "value": "prod"}, "eu-test-1", False),
    (S, {"op": "regex", "value": "^v[0-9]+\\.[0-9]+$"}, "v7.2", True),
    (S, {"op": "regex", "value": "^v[0-9]+\\.[0-9]+$"}, "7.2", False),
    (S, {"op": "in", "value": ["saml", "oidc"]}, "oidc", True),
    (S, {"op": "in", "value": ["saml", "oidc"]}, "ldap", False),
    (T, {"op": "before", "value": "2024-01-01"}, "2023-12-31T23:59:59Z", True),
    (T, {"op": "before", "value": "2024-01-01"}, "2024-01-01T00:00:01+00:00", False),
    (T, {"op": "after", "value": "2024-01-01T00:00:00Z"}, "2024-03-01", True),
    (T, {"op": "after", "value": "2024-01-01T00:00:00Z"}, "2023-06-01T10:00:00+02:00", False),
    (T, {"op": "within_days", "value": 7}, _RECENT, True),
    (T, {"op": "within_days", "value": 7}, _OLD, False),
    (J, {"op": "eq", "value": True, "path": "sso.enabled"}, DOC, True),
    (J, {"op": "eq", "value": "okta", "path": "sso.provider", "caseSensitive": False}, DOC, True),
    (J, {"op": "gte", "value": 100, "path": "seats"}, DOC, True),
    (J, {"op": "between", "value": [1, 50], "path": "seats"}, DOC, False),
    (J, {"op": "contains", "value": "dlp", "path": "modules"}, DOC, True),
    (J, {"op": "contains", "value": "casb", "path": "modules"}, DOC, False),
    (J, {"op": "regex", "value": "^Ok", "path": "sso.provider"}, DOC, True),
    (J, {"op": "in", "value": ["Okta", "Azure"], "path": "sso.provider"}, DOC, True),
    (J, {"op": "within_days", "value": 7, "path": "last_audit"}, DOC, True),
    (J, {"op": "eq", "value": "first", "path": "items.0.name"}, DOC, True),
    (J, {"op": "exists", "path": "sso.provider"}, DOC, True),
    (J, {"op": "exists", "path": "sso.missing"}, DOC, False),  # missing path
    (J, {"op": "exists", "path": "nothing"}, DOC, False),  # null at the path counts as no value
    (J, {"op": "gt", "value": 1, "path": "sso"}, DOC, False),  # an object does not compare
    (J, {"op": "gt", "value": 1}, 5, True),  # a JSON attribute holding a bare number
    (N, THREE_DEEP, 3, True),  # composites nested three deep
    (N, THREE_DEEP, 50, True),
    (N, THREE_DEEP, 5, False),
    (N, THREE_DEEP, 2000, False),
    (
        J,
        {
            "any": [
                {"op": "eq", "value": "x", "path": "a"},
                {
                    "all": [
                        {"op": "gt", "value": 100, "path": "seats"},
                        {"not": {"op": "contains", "value": "vpn", "path": "modules"}},
                    ]
                },
            ]
        },
        DOC,
        False,
    ),
    (
        J,
        {
            "any": [
                {"op": "eq", "value": "x", "path": "a"},
                {
                    "all": [
                        {"op": "gt", "value": 100, "path": "seats"},
                        {"not": {"op": "contains", "value": "casb", "path": "modules"}},
                    ]
                },
            ]
        },
        DOC,
        True,
    ),
    (S, {"all": []}, "anything", True),
    (S, {"any": []}, "anything", False),
]


def _case_id(index: int, case: tuple) -> str:
    """Stable ids (no timestamps in them), so that parallel workers collect the same tests."""
    data_type, criterion = case[0], case[1]
    return f"{index:02d}-{data_type}-{criterion.get('op') or next(iter(criterion), 'none')}"


@pytest.mark.parametrize("data_type, criterion, value, met", CASES, ids=[_case_id(i, c) for i, c in enumerate(CASES)])
def test_every_op_of_every_type_through_ingestion(plan, admin_user, data_type, criterion, value, met):
    task, (attribute,) = add_task(plan, attr("measure", data_type, criterion))

    result = telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": attribute.pk, "value": value}])

    attribute.refresh_from_db()
    task.refresh_from_db()
    assert attribute.is_met is met
    assert task.status == (TaskStatus.DONE if met else TaskStatus.NOT_STARTED)
    assert task.telemetry_status == task.status
    assert [c.to_status for c in result.status_changes] == ([TaskStatus.DONE] if met else [])


def test_result_lists_stored_values_and_status_changes(plan, admin_user):
    task, (sso, users) = add_task(plan, attr("sso"), attr("users", N, {"op": "gte", "value": 10}), name="SSO")
    observed = "2024-05-01T08:30:00Z"

    result = telemetry_ingest(
        actor=admin_user,
        items=[
            {
                "customerAttributeId": str(sso.pk),
                "value": True,
                "observedAt": observed,
                "source": "okta",
                "notes": "from the IdP",
            },
            {"customerAttributeId": users.pk, "value": 3},
        ],
        batch_id="b-1",
    )

    stored = list(CustomerTelemetryValue.objects.order_by("pk"))
    assert [(v.customer_attribute_id, v.value, v.source, v.notes, v.batch_id) for v in stored] == [
        (sso.pk, True, "okta", "from the IdP", "b-1"),
        (users.pk, 3, "api", "", "b-1"),
    ]
    assert stored[0].observed_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert abs(stored[1].observed_at - timezone.now()) < timedelta(seconds=30)  # default: received time
    assert result.values == stored and result.replayed is False
    answer = result.as_dict()
    assert answer["batchId"] == "b-1" and answer["stored"] == 2 and answer["replayed"] is False
    assert answer["values"][0] == {
        "id": str(stored[0].pk),
        "customerAttributeId": str(sso.pk),
        "value": True,
        "observedAt": "2024-05-01T08:30:00+00:00",
        "source": "okta",
        "notes": "from the IdP",
        "batchId": "b-1",
    }
    assert answer["statusChanges"] == [
        {
            "customerTaskId": str(task.pk),
            "adoptionPlanId": str(plan.pk),
            "taskName": "SSO",
            "fromStatus": "NOT_STARTED",
            "toStatus": "IN_PROGRESS",
            "source": "TELEMETRY",
        }
    ]
    entry = TaskStatusChange.objects.get(customer_task=task)
    assert entry.evidence["batchId"] == "b-1" and entry.evidence["channel"] == "api"


def test_audit_entry_per_batch_and_freshness(plan, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))
    telemetry_ingest(
        actor=admin_user,
        items=[
            {"customerAttributeId": sso.pk, "value": True, "observedAt": "2024-05-02T00:00:00Z"},
            {"customerAttributeId": sso.pk, "value": False, "observedAt": "2024-05-01T00:00:00Z"},
        ],
        batch_id="first",
        channel="graphql",
    )
    sso.refresh_from_db()
    assert sso.last_seen_at == datetime(2024, 5, 2, tzinfo=UTC)
    assert sso.is_met is True  # the later observation wins, whatever the order of the items

    # a late arrival of an older observation neither moves freshness back nor becomes "latest"
    telemetry_ingest(
        actor=admin_user, items=[{"customerAttributeId": sso.pk, "value": False, "observedAt": "2024-04-01"}]
    )
    sso.refresh_from_db()
    assert sso.last_seen_at == datetime(2024, 5, 2, tzinfo=UTC) and sso.is_met is True

    entries = list(AuditLog.objects.filter(action="telemetry.ingest").order_by("pk"))
    assert len(entries) == 2
    assert entries[0].actor == admin_user and entries[0].object_id == "first"
    assert entries[0].customer_id == plan.customer_product.customer_id
    assert entries[0].details["values"] == 2 and entries[0].details["channel"] == "graphql"


# --- attribute lookup and scope ----------------------------------------------------------------


def test_attribute_can_be_named_by_plan_task_and_attribute_names(plan, admin_user):
    task, (sso,) = add_task(plan, attr("sso_enabled"), name="Enable SSO")

    telemetry_ingest(
        actor=admin_user,
        items=[
            {"adoptionPlanId": str(plan.pk), "taskName": "Enable SSO", "attributeName": "sso_enabled", "value": True}
        ],
    )

    assert CustomerTelemetryValue.objects.get().customer_attribute == sso
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_task_name_that_is_not_unique_lists_the_candidates(plan, admin_user):
    one, _ = add_task(plan, attr("sso"), name="Twice")
    two, _ = add_task(plan, attr("sso"), name="Twice")

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(
            actor=admin_user,
            items=[{"adoptionPlanId": plan.pk, "taskName": "Twice", "attributeName": "sso", "value": True}],
        )

    assert err.value.details == [
        {
            "index": 0,
            "field": "taskName",
            "message": f"task name 'Twice' is not unique in adoption plan {plan.pk}: customer tasks {one.pk}, {two.pk}; "
            "name the attribute by customerAttributeId instead",
        }
    ]
    assert not CustomerTelemetryValue.objects.exists()


def test_values_for_archived_tasks_are_accepted_and_kept(plan, admin_user):
    task, (sso,) = add_task(plan, attr("sso"), name="Gone", is_archived=True)

    telemetry_ingest(
        actor=admin_user, items=[{"adoptionPlanId": plan.pk, "taskName": "Gone", "attributeName": "sso", "value": True}]
    )

    assert CustomerTelemetryValue.objects.get().customer_attribute == sso
    plan.refresh_from_db()
    assert plan.total_tasks == 0  # archived tasks stay out of totals


def test_incomplete_name_reference_names_what_is_missing(plan, admin_user):
    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(
            actor=admin_user, items=[{"adoptionPlanId": plan.pk, "taskName": "x", "value": 1}, {"value": 1}]
        )
    assert err.value.details == [
        {
            "index": 0,
            "field": "attributeName",
            "message": "attributeName is required when the attribute is named by plan, task and attribute names",
        },
        {
            "index": 1,
            "field": "customerAttributeId",
            "message": "name the attribute: customerAttributeId, or adoptionPlanId, taskName and attributeName",
        },
    ]


def test_key_scope_answers_the_same_for_unknown_and_foreign_attributes(plan, other_plan, customer, admin_user):
    _, (mine,) = add_task(plan, attr("sso"))
    _, (theirs,) = add_task(other_plan, attr("sso"))

    with pytest.raises(Forbidden) as err:
        telemetry_ingest(
            actor=admin_user,
            customer=customer,
            items=[
                {"customerAttributeId": mine.pk, "value": True},
                {"customerAttributeId": theirs.pk, "value": True},
                {"customerAttributeId": 987654, "value": True},
                {"customerAttributeId": "not-an-id", "value": True},
                {"adoptionPlanId": other_plan.pk, "taskName": "x", "attributeName": "sso", "value": True},
            ],
        )

    assert err.value.code == "FORBIDDEN"
    foreign = f"customer telemetry attribute '{theirs.pk}' not found"
    assert err.value.details == [
        {"index": 1, "field": "customerAttributeId", "message": foreign},
        {"index": 2, "field": "customerAttributeId", "message": "customer telemetry attribute '987654' not found"},
        {"index": 3, "field": "customerAttributeId", "message": "customer telemetry attribute 'not-an-id' not found"},
        {"index": 4, "field": "adoptionPlanId", "message": f"adoption plan {other_plan.pk} not found"},
    ]
    assert err.value.message == f"item 1: customer telemetry attribute '{theirs.pk}' not found; nothing was stored"
    assert not CustomerTelemetryValue.objects.exists() and not AuditLog.objects.exists()
    mine.refresh_from_db()
    assert mine.last_seen_at is None and mine.last_checked_at is None


def test_user_scope_answers_not_found_for_invisible_attributes(plan, other_plan, customer, csm):
    _, (theirs,) = add_task(other_plan, attr("sso"))
    customer.assigned_users.add(csm)

    with pytest.raises(NotFound) as err:
        telemetry_ingest(
            actor=csm, allowed_customer_ids=[customer.pk], items=[{"customerAttributeId": theirs.pk, "value": True}]
        )

    assert err.value.details == [
        {"index": 0, "field": "customerAttributeId", "message": f"customer telemetry attribute '{theirs.pk}' not found"}
    ]
    assert not CustomerTelemetryValue.objects.exists()


def test_user_scope_accepts_a_values_queryset_of_visible_customers(plan, customer, csm):
    customer.assigned_users.add(csm)
    _, (sso,) = add_task(plan, attr("sso"))

    telemetry_ingest(
        actor=csm,
        allowed_customer_ids=customer_ids_visible_to(csm),
        items=[{"customerAttributeId": sso.pk, "value": True}],
    )

    assert CustomerTelemetryValue.objects.count() == 1


# --- value validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data_type, value, message",
    [
        (N, "abc", "expected NUMBER, got string 'abc'"),
        (N, True, "expected NUMBER, got boolean true"),
        (B, "yes", "expected BOOLEAN, got string 'yes'"),
        (B, 1, "expected BOOLEAN, got number 1"),
        (S, 42, "expected STRING, got number 42"),
        (
            T,
            "yesterday",
            "expected TIMESTAMP (ISO 8601 date-time with time zone, or YYYY-MM-DD), got string 'yesterday'",
        ),
        (
            T,
            "2024-05-01T10:00:00",
            "expected TIMESTAMP (ISO 8601 date-time with time zone, or YYYY-MM-DD), got string '2024-05-01T10:00:00'",
        ),
        (J, None, "expected JSON, got null"),
        (N, None, "expected NUMBER, got null"),
    ],
)
def test_wrong_types_are_rejected_naming_attribute_type_and_received(plan, admin_user, data_type, value, message):
    _, (attribute,) = add_task(plan, attr("measure", data_type, {}), name="Task A")

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": attribute.pk, "value": value}])

    assert err.value.details == [
        {"index": 0, "field": "value", "message": f"attribute 'measure' of task 'Task A': {message}"}
    ]
    assert not CustomerTelemetryValue.objects.exists()


def test_one_bad_item_rejects_the_whole_request(plan, admin_user):
    task, (sso, users) = add_task(plan, attr("sso"), attr("users", N, {"op": "gt", "value": 1}), name="T")

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(
            actor=admin_user,
            batch_id="b",
            items=[
                {"customerAttributeId": sso.pk, "value": True},
                {"customerAttributeId": users.pk, "value": "12"},
                {"customerAttributeId": sso.pk, "value": True, "observedAt": "last tuesday"},
                {"customerAttributeId": sso.pk},
                "nonsense",
            ],
        )

    assert err.value.code == "VALIDATION_ERROR"
    assert err.value.details == [
        {"index": 1, "field": "value", "message": "attribute 'users' of task 'T': expected NUMBER, got string '12'"},
        {
            "index": 2,
            "field": "observedAt",
            "message": "observedAt must be an ISO 8601 date-time like 2024-05-01T12:00:00Z, got 'last tuesday'",
        },
        {"index": 3, "field": "value", "message": "value is required"},
        {"index": 4, "field": "", "message": "each value must be an object, got str"},
    ]
    assert err.value.message.startswith("4 of 5 values rejected (item 1: ")
    assert not CustomerTelemetryValue.objects.exists() and not TelemetryBatch.objects.exists()
    assert not TaskStatusChange.objects.exists() and not AuditLog.objects.exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.NOT_STARTED


def test_observed_at_in_the_future_is_rejected(plan, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))
    future = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(
            actor=admin_user, items=[{"customerAttributeId": sso.pk, "value": True, "observedAt": future.isoformat()}]
        )
    assert err.value.details[0]["message"] == f"observedAt {future.isoformat()} is in the future"


def test_empty_and_oversized_requests_are_refused(plan, admin_user):
    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(actor=admin_user, items=[])
    assert err.value.field == "values"
    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(actor=admin_user, items=[{}] * 5001)
    assert err.value.message == "too many values in one request: 5001, at most 5000"


# --- manual override -------------------------------------------------------------------------------


def test_manual_status_is_kept_through_ingestion(plan, admin_user):
    task, (sso,) = add_task(plan, attr("sso"), status=TaskStatus.IN_PROGRESS, source=StatusSource.MANUAL)

    result = telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": sso.pk, "value": True}])

    assert result.status_changes == []
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and task.status_update_source == StatusSource.MANUAL
    assert task.telemetry_status == TaskStatus.DONE and task.telemetry_disagrees
    sso.refresh_from_db()
    assert sso.is_met is True


# --- batches -------------------------------------------------------------------------------------


def test_same_batch_again_is_a_replay_that_stores_nothing(plan, customer, admin_user):
    task, (sso,) = add_task(plan, attr("sso"))
    items = [{"customerAttributeId": sso.pk, "value": True}]
    first = telemetry_ingest(actor=admin_user, items=items, batch_id="nightly-1", customer=customer)

    again = telemetry_ingest(actor=admin_user, items=items, batch_id="nightly-1", customer=customer)

    assert again.replayed is True
    assert again.as_dict() == {**first.as_dict(), "replayed": True}
    assert [v.pk for v in again.values] == [v.pk for v in first.values]
    assert [(c.customer_task_id, c.to_status) for c in again.status_changes] == [(task.pk, "DONE")]
    assert CustomerTelemetryValue.objects.count() == 1
    assert TaskStatusChange.objects.count() == 1 and AuditLog.objects.count() == 1
    batch = TelemetryBatch.objects.get()
    assert (batch.customer, batch.batch_id, batch.value_count) == (customer, "nightly-1", 1)


def test_a_replay_answers_as_the_first_time_though_the_batch_row_keeps_no_values(plan, customer, admin_user):
    _, (n, doc, flag, users) = add_task(
        plan,
        attr("n", DataType.NUMBER, {"op": "gte", "value": 1}),
        attr("doc", DataType.JSON, {"op": "exists", "path": "a"}),
        attr("flag"),
        attr("users", DataType.NUMBER, {"op": "gte", "value": 1}),
    )
    items = [
        {"customerAttributeId": str(n.pk), "value": 93.5, "observedAt": "2024-05-01T14:00:00+02:00"},
        {"customerAttributeId": str(doc.pk), "value": {"b": 1.5, "a": [1, 2]}, "observedAt": "2024-05-01T12:00:00Z"},
        {"customerAttributeId": str(flag.pk), "value": True, "observedAt": "2024-05-02", "notes": "by hand"},
        {"customerAttributeId": str(users.pk), "value": 1e20, "source": "idp"},
        {"customerAttributeId": str(n.pk), "value": 7, "observedAt": "2024-05-01T09:30:00.250000-04:00"},
    ]
    first = telemetry_ingest(actor=admin_user, items=items, batch_id="offsets", customer=customer)

    answered = first.as_dict()["values"]
    assert [v["observedAt"] for v in answered[:3]] == [
        "2024-05-01T14:00:00+02:00",  # as sent, not as stored (12:00 UTC)
        "2024-05-01T12:00:00+00:00",
        "2024-05-02T00:00:00+00:00",
    ]
    assert answered[4]["observedAt"] == "2024-05-01T09:30:00.250000-04:00"
    # The batch row keeps the answer without its values (they are the values table's rows), and the
    # observed times that read back in another form.
    stored = TelemetryBatch.objects.get().response
    assert "values" not in stored and stored["stored"] == 5
    assert stored["observedAtAsSent"] == {"0": "2024-05-01T14:00:00+02:00", "4": "2024-05-01T09:30:00.250000-04:00"}

    again = telemetry_ingest(actor=admin_user, items=items, batch_id="offsets", customer=customer)

    assert again.replayed is True
    assert again.as_dict() == {**first.as_dict(), "replayed": True}
    assert again.value_ids == first.value_ids == [int(v["id"]) for v in answered]
    assert CustomerTelemetryValue.objects.count() == 5


def test_a_batch_stored_with_its_values_in_the_answer_replays_that_answer(plan, customer, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))
    items = [{"customerAttributeId": str(sso.pk), "value": True}]
    first = telemetry_ingest(actor=admin_user, items=items, batch_id="older", customer=customer)
    # Batches stored before the answer left its values out hold the whole answer: replayed as it is.
    whole = {**first.response, "values": [{**first.response["values"][0], "notes": "as answered then"}]}
    TelemetryBatch.objects.update(response=whole)

    again = telemetry_ingest(actor=admin_user, items=items, batch_id="older", customer=customer)

    assert again.replayed and again.as_dict() == {**whole, "replayed": True}


BIG = 1.5e25  # the float is 15000000000000000905969664; PostgreSQL stores the decimal 15000000000000000000000000


def test_ingestion_evaluates_and_records_evidence_as_the_stored_values_give_them(plan, customer, admin_user):
    """The new values are evaluated without being read back; the evidence is what reading them gives."""
    task, (big, doc, late, seen) = add_task(
        plan,
        attr("big", DataType.NUMBER, {"op": "gte", "value": 15000000000000000100000000}),
        attr("doc", DataType.JSON, {"op": "gte", "value": 1, "path": "x"}),
        attr("late"),
        attr("seen", DataType.NUMBER, {"op": "gte", "value": 5}),
    )
    stored_later = datetime(2024, 6, 1, tzinfo=UTC)
    CustomerTelemetryValueFactory(customer_attribute=late, value=True, observed_at=stored_later)
    items = [
        {"customerAttributeId": str(big.pk), "value": BIG, "observedAt": "2024-05-01T14:00:00+02:00"},
        {"customerAttributeId": str(doc.pk), "value": {"x": -0.0, "y": [1e20]}},
        # A late arrival: older than the stored value, which stays the latest.
        {"customerAttributeId": str(late.pk), "value": False, "observedAt": "2024-05-01T00:00:00Z"},
        # Two values for one attribute: the later observedAt is the latest, whatever the item order.
        {"customerAttributeId": str(seen.pk), "value": 9, "observedAt": "2024-05-03T00:00:00Z"},
        {"customerAttributeId": str(seen.pk), "value": 1, "observedAt": "2024-05-02T00:00:00Z"},
    ]

    result = telemetry_ingest(actor=admin_user, items=items, batch_id="evidence", customer=customer)

    # Each value as reading it back gives it (PostgreSQL: 1.5e25 is the decimal 15 followed by 24 zeros,
    # which does not meet "≥ 150...0100000000" although the float sent does; -0.0 is 0).
    read_back = {v.customer_attribute.name: v.value for v in CustomerTelemetryValue.objects.filter(batch_id="evidence")}
    if connection.vendor == "postgresql":
        assert read_back["big"] == 15000000000000000000000000 and read_back["doc"] == {"x": 0, "y": [10**20]}
    met = dict(CustomerTelemetryAttribute.objects.filter(customer_task=task).values_list("name", "is_met"))
    assert met == {"big": read_back["big"] >= 15000000000000000100000000, "doc": False, "late": True, "seen": True}
    assert [(c.customer_task_id, c.to_status) for c in result.status_changes] == [(task.pk, TaskStatus.IN_PROGRESS)]
    ingested = TaskStatusChange.objects.get(customer_task=task).evidence
    rows = {row["name"]: row for row in ingested["attributes"]}
    assert (rows["big"]["value"], rows["big"]["observedAt"]) == (read_back["big"], "2024-05-01T12:00:00+00:00")
    assert rows["doc"]["value"] == read_back["doc"]
    assert (rows["late"]["value"], rows["late"]["observedAt"]) == (True, stored_later.isoformat())
    assert (rows["seen"]["value"], rows["seen"]["observedAt"]) == (9, "2024-05-03T00:00:00+00:00")

    # Handing the task back to telemetry evaluates it again from the stored values: the same evidence.
    customer_task_reset_to_telemetry(actor=admin_user, task=task)
    again = TaskStatusChange.objects.filter(customer_task=task).latest("pk").evidence
    assert again["attributes"] == ingested["attributes"] and again["computedStatus"] == ingested["computedStatus"]
    assert [row["name"] for row in ingested["attributes"]] == ["big", "doc", "late", "seen"]  # attribute order


def test_the_content_fingerprint_of_a_batch_stays_what_it_was():
    """Stored batches are compared with this fingerprint: a change would turn their replays into conflicts."""
    items = [
        {
            "customerAttributeId": "5",
            "value": 93.5,
            "observedAt": "2026-11-30T06:00:00Z",
            "source": "idp",
            "batchId": "b",
        },
        {"adoptionPlanId": "1", "taskName": "Roll out MFA", "attributeName": "mfa_enforced", "value": True},
        {"customerAttributeId": 7, "value": {"b": [1, 2.5], "a": "é"}, "notes": "x"},
    ]
    assert content_hash(items) == "25b6ce45a3dfa96718777230cace4fe317f3b7660f32595f4df69925d5bfa915"
    assert content_hash([{k: v for k, v in items[0].items() if k != "batchId"}, *items[1:]]) == content_hash(items)


def test_same_batch_with_other_content_is_a_conflict(plan, customer, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))
    telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": sso.pk, "value": True}], batch_id="b7")

    with pytest.raises(Conflict) as err:
        telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": sso.pk, "value": False}], batch_id="b7")

    assert err.value.code == "CONFLICT" and err.value.field == "batchId"
    assert err.value.message == "batchId 'b7' was already used for different values; use a new batchId"
    assert list(CustomerTelemetryValue.objects.values_list("value", flat=True)) == [True]


def test_batch_ids_are_per_customer(plan, other_plan, admin_user):
    _, (mine,) = add_task(plan, attr("sso"))
    _, (theirs,) = add_task(other_plan, attr("sso"))

    telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": mine.pk, "value": True}], batch_id="b")
    telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": theirs.pk, "value": False}], batch_id="b")

    assert CustomerTelemetryValue.objects.count() == 2 and TelemetryBatch.objects.count() == 2


def test_items_that_disagree_on_the_batch_id_are_refused(plan, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(
            actor=admin_user,
            items=[
                {"customerAttributeId": sso.pk, "value": True, "batchId": "a"},
                {"customerAttributeId": sso.pk, "value": True, "batchId": "b"},
            ],
        )

    assert err.value.details == [
        {
            "index": 1,
            "field": "batchId",
            "message": "batchId 'b' differs from the request's batchId 'a': all values of a request carry the same "
            "batchId",
        }
    ]
    assert not CustomerTelemetryValue.objects.exists()


@pytest.mark.parametrize(
    ("request_batch_id", "item_batch_ids", "message"),
    [
        ("b1", ["other"], "batchId 'other' differs from the request's batchId 'b1'"),
        (None, ["b1", "other"], "batchId 'other' differs from the request's batchId 'b1'"),
    ],
)
def test_a_replayed_batch_id_does_not_hide_items_that_disagree_on_it(
    plan, customer, admin_user, request_batch_id, item_batch_ids, message
):
    _, (sso,) = add_task(plan, attr("sso"))
    telemetry_ingest(
        actor=admin_user,
        items=[{"customerAttributeId": sso.pk, "value": True} for _ in item_batch_ids],
        batch_id="b1",
        customer=customer,
    )
    items = [{"customerAttributeId": sso.pk, "value": True, "batchId": b} for b in item_batch_ids]

    with pytest.raises(ValidationFailed) as err:  # the same content under "b1", but not one batchId
        telemetry_ingest(actor=admin_user, items=items, batch_id=request_batch_id, customer=customer)

    index = len(item_batch_ids) - 1
    assert err.value.details == [
        {"index": index, "field": "batchId", "message": message + ": all values of a request carry the same batchId"}
    ]
    assert CustomerTelemetryValue.objects.count() == len(item_batch_ids) and TelemetryBatch.objects.count() == 1


def test_observed_at_may_be_ahead_by_the_clock_skew_tolerance_that_within_days_allows(plan, admin_user):
    _, (seen,) = add_task(plan, attr("seen", T, {"op": "within_days", "value": 1}))
    now = timezone.now()
    ahead = now + CLOCK_SKEW_TOLERANCE
    assert parse_observed_at(ahead.isoformat(), now=now) == (ahead, None)
    too_far = ahead + timedelta(seconds=1)
    assert parse_observed_at(too_far.isoformat(), now=now) == (
        None,
        f"observedAt {too_far.isoformat()} is in the future",
    )

    result = telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": seen.pk, "value": ahead.isoformat()}])
    assert [c.to_status for c in result.status_changes] == [TaskStatus.DONE]
    telemetry_ingest(actor=admin_user, items=[{"customerAttributeId": seen.pk, "value": "2099-01-01T00:00:00Z"}])
    seen.refresh_from_db()
    assert seen.is_met is False and seen.customer_task.status == TaskStatus.NOT_STARTED


def test_item_batch_id_serves_as_the_request_batch_id(plan, admin_user):
    _, (sso,) = add_task(plan, attr("sso"))
    items = [{"customerAttributeId": sso.pk, "value": True, "batchId": "item-level"}]

    telemetry_ingest(actor=admin_user, items=items)
    replay = telemetry_ingest(actor=admin_user, items=items)

    assert replay.replayed and CustomerTelemetryValue.objects.get().batch_id == "item-level"


def test_a_batch_belongs_to_one_customer(plan, other_plan, admin_user):
    _, (mine,) = add_task(plan, attr("sso"))
    _, (theirs,) = add_task(other_plan, attr("sso"))

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(
            actor=admin_user,
            batch_id="mixed",
            items=[
                {"customerAttributeId": mine.pk, "value": True},
                {"customerAttributeId": theirs.pk, "value": True},
            ],
        )

    assert err.value.details[0]["field"] == "batchId"
    assert not CustomerTelemetryValue.objects.exists()


# --- query count: constant in the number of values -------------------------------------------------


def _world(plans, tasks_per_plan):
    """Plans of one customer, each task with two attributes, built in bulk."""
    first = AdoptionPlanFactory()
    customer = first.customer_product.customer
    plan_list = [first] + [AdoptionPlanFactory(customer_product__customer=customer) for _ in range(plans - 1)]
    attributes = []
    for plan in plan_list:
        catalog = Task.objects.bulk_create(
            [
                Task(product=plan.product, name=f"T{i}", license_level=LicenseLevel.ESSENTIAL)
                for i in range(tasks_per_plan)
            ]
        )
        tasks = CustomerTask.objects.bulk_create(
            [
                CustomerTask(adoption_plan=plan, original_task=t, name=t.name, license_level=1, weight=Decimal("1.00"))
                for t in catalog
            ]
        )
        attributes += CustomerTelemetryAttribute.objects.bulk_create(
            [
                CustomerTelemetryAttribute(customer_task=t, name=n, data_type=dt, success_criteria=c, is_required=True)
                for t in tasks
                for n, dt, c in (("on", B, {"op": "eq", "value": True}), ("n", N, {"op": "gte", "value": 1}))
            ]
        )
    return customer, attributes


def _items(attributes, count):
    base = datetime(2024, 5, 1, tzinfo=UTC)
    items = []
    for i in range(count):
        attribute = attributes[i % len(attributes)]
        value = True if attribute.data_type == B else i
        items.append(
            {
                "customerAttributeId": str(attribute.pk),
                "value": value,
                "observedAt": (base + timedelta(minutes=i)).isoformat(),
                "source": "bench",
            }
        )
    return items


@postgres_only
def test_ingestion_query_count_does_not_grow_with_the_number_of_values():
    small_customer, small = _world(plans=3, tasks_per_plan=2)
    large_customer, large = _world(plans=4, tasks_per_plan=60)

    with CaptureQueriesContext(connection) as few:
        result = telemetry_ingest(actor="bench", items=_items(small, 10), batch_id="s", customer=small_customer)
    assert result.as_dict()["stored"] == 10 and len(result.status_changes) == 5
    with CaptureQueriesContext(connection) as many:
        result = telemetry_ingest(actor="bench", items=_items(large, 1000), batch_id="l", customer=large_customer)
    assert result.as_dict()["stored"] == 1000 and len(result.status_changes) == 240

    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]


@postgres_only
def test_name_lookup_query_count_does_not_grow_with_the_number_of_values():
    small_customer, small = _world(plans=2, tasks_per_plan=2)
    large_customer, large = _world(plans=3, tasks_per_plan=40)

    def by_name(attributes):
        rows = CustomerTelemetryAttribute.objects.filter(pk__in=[a.pk for a in attributes]).select_related(
            "customer_task"
        )
        return [
            {
                "adoptionPlanId": a.customer_task.adoption_plan_id,
                "taskName": a.customer_task.name,
                "attributeName": a.name,
                "value": True if a.data_type == B else 5,
            }
            for a in rows
        ]

    small_items, large_items = by_name(small), by_name(large)
    with CaptureQueriesContext(connection) as few:
        telemetry_ingest(actor="bench", items=small_items, customer=small_customer)
    with CaptureQueriesContext(connection) as many:
        telemetry_ingest(actor="bench", items=large_items, customer=large_customer)

    assert CustomerTelemetryValue.objects.count() == len(small_items) + len(large_items)
    assert len(many) == len(few)


# --- large batches: set-based writes, item order, constant statements ------------------------------


def _flipping_items(attributes, *, flip_every: int, base: datetime):
    """One value per attribute (two per task); every `flip_every`-th task gets values meeting both of
    its criteria (DONE), the others values that meet none (they stay NOT_STARTED)."""
    items = []
    for i, attribute in enumerate(attributes):
        met = (i // 2) % flip_every == 0
        value = met if attribute.data_type == B else (5 if met else 0)
        items.append(
            {
                "customerAttributeId": str(attribute.pk),
                "value": value,
                "observedAt": (base + timedelta(seconds=i)).isoformat(),
                "source": f"s{i % 7}",
                "notes": f"n{i}",
            }
        )
    return items


def test_a_5000_value_batch_is_stored_in_item_order_with_every_effect():
    customer, attributes = _world(plans=5, tasks_per_plan=500)
    base = datetime(2024, 5, 1, tzinfo=UTC)
    stale = CustomerTelemetryAttribute.objects.filter(pk=attributes[1].pk)
    stale.update(last_seen_at=base + timedelta(days=30))  # a later value arrived before: kept
    items = _flipping_items(attributes, flip_every=2, base=base)

    result = telemetry_ingest(actor="bench", items=items, batch_id="big", customer=customer)

    assert result.as_dict()["stored"] == 5000 and len(result.values) == 5000
    assert len(result.status_changes) == 1250
    assert {c.to_status for c in result.status_changes} == {TaskStatus.DONE}
    stored = {v.pk: v for v in CustomerTelemetryValue.objects.filter(batch_id="big")}
    assert len(stored) == 5000
    # Each returned id is the row of its own item, in item order.
    for item, value in zip(items, result.values, strict=True):
        row = stored[value.pk]
        assert (row.customer_attribute_id, row.value, row.source, row.notes) == (
            int(item["customerAttributeId"]),
            item["value"],
            item["source"],
            item["notes"],
        )
        assert row.observed_at == datetime.fromisoformat(item["observedAt"]) == value.observed_at
    assert [int(v["id"]) for v in result.response["values"]] == [v.pk for v in result.values]

    fresh = {a.pk: a for a in CustomerTelemetryAttribute.objects.filter(pk__in=[a.pk for a in attributes])}
    assert fresh[attributes[1].pk].last_seen_at == base + timedelta(days=30)
    assert fresh[attributes[2].pk].last_seen_at == base + timedelta(seconds=2)
    assert sum(a.is_met for a in fresh.values()) == 2500
    tasks = CustomerTask.objects.filter(telemetry_attributes__in=attributes).distinct()
    assert tasks.filter(status=TaskStatus.DONE, status_update_source=StatusSource.TELEMETRY).count() == 1250
    assert tasks.filter(status=TaskStatus.NOT_STARTED, telemetry_status=TaskStatus.NOT_STARTED).count() == 1250
    history = TaskStatusChange.objects.filter(customer_task__in=tasks)
    assert history.count() == 1250
    entry = history.order_by("pk").first()
    assert entry.evidence["batchId"] == "big" and entry.evidence["computedStatus"] == TaskStatus.DONE
    assert [c.history_id for c in result.status_changes] == sorted(history.values_list("pk", flat=True))
    assert AuditLog.objects.filter(action="telemetry.ingest", object_id="big").count() == 1


@postgres_only
def test_evaluation_rewrites_attribute_rows_beside_their_old_versions():
    """Attribute pages keep 30% of their room (fillfactor 70), so a rewritten row can stay on its page
    and none of the table's indexes gets a new entry (a heap-only update). Rows that do not fit move to
    pages with room and fit there next time (as long as no older transaction, in any database of the
    server, keeps the old versions from being pruned); the room kept from the start is what this test
    can count: about two rows in five fit at once on the freshly written pages, none on packed ones."""
    table = CustomerTelemetryAttribute._meta.db_table
    customer, attributes = _world(plans=1, tasks_per_plan=500)  # 1,000 rows on many pages

    def updates():
        with connection.cursor() as cursor:
            cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s", [table])
            return cursor.fetchone()

    before = updates()
    telemetry_ingest(actor="bench", items=_items(attributes, 1000), customer=customer)
    after = updates()

    assert after[0] - before[0] == 1000
    assert after[1] - before[1] >= 300  # with the table packed: none
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        assert cursor.fetchone()[0] == ["fillfactor=70"]


@postgres_only
def test_status_changes_rewrite_task_rows_beside_their_old_versions():
    """Nothing indexes a task's status and task pages keep 15% of their room (fillfactor 85): tasks
    that telemetry moves to DONE are rewritten without a new entry in any of the table's indexes, for
    as many rows as the room on their pages holds (packed, or with the status indexed: none)."""
    table = CustomerTask._meta.db_table
    customer, attributes = _world(plans=1, tasks_per_plan=500)

    def updates():
        with connection.cursor() as cursor:
            cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s", [table])
            return cursor.fetchone()

    items = [{"customerAttributeId": str(a.pk), "value": True if a.data_type == "BOOLEAN" else 5} for a in attributes]
    before = updates()
    result = telemetry_ingest(actor="bench", items=items, customer=customer)
    after = updates()

    assert len(result.status_changes) == 500
    assert after[0] - before[0] >= 500
    assert after[1] - before[1] >= 25  # about one row in ten fits on the freshly written pages
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        assert cursor.fetchone()[0] == ["fillfactor=85"]


def test_a_fillfactor_is_a_share_of_a_page():
    from config.search import SetFillfactor

    assert SetFillfactor("customertask", 85).deconstruct() == (
        "SetFillfactor",
        [],
        {"model_name": "customertask", "fillfactor": 85},
    )
    for wrong in (0, 9, 101):
        with pytest.raises(ValueError, match="a fillfactor is 10 to 100"):
            SetFillfactor("customertask", wrong)


def test_a_refused_5000_value_batch_changes_nothing():
    customer, attributes = _world(plans=5, tasks_per_plan=500)
    items = _flipping_items(attributes, flip_every=2, base=datetime(2024, 5, 1, tzinfo=UTC))
    items[4999]["value"] = "many"  # the last item of a NUMBER attribute

    with pytest.raises(ValidationFailed) as err:
        telemetry_ingest(actor="bench", items=items, batch_id="big", customer=customer)

    assert err.value.details == [
        {"index": 4999, "field": "value", "message": err.value.details[0]["message"]},
    ]
    assert "'n'" in err.value.details[0]["message"]
    assert not CustomerTelemetryValue.objects.exists()
    assert not TelemetryBatch.objects.exists()
    assert not TaskStatusChange.objects.exists()
    assert not CustomerTelemetryAttribute.objects.filter(last_seen_at__isnull=False).exists()


@postgres_only
def test_a_5000_value_batch_runs_the_same_small_number_of_queries_as_10_values():
    small_customer, small = _world(plans=1, tasks_per_plan=5)
    large_customer, large = _world(plans=5, tasks_per_plan=500)
    base = datetime(2024, 5, 1, tzinfo=UTC)

    with CaptureQueriesContext(connection) as few:
        result = telemetry_ingest(
            actor="bench", items=_flipping_items(small, flip_every=2, base=base), batch_id="s", customer=small_customer
        )
    assert result.as_dict()["stored"] == 10 and len(result.status_changes) == 3
    with CaptureQueriesContext(connection) as many:
        result = telemetry_ingest(
            actor="bench", items=_flipping_items(large, flip_every=2, base=base), batch_id="l", customer=large_customer
        )
    assert result.as_dict()["stored"] == 5000 and len(result.status_changes) == 1250

    statements = [q["sql"][:60] for q in many.captured_queries]
    # Lock the tasks of the named attributes (found in that statement), lock their attributes (with
    # their latest values), batch insert unless it exists (no savepoint, no separate replay lookup),
    # one INSERT of the values (no read back), one UPDATE of the attributes, one of the changed tasks'
    # status fields, one of the other tasks' telemetry status, one history INSERT, plan lock, totals,
    # plan update, batch response, audit; the other two are the service's own savepoint (inside the
    # test's transaction).
    assert len(many) == len(few) == 15, "\n".join(statements)
