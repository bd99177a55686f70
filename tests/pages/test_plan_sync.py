"""The sync preview page and applying a sync; plan-wide telemetry evaluation."""

import re

import pytest

from adoption.models import AdoptionPlan, CustomerTask
from adoption.selectors import plan_needs_sync
from adoption.services import customer_product_update, customer_task_update_status
from config.audit.models import AuditLog
from tests.factories import TaskFactory
from tests.pages.plan_fixtures import *  # noqa: F403  (the fixtures: people, plan, fast hashing)
from tests.pages.plan_fixtures import client_for

pytestmark = pytest.mark.django_db


def _downgrade_with_new_task(plan, csm):
    """An added Signature task and a move to Signature; then the first task leaves the catalog."""
    TaskFactory(product=plan.product, name="Signature audit", license_level=3, sequence_number=50)
    customer_product_update(actor=csm, customer_product=plan.customer_product, license_level="SIGNATURE")
    first = CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number").first()
    customer_task_update_status(actor=csm, task=first, status="IN_PROGRESS")
    first.original_task.is_active = False
    first.original_task.save()
    return first


def test_sync_preview_lists_what_would_change_and_changes_nothing(plan, people):
    first = _downgrade_with_new_task(plan, people["csm"])
    before = list(CustomerTask.objects.filter(adoption_plan=plan).values_list("pk", "is_archived"))

    response = client_for(people["csm"]).get(f"/plans/{plan.pk}/sync/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="to-add-count">1<' in html and "Signature audit" in html
    assert 'data-testid="to-remove-count">1<' in html and first.name in html
    progress = re.search(r'data-testid="has-progress">(.*?)</span>\s*</li>', html, re.S)[1]
    assert "Has progress" in progress and "In progress" in progress and "telemetry values" not in progress
    assert 'data-testid="remove-why">No longer eligible' in html
    assert 'data-testid="to-update-count">0<' in html
    assert "Apply sync" in html
    assert list(CustomerTask.objects.filter(adoption_plan=plan).values_list("pk", "is_archived")) == before


def test_apply_sync_lands_on_the_dashboard_with_a_message(plan, people):
    first = _downgrade_with_new_task(plan, people["csm"])
    client = client_for(people["csm"])

    response = client.post(f"/plans/{plan.pk}/sync/")

    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "Plan synced: 1 task added, 1 archived, 0 refreshed." in html
    assert 'id="sync-banner"' not in html
    first.refresh_from_db()
    assert first.is_archived and first.status == "IN_PROGRESS"
    assert AuditLog.objects.filter(action="adoption_plan.sync", actor_label="casey").count() == 1


def test_viewer_reads_the_preview_but_cannot_apply(plan, people):
    _downgrade_with_new_task(plan, people["csm"])
    client = client_for(people["viewer"])
    html = client.get(f"/plans/{plan.pk}/sync/").content.decode()
    assert "Apply sync" not in html and "a CSM of this customer or an admin applies the sync" in html
    synced_at = AdoptionPlan.objects.get(pk=plan.pk).last_synced_at
    response = client.post(f"/plans/{plan.pk}/sync/")
    assert response.status_code == 403
    assert AdoptionPlan.objects.get(pk=plan.pk).last_synced_at == synced_at
    assert CustomerTask.objects.filter(adoption_plan=plan).count() == 5


def test_empty_sync_preview_says_so(plan, people):
    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/sync/").content.decode()
    assert 'data-testid="sync-empty"' in html and "a sync would change nothing" in html


def test_plan_evaluation_from_the_dashboard(plan, people):
    client = client_for(people["csm"])
    response = client.post(f"/plans/{plan.pk}/evaluate/")
    assert response.status_code == 302
    assert (
        "Telemetry evaluated for every task. Progress 0.0 % → 0.0 %."
        in client.get(f"/plans/{plan.pk}/").content.decode()
    )
    assert client_for(people["viewer"]).post(f"/plans/{plan.pk}/evaluate/").status_code == 403
    assert AuditLog.objects.filter(action="plan.evaluate").count() == 1


def test_refreshed_tasks_show_old_and_new_values(plan, people):
    first = CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number").first()
    catalog = first.original_task
    catalog.weight, catalog.est_minutes, catalog.description = 6, 120, "A longer text than before"
    catalog.save()

    html = client_for(people["csm"]).get(f"/plans/{plan.pk}/sync/").content.decode()

    assert 'data-testid="to-update-count">1<' in html
    changes = re.findall(r'data-testid="field-change">([^<]*)<', html)
    assert changes == ["description changed", "estimate 30 min → 2 h", "weight 1.0 → 6.0"]
    assert "Apply sync" in html


def test_apply_sync_is_offered_only_when_something_would_change(plan, people):
    client = client_for(people["csm"])
    assert not plan_needs_sync(AdoptionPlan.objects.get(pk=plan.pk))

    html = client.get(f"/plans/{plan.pk}/sync/").content.decode()

    assert "Apply sync" not in html
    assert 'data-testid="nothing-to-apply"' in html and "Nothing to apply: the plan is up to date." in html
    # a plan marked for sync with nothing to change still offers it: applying records the check
    AdoptionPlan.objects.filter(pk=plan.pk).update(last_synced_at=None)
    assert "Apply sync" in client.get(f"/plans/{plan.pk}/sync/").content.decode()


@pytest.mark.parametrize("role", ["csm", "viewer"])
def test_the_sync_page_has_one_way_back_to_the_plan(plan, people, role):
    _downgrade_with_new_task(plan, people["csm"])
    html = client_for(people[role]).get(f"/plans/{plan.pk}/sync/").content.decode()
    assert html.count("Back to the plan") == 1
    assert "Cancel" not in html
