import hashlib
import json
import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from adoption.choices import LicenseLevel, TaskStatus
from adoption.models import (
    AdoptionPlan,
    CustomerTask,
    CustomerTaskOutcome,
    CustomerTaskRelease,
    Outcome,
    Product,
    Release,
    Task,
    TaskStatusChange,
)
from adoption.services import customer_product_assign, customer_task_update_status
from config.audit.models import AuditLog
from customers.models import Customer, CustomerProduct, PersonalAccessToken, Role, UserProfile
from telemetry.models import (
    ApiKey,
    CustomerTelemetryAttribute,
    CustomerTelemetryValue,
    TelemetryAttribute,
    TelemetryBatch,
)
from tests.admin.conftest import build_catalog
from tests.admin.helpers import management, staff, url
from tests.factories import (
    ApiKeyFactory,
    CustomerFactory,
    CustomerTelemetryValueFactory,
    OutcomeFactory,
    ProductFactory,
    TaskFactory,
    TelemetryBatchFactory,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

DOMAIN_MODELS = [
    Product, Outcome, Release, Task, TelemetryAttribute,
    Customer, CustomerProduct, AuditLog, PersonalAccessToken,
    AdoptionPlan, CustomerTask, TaskStatusChange,
    CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch, ApiKey,
    User,
]  # fmt: skip
CUSTOMER_MODELS = [
    Customer, CustomerProduct, AdoptionPlan, CustomerTask, TaskStatusChange,
    CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch, ApiKey,
]  # fmt: skip
CATALOG_MODELS = [Product, Outcome, Release, Task, TelemetryAttribute]


TASK_INLINES = ("customertaskoutcome_set", "customertaskrelease_set", "telemetry_attributes", "history")


def test_every_model_is_registered():
    registered = set(admin.site._registry)
    assert set(DOMAIN_MODELS) <= registered
    # Snapshot links appear as inlines on the customer task; roles as an inline on the user.
    inlines = {inline.model for inline in admin.site._registry[CustomerTask].inlines}
    assert {CustomerTaskOutcome, CustomerTaskRelease, TaskStatusChange, CustomerTelemetryAttribute} <= inlines
    assert UserProfile in {inline.model for inline in admin.site._registry[User].inlines}
    assert Group in registered


def test_every_changelist_and_change_page_answers_for_a_superuser(admin_client, world):
    failures = []
    for model in DOMAIN_MODELS:
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"no {model.__name__} in the fixture"
        for address in (url(model, "changelist"), url(model, "change", obj.pk)):
            response = admin_client.get(address)
            if response.status_code != 200:
                failures.append((address, response.status_code))
        response = admin_client.get(url(model, "changelist"), {"q": "a"})
        if response.status_code != 200:
            failures.append((f"{url(model, 'changelist')}?q=a", response.status_code))
    assert failures == []


def test_add_pages_answer_where_adding_is_allowed(admin_client, world):
    for model in [
        Product,
        Outcome,
        Release,
        Task,
        TelemetryAttribute,
        Customer,
        CustomerProduct,
        PersonalAccessToken,
        ApiKey,
        User,
    ]:
        assert admin_client.get(url(model, "add")).status_code == 200, model


def test_history_and_audit_are_read_only(admin_client, world):
    entry = TaskStatusChange.objects.get()
    audit = AuditLog.objects.order_by("pk").first()
    for model, obj in ((TaskStatusChange, entry), (AuditLog, audit)):
        assert admin_client.get(url(model, "add")).status_code == 403
        assert admin_client.get(url(model, "delete", obj.pk)).status_code == 403
        page = admin_client.get(url(model, "change", obj.pk))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert admin_client.post(url(model, "change", obj.pk), {"note": "edited"}).status_code == 403
        assert "delete_selected" not in admin_client.get(url(model, "changelist")).content.decode()
    entry.refresh_from_db()
    assert entry.note == "checked"
    assert TaskStatusChange.objects.count() == 1


def test_history_changelist_filters_by_source_actor_and_date(admin_client, world):
    response = admin_client.get(url(TaskStatusChange, "changelist"), {"source__exact": "MANUAL", "actor": "csm_u"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url(AuditLog, "changelist"), {"action__exact": "customer_task.update_status"})
    assert response.context["cl"].result_count == 1


def test_deactivate_action_is_a_soft_delete(admin_client, world):
    task = world["tasks"][1]
    Product.objects.update(catalog_changed_at=None)

    response = admin_client.post(
        url(Task, "changelist"), {"action": "deactivate_selected", "_selected_action": [task.pk]}
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.is_active is False
    assert Product.objects.get().catalog_changed_at is not None
    # The plan snapshots still point at it.
    assert CustomerTask.objects.filter(original_task=task).count() == 2
    assert "delete_selected" not in admin_client.get(url(Task, "changelist")).content.decode()

    admin_client.post(url(Task, "changelist"), {"action": "reactivate_selected", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.is_active is True


def test_delete_page_deactivates_even_when_plans_protect_the_task(admin_client, world):
    task = world["tasks"][0]  # copied into two plans: a hard delete would be refused (PROTECT)

    page = admin_client.get(url(Task, "delete", task.pk))
    assert page.status_code == 200
    assert "will be <strong>deactivated</strong>" in page.content.decode()

    response = admin_client.post(url(Task, "delete", task.pk), {"post": "yes"})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.is_active is False
    assert Task.objects.count() == 2

    product = world["product"]
    admin_client.post(url(Product, "delete", product.pk), {"post": "yes"})
    product.refresh_from_db()
    assert product.is_active is False


def test_reactivation_refuses_a_name_taken_by_an_active_product(admin_client, world):
    old = ProductFactory(name="Identity Guard", is_active=False)

    admin_client.post(url(Product, "changelist"), {"action": "reactivate_selected", "_selected_action": [old.pk]})

    old.refresh_from_db()
    assert old.is_active is False


def test_attribute_admin_validates_criteria_with_their_path(admin_client, world):
    task = world["tasks"][1]
    data = {
        "task": task.pk,
        "name": "active_users",
        "description": "",
        "data_type": "NUMBER",
        "success_criteria": json.dumps({"all": [{"op": "gte", "value": 1}, {"op": "gt", "value": "many"}]}),
        "order": 0,
        "is_active": "on",
    }

    response = admin_client.post(url(TelemetryAttribute, "add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["success_criteria"] == ["all[1].value: must be a finite number, got string 'many'"]
    assert not TelemetryAttribute.objects.filter(name="active_users").exists()

    data["success_criteria"] = "null"
    response = admin_client.post(url(TelemetryAttribute, "add"), data)
    assert response.status_code == 302
    assert TelemetryAttribute.objects.get(name="active_users").success_criteria == {}


def test_api_key_is_shown_once_and_stored_as_digest(admin_client, world):
    customer = world["mine"]

    response = admin_client.post(url(ApiKey, "add"), {"customer": customer.pk, "name": "ERP connector"}, follow=True)

    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    raw = re.search(r"(cak_[A-Za-z0-9_-]+)", text).group(1)
    key = ApiKey.objects.get(name="ERP connector")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.prefix == raw[:12]
    assert key.created_by.username == "admin_u"
    assert raw not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert raw not in json.dumps(list(AuditLog.objects.values()), default=str)
    again = admin_client.get(url(ApiKey, "change", key.pk)).content.decode()
    assert raw not in again
    assert AuditLog.objects.filter(action="api_key.create", object_id=str(key.pk)).count() == 1

    admin_client.post(url(ApiKey, "changelist"), {"action": "revoke_selected", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_personal_token_is_shown_once_and_stored_as_digest(admin_client, world, csm):
    response = admin_client.post(url(PersonalAccessToken, "add"), {"user": csm.pk, "name": "cli"}, follow=True)

    text = " ".join(str(m) for m in response.context["messages"])
    raw = re.search(r"(pat_[A-Za-z0-9_-]+)", text).group(1)
    token = PersonalAccessToken.objects.get(name="cli")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:12]


def test_catalog_editor_gets_403_on_customer_pages_and_uses_the_catalog(client, world, editor):
    client.force_login(staff(editor))

    for model in CUSTOMER_MODELS + [AuditLog, PersonalAccessToken]:
        obj = model.objects.order_by("pk").first()
        assert client.get(url(model, "changelist")).status_code == 403, model
        assert client.get(url(model, "change", obj.pk)).status_code == 403, model
    assert client.get(url(Customer, "add")).status_code == 403
    for model in CATALOG_MODELS:
        obj = model.objects.order_by("pk").first()
        assert client.get(url(model, "changelist")).status_code == 200, model
        assert client.get(url(model, "change", obj.pk)).status_code == 200, model
    response = client.post(
        url(Product, "change", world["product"].pk),
        {
            "name": "Identity Guard Cloud",
            "description": "",
            "is_active": "on",
            **management("outcomes", "releases", "tasks"),
        },
    )
    assert response.status_code == 302
    assert Product.objects.get().name == "Identity Guard Cloud"
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/customers/customer/" not in index
    assert "/admin/adoption/task/" in index


def test_csm_sees_only_their_customers_and_viewer_cannot_change(client, world, csm, viewer):
    client.force_login(staff(csm))
    response = client.get(url(Customer, "changelist"))
    assert [c.name for c in response.context["cl"].result_list] == ["Mine"]
    response = client.get(url(CustomerTask, "changelist"))
    assert {t.adoption_plan.customer_product.customer.name for t in response.context["cl"].result_list} == {"Mine"}
    other_plan = AdoptionPlan.objects.get(customer_product__customer=world["other"])
    assert client.get(url(AdoptionPlan, "change", other_plan.pk)).status_code == 302  # like a missing one
    assert client.get(url(Customer, "add")).status_code == 403
    assert client.get(url(Product, "changelist")).status_code == 200  # read-only catalog
    assert client.get(url(Product, "add")).status_code == 403

    task = CustomerTask.objects.get(adoption_plan__customer_product__customer=world["mine"], name="Task 1")
    response = client.post(
        url(CustomerTask, "change", task.pk),
        {"status": "IN_PROGRESS", "status_notes": "kickoff", **management(*TASK_INLINES)},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.status_updated_by, task.status_notes) == ("IN_PROGRESS", "csm_u", "kickoff")
    assert task.history.get().to_status == "IN_PROGRESS"

    client.force_login(staff(viewer))
    assert [c.name for c in client.get(url(Customer, "changelist")).context["cl"].result_list] == ["Mine"]
    response = client.post(
        url(CustomerTask, "change", task.pk), {"status": "DONE", "status_notes": "", **management(*TASK_INLINES)}
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == "IN_PROGRESS"


def test_customer_and_assignment_created_in_admin_go_through_the_services(admin_client, world, csm):
    product = world["product"]
    response = admin_client.post(
        url(Customer, "add"),
        {"name": "  Acme  ", "description": "new", "assigned_users": [csm.pk], **management("products")},
    )
    assert response.status_code == 302
    acme = Customer.objects.get(name="Acme")
    assert list(acme.assigned_users.all()) == [csm]
    assert AuditLog.objects.filter(action="customer.create", customer_id=acme.pk).count() == 1

    response = admin_client.post(
        url(CustomerProduct, "add"),
        {"customer": acme.pk, "product": product.pk, "license_level": LicenseLevel.ADVANTAGE},
    )
    assert response.status_code == 302
    plan = AdoptionPlan.objects.get(customer_product__customer=acme)
    assert plan.total_tasks == 2
    assert plan.tasks.count() == 2

    response = admin_client.post(
        url(CustomerProduct, "add"),
        {"customer": acme.pk, "product": product.pk, "license_level": LicenseLevel.ADVANTAGE},
    )
    assert response.status_code == 200  # the unique assignment is refused as a form error
    assert CustomerProduct.objects.filter(customer=acme).count() == 1


def test_user_admin_shows_and_audits_roles(admin_client, world, csm):
    response = admin_client.get(url(User, "changelist"), {"profile__role__exact": "CSM"})
    assert [u.username for u in response.context["cl"].result_list] == ["csm_u"]
    assert "Customer success manager" in response.content.decode()

    page = admin_client.get(url(User, "change", csm.pk))
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data.update(
        {
            "username": csm.username,
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-id": csm.profile.pk,
            "profile-0-user": csm.pk,
            "profile-0-role": Role.VIEWER,
        }
    )
    data.pop("last_login", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("password", None)
    data["is_active"] = "on"

    response = admin_client.post(url(User, "change", csm.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    csm.profile.refresh_from_db()
    assert csm.profile.role == Role.VIEWER
    entry = AuditLog.objects.get(action="user.role_change")
    assert entry.details == {"username": "csm_u", "from": "CSM", "to": "VIEWER"}


GROWING = [
    Task,
    Customer,
    CustomerProduct,
    AdoptionPlan,
    CustomerTask,
    TaskStatusChange,
    CustomerTelemetryAttribute,
    CustomerTelemetryValue,
    TelemetryBatch,
    AuditLog,
]


@pytest.mark.parametrize("model", GROWING)
@pytest.mark.parametrize("search", ["", "customer"])
def test_changelists_run_a_constant_number_of_queries(admin_client, admin_user, csm, model, search):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(url(model, "changelist"), {"q": search} if search else {})
            assert response.status_code == 200
        assert search or response.context["cl"].result_count > 0
        return len(ctx)

    product, _ = build_catalog(n_tasks=1)
    customer = CustomerFactory()
    customer_product_assign(actor=admin_user, customer=customer, product=product, license_level="ESSENTIAL")
    for task in CustomerTask.objects.all():
        customer_task_update_status(actor=csm, task=task, status=TaskStatus.DONE)
    for attribute in CustomerTelemetryAttribute.objects.all():
        CustomerTelemetryValueFactory(customer_attribute=attribute)
    TelemetryBatchFactory(customer=customer, channel="api")
    few = queries()

    for i in range(4):
        TaskFactory(product=product, name=f"More {i}", outcomes=list(product.outcomes.all()))
    for _ in range(3):
        extra = CustomerFactory()
        customer_product_assign(actor=admin_user, customer=extra, product=product, license_level="SIGNATURE")
    for i, task in enumerate(CustomerTask.objects.filter(status=TaskStatus.NOT_STARTED)):
        # Other actors: the filters' choices grow too (read along an index, one query whatever their number).
        customer_task_update_status(actor=(csm, admin_user)[i % 2], task=task, status=TaskStatus.IN_PROGRESS)
    for attribute in CustomerTelemetryAttribute.objects.all():
        CustomerTelemetryValueFactory(customer_attribute=attribute, source=f"sensor {attribute.pk}")
    for i, extra in enumerate(Customer.objects.exclude(pk=customer.pk)):
        TelemetryBatchFactory(customer=extra, channel=("import", "graphql", "api")[i % 3])

    assert model.objects.count() > 3
    assert queries() == few


def test_anonymous_and_non_staff_users_are_sent_to_login(client, world, csm):
    assert client.get(url(Customer, "changelist")).status_code == 302
    client.force_login(csm)  # not staff
    assert client.get(url(Customer, "changelist")).status_code == 302
    assert Client().get(url(Product, "changelist")).status_code == 302


def test_sync_action_syncs_the_csms_plans_and_is_not_offered_to_viewers(client, world, csm, viewer):
    plan = AdoptionPlan.objects.get(customer_product__customer=world["mine"])
    TaskFactory(product=world["product"], name="New task")  # the catalog grew: the plan needs a sync
    client.force_login(staff(csm))

    response = client.post(url(AdoptionPlan, "changelist"), {"action": "sync_selected", "_selected_action": [plan.pk]})

    assert response.status_code == 302
    assert plan.tasks.filter(name="New task").count() == 1
    assert AuditLog.objects.filter(action="adoption_plan.sync", object_id=str(plan.pk)).count() == 1
    client.force_login(staff(viewer))
    assert "sync_selected" not in client.get(url(AdoptionPlan, "changelist")).content.decode()


def test_assignment_form_names_the_product_of_each_outcome(admin_client, world):
    ProductFactory(name="Pulse")
    OutcomeFactory(product=Product.objects.get(name="Pulse"), name="Zero-trust access")

    page = admin_client.get(url(CustomerProduct, "add")).content.decode()

    assert "Identity Guard: Zero-trust access" in page
    assert "Pulse: Zero-trust access" in page


CUSTOMER_OF = {
    Customer: lambda obj: obj,
    CustomerProduct: lambda obj: obj.customer,
    AdoptionPlan: lambda obj: obj.customer_product.customer,
    CustomerTask: lambda obj: obj.adoption_plan.customer_product.customer,
    TaskStatusChange: lambda obj: obj.customer_task.adoption_plan.customer_product.customer,
    CustomerTelemetryAttribute: lambda obj: obj.customer_task.adoption_plan.customer_product.customer,
    CustomerTelemetryValue: lambda obj: obj.customer_attribute.customer_task.adoption_plan.customer_product.customer,
    TelemetryBatch: lambda obj: obj.customer,
    ApiKey: lambda obj: obj.customer,
}


@pytest.mark.parametrize("model", CUSTOMER_MODELS)
def test_every_customer_changelist_shows_a_csm_only_their_customers_rows(client, world, csm, model):
    # Rows of the other customer exist for every model...
    other = world["other"]
    other_task = CustomerTask.objects.get(adoption_plan__customer_product__customer=other, name="Task 0")
    customer_task_update_status(actor="someone", task=other_task, status="DONE")
    CustomerTelemetryValueFactory(customer_attribute=other_task.telemetry_attributes.get())
    TelemetryBatchFactory(customer=other)
    ApiKeyFactory(customer=other)
    assert {CUSTOMER_OF[model](obj).name for obj in model.objects.all()} == {"Mine", "Other"}
    client.force_login(staff(csm))

    response = client.get(url(model, "changelist"))

    assert response.status_code == 200
    assert {CUSTOMER_OF[model](obj).name for obj in response.context["cl"].result_list} == {"Mine"}
    hidden = model.objects.exclude(pk__in=[obj.pk for obj in response.context["cl"].result_list]).first()
    assert client.get(url(model, "change", hidden.pk)).status_code == 302  # like a missing one


def test_growing_tables_filters_offer_their_values_from_an_index(admin_client, world, csm):
    """The audit log, history and batch filters list every value in order (one query each), and each
    field they read has an index whose first column it is (else the loose index scan would be slow)."""
    from config.changelists import IndexedValuesFieldListFilter

    checked = 0
    for model, model_admin in admin.site._registry.items():
        for entry in model_admin.list_filter:
            if isinstance(entry, tuple) and entry[1] is IndexedValuesFieldListFilter:
                field = model._meta.get_field(entry[0])
                leading = {index.fields[0] for index in model._meta.indexes if index.fields}
                assert field.db_index or field.name in leading, f"{model.__name__}.{field.name} has no index"
                checked += 1
    assert checked == 5

    with CaptureQueriesContext(connection) as ctx:
        page = admin_client.get(url(AuditLog, "changelist"))
    if connection.vendor == "postgresql":  # no statement reads the whole log (no DISTINCT, no date hierarchy)
        assert not [q["sql"] for q in ctx.captured_queries if "DISTINCT" in q["sql"].upper()]
        assert sum("WITH RECURSIVE" in q["sql"] for q in ctx.captured_queries) == 3
    filters = {
        spec.title: [c["display"] for c in spec.choices(page.context["cl"])] for spec in page.context["cl"].filter_specs
    }
    expected = sorted(set(AuditLog.objects.values_list("action", flat=True)))
    assert filters["action"] == ["All", *expected]
    assert filters["actor label"] == ["All", *sorted(set(AuditLog.objects.values_list("actor_label", flat=True)))]
    page = admin_client.get(url(TaskStatusChange, "changelist"), {"actor": "csm_u"})
    assert page.context["cl"].result_count == 1
    filters = {
        spec.title: [c["display"] for c in spec.choices(page.context["cl"])] for spec in page.context["cl"].filter_specs
    }
    assert filters["actor"] == ["All", "csm_u"]
    # A CSM's changelist is narrowed to their customers: the choices are read from their rows.
    client = Client()
    client.force_login(staff(csm))
    page = client.get(url(TelemetryBatch, "changelist"))
    filters = {
        spec.title: [c["display"] for c in spec.choices(page.context["cl"])] for spec in page.context["cl"].filter_specs
    }
    assert filters["channel"] == ["All", "api"]


def test_value_search_matches_a_batch_id_exactly_or_the_attribute_or_customer_name(admin_client, world):
    attribute = world["task"].telemetry_attributes.get()
    older = CustomerTelemetryValueFactory(customer_attribute=attribute, batch_id="nightly-2024-05-01")
    newer = CustomerTelemetryValueFactory(customer_attribute=attribute, batch_id="nightly-2024-05-02")

    def found(q):
        response = admin_client.get(url(CustomerTelemetryValue, "changelist"), {"q": q})
        return [value.pk for value in response.context["cl"].result_list]

    assert found("nightly-2024-05-01") == [older.pk]
    assert found("nightly") == []  # a batch id is matched whole, along its index
    everything = list(CustomerTelemetryValue.objects.order_by("-pk").values_list("pk", flat=True))
    assert found(attribute.name) == everything  # newest first
    assert found("mine") == everything  # the customer's name; "Other" has no values
    assert found("other") == []
    assert newer.pk == everything[0]


def test_row_checkbox_is_the_markup_django_renders(admin_client, world):
    """The growing lists write the action checkbox directly; it must stay what Django's widget gives."""
    from django.contrib.admin import ModelAdmin

    customer = world["mine"]
    ours = admin.site._registry[Customer].action_checkbox(customer)
    assert ours == ModelAdmin.action_checkbox(admin.site._registry[Customer], customer)
    page = admin_client.get(url(Customer, "changelist")).content.decode()
    assert ours in page
