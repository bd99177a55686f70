"""needsSync, sync preview and sync, archiving instead of deleting (zero data loss)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from adoption.choices import DataType, LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, CustomerTaskOutcome, TaskStatusChange
from adoption.selectors import plan_needs_sync, plan_tasks, plans_with_needs_sync
from adoption.services import (
    adoption_plan_sync,
    adoption_plan_sync_preview,
    customer_product_assign,
    customer_product_update,
    customer_task_update_status,
)
from config.audit.models import AuditLog
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryAttribute
from tests.factories import (
    CustomerFactory,
    CustomerTelemetryValueFactory,
    OutcomeFactory,
    ProductFactory,
    TaskFactory,
    TelemetryAttributeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    product = ProductFactory(name="Identity")
    o1 = OutcomeFactory(product=product, name="o1")
    o2 = OutcomeFactory(product=product, name="o2")
    tasks = {
        "E1": TaskFactory(product=product, name="E1", sequence_number=1, weight=Decimal("1")),
        "E2": TaskFactory(product=product, name="E2", sequence_number=2, weight=Decimal("2"), outcomes=[o1]),
        "A1": TaskFactory(
            product=product, name="A1", sequence_number=3, weight=Decimal("3"), license_level=LicenseLevel.ADVANTAGE
        ),
        "A2": TaskFactory(
            product=product,
            name="A2",
            sequence_number=4,
            weight=Decimal("4"),
            license_level=LicenseLevel.ADVANTAGE,
            outcomes=[o2],
        ),
        "S1": TaskFactory(
            product=product, name="S1", sequence_number=5, weight=Decimal("5"), license_level=LicenseLevel.SIGNATURE
        ),
        "S2": TaskFactory(
            product=product,
            name="S2",
            sequence_number=6,
            weight=Decimal("6"),
            license_level=LicenseLevel.SIGNATURE,
            outcomes=[o1, o2],
        ),
    }
    TelemetryAttributeFactory(task=tasks["A2"], name="a2_flag", success_criteria={"op": "eq", "value": True})
    TelemetryAttributeFactory(
        task=tasks["E1"],
        name="logins",
        data_type=DataType.NUMBER,
        order=1,
        success_criteria={"op": "gte", "value": 100},
    )
    TelemetryAttributeFactory(
        task=tasks["E1"], name="sso", order=2, is_required=False, success_criteria={"op": "eq", "value": True}
    )
    return {"product": product, "o1": o1, "o2": o2, **tasks}


def assign(actor, catalog, level, outcomes=()):
    assignment = customer_product_assign(
        actor=actor,
        customer=CustomerFactory(),  # each assignment its own customer (names are unique)
        product=catalog["product"],
        license_level=level,
        outcome_ids=[o.pk for o in outcomes],
    )
    return assignment, assignment.adoption_plan


def fresh(plan):
    return AdoptionPlan.objects.select_related("customer_product", "product").get(pk=plan.pk)


def visible_names(plan):
    return [t.name for t in plan_tasks(plan)]


def stored_totals(plan):
    plan = fresh(plan)
    return plan.total_tasks, plan.completed_tasks, plan.total_weight, plan.completed_weight, plan.progress_percentage


def task_state(plan):
    """Status, ownership, completion and archive state of every customer task of the plan."""
    return {
        t.original_task.name: (
            t.pk,
            t.status,
            t.status_update_source,
            t.status_updated_by,
            t.status_updated_at,
            t.completed_at,
            t.is_archived,
        )
        for t in CustomerTask.objects.filter(adoption_plan=plan).select_related("original_task")
    }


def history_rows(plan):
    return list(
        TaskStatusChange.objects.filter(customer_task__adoption_plan=plan)
        .order_by("pk")
        .values_list(
            "pk", "customer_task_id", "from_status", "to_status", "source", "actor", "note", "evidence", "created_at"
        )
    )


def value_rows(plan):
    return list(
        CustomerTelemetryValue.objects.filter(customer_attribute__customer_task__adoption_plan=plan)
        .order_by("pk")
        .values_list("pk", "customer_attribute_id", "value", "observed_at", "source")
    )


def names_of(items):
    return sorted(getattr(i, "name", None) or i.customer_task.name for i in items)


# --- needsSync -------------------------------------------------------------------------------------


def test_new_plan_does_not_need_sync_and_preview_is_empty(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    assert plan_needs_sync(fresh(plan)) is False
    assert adoption_plan_sync_preview(plan=plan).is_empty


def test_entitlement_change_makes_the_plan_need_sync_until_synced(catalog, admin_user):
    assignment, plan = assign(admin_user, catalog, "ESSENTIAL")

    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ADVANTAGE")
    assert plan_needs_sync(fresh(plan)) is True

    adoption_plan_sync(actor=admin_user, plan=plan)
    assert plan_needs_sync(fresh(plan)) is False


@pytest.mark.parametrize(
    "change",
    [
        lambda c: TaskFactory(product=c["product"], name="new task"),
        lambda c: (setattr(c["E1"], "weight", Decimal("9")), c["E1"].save()),
        lambda c: TelemetryAttributeFactory(task=c["E2"], name="new_attr"),
        lambda c: c["E1"].outcomes.add(c["o2"]),
        lambda c: (setattr(c["o1"], "is_active", False), c["o1"].save()),
    ],
    ids=["task-added", "task-edited", "attribute-added", "link-added", "outcome-deleted"],
)
def test_catalog_change_makes_plans_of_the_product_need_sync(catalog, admin_user, change):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    _, other_plan = assign(admin_user, {**catalog, "product": ProductFactory()}, "ESSENTIAL")

    change(catalog)

    assert plan_needs_sync(fresh(plan)) is True
    assert plan_needs_sync(fresh(other_plan)) is False
    adoption_plan_sync(actor=admin_user, plan=plan)
    assert plan_needs_sync(fresh(plan)) is False


def test_never_synced_plan_needs_sync(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    AdoptionPlan.objects.filter(pk=plan.pk).update(last_synced_at=None)
    assert plan_needs_sync(fresh(plan)) is True


def test_needs_sync_annotation_for_lists_agrees_and_costs_one_query(catalog, admin_user, django_assert_num_queries):
    assignment, changed = assign(admin_user, catalog, "ESSENTIAL")
    _, unchanged = assign(admin_user, {**catalog, "product": ProductFactory()}, "ESSENTIAL")
    customer_product_update(actor=admin_user, customer_product=assignment, outcome_ids=[catalog["o1"].pk])

    with django_assert_num_queries(1):
        flags = {p.pk: plan_needs_sync(p) for p in plans_with_needs_sync()}

    assert flags == {changed.pk: True, unchanged.pk: False}


# --- preview -----------------------------------------------------------------------------------------


def test_preview_lists_the_diff_and_changes_nothing(catalog, admin_user):
    assignment, plan = assign(admin_user, catalog, "ADVANTAGE")
    a1 = plan.tasks.get(name="A1")
    customer_task_update_status(actor=admin_user, task=a1, status="IN_PROGRESS")
    CustomerTelemetryValueFactory(
        customer_attribute=CustomerTelemetryAttribute.objects.get(name="a2_flag"), value=False
    )
    catalog["E1"].name = "E1 renamed"
    catalog["E1"].save()
    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ESSENTIAL")
    TaskFactory(product=catalog["product"], name="E3", sequence_number=7)
    state, history, plan_row = task_state(plan), history_rows(plan), stored_totals(plan)

    preview = adoption_plan_sync_preview(plan=plan)

    assert [t.name for t in preview.to_add] == ["E3"]
    assert preview.to_restore == []
    assert {r.customer_task.name: r.has_progress for r in preview.to_remove} == {"A1": True, "A2": True}
    assert [(u.customer_task.name, u.changed_fields, u.attribute_changes) for u in preview.to_update] == [
        ("E1", ["name"], [])
    ]
    assert preview.is_empty is False
    assert (task_state(plan), history_rows(plan), stored_totals(plan)) == (state, history, plan_row)
    assert plan_needs_sync(fresh(plan)) is True


def test_preview_flags_removed_tasks_without_progress(catalog, admin_user):
    assignment, plan = assign(admin_user, catalog, "SIGNATURE")
    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ADVANTAGE")
    preview = adoption_plan_sync_preview(plan=plan)
    assert [(r.customer_task.name, r.has_progress) for r in preview.to_remove] == [("S1", False), ("S2", False)]


# --- upgrade, downgrade, outcomes: zero data loss ----------------------------------------------------------


def test_upgrade_essential_to_signature_adds_exactly_the_new_tasks(catalog, admin_user):
    assignment, plan = assign(admin_user, catalog, "ESSENTIAL")
    e1 = plan.tasks.get(name="E1")
    customer_task_update_status(actor=admin_user, task=e1, status="DONE")
    before = task_state(plan)
    customer_product_update(actor=admin_user, customer_product=assignment, license_level="SIGNATURE")

    preview = adoption_plan_sync_preview(plan=plan)
    synced = adoption_plan_sync(actor=admin_user, plan=plan)

    assert [t.name for t in preview.to_add] == ["A1", "A2", "S1", "S2"]
    assert (preview.to_remove, preview.to_update, preview.to_restore) == ([], [], [])
    assert visible_names(synced) == ["E1", "E2", "A1", "A2", "S1", "S2"]
    after = task_state(plan)
    assert {name: after[name] for name in before} == before
    for name in ("A1", "A2", "S1", "S2"):
        assert after[name][1:3] == (TaskStatus.NOT_STARTED, StatusSource.SYSTEM)
    assert synced.license_level == LicenseLevel.SIGNATURE
    assert plan.tasks.get(name="A2").telemetry_attributes.get().name == "a2_flag"
    assert stored_totals(plan) == (6, 1, Decimal("21.00"), Decimal("1.00"), Decimal("4.76"))
    assert plan_needs_sync(fresh(plan)) is False


def test_downgrade_then_upgrade_restores_every_status_history_entry_and_value(catalog, admin_user, csm):
    assignment, plan = assign(admin_user, catalog, "SIGNATURE")
    tasks = {t.name: t for t in plan.tasks.all()}
    customer_task_update_status(actor=admin_user, task=tasks["A1"], status="IN_PROGRESS", notes="started")
    customer_task_update_status(actor=csm, task=tasks["A1"], status="DONE", notes="finished")
    customer_task_update_status(actor=csm, task=tasks["S1"], status="NOT_APPLICABLE")
    customer_task_update_status(actor=csm, task=tasks["E1"], status="IN_PROGRESS")
    a2_flag = CustomerTelemetryAttribute.objects.get(customer_task=tasks["A2"], name="a2_flag")
    CustomerTelemetryValueFactory(customer_attribute=a2_flag, value=False)
    CustomerTelemetryValueFactory(customer_attribute=a2_flag, value=False, batch_id="b2")
    logins = CustomerTelemetryAttribute.objects.get(customer_task=tasks["E1"], name="logins")
    CustomerTelemetryValueFactory(customer_attribute=logins, value=5)
    state, history, values = task_state(plan), history_rows(plan), value_rows(plan)
    totals = stored_totals(plan)
    task_count = CustomerTask.objects.count()

    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ESSENTIAL")
    preview = adoption_plan_sync_preview(plan=plan)
    assert {r.customer_task.name: r.has_progress for r in preview.to_remove} == {
        "A1": True,
        "A2": True,
        "S1": True,
        "S2": False,
    }
    adoption_plan_sync(actor=admin_user, plan=plan)

    assert visible_names(plan) == ["E1", "E2"]
    archived = task_state(plan)
    for name in ("A1", "A2", "S1", "S2"):
        assert archived[name][:-1] == state[name][:-1]
        assert archived[name][-1] is True
    assert history_rows(plan) == history
    assert value_rows(plan) == values
    assert stored_totals(plan) == (2, 0, Decimal("3.00"), Decimal("0.00"), Decimal("0.00"))

    customer_product_update(actor=admin_user, customer_product=assignment, license_level="SIGNATURE")
    preview = adoption_plan_sync_preview(plan=plan)
    assert [t.name for t in preview.to_add] == ["A1", "A2", "S1", "S2"]
    assert names_of(preview.to_restore) == ["A1", "A2", "S1", "S2"]
    adoption_plan_sync(actor=admin_user, plan=plan)

    assert CustomerTask.objects.count() == task_count
    assert task_state(plan) == state
    assert history_rows(plan) == history
    assert value_rows(plan) == values
    assert CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan, is_active=True).count() == 3
    assert stored_totals(plan) == totals
    assert visible_names(plan) == ["E1", "E2", "A1", "A2", "S1", "S2"]


def test_drop_then_reselect_an_outcome_restores_its_tasks(catalog, admin_user):
    assignment, plan = assign(admin_user, catalog, "SIGNATURE", outcomes=[catalog["o1"], catalog["o2"]])
    e2 = plan.tasks.get(name="E2")
    customer_task_update_status(actor=admin_user, task=e2, status="DONE", notes="done early")
    state, history = task_state(plan), history_rows(plan)
    links = list(
        CustomerTaskOutcome.objects.filter(customer_task__adoption_plan=plan)
        .order_by("pk")
        .values_list("pk", "customer_task_id", "outcome_id")
    )

    customer_product_update(actor=admin_user, customer_product=assignment, outcome_ids=[catalog["o2"].pk])
    adoption_plan_sync(actor=admin_user, plan=plan)
    # E2 serves only o1; S2 serves o1 and o2, so it stays.
    assert visible_names(plan) == ["E1", "A1", "A2", "S1", "S2"]
    assert list(fresh(plan).selected_outcomes.all()) == [catalog["o2"]]
    assert stored_totals(plan)[:2] == (5, 0)

    customer_product_update(
        actor=admin_user, customer_product=assignment, outcome_ids=[catalog["o1"].pk, catalog["o2"].pk]
    )
    adoption_plan_sync(actor=admin_user, plan=plan)

    assert visible_names(plan) == ["E1", "E2", "A1", "A2", "S1", "S2"]
    assert task_state(plan) == state
    assert history_rows(plan) == history
    assert (
        list(
            CustomerTaskOutcome.objects.filter(customer_task__adoption_plan=plan)
            .order_by("pk")
            .values_list("pk", "customer_task_id", "outcome_id")
        )
        == links
    )
    assert stored_totals(plan) == (6, 1, Decimal("21.00"), Decimal("2.00"), Decimal("9.52"))


def test_user_owned_status_survives_a_sync(catalog, admin_user, csm):
    assignment, plan = assign(admin_user, catalog, "ESSENTIAL")
    customer_task_update_status(actor=csm, task=plan.tasks.get(name="E1"), status="DONE")
    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ADVANTAGE")

    adoption_plan_sync(actor=admin_user, plan=plan)

    e1 = plan.tasks.get(name="E1")
    assert (e1.status, e1.status_update_source, e1.status_updated_by) == ("DONE", "MANUAL", "csm_u")


# --- catalog changes -----------------------------------------------------------------------------------


def test_sync_refreshes_snapshot_fields_and_keeps_status(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    customer_task_update_status(actor=admin_user, task=plan.tasks.get(name="E2"), status="DONE")
    e2 = catalog["E2"]
    e2.name, e2.weight, e2.description, e2.how_to_doc, e2.sequence_number = (
        "E2 v2",
        Decimal("4.50"),
        "new text",
        ["https://doc"],
        0,
    )
    e2.save()

    preview = adoption_plan_sync_preview(plan=plan)
    assert [(u.customer_task.name, u.changed_fields) for u in preview.to_update] == [
        ("E2", ["name", "description", "weight", "sequence_number", "how_to_doc"])
    ]
    adoption_plan_sync(actor=admin_user, plan=plan)

    copy = plan.tasks.get(original_task=e2)
    assert (copy.name, copy.weight, copy.description, copy.how_to_doc, copy.status) == (
        "E2 v2",
        Decimal("4.50"),
        "new text",
        ["https://doc"],
        "DONE",
    )
    assert visible_names(plan) == ["E2 v2", "E1"]
    assert stored_totals(plan) == (2, 1, Decimal("5.50"), Decimal("4.50"), Decimal("81.82"))


def test_sync_refreshes_outcome_and_release_links(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    catalog["E1"].outcomes.add(catalog["o2"])
    catalog["E2"].outcomes.remove(catalog["o1"])

    preview = adoption_plan_sync_preview(plan=plan)
    assert sorted((u.customer_task.name, tuple(u.changed_fields)) for u in preview.to_update) == [
        ("E1", ("outcomes",)),
        ("E2", ("outcomes",)),
    ]
    adoption_plan_sync(actor=admin_user, plan=plan)

    assert [o.name for o in plan.tasks.get(name="E1").outcomes.all()] == ["o2"]
    assert list(plan.tasks.get(name="E2").outcomes.all()) == []
    assert adoption_plan_sync_preview(plan=plan).is_empty


def test_deleted_catalog_task_is_archived_and_returns_when_restored(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    customer_task_update_status(actor=admin_user, task=plan.tasks.get(name="E1"), status="IN_PROGRESS")
    state = task_state(plan)
    catalog["E1"].is_active = False
    catalog["E1"].save()

    adoption_plan_sync(actor=admin_user, plan=plan)
    assert visible_names(plan) == ["E2"]
    assert stored_totals(plan)[:3] == (1, 0, Decimal("2.00"))

    catalog["E1"].is_active = True
    catalog["E1"].save()
    adoption_plan_sync(actor=admin_user, plan=plan)
    assert task_state(plan) == state


def test_removed_catalog_attribute_becomes_inactive_and_keeps_its_values(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    copy = CustomerTelemetryAttribute.objects.get(name="sso")
    CustomerTelemetryValueFactory(customer_attribute=copy, value=True)
    values = value_rows(plan)
    TelemetryAttribute.objects.get(name="sso").delete()  # even a hard delete loses nothing of the customer's

    preview = adoption_plan_sync_preview(plan=plan)
    [update] = preview.to_update
    assert [(c.kind, c.name) for c in update.attribute_changes] == [("removed", "sso")]
    adoption_plan_sync(actor=admin_user, plan=plan)

    copy.refresh_from_db()
    assert (copy.is_active, copy.name) == (False, "sso")
    assert value_rows(plan) == values
    assert [a.name for a in plan_tasks(plan).get(name="E1").telemetry_attributes.all()] == ["logins"]


def test_new_changed_and_reactivated_attributes_are_refreshed(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    logins = CustomerTelemetryAttribute.objects.get(name="logins")
    sso = CustomerTelemetryAttribute.objects.get(name="sso")
    CustomerTelemetryValueFactory(customer_attribute=logins, value=50)
    CustomerTelemetryValueFactory(customer_attribute=sso, value=False)
    catalog_sso = TelemetryAttribute.objects.get(name="sso")
    catalog_sso.is_active = False
    catalog_sso.save()
    adoption_plan_sync(actor=admin_user, plan=plan)
    values = value_rows(plan)

    catalog_logins = TelemetryAttribute.objects.get(name="logins")
    catalog_logins.success_criteria = {"op": "gte", "value": 10}
    catalog_logins.description = "monthly"
    catalog_logins.save()
    catalog_sso.is_active = True
    catalog_sso.save()
    TelemetryAttributeFactory(task=catalog["E1"], name="mfa", order=3)

    [update] = adoption_plan_sync_preview(plan=plan).to_update
    assert sorted((c.kind, c.name, tuple(c.changed_fields)) for c in update.attribute_changes) == [
        ("added", "mfa", ()),
        ("changed", "logins", ("description", "success_criteria")),
        ("restored", "sso", ()),
    ]
    adoption_plan_sync(actor=admin_user, plan=plan)

    attributes = {a.name: a for a in CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan)}
    assert attributes["logins"].success_criteria == {"op": "gte", "value": 10}
    assert attributes["logins"].description == "monthly"
    assert attributes["logins"].pk == logins.pk
    assert (attributes["sso"].pk, attributes["sso"].is_active) == (sso.pk, True)
    assert attributes["mfa"].original_attribute.name == "mfa"
    assert value_rows(plan) == values
    assert adoption_plan_sync_preview(plan=plan).is_empty


def test_attribute_replaced_by_a_new_one_of_the_same_name(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    old_copy = CustomerTelemetryAttribute.objects.get(name="sso")
    CustomerTelemetryValueFactory(customer_attribute=old_copy, value=True)
    old = TelemetryAttribute.objects.get(name="sso")
    old.is_active = False
    old.save()
    TelemetryAttributeFactory(
        task=catalog["E1"], name="sso", data_type=DataType.STRING, success_criteria={"op": "eq", "value": "on"}
    )

    adoption_plan_sync(actor=admin_user, plan=plan)

    old_copy.refresh_from_db()
    assert (old_copy.is_active, old_copy.name) == (False, f"sso (retired #{old_copy.pk})")
    assert old_copy.values.count() == 1
    new_copy = CustomerTelemetryAttribute.objects.get(customer_task=old_copy.customer_task, name="sso")
    assert (new_copy.is_active, new_copy.data_type) == (True, DataType.STRING)


def test_attributes_that_swap_names_in_the_catalog(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    logins, sso = (TelemetryAttribute.objects.get(name=n) for n in ("logins", "sso"))
    TelemetryAttribute.objects.filter(pk=logins.pk).update(name="tmp")
    TelemetryAttribute.objects.filter(pk=sso.pk).update(name="logins")
    TelemetryAttribute.objects.filter(pk=logins.pk).update(name="sso")

    adoption_plan_sync(actor=admin_user, plan=plan)

    copies = dict(
        CustomerTelemetryAttribute.objects.filter(customer_task__adoption_plan=plan).values_list(
            "original_attribute_id", "name"
        )
    )
    assert copies == {logins.pk: "sso", sso.pk: "logins"}


def test_sync_archives_everything_of_a_deleted_product(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    catalog["product"].is_active = False
    catalog["product"].save()
    synced = adoption_plan_sync(actor=admin_user, plan=plan)
    assert visible_names(synced) == []
    assert CustomerTask.objects.filter(adoption_plan=plan, is_archived=True).count() == 2
    assert stored_totals(plan) == (0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))


# --- audit and telemetry ----------------------------------------------------------------------------


def test_sync_writes_an_audit_entry_with_the_diff(catalog, admin_user, csm):
    assignment, plan = assign(admin_user, catalog, "ADVANTAGE")
    customer_task_update_status(actor=admin_user, task=plan.tasks.get(name="A1"), status="DONE")
    catalog["E1"].name = "E1b"
    catalog["E1"].save()
    customer_product_update(
        actor=admin_user, customer_product=assignment, license_level="ESSENTIAL", outcome_ids=[catalog["o1"].pk]
    )
    TaskFactory(product=catalog["product"], name="E3", sequence_number=9)

    adoption_plan_sync(actor=csm, plan=plan)

    entry = AuditLog.objects.get(action="adoption_plan.sync")
    ids = {t.original_task.name: t.pk for t in CustomerTask.objects.filter(adoption_plan=plan)}
    assert (entry.actor, entry.object_type, entry.object_id, entry.customer_id) == (
        csm,
        "adoptionplan",
        str(plan.pk),
        assignment.customer_id,
    )
    assert entry.summary == "Synced Identity: 1 added, 0 restored, 2 archived, 1 updated"
    details = entry.details
    assert details["before"] == {"licenseLevel": "ADVANTAGE", "productName": "Identity"}
    assert details["after"] == {
        "licenseLevel": "ESSENTIAL",
        "productName": "Identity",
        "selectedOutcomeIds": [str(catalog["o1"].pk)],
        "selectedReleaseIds": [],
    }
    assert details["added"] == [
        {"customerTaskId": ids["E3"], "taskId": catalog["product"].tasks.get(name="E3").pk, "name": "E3"}
    ]
    assert sorted((a["name"], a["status"], a["hadProgress"]) for a in details["archived"]) == [
        ("A1", "DONE", True),
        ("A2", "NOT_STARTED", False),
    ]
    assert details["updated"] == [{"customerTaskId": ids["E1b"], "name": "E1b", "fields": ["name"], "attributes": []}]
    assert details["restored"] == []


def test_sync_has_telemetry_evaluate_exactly_the_tasks_it_touched(catalog, admin_user):
    assignment, plan = assign(admin_user, catalog, "ADVANTAGE")

    def evaluated():
        return {
            attribute.customer_task.name
            for attribute in CustomerTelemetryAttribute.objects.filter(
                customer_task__adoption_plan=plan, last_checked_at__isnull=False
            ).select_related("customer_task")
        }

    customer_product_update(actor=admin_user, customer_product=assignment, license_level="ESSENTIAL")
    adoption_plan_sync(actor=admin_user, plan=plan)
    assert evaluated() == set()  # only archived tasks: nothing to evaluate

    catalog["E2"].name = "E2b"
    catalog["E2"].save()
    customer_product_update(actor=admin_user, customer_product=assignment, license_level="SIGNATURE")
    adoption_plan_sync(actor=admin_user, plan=plan)

    # A2 came back (restored) and was evaluated; E1 has attributes too but the sync left it alone: it
    # keeps the telemetry status recorded when the plan was created (no values yet: NOT_STARTED).
    assert evaluated() == {"A2"}
    tasks = {t.name: t for t in CustomerTask.objects.filter(adoption_plan=plan)}
    assert (tasks["A2"].telemetry_status, tasks["E1"].telemetry_status) == (TaskStatus.NOT_STARTED, "NOT_STARTED")
    assert tasks["A2"].status == TaskStatus.NOT_STARTED


def test_changed_criterion_is_applied_by_telemetry_after_sync(catalog, admin_user):
    _, plan = assign(admin_user, catalog, "ESSENTIAL")
    e1 = plan.tasks.get(name="E1")
    CustomerTelemetryValueFactory(
        customer_attribute=e1.telemetry_attributes.get(name="logins"), value=50, observed_at=timezone.now()
    )
    TelemetryAttribute.objects.filter(name="sso").update(is_active=False)  # bulk: no signal, sync anyway
    logins = TelemetryAttribute.objects.get(name="logins")
    logins.success_criteria = {"op": "gte", "value": 10}
    logins.save()

    adoption_plan_sync(actor=admin_user, plan=plan)

    e1.refresh_from_db()
    assert (e1.status, e1.status_update_source) == (TaskStatus.DONE, StatusSource.TELEMETRY)
    assert e1.history.get().evidence["trigger"] == "sync"
    assert stored_totals(plan)[:2] == (2, 1)
