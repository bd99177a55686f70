"""Editing an assignment in the admin changes only what the user changed."""

import pytest

from adoption import catalog
from adoption.choices import LicenseLevel
from adoption.models import AdoptionPlan
from adoption.services import (
    adoption_plan_sync,
    adoption_plan_sync_preview,
    customer_product_assign,
    customer_product_update,
)
from config.audit.models import AuditLog
from customers.models import CustomerProduct
from tests.admin.helpers import rendered_form, url
from tests.factories import CustomerFactory, OutcomeFactory, ProductFactory, ReleaseFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chosen(admin_user):
    """Acme chose outcome "Zero trust" and release 7.2 of a product; "Zero trust" was then deleted
    from the catalog and the plan synced."""
    product = ProductFactory(name="Identity Guard")
    zero_trust = OutcomeFactory(product=product, name="Zero trust")
    audit = OutcomeFactory(product=product, name="Audit trail")
    release = ReleaseFactory(product=product, name="7.2", level="7.2")
    TaskFactory(product=product, name="Enable MFA", outcomes=[zero_trust], releases=[release])
    TaskFactory(product=product, name="Ship audit logs", outcomes=[audit])
    TaskFactory(product=product, name="Advanced audit", outcomes=[audit], license_level=LicenseLevel.ADVANTAGE)
    assignment = customer_product_assign(
        actor=admin_user,
        customer=CustomerFactory(name="Acme"),
        product=product,
        license_level="ESSENTIAL",
        outcome_ids=[zero_trust.pk],
        release_ids=[release.pk],
    )
    catalog.outcome_delete(actor=admin_user, outcome=zero_trust)
    adoption_plan_sync(actor=admin_user, plan=AdoptionPlan.objects.get())
    return {"assignment": assignment, "zero_trust": zero_trust, "audit": audit, "release": release}


def test_changing_only_the_license_level_keeps_a_selection_with_a_deleted_outcome(admin_client, chosen):
    assignment, zero_trust = chosen["assignment"], chosen["zero_trust"]
    address = url(CustomerProduct, "change", assignment.pk)
    data = rendered_form(admin_client, address)
    assert data["selected_outcomes"] == [str(zero_trust.pk)]  # the page shows the selection as it is
    data["license_level"] = str(LicenseLevel.ADVANTAGE.value)

    response = admin_client.post(address, data)

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.license_level == LicenseLevel.ADVANTAGE
    assert list(assignment.selected_outcomes.all()) == [zero_trust]
    assert list(assignment.selected_releases.all()) == [chosen["release"]]
    entry = AuditLog.objects.filter(action="customer_product.update").get()
    assert entry.details["changed"] == ["licenseLevel"]
    assert (entry.details["before"]["licenseLevel"], entry.details["after"]["licenseLevel"]) == (
        "ESSENTIAL",
        "ADVANTAGE",
    )
    assert (
        entry.summary
        == f"Changed license level (Essential → Advantage) of Identity Guard for {assignment.customer.name}"
    )
    # The next sync adds nothing of the outcome the customer never chose.
    preview = adoption_plan_sync_preview(plan=AdoptionPlan.objects.get())
    assert [task.name for task in preview.to_add] == []


def test_the_page_names_a_selected_item_that_left_the_catalog(admin_client, chosen):
    page = admin_client.get(url(CustomerProduct, "change", chosen["assignment"].pk)).content.decode()

    assert "Identity Guard: Zero trust (no longer in the catalog)" in page
    assert "Identity Guard: Audit trail" in page


def test_changing_the_selection_must_deselect_a_deleted_outcome(admin_client, chosen):
    assignment, zero_trust, audit = chosen["assignment"], chosen["zero_trust"], chosen["audit"]
    address = url(CustomerProduct, "change", assignment.pk)
    data = rendered_form(admin_client, address)
    data["selected_outcomes"] = [str(zero_trust.pk), str(audit.pk)]

    response = admin_client.post(address, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["selected_outcomes"] == [
        "Zero trust no longer in the catalog: deselect to change this selection"
    ]
    assert list(assignment.selected_outcomes.all()) == [zero_trust]

    data["selected_outcomes"] = [str(audit.pk)]
    assert admin_client.post(address, data).status_code == 302
    assert list(assignment.selected_outcomes.all()) == [audit]
    entry = AuditLog.objects.filter(action="customer_product.update").get()
    assert (entry.summary, entry.details["changed"]) == (
        f"Changed outcomes of Identity Guard for {assignment.customer.name}",
        ["selectedOutcomeIds"],
    )


def test_saving_an_assignment_unchanged_records_nothing(admin_client, chosen):
    assignment = chosen["assignment"]
    before = (AuditLog.objects.count(), assignment.entitlements_changed_at)
    address = url(CustomerProduct, "change", assignment.pk)

    response = admin_client.post(address, rendered_form(admin_client, address))

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (AuditLog.objects.count(), assignment.entitlements_changed_at) == before


def test_service_changes_only_the_fields_it_is_given(admin_user, chosen):
    assignment, zero_trust = chosen["assignment"], chosen["zero_trust"]

    customer_product_update(actor=admin_user, customer_product=assignment, license_level="SIGNATURE")

    assignment.refresh_from_db()
    assert assignment.license_level == LicenseLevel.SIGNATURE
    assert list(assignment.selected_outcomes.all()) == [zero_trust]
    assert list(assignment.selected_releases.all()) == [chosen["release"]]
