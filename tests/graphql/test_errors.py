# ruff: noqa: UP031  (GraphQL documents are full of braces: %-formatting keeps them readable)
"""One test (at least) per error code: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, VALIDATION_ERROR,
CONFLICT, each with extensions.field where a field is at fault, and the database unchanged."""

import pytest
from django.test import Client

from adoption.choices import LicenseLevel, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, Product, Task, TaskStatusChange
from adoption.services import customer_product_assign
from config.audit.models import AuditLog
from customers.models import Customer, CustomerProduct
from telemetry.models import CustomerTelemetryValue, TelemetryAttribute
from tests.factories import CustomerFactory, OutcomeFactory, ProductFactory, UserFactory
from tests.graphql.conftest import client_for, data_of, error_of, post

STATUS = 'mutation { updateCustomerTaskStatus(input: {customerTaskId: "%s", status: DONE}) { id } }'


def snapshot():
    """The domain tables a refused request must leave alone."""
    return {
        "customers": Customer.objects.count(),
        "assignments": CustomerProduct.objects.count(),
        "plans": AdoptionPlan.objects.count(),
        "tasks": list(CustomerTask.objects.order_by("pk").values_list("pk", "status", "is_archived")),
        "history": TaskStatusChange.objects.count(),
        "values": CustomerTelemetryValue.objects.count(),
        "products": list(Product.objects.order_by("pk").values_list("pk", "name", "is_active")),
        "catalog_tasks": list(Task.objects.order_by("pk").values_list("pk", "name", "weight", "is_active")),
        "attributes": list(TelemetryAttribute.objects.order_by("pk").values_list("pk", "success_criteria")),
        "audit": AuditLog.objects.count(),
    }


@pytest.fixture
def unchanged(acme):
    """Assert at the end of the test that the domain tables are as they were at its start."""
    before = snapshot()
    yield
    assert snapshot() == before


# --- UNAUTHENTICATED -------------------------------------------------------------------------------


def test_unauthenticated(acme, unchanged):
    status, body = post(Client(), STATUS % acme["tasks"]["Install"].pk)
    assert status == 401
    assert body == {"errors": [{"message": "authentication required", "extensions": {"code": "UNAUTHENTICATED"}}]}


# --- FORBIDDEN -------------------------------------------------------------------------------------


def test_viewer_may_read_but_not_write(as_viewer, acme, unchanged):
    install = acme["tasks"]["Install"]
    assert data_of(as_viewer, '{ customerTask(id: "%s") { name } }' % install.pk) == {
        "customerTask": {"name": "Install"}
    }
    error = error_of(as_viewer, STATUS % install.pk)
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert error["path"] == ["updateCustomerTaskStatus"]


@pytest.mark.parametrize(
    "document",
    [
        'mutation { updateCustomer(id: "{customer}", input: {name: "X"}) { id } }',
        'mutation { syncAdoptionPlan(adoptionPlanId: "{plan}") { id } }',
        'mutation { evaluateAllTasksTelemetry(adoptionPlanId: "{plan}") { id } }',
        'mutation { resetCustomerTaskToTelemetry(customerTaskId: "{install}") { id } }',
        'mutation { evaluateTaskTelemetry(customerTaskId: "{install}") { id } }',
        'mutation { bulkUpdateCustomerTaskStatus(adoptionPlanId: "{plan}", taskIds: ["{install}"], status: DONE) { id } }',
        'mutation { updateCustomerProduct(id: "{assignment}", input: {licenseLevel: SIGNATURE}) { id } }',
        'mutation { removeProductFromCustomer(id: "{assignment}") { success } }',
        'mutation { addCustomerTelemetryValue(input: {customerAttributeId: "{attribute}", value: true}) { id } }',
        'mutation { bulkAddCustomerTelemetryValues(inputs: [{customerAttributeId: "{attribute}", value: true}]) { id } }',
    ],
)
def test_viewer_writes_are_forbidden(as_viewer, acme, unchanged, document):
    install = acme["tasks"]["Install"]
    ids = {
        "customer": acme["customer"].pk,
        "plan": acme["plan"].pk,
        "install": install.pk,
        "assignment": acme["assignment"].pk,
        "attribute": install.telemetry_attributes.get().pk,
    }
    for key, value in ids.items():
        document = document.replace("{%s}" % key, str(value))
    assert error_of(as_viewer, document)["extensions"]["code"] == "FORBIDDEN"


def test_csm_may_not_create_or_delete_customers(as_csm, acme, unchanged):
    assert error_of(as_csm, 'mutation { createCustomer(input: {name: "New"}) { id } }')["extensions"] == {
        "code": "FORBIDDEN"
    }
    assert error_of(as_csm, 'mutation { deleteCustomer(id: "%s") { success } }' % acme["customer"].pk)[
        "extensions"
    ] == {"code": "FORBIDDEN"}


def test_only_admins_and_catalog_editors_change_the_catalog(as_csm, acme, unchanged):
    product = acme["assignment"].product
    for document in [
        'mutation { createProduct(input: {name: "Rogue"}) { id } }',
        'mutation { updateProduct(id: "%s", input: {name: "Renamed"}) { id } }' % product.pk,
        'mutation { deleteProduct(id: "%s") { success } }' % product.pk,
        'mutation { createTask(input: {productId: "%s", name: "T", estMinutes: 1, weight: 1}) { id } }' % product.pk,
    ]:
        assert error_of(as_csm, document)["extensions"] == {"code": "FORBIDDEN"}, document


# --- NOT_FOUND --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["task-123", "0", "-4", "999999", "99999999999999999999999", "1.5", " "])
def test_malformed_and_unknown_ids_are_not_found(as_csm, acme, unchanged, task_id):
    error = error_of(as_csm, STATUS % task_id)
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "customerTaskId"}
    assert error["message"] == f"customer task {task_id!r} not found" or error["message"] == (
        f"customer task {task_id} not found"
    )


def test_invisible_objects_answer_like_missing_ones(as_csm, acme, admin_user, retail):
    other = CustomerFactory(name="Globex")  # the CSM is not assigned to Globex
    assignment = customer_product_assign(
        actor=admin_user, customer=other, product=retail["product"], license_level=LicenseLevel.ESSENTIAL
    )
    foreign_task = assignment.adoption_plan.tasks.first()
    before = snapshot()
    invisible = error_of(as_csm, STATUS % foreign_task.pk)
    missing = error_of(as_csm, STATUS % 987654)
    assert invisible["extensions"] == missing["extensions"] == {"code": "NOT_FOUND", "field": "customerTaskId"}
    for query in [
        '{ customer(id: "%s") { id } }' % other.pk,
        '{ adoptionPlan(id: "%s") { id } }' % assignment.adoption_plan.pk,
        '{ adoptionPlansForCustomer(customerId: "%s") { id } }' % other.pk,
        '{ syncPreview(adoptionPlanId: "%s") { isEmpty } }' % assignment.adoption_plan.pk,
    ]:
        _, body = post(as_csm, query)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", query
        assert body["data"] is None or list(body["data"].values()) == [None]
    assert snapshot() == before


def test_catalog_editors_see_no_customer_data(as_editor, acme, unchanged):
    assert data_of(as_editor, "{ customers { id } }") == {"customers": []}
    error = error_of(as_editor, '{ customer(id: "%s") { id } }' % acme["customer"].pk)
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "id"}


def test_unknown_product_on_assignment_names_the_field(as_admin, acme, unchanged):
    error = error_of(
        as_admin,
        """mutation { assignProductToCustomer(input: {customerId: "%s",
        productId: "retail-app-001", licenseLevel: ADVANTAGE, selectedOutcomeIds: []}) { id } }"""
        % acme["customer"].pk,
    )
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "productId"}


# --- VALIDATION_ERROR -------------------------------------------------------------------------------


def test_invalid_criterion_names_the_path_inside_it(as_editor, acme, unchanged):
    task = acme["tasks"]["Install"].original_task
    error = error_of(
        as_editor,
        """mutation { createTelemetryAttribute(input: {
        taskId: "%s", name: "active_users", dataType: NUMBER,
        successCriteria: {all: [{op: "gte", value: 100}, {op: "between", value: [10]}]}
    }) { id } }"""
        % task.pk,
    )
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert error["extensions"]["field"] == "successCriteria.all[1].value"
    assert error["message"].startswith("successCriteria.all[1].value: ")


def test_regex_that_re2_cannot_compile_is_refused_at_save_naming_the_path(as_editor, acme, unchanged):
    task = acme["tasks"]["Install"].original_task
    error = error_of(
        as_editor,
        """mutation { createTelemetryAttribute(input: {
        taskId: "%s", name: "edition", dataType: STRING,
        successCriteria: {all: [{op: "exists"}, {op: "regex", value: "^(?!trial)"}]}
    }) { id } }"""
        % task.pk,
    )
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert error["extensions"]["field"] == "successCriteria.all[1].value"
    assert error["message"] == (
        "successCriteria.all[1].value: invalid regular expression (RE2 syntax): invalid perl operator: (?!"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ("weight: 10000", "weight"),
        ("weight: 1.234", "weight"),
        ("weight: -1", "weight"),
        ("estMinutes: -5", "estMinutes"),
        ('name: "  "', "name"),
        ('howToDoc: ["not a url"]', "howToDoc[0]"),
    ],
)
def test_task_fields_are_validated(as_editor, acme, unchanged, fields, field):
    product = acme["assignment"].product
    base = {"name": '"Valid"', "estMinutes": "10", "weight": "1"}
    key = fields.split(":")[0]
    base[key] = fields.split(":", 1)[1].strip()
    rest = ", ".join(f"{k}: {v}" for k, v in base.items() if k != key)
    error = error_of(
        as_editor, 'mutation { createTask(input: {productId: "%s", %s, %s}) { id } }' % (product.pk, fields, rest)
    )
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert error["extensions"]["field"] == field


def test_outcome_of_another_product_is_refused(as_admin, acme):
    foreign = OutcomeFactory(product=ProductFactory(name="Other"))
    before = snapshot()
    error = error_of(
        as_admin,
        'mutation { updateCustomerProduct(id: "%s", input: {selectedOutcomeIds: ["%s"]}) '
        "{ id } }" % (acme["assignment"].pk, foreign.pk),
    )
    assert error["extensions"] == {
        "code": "VALIDATION_ERROR",
        "field": "selectedOutcomeIds",
        "details": {"invalidIds": [str(foreign.pk)]},
    }
    assert snapshot() == before


def test_wrong_telemetry_value_type_stores_nothing(as_csm, acme, unchanged):
    attribute = acme["tasks"]["Install"].telemetry_attributes.get()  # BOOLEAN
    error = error_of(
        as_csm,
        'mutation { addCustomerTelemetryValue(input: {customerAttributeId: "%s", '
        'value: "yes please"}) { id } }' % attribute.pk,
    )
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert error["extensions"]["field"] == "input"
    assert error["extensions"]["details"][0]["index"] == 0
    assert "sso_enabled" in error["message"] and "BOOLEAN" in error["message"]


def test_bulk_telemetry_is_capped_at_5000_values(as_csm, acme, unchanged):
    attribute = acme["tasks"]["Install"].telemetry_attributes.get()
    inputs = [{"customerAttributeId": str(attribute.pk), "value": True}] * 5001
    error = error_of(
        as_csm,
        "mutation($inputs: [AddTelemetryValueInput!]!) { bulkAddCustomerTelemetryValues(inputs: $inputs) { id } }",
        {"inputs": inputs},
    )
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "inputs"}
    assert error["message"] == "at most 5000 items are accepted, got 5001"


def test_bulk_status_change_is_all_or_nothing(as_csm, acme, admin_user, retail, unchanged):
    foreign = CustomerTask.objects.exclude(adoption_plan=acme["plan"]).first()
    assert foreign is None  # only Acme's plan exists: use an id of no task of this plan
    error = error_of(
        as_csm,
        'mutation { bulkUpdateCustomerTaskStatus(adoptionPlanId: "%s", taskIds: ["%s", "424242"],'
        " status: DONE) { id } }" % (acme["plan"].pk, acme["tasks"]["Install"].pk),
    )
    assert error["extensions"] == {
        "code": "VALIDATION_ERROR",
        "field": "taskIds",
        "details": {"invalidIds": ["424242"]},
    }


def test_reset_to_telemetry_without_attributes(as_csm, acme, unchanged):
    error = error_of(
        as_csm, 'mutation { resetCustomerTaskToTelemetry(customerTaskId: "%s") { id } }' % acme["tasks"]["Automate"].pk
    )
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "customerTaskId"}


def test_enum_and_type_errors_in_variables(as_csm, acme, unchanged):
    status, body = post(
        as_csm,
        "mutation($s: CustomerTaskStatus!) { updateCustomerTaskStatus(input: "
        '{customerTaskId: "%s", status: $s}) { id } }' % acme["tasks"]["Install"].pk,
        {"s": "FINISHED"},
    )
    assert status == 400
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR"}
    assert "FINISHED" in body["errors"][0]["message"]


# --- CONFLICT ---------------------------------------------------------------------------------------


def test_assigning_a_product_twice_is_a_conflict(as_admin, acme, unchanged):
    error = error_of(
        as_admin,
        """mutation { assignProductToCustomer(input: {customerId: "%s", productId: "%s",
        licenseLevel: SIGNATURE, selectedOutcomeIds: []}) { id } }"""
        % (acme["customer"].pk, acme["assignment"].product_id),
    )
    assert error["extensions"] == {"code": "CONFLICT", "field": "productId"}


def test_duplicate_active_catalog_names_are_conflicts(as_editor, acme, unchanged):
    product = acme["assignment"].product
    assert error_of(as_editor, 'mutation { createProduct(input: {name: "Retail App"}) { id } }')["extensions"] == {
        "code": "CONFLICT",
        "field": "name",
    }
    assert error_of(
        as_editor,
        'mutation { createTask(input: {productId: "%s", name: "Install", estMinutes: 5, '
        "weight: 1}) { id } }" % product.pk,
    )["extensions"] == {"code": "CONFLICT", "field": "name"}


def test_reused_batch_id_with_other_values_is_a_conflict(as_csm, acme):
    attribute = acme["tasks"]["Install"].telemetry_attributes.get()
    document = (
        'mutation { addCustomerTelemetryValue(input: {customerAttributeId: "%s", value: %s, '
        'batchId: "b-1"}) { id value batchId } }'
    )
    first = data_of(as_csm, document % (attribute.pk, "true"))["addCustomerTelemetryValue"]
    assert (first["value"], first["batchId"]) == (True, "b-1")
    replay = data_of(as_csm, document % (attribute.pk, "true"))["addCustomerTelemetryValue"]
    assert replay == first  # idempotent: the same value, not stored twice
    before = snapshot()
    error = error_of(as_csm, document % (attribute.pk, "false"))
    assert error["extensions"] == {"code": "CONFLICT", "field": "batchId"}
    assert snapshot() == before
    assert CustomerTelemetryValue.objects.count() == 1


def test_error_messages_never_show_internals(as_admin, acme):
    """Every refusal above carries a code; none shows a traceback, SQL or a file path."""
    for document in [STATUS % "x", 'mutation { createCustomer(input: {name: ""}) { id } }', "{ nope }"]:
        _, body = post(as_admin, document)
        for error in body["errors"]:
            assert error["extensions"]["code"] in {"NOT_FOUND", "VALIDATION_ERROR"}
            for marker in ("Traceback", "SELECT", ".py", "psycopg", "sqlite"):
                assert marker not in error["message"]


def test_status_unchanged_after_refusals(as_viewer, acme):
    install = acme["tasks"]["Install"]
    error_of(as_viewer, STATUS % install.pk)
    install.refresh_from_db()
    assert (install.status, install.history.count()) == (TaskStatus.NOT_STARTED, 0)


def test_users_without_access_to_any_customer(db, acme):
    stranger = UserFactory(username="stranger", role="CSM")
    error = error_of(client_for(stranger), STATUS % acme["tasks"]["Install"].pk)
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "customerTaskId"}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ('mutation { syncAdoptionPlan(adoptionPlanId: "plan-789") { id } }', "adoptionPlanId"),
        ('mutation { evaluateTaskTelemetry(customerTaskId: "task-123") { id } }', "customerTaskId"),
        ('mutation { updateCustomerProduct(id: "cust-prod-789", input: {licenseLevel: SIGNATURE}) { id } }', "id"),
        ('mutation { createAdoptionPlan(customerProductId: "0") { id } }', "customerProductId"),
        ('{ customerTasksForPlan(adoptionPlanId: "12345678") { id } }', "adoptionPlanId"),
        ('mutation { createTelemetryAttribute(input: {taskId: "t", name: "x", dataType: BOOLEAN}) { id } }', "taskId"),
    ],
)
def test_not_found_names_the_argument_that_held_the_id(as_admin, acme, unchanged, document, field):
    assert error_of(as_admin, document)["extensions"] == {"code": "NOT_FOUND", "field": field}
