"""Catalog writes in the Django admin go through adoption.catalog: each marks the product's existing
plans as needing a sync and writes the same audit entry as GraphQL."""

import json

import pytest

from adoption import catalog
from adoption.models import AdoptionPlan, Outcome, Product, Release, Task
from adoption.selectors import plan_needs_sync
from adoption.services import adoption_plan_sync, adoption_plan_sync_preview, customer_product_assign
from config.audit.models import AuditLog
from config.errors import Conflict, ValidationFailed
from telemetry.models import TelemetryAttribute
from tests.admin.helpers import rendered_form, url
from tests.factories import (
    CustomerFactory,
    OutcomeFactory,
    ProductFactory,
    ReleaseFactory,
    TaskFactory,
    TelemetryAttributeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_world(admin_user):
    product = ProductFactory(name="Identity Guard")
    outcome = OutcomeFactory(product=product, name="Zero-trust access")
    release = ReleaseFactory(product=product, name="7.2", level="7.2")
    task = TaskFactory(product=product, name="Enable MFA", outcomes=[outcome], releases=[release])
    attribute = TelemetryAttributeFactory(task=task, name="mfa_enabled")
    other = ProductFactory(name="Pulse")
    customer_product_assign(
        actor=admin_user, customer=CustomerFactory(name="Acme"), product=product, license_level="SIGNATURE"
    )
    return {
        "product": product,
        "outcome": outcome,
        "release": release,
        "task": task,
        "attribute": attribute,
        "other": other,
    }


def needs_sync() -> bool:
    plan = AdoptionPlan.objects.select_related("customer_product", "product").get()
    return plan_needs_sync(plan)


def resync(admin_user):
    adoption_plan_sync(actor=admin_user, plan=AdoptionPlan.objects.get())
    assert needs_sync() is False


def change(client, obj, **changes):
    address = url(type(obj), "change", obj.pk)
    data = rendered_form(client, address)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(address, data)


def add(client, model, data):
    return client.post(url(model, "add"), data)


def action(client, obj, name):
    return client.post(url(type(obj), "changelist"), {"action": name, "_selected_action": [obj.pk]})


def deactivated(admin_user, obj):
    writes = {
        Product: lambda: catalog.product_delete(actor=admin_user, product=obj),
        Outcome: lambda: catalog.outcome_delete(actor=admin_user, outcome=obj),
        Release: lambda: catalog.release_delete(actor=admin_user, release=obj),
        Task: lambda: catalog.task_delete(actor=admin_user, task=obj),
        TelemetryAttribute: lambda: catalog.telemetry_attribute_delete(actor=admin_user, attribute=obj),
    }
    writes[type(obj)]()
    resync(admin_user)
    return obj


# Each case: (what the user does in the admin, the audit action it must record).
ADMIN_ACTIONS = {
    "product_rename": (lambda c, w, u: change(c, w["product"], name="Identity Guard Cloud"), "catalog.product.update"),
    "product_description": (lambda c, w, u: change(c, w["product"], description="New words"), "catalog.product.update"),
    "product_deactivate_action": (
        lambda c, w, u: action(c, w["product"], "deactivate_selected"),
        "catalog.product.delete",
    ),
    "product_delete_page": (
        lambda c, w, u: c.post(url(Product, "delete", w["product"].pk), {"post": "yes"}),
        "catalog.product.delete",
    ),
    "product_active_box_off": (lambda c, w, u: change(c, w["product"], is_active=None), "catalog.product.delete"),
    "product_reactivate_action": (
        lambda c, w, u: action(c, deactivated(u, w["product"]), "reactivate_selected"),
        "catalog.product.reactivate",
    ),
    "outcome_add": (
        lambda c, w, u: add(c, Outcome, {"product": w["product"].pk, "name": "Audit trail", "is_active": "on"}),
        "catalog.outcome.create",
    ),
    "outcome_rename": (lambda c, w, u: change(c, w["outcome"], name="Zero trust"), "catalog.outcome.update"),
    "outcome_deactivate_action": (
        lambda c, w, u: action(c, w["outcome"], "deactivate_selected"),
        "catalog.outcome.delete",
    ),
    "outcome_reactivate_action": (
        lambda c, w, u: action(c, deactivated(u, w["outcome"]), "reactivate_selected"),
        "catalog.outcome.reactivate",
    ),
    "release_add": (
        lambda c, w, u: add(c, Release, {"product": w["product"].pk, "name": "8.0", "level": "8", "is_active": "on"}),
        "catalog.release.create",
    ),
    "release_change_level": (lambda c, w, u: change(c, w["release"], level="7.3"), "catalog.release.update"),
    "release_delete_page": (
        lambda c, w, u: c.post(url(Release, "delete", w["release"].pk), {"post": "yes"}),
        "catalog.release.delete",
    ),
    "release_reactivate_action": (
        lambda c, w, u: action(c, deactivated(u, w["release"]), "reactivate_selected"),
        "catalog.release.reactivate",
    ),
    "task_add": (
        lambda c, w, u: add(
            c,
            Task,
            {
                "product": w["product"].pk,
                "name": "Review access",
                "license_level": "1",
                "sequence_number": "5",
                "est_minutes": "15",
                "weight": "2",
                "how_to_doc": "[]",
                "how_to_video": "[]",
                "is_active": "on",
                "telemetry_attributes-TOTAL_FORMS": "0",
                "telemetry_attributes-INITIAL_FORMS": "0",
            },
        ),
        "catalog.task.create",
    ),
    "task_change_weight": (lambda c, w, u: change(c, w["task"], weight="3.50"), "catalog.task.update"),
    "task_unlink_outcome": (lambda c, w, u: change(c, w["task"], outcomes=None), "catalog.task.update"),
    "task_deactivate_action": (lambda c, w, u: action(c, w["task"], "deactivate_selected"), "catalog.task.delete"),
    "task_reactivate_action": (
        lambda c, w, u: action(c, deactivated(u, w["task"]), "reactivate_selected"),
        "catalog.task.reactivate",
    ),
    "attribute_add": (
        lambda c, w, u: add(
            c,
            TelemetryAttribute,
            {
                "task": w["task"].pk,
                "name": "active_users",
                "data_type": "NUMBER",
                "success_criteria": json.dumps({"op": "gte", "value": 10}),
                "order": "1",
                "is_active": "on",
            },
        ),
        "catalog.attribute.create",
    ),
    "attribute_change_criteria": (
        lambda c, w, u: change(c, w["attribute"], success_criteria=json.dumps({"op": "eq", "value": False})),
        "catalog.attribute.update",
    ),
    "attribute_deactivate_action": (
        lambda c, w, u: action(c, w["attribute"], "deactivate_selected"),
        "catalog.attribute.delete",
    ),
    "attribute_reactivate_action": (
        lambda c, w, u: action(c, deactivated(u, w["attribute"]), "reactivate_selected"),
        "catalog.attribute.reactivate",
    ),
    # Inlines: outcomes, releases and tasks on the product page, attributes on the task page.
    "inline_outcome_add": (
        lambda c, w, u: change(
            c,
            w["product"],
            **{"outcomes-TOTAL_FORMS": "2", "outcomes-1-name": "Audit trail", "outcomes-1-is_active": "on"},
        ),
        "catalog.outcome.create",
    ),
    "inline_release_rename": (
        lambda c, w, u: change(c, w["product"], **{"releases-0-name": "7.2 LTS"}),
        "catalog.release.update",
    ),
    "inline_task_weight": (lambda c, w, u: change(c, w["product"], **{"tasks-0-weight": "4"}), "catalog.task.update"),
    "inline_task_deactivate": (
        lambda c, w, u: change(c, w["product"], **{"tasks-0-is_active": None}),
        "catalog.task.delete",
    ),
    "inline_attribute_required_off": (
        lambda c, w, u: change(c, w["task"], **{"telemetry_attributes-0-is_required": None}),
        "catalog.attribute.update",
    ),
}


@pytest.mark.parametrize("case", list(ADMIN_ACTIONS))
def test_admin_catalog_write_marks_plans_for_sync_and_is_audited(admin_client, admin_user, catalog_world, case):
    do, audit_action = ADMIN_ACTIONS[case]
    assert needs_sync() is False
    before = AuditLog.objects.filter(action=audit_action).count()

    response = do(admin_client, catalog_world, admin_user)

    assert response.status_code == 302, getattr(response, "context", None) and response.context.get("errors")
    assert needs_sync() is True
    assert AuditLog.objects.filter(action=audit_action, actor__username="admin_u").count() == before + 1


def test_renaming_and_deactivating_a_product_in_the_admin_shows_in_the_sync_preview(
    admin_client, admin_user, catalog_world
):
    product = catalog_world["product"]

    change(admin_client, product, name="Identity Guard Cloud")
    action(admin_client, product, "deactivate_selected")

    plan = AdoptionPlan.objects.get()
    assert plan_needs_sync(AdoptionPlan.objects.select_related("customer_product", "product").get()) is True
    preview = adoption_plan_sync_preview(plan=plan)
    assert [removal.customer_task.name for removal in preview.to_remove] == ["Enable MFA"]


def test_a_save_that_changes_nothing_records_nothing(admin_client, catalog_world):
    before = AuditLog.objects.count()

    response = change(admin_client, catalog_world["product"])
    response_task = change(admin_client, catalog_world["task"])

    assert (response.status_code, response_task.status_code) == (302, 302)
    assert AuditLog.objects.count() == before
    assert needs_sync() is False


def test_task_product_is_read_only_in_the_admin(admin_client, catalog_world):
    task, other = catalog_world["task"], catalog_world["other"]
    page = admin_client.get(url(Task, "change", task.pk))
    assert "product" not in page.context["adminform"].form.fields

    response = change(admin_client, task, product=str(other.pk), weight="2")

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.product_id, str(task.weight)) == (catalog_world["product"].pk, "2.00")


def test_task_update_refuses_to_move_a_task_to_another_product(admin_user, catalog_world):
    task, other = catalog_world["task"], catalog_world["other"]
    before = AuditLog.objects.count()

    with pytest.raises(ValidationFailed) as refused:
        catalog.task_update(actor=admin_user, task=task, product=other, name="Moved")

    assert refused.value.field == "product"
    assert "cannot be moved to another product" in refused.value.message
    task.refresh_from_db()
    assert (task.product_id, task.name) == (catalog_world["product"].pk, "Enable MFA")
    assert AuditLog.objects.count() == before
    assert needs_sync() is False
    # Naming its own product is no move.
    catalog.task_update(actor=admin_user, task=task, product=catalog_world["product"], name="Enable MFA now")
    assert Task.objects.get(pk=task.pk).name == "Enable MFA now"


def test_reactivate_refuses_a_name_an_active_sibling_took(admin_user, catalog_world):
    outcome = catalog_world["outcome"]
    catalog.outcome_delete(actor=admin_user, outcome=outcome)
    catalog.outcome_create(actor=admin_user, product=catalog_world["product"], name="Zero-trust access")
    before = AuditLog.objects.count()

    with pytest.raises(Conflict) as refused:
        catalog.outcome_reactivate(actor=admin_user, outcome=outcome)

    assert (refused.value.field, refused.value.message) == (
        "name",
        "an active outcome named 'Zero-trust access' already exists",
    )
    outcome.refresh_from_db()
    assert outcome.is_active is False
    assert AuditLog.objects.count() == before


def test_reactivate_action_reports_a_name_clash_and_changes_nothing(admin_client, admin_user, catalog_world):
    old = ProductFactory(name="Identity Guard", is_active=False)

    response = admin_client.post(
        url(Product, "changelist"), {"action": "reactivate_selected", "_selected_action": [old.pk]}, follow=True
    )

    text = [str(m) for m in response.context["messages"]]
    assert text == [
        "Reactivated 0 products.",
        "Not reactivated, an active one has the same name: Identity Guard",
    ]
    old.refresh_from_db()
    assert old.is_active is False
    assert not AuditLog.objects.filter(action="catalog.product.reactivate").exists()


def action_messages(client, name, objects) -> list[str]:
    response = client.post(
        url(type(objects[0]), "changelist"), {"action": name, "_selected_action": [o.pk for o in objects]}, follow=True
    )
    return [str(m) for m in response.context["messages"]]


def test_deactivate_and_reactivate_actions_say_what_they_did(admin_client, catalog_world):
    products = [catalog_world["product"], catalog_world["other"]]

    assert action_messages(admin_client, "deactivate_selected", products[:1]) == ["Deactivated 1 product."]
    # The first one already was; then both were.
    assert action_messages(admin_client, "deactivate_selected", products) == ["Deactivated 1 product."]
    assert action_messages(admin_client, "deactivate_selected", products) == ["Deactivated 0 products."]
    assert action_messages(admin_client, "reactivate_selected", products) == ["Reactivated 2 products."]
    assert set(Product.objects.values_list("is_active", flat=True)) == {True}
    assert AuditLog.objects.filter(action="catalog.product.delete").count() == 2
    assert AuditLog.objects.filter(action="catalog.product.reactivate").count() == 2
    outcome = [catalog_world["outcome"]]
    assert action_messages(admin_client, "deactivate_selected", outcome) == ["Deactivated 1 outcome."]
    assert action_messages(admin_client, "reactivate_selected", outcome) == ["Reactivated 1 outcome."]


def test_a_service_refusal_is_shown_on_the_form_and_nothing_is_saved(admin_client, catalog_world):
    # The form accepts any JSON list of strings; the service also wants http(s) URLs.
    response = change(admin_client, catalog_world["task"], how_to_doc=json.dumps(["ftp://files.example.com/a"]))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["how_to_doc"] == ["is not a valid http(s) URL: 'ftp://files.example.com/a'"]
    assert Task.objects.get(pk=catalog_world["task"].pk).how_to_doc == []
    assert not AuditLog.objects.filter(action="catalog.task.update").exists()


def test_a_name_an_active_sibling_has_is_refused_in_words(admin_client, catalog_world):
    """Not "Constraint unique_active_product_name is violated.": the form says what is wrong."""
    response = admin_client.post(url(Product, "add"), {"name": "Identity Guard", "description": "", "is_active": "on"})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "An active product already has this name." in str(form.errors)
    assert "unique_active" not in response.content.decode()
    assert Product.objects.filter(name="Identity Guard").count() == 1
