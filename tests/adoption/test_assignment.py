"""Assigning a product, creating plans, changing entitlements and removing a product."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from adoption.choices import DataType, LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, CustomerTaskOutcome, CustomerTaskRelease, TaskStatusChange
from adoption.selectors import plan_needs_sync
from adoption.services import (
    adoption_plan_create,
    customer_product_assign,
    customer_product_remove,
    customer_product_update,
    customer_task_update_status,
)
from config.audit.models import AuditLog
from config.errors import Conflict, ValidationFailed
from customers.models import CustomerProduct
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue
from tests.factories import (
    CustomerFactory,
    CustomerProductFactory,
    CustomerTelemetryValueFactory,
    OutcomeFactory,
    ProductFactory,
    ReleaseFactory,
    TaskFactory,
    TelemetryAttributeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    product = ProductFactory(name="Secure Access")
    zero_trust = OutcomeFactory(product=product, name="Zero trust")
    visibility = OutcomeFactory(product=product, name="Visibility")
    r72 = ReleaseFactory(product=product, name="7.2", level=Decimal("7.2"))
    sso = TaskFactory(
        product=product,
        name="Enable SSO",
        description="Connect the IdP",
        est_minutes=45,
        weight=Decimal("2.50"),
        sequence_number=10,
        priority="High",
        how_to_doc=["https://docs/sso"],
        how_to_video=["https://video/sso"],
        notes="Ask IT",
        license_level=LicenseLevel.ESSENTIAL,
        outcomes=[zero_trust, visibility],
        releases=[r72],
    )
    TelemetryAttributeFactory(task=sso, name="sso_enabled", order=1, success_criteria={"op": "eq", "value": True})
    TelemetryAttributeFactory(
        task=sso,
        name="users",
        data_type=DataType.NUMBER,
        is_required=False,
        order=2,
        success_criteria={"op": "gte", "value": 100},
    )
    TelemetryAttributeFactory(task=sso, name="retired", is_active=False)
    mfa = TaskFactory(
        product=product,
        name="Enforce MFA",
        weight=Decimal("1.25"),
        sequence_number=20,
        license_level=LicenseLevel.ADVANTAGE,
        outcomes=[zero_trust],
    )
    TaskFactory(
        product=product,
        name="Dashboards",
        weight=Decimal("1"),
        sequence_number=30,
        license_level=LicenseLevel.ESSENTIAL,
        outcomes=[visibility],
    )
    TaskFactory(product=product, name="Threat hunting", sequence_number=40, license_level=LicenseLevel.SIGNATURE)
    return {"product": product, "zero_trust": zero_trust, "visibility": visibility, "r72": r72, "sso": sso, "mfa": mfa}


def domain_counts():
    return {
        "assignments": CustomerProduct.objects.count(),
        "plans": AdoptionPlan.objects.count(),
        "tasks": CustomerTask.objects.count(),
        "attributes": CustomerTelemetryAttribute.objects.count(),
        "audit": AuditLog.objects.count(),
    }


def test_assign_creates_assignment_and_plan_snapshot(catalog, admin_user):
    customer = CustomerFactory(name="Acme")

    assignment = customer_product_assign(
        actor=admin_user,
        customer=customer,
        product=catalog["product"],
        license_level="ADVANTAGE",
        outcome_ids=[str(catalog["zero_trust"].pk)],
    )

    assignment.refresh_from_db()
    assert assignment.license_level == LicenseLevel.ADVANTAGE
    assert list(assignment.selected_outcomes.all()) == [catalog["zero_trust"]]
    assert list(assignment.selected_releases.all()) == []
    plan = AdoptionPlan.objects.get(customer_product=assignment)
    assert plan.product == catalog["product"]
    assert plan.product_name == "Secure Access"
    assert plan.license_level == LicenseLevel.ADVANTAGE
    assert list(plan.selected_outcomes.all()) == [catalog["zero_trust"]]
    assert list(plan.selected_releases.all()) == []
    assert plan.last_synced_at == assignment.entitlements_changed_at
    assert (plan.total_tasks, plan.completed_tasks) == (2, 0)
    assert (plan.total_weight, plan.completed_weight, plan.progress_percentage) == (
        Decimal("3.75"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert plan_needs_sync(plan) is False

    tasks = list(plan.tasks.order_by("sequence_number"))
    assert [t.name for t in tasks] == ["Enable SSO", "Enforce MFA"]
    sso = tasks[0]
    assert sso.original_task == catalog["sso"]
    assert (sso.description, sso.est_minutes, sso.weight, sso.sequence_number, sso.priority) == (
        "Connect the IdP",
        45,
        Decimal("2.50"),
        10,
        "High",
    )
    assert (sso.how_to_doc, sso.how_to_video, sso.notes, sso.license_level) == (
        ["https://docs/sso"],
        ["https://video/sso"],
        "Ask IT",
        LicenseLevel.ESSENTIAL,
    )
    assert (sso.status, sso.status_update_source, sso.is_complete, sso.is_archived) == (
        TaskStatus.NOT_STARTED,
        StatusSource.SYSTEM,
        False,
        False,
    )
    assert sorted(o.name for o in sso.outcomes.all()) == ["Visibility", "Zero trust"]
    assert [r.name for r in sso.releases.all()] == ["7.2"]
    attributes = list(sso.telemetry_attributes.order_by("order"))
    assert [(a.name, a.data_type, a.is_required, a.success_criteria, a.order, a.is_active) for a in attributes] == [
        ("sso_enabled", DataType.BOOLEAN, True, {"op": "eq", "value": True}, 1, True),
        ("users", DataType.NUMBER, False, {"op": "gte", "value": 100}, 2, True),
    ]
    assert {a.original_attribute.name for a in attributes} == {"sso_enabled", "users"}
    assert tasks[1].telemetry_attributes.count() == 0


def test_assign_without_selections_takes_every_task_up_to_the_level(catalog, admin_user):
    assignment = customer_product_assign(
        actor=admin_user,
        customer=CustomerFactory(),
        product=catalog["product"],
        license_level=LicenseLevel.SIGNATURE,
    )
    assert assignment.adoption_plan.tasks.count() == 4
    assert assignment.adoption_plan.total_weight == Decimal("5.75")


def test_assign_records_purchase_date_and_audit_entries(catalog, admin_user):
    customer = CustomerFactory(name="Acme")
    purchased = timezone.now() - timedelta(days=30)

    assignment = customer_product_assign(
        actor=admin_user,
        customer=customer,
        product=catalog["product"],
        license_level=1,
        release_ids=[catalog["r72"].pk],
        purchased_at=purchased,
    )

    assert assignment.purchased_at == purchased
    entries = list(AuditLog.objects.filter(customer_id=customer.pk).order_by("id"))
    assert [(e.action, e.actor, e.object_type) for e in entries] == [
        ("customer_product.assign", admin_user, "customerproduct"),
        ("adoption_plan.create", admin_user, "adoptionplan"),
    ]
    assert entries[0].object_id == str(assignment.pk)
    assert entries[0].summary == "Assigned Secure Access (Essential) to Acme"
    assert entries[0].details == {
        "productId": catalog["product"].pk,
        "productName": "Secure Access",
        "licenseLevel": "ESSENTIAL",
        "selectedOutcomeIds": [],
        "selectedReleaseIds": [str(catalog["r72"].pk)],
    }
    assert entries[1].details["taskCount"] == 2
    assert entries[1].object_id == str(assignment.adoption_plan.pk)


def test_assigning_a_product_twice_is_a_conflict_and_changes_nothing(catalog, admin_user):
    customer = CustomerFactory()
    customer_product_assign(actor=admin_user, customer=customer, product=catalog["product"], license_level=1)
    before = domain_counts()

    with pytest.raises(Conflict) as error:
        customer_product_assign(actor=admin_user, customer=customer, product=catalog["product"], license_level=3)

    assert error.value.code == "CONFLICT"
    assert "already has product 'Secure Access'" in error.value.message
    assert domain_counts() == before


@pytest.mark.parametrize(
    ("kwargs_of", "field"),
    [
        (
            lambda other, c: {"outcome_ids": [c["zero_trust"].pk, OutcomeFactory(product=other).pk]},
            "selectedOutcomeIds",
        ),
        (lambda other, c: {"release_ids": [ReleaseFactory(product=other).pk]}, "selectedReleaseIds"),
        (
            lambda other, c: {"outcome_ids": [OutcomeFactory(product=c["product"], is_active=False).pk]},
            "selectedOutcomeIds",
        ),
        (lambda other, c: {"outcome_ids": [987654]}, "selectedOutcomeIds"),
        (lambda other, c: {"release_ids": ["not-an-id"]}, "selectedReleaseIds"),
        (lambda other, c: {"license_level": "PLATINUM"}, "licenseLevel"),
        (lambda other, c: {"license_level": 7}, "licenseLevel"),
    ],
    ids=[
        "foreign-outcome",
        "foreign-release",
        "inactive-outcome",
        "unknown-outcome",
        "malformed-release",
        "unknown-license-name",
        "unknown-license-number",
    ],
)
def test_invalid_assignment_input_is_refused_and_changes_nothing(catalog, admin_user, kwargs_of, field):
    customer = CustomerFactory()
    kwargs = {"license_level": "ESSENTIAL", **kwargs_of(ProductFactory(), catalog)}
    before = domain_counts()

    with pytest.raises(ValidationFailed) as error:
        customer_product_assign(actor=admin_user, customer=customer, product=catalog["product"], **kwargs)

    assert error.value.code == "VALIDATION_ERROR"
    assert error.value.field == field
    assert domain_counts() == before


def test_refusal_names_the_bad_outcome_ids(catalog, admin_user):
    foreign = OutcomeFactory()
    with pytest.raises(ValidationFailed) as error:
        customer_product_assign(
            actor=admin_user,
            customer=CustomerFactory(),
            product=catalog["product"],
            license_level=1,
            outcome_ids=[catalog["zero_trust"].pk, foreign.pk, "x"],
        )
    assert error.value.details == {"invalidIds": ["x", str(foreign.pk)]}
    assert str(foreign.pk) in error.value.message


def test_assigning_an_inactive_product_is_refused(catalog, admin_user):
    product = ProductFactory(is_active=False)
    before = domain_counts()
    with pytest.raises(ValidationFailed) as error:
        customer_product_assign(actor=admin_user, customer=CustomerFactory(), product=product, license_level=1)
    assert error.value.field == "productId"
    assert domain_counts() == before


def test_plan_can_be_created_later_for_an_assignment_without_one(catalog, admin_user):
    assignment = CustomerProductFactory(product=catalog["product"], license_level=LicenseLevel.ESSENTIAL)
    assignment.selected_outcomes.set([catalog["visibility"]])

    plan = adoption_plan_create(actor=admin_user, customer_product=assignment)

    assert sorted(plan.tasks.values_list("name", flat=True)) == ["Dashboards", "Enable SSO"]
    assert list(plan.selected_outcomes.all()) == [catalog["visibility"]]
    assert (plan.total_tasks, plan.total_weight) == (2, Decimal("3.50"))
    entry = AuditLog.objects.get(action="adoption_plan.create")
    assert (entry.object_id, entry.customer_id) == (str(plan.pk), assignment.customer_id)


def test_creating_a_second_plan_is_a_conflict_and_changes_nothing(catalog, admin_user):
    assignment = customer_product_assign(
        actor=admin_user, customer=CustomerFactory(), product=catalog["product"], license_level=1
    )
    before = domain_counts()
    with pytest.raises(Conflict):
        adoption_plan_create(actor=admin_user, customer_product=assignment)
    assert domain_counts() == before


# --- entitlement changes -----------------------------------------------------------------------


@pytest.fixture
def assignment(catalog, admin_user):
    return customer_product_assign(
        actor=admin_user, customer=CustomerFactory(name="Acme"), product=catalog["product"], license_level="ESSENTIAL"
    )


def test_entitlement_change_marks_the_plan_for_sync_without_touching_tasks(assignment, catalog, admin_user):
    plan = assignment.adoption_plan
    task_rows = list(plan.tasks.values_list("pk", "name", "updated_at"))

    updated = customer_product_update(
        actor=admin_user, customer_product=assignment, license_level="SIGNATURE", outcome_ids=[catalog["zero_trust"].pk]
    )

    updated.refresh_from_db()
    assert updated.license_level == LicenseLevel.SIGNATURE
    assert list(updated.selected_outcomes.all()) == [catalog["zero_trust"]]
    assert updated.entitlements_changed_at > plan.last_synced_at
    plan = AdoptionPlan.objects.select_related("customer_product", "product").get(pk=plan.pk)
    assert plan_needs_sync(plan) is True
    assert plan.license_level == LicenseLevel.ESSENTIAL
    assert list(plan.tasks.values_list("pk", "name", "updated_at")) == task_rows
    entry = AuditLog.objects.get(action="customer_product.update")
    customer = assignment.customer.name
    assert (
        entry.summary == f"Changed license level (Essential → Signature) and outcomes of Secure Access for {customer}"
    )
    assert entry.details == {
        "changed": ["licenseLevel", "selectedOutcomeIds"],
        "before": {"licenseLevel": "ESSENTIAL", "selectedOutcomeIds": [], "selectedReleaseIds": []},
        "after": {
            "licenseLevel": "SIGNATURE",
            "selectedOutcomeIds": [str(catalog["zero_trust"].pk)],
            "selectedReleaseIds": [],
        },
    }


def test_none_keeps_and_empty_list_clears_selections(assignment, catalog, admin_user):
    customer_product_update(
        actor=admin_user,
        customer_product=assignment,
        outcome_ids=[catalog["visibility"].pk],
        release_ids=[catalog["r72"].pk],
    )
    customer_product_update(actor=admin_user, customer_product=assignment, license_level=2)
    summaries = list(
        AuditLog.objects.filter(action="customer_product.update").order_by("pk").values_list("summary", flat=True)
    )
    customer = assignment.customer.name
    assert summaries == [
        f"Changed outcomes and releases of Secure Access for {customer}",
        f"Changed license level (Essential → Advantage) of Secure Access for {customer}",
    ]
    assignment.refresh_from_db()
    assert list(assignment.selected_outcomes.all()) == [catalog["visibility"]]
    assert list(assignment.selected_releases.all()) == [catalog["r72"]]

    customer_product_update(actor=admin_user, customer_product=assignment, outcome_ids=[])
    assert list(assignment.selected_outcomes.all()) == []
    assert list(assignment.selected_releases.all()) == [catalog["r72"]]


def test_update_that_changes_nothing_writes_nothing(assignment, catalog, admin_user):
    stamp = CustomerProduct.objects.get(pk=assignment.pk).entitlements_changed_at
    audit_before = AuditLog.objects.count()

    customer_product_update(
        actor=admin_user, customer_product=assignment, license_level="essential", outcome_ids=[], release_ids=[]
    )

    assert CustomerProduct.objects.get(pk=assignment.pk).entitlements_changed_at == stamp
    assert AuditLog.objects.count() == audit_before


def test_invalid_entitlement_change_is_refused_and_changes_nothing(assignment, catalog, admin_user):
    stamp = CustomerProduct.objects.get(pk=assignment.pk).entitlements_changed_at
    audit_before = AuditLog.objects.count()

    with pytest.raises(ValidationFailed) as error:
        customer_product_update(
            actor=admin_user, customer_product=assignment, license_level="SIGNATURE", outcome_ids=[OutcomeFactory().pk]
        )

    assert error.value.field == "selectedOutcomeIds"
    saved = CustomerProduct.objects.get(pk=assignment.pk)
    assert (saved.license_level, saved.entitlements_changed_at) == (LicenseLevel.ESSENTIAL, stamp)
    assert list(saved.selected_outcomes.all()) == []
    assert AuditLog.objects.count() == audit_before


# --- removing a product --------------------------------------------------------------------------


def test_removing_a_product_deletes_its_plan_tasks_history_and_values(assignment, catalog, admin_user):
    plan = assignment.adoption_plan
    sso = plan.tasks.get(name="Enable SSO")
    customer_task_update_status(actor=admin_user, task=sso, status="IN_PROGRESS")
    customer_task_update_status(actor=admin_user, task=sso, status="DONE")
    attribute = sso.telemetry_attributes.get(name="sso_enabled")
    CustomerTelemetryValueFactory(customer_attribute=attribute, value=True)
    other = customer_product_assign(
        actor=admin_user, customer=CustomerFactory(), product=catalog["product"], license_level=1
    )
    other_task_ids = set(other.adoption_plan.tasks.values_list("pk", flat=True))

    summary = customer_product_remove(actor=admin_user, customer_product=assignment)

    assert summary["deleted"] == {
        "adoptionPlans": 1,
        "customerTasks": 2,
        "statusHistoryEntries": 2,
        "telemetryAttributes": 2,
        "telemetryValues": 1,
    }
    assert not CustomerProduct.objects.filter(pk=assignment.pk).exists()
    assert not AdoptionPlan.objects.filter(pk=plan.pk).exists()
    assert set(CustomerTask.objects.values_list("pk", flat=True)) == other_task_ids
    assert not TaskStatusChange.objects.filter(customer_task_id=sso.pk).exists()
    assert not CustomerTelemetryValue.objects.exists()
    assert not CustomerTaskOutcome.objects.filter(customer_task_id=sso.pk).exists()
    assert not CustomerTaskRelease.objects.filter(customer_task_id=sso.pk).exists()
    entry = AuditLog.objects.get(action="customer_product.remove")
    assert (entry.actor, entry.object_id, entry.customer_id) == (admin_user, str(assignment.pk), assignment.customer_id)
    assert entry.details["deleted"] == summary["deleted"]
    assert entry.details["productName"] == "Secure Access"
    assert entry.summary == ("Removed Secure Access from Acme: 2 tasks, 2 history entries, 1 telemetry values deleted")
    # The catalog is untouched.
    assert catalog["product"].tasks.count() == 4
