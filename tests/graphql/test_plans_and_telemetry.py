# ruff: noqa: UP031  (GraphQL documents are full of braces: %-formatting keeps them readable)
"""Customers, assignments, plans, statuses and telemetry over GraphQL: every query and mutation of
these, with exact values."""

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.services import customer_task_update_status
from config.audit.models import AuditLog
from customers.models import Customer, CustomerProduct
from telemetry.models import CustomerTelemetryValue
from telemetry.services import telemetry_ingest
from tests.factories import CustomerFactory
from tests.graphql.conftest import data_of, error_of


def test_customers_lists_only_what_the_user_may_see(as_csm, as_admin, acme):
    CustomerFactory(name="Zeta Corp")  # not assigned to the CSM
    CustomerFactory(name="Alpha Inc", description="")
    assert data_of(as_csm, "{ customers { name } }") == {"customers": [{"name": "Acme Corporation"}]}
    assert data_of(as_admin, "{ customers { name description } }") == {
        "customers": [
            {"name": "Acme Corporation", "description": "Large retail company"},
            {"name": "Alpha Inc", "description": None},
            {"name": "Zeta Corp", "description": "A customer"},
        ]
    }


def test_customer_with_products_and_plan(as_viewer, acme, retail):
    customer, assignment, plan = acme["customer"], acme["assignment"], acme["plan"]
    data = data_of(
        as_viewer,
        """{ customer(id: "%s") {
        id name createdAt updatedAt
        products { id licenseLevel purchasedAt selectedOutcomes { id } selectedReleases { id }
                   customer { id } product { name } adoptionPlan { id productId productName customerProduct { id } } }
    } }"""
        % customer.pk,
    )
    assert data == {
        "customer": {
            "id": str(customer.pk),
            "name": "Acme Corporation",
            "createdAt": customer.created_at.isoformat(),
            "updatedAt": customer.updated_at.isoformat(),
            "products": [
                {
                    "id": str(assignment.pk),
                    "licenseLevel": "ADVANTAGE",
                    "purchasedAt": assignment.purchased_at.isoformat(),
                    "selectedOutcomes": [],
                    "selectedReleases": [],
                    "customer": {"id": str(customer.pk)},
                    "product": {"name": "Retail App"},
                    "adoptionPlan": {
                        "id": str(plan.pk),
                        "productId": str(retail["product"].pk),
                        "productName": "Retail App",
                        "customerProduct": {"id": str(assignment.pk)},
                    },
                }
            ],
        }
    }
    plans = data_of(as_viewer, '{ adoptionPlansForCustomer(customerId: "%s") { id } }' % customer.pk)
    assert plans == {"adoptionPlansForCustomer": [{"id": str(plan.pk)}]}


def test_update_and_delete_customer(as_csm, as_admin, acme):
    customer = acme["customer"]
    updated = data_of(
        as_csm,
        'mutation { updateCustomer(id: "%s", input: {description: "Retail, 40 stores"}) '
        "{ name description } }" % customer.pk,
    )
    assert updated == {"updateCustomer": {"name": "Acme Corporation", "description": "Retail, 40 stores"}}
    deleted = data_of(as_admin, 'mutation { deleteCustomer(id: "%s") { success message } }' % customer.pk)
    assert deleted == {
        "deleteCustomer": {
            "success": True,
            "message": "customer 'Acme Corporation' deleted with 1 customer products, 1 adoption plans, "
            "5 customer tasks, 0 status history entries, 4 telemetry attributes, 0 telemetry values, "
            "0 api keys, 0 telemetry batches",
        }
    }
    assert (Customer.objects.count(), AdoptionPlan.objects.count(), CustomerTask.objects.count()) == (0, 0, 0)
    assert AuditLog.objects.filter(action="customer.delete", customer_id=customer.pk).count() == 1


def test_remove_product_from_customer(as_csm, acme):
    removed = data_of(
        as_csm, 'mutation { removeProductFromCustomer(id: "%s") { success message } }' % acme["assignment"].pk
    )
    assert removed == {
        "removeProductFromCustomer": {
            "success": True,
            "message": "Retail App removed from Acme Corporation with 1 adoption plans, 5 customer tasks, "
            "0 status history entries, 4 telemetry attributes, 0 telemetry values",
        }
    }
    assert (CustomerProduct.objects.count(), AdoptionPlan.objects.count()) == (0, 0)
    assert error_of(as_csm, '{ adoptionPlan(id: "%s") { id } }' % acme["plan"].pk)["extensions"] == {
        "code": "NOT_FOUND",
        "field": "id",
    }


def test_assignment_with_release_selection(as_admin, acme, retail):
    """selectedReleaseIds: release 1.0 only leaves out Automate (tagged 2.0 only)."""
    customer = CustomerFactory(name="Globex")
    data = data_of(
        as_admin,
        """mutation($input: AssignProductInput!) { assignProductToCustomer(input: $input) {
        selectedReleases { name } adoptionPlan { selectedReleases { name } tasks { name } } } }""",
        {
            "input": {
                "customerId": str(customer.pk),
                "productId": str(retail["product"].pk),
                "licenseLevel": "SIGNATURE",
                "selectedOutcomeIds": [],
                "selectedReleaseIds": [str(retail["releases"]["1.0"].pk)],
            }
        },
    )
    assert data == {
        "assignProductToCustomer": {
            "selectedReleases": [{"name": "1.0"}],
            "adoptionPlan": {
                "selectedReleases": [{"name": "1.0"}],
                "tasks": [{"name": n} for n in ("Install", "Configure", "Invite users", "Integrate", "Optimize")],
            },
        }
    }
    updated = data_of(
        as_admin,
        'mutation { updateCustomerProduct(id: "%s", input: {selectedReleaseIds: []}) '
        "{ selectedReleases { name } adoptionPlan { needsSync } } }" % customer.products.get().pk,
    )
    assert updated == {"updateCustomerProduct": {"selectedReleases": [], "adoptionPlan": {"needsSync": True}}}


def test_tasks_for_plan_by_status(as_csm, acme, csm):
    tasks, plan = acme["tasks"], acme["plan"]
    customer_task_update_status(actor=csm, task=tasks["Invite users"], status=TaskStatus.NOT_APPLICABLE)
    customer_task_update_status(actor=csm, task=tasks["Install"], status=TaskStatus.DONE)
    data = data_of(
        as_csm,
        """{
        all: customerTasksForPlan(adoptionPlanId: "%(plan)s") { name }
        na: customerTasksForPlan(adoptionPlanId: "%(plan)s", status: NOT_APPLICABLE) { name }
        adoptionPlan(id: "%(plan)s") { totalTasks done: tasksByStatus(status: DONE) { name }
                                       every: tasksByStatus { name } }
    }"""
        % {"plan": plan.pk},
    )
    names = ["Install", "Configure", "Invite users", "Integrate", "Automate"]
    assert data == {
        "all": [{"name": n} for n in names],
        "na": [{"name": "Invite users"}],
        "adoptionPlan": {"totalTasks": 4, "done": [{"name": "Install"}], "every": [{"name": n} for n in names]},
    }


def test_bulk_status_update(as_csm, acme):
    tasks, plan = acme["tasks"], acme["plan"]
    ids = [str(tasks["Automate"].pk), str(tasks["Install"].pk)]
    data = data_of(
        as_csm,
        """mutation($plan: ID!, $ids: [ID!]!) {
        bulkUpdateCustomerTaskStatus(adoptionPlanId: $plan, taskIds: $ids, status: DONE, notes: "Kick-off done") {
          id name status statusNotes completedBy adoptionPlan { completedTasks completedWeight progressPercentage }
        } }""",
        {"plan": str(plan.pk), "ids": ids},
    )
    progress = {"completedTasks": 2, "completedWeight": 7.0, "progressPercentage": 46.67}
    assert data == {
        "bulkUpdateCustomerTaskStatus": [
            {
                "id": ids[0],
                "name": "Automate",
                "status": "DONE",
                "statusNotes": "Kick-off done",
                "completedBy": "csm_u",
                "adoptionPlan": progress,
            },
            {
                "id": ids[1],
                "name": "Install",
                "status": "DONE",
                "statusNotes": "Kick-off done",
                "completedBy": "csm_u",
                "adoptionPlan": progress,
            },
        ]
    }
    assert TaskStatusChange.objects.filter(source=StatusSource.MANUAL).count() == 2


def test_bulk_telemetry_values_and_latest_value(as_csm, acme):
    configure = acme["tasks"]["Configure"]
    configured = configure.telemetry_attributes.get(name="configured")
    users = configure.telemetry_attributes.get(name="users")
    inputs = [
        {
            "customerAttributeId": str(users.pk),
            "value": 25,
            "observedAt": "2026-01-02T10:00:00Z",
            "source": "crm",
            "batchId": "nightly-1",
            "notes": "late arrival",
        },
        {
            "customerAttributeId": str(users.pk),
            "value": 4,
            "observedAt": "2026-01-01T10:00:00+00:00",
            "source": "crm",
            "batchId": "nightly-1",
        },
        {"customerAttributeId": str(configured.pk), "value": False, "batchId": "nightly-1"},
    ]
    data = data_of(
        as_csm,
        """mutation($inputs: [AddTelemetryValueInput!]!) {
        bulkAddCustomerTelemetryValues(inputs: $inputs) { value observedAt source batchId notes
                                                          customerAttribute { name } } }""",
        {"inputs": inputs},
    )
    values = data["bulkAddCustomerTelemetryValues"]
    assert [(v["value"], v["source"], v["batchId"], v["notes"], v["customerAttribute"]["name"]) for v in values] == [
        (25, "crm", "nightly-1", "late arrival", "users"),
        (4, "crm", "nightly-1", None, "users"),
        (False, "graphql", "nightly-1", None, "configured"),
    ]
    assert values[0]["observedAt"] == "2026-01-02T10:00:00+00:00"
    task = data_of(
        as_csm,
        """{ customerTask(id: "%s") { status statusUpdatedBy statusUpdateSource
        telemetryProgress { totalAttributes requiredAttributes metAttributes metRequiredAttributes
                            completionPercentage allRequiredMet }
        telemetryAttributes { name isMet lastCheckedAt values { value } latestValue { value observedAt } } } }"""
        % configure.pk,
    )["customerTask"]
    assert task["status"] == "IN_PROGRESS" and task["statusUpdatedBy"] == "telemetry"
    assert task["statusUpdateSource"] == "TELEMETRY"
    assert task["telemetryProgress"] == {
        "totalAttributes": 2,
        "requiredAttributes": 1,
        "metAttributes": 1,
        "metRequiredAttributes": 0,
        "completionPercentage": 50.0,
        "allRequiredMet": False,
    }
    configured_row, users_row = task["telemetryAttributes"]
    assert (configured_row["name"], configured_row["isMet"], configured_row["values"]) == (
        "configured",
        False,
        [{"value": False}],
    )
    # Latest = greatest observedAt: 25 (Jan 2) although 4 (Jan 1) arrived after it.
    assert users_row["values"] == [{"value": 4}, {"value": 25}]
    assert users_row["latestValue"] == {"value": 25, "observedAt": "2026-01-02T10:00:00+00:00"}
    assert users_row["isMet"] is True and users_row["lastCheckedAt"] is not None


def test_json_values_from_variables_and_literals(as_csm, acme):
    attribute = acme["tasks"]["Integrate"].telemetry_attributes.get()  # JSON
    value = {"enabled": True, "count": 12345678901234, "tags": ["a", None, 1.5], "nested": {"x": {"y": []}}}
    stored = data_of(
        as_csm,
        """mutation($v: JSON!) { addCustomerTelemetryValue(input: {
        customerAttributeId: "%s", value: $v, observedAt: "2026-03-01"}) { value observedAt } }"""
        % attribute.pk,
        {"v": value},
    )
    assert stored == {"addCustomerTelemetryValue": {"value": value, "observedAt": "2026-03-01T00:00:00+00:00"}}
    literal = data_of(
        as_csm,
        """mutation($n: Int) { addCustomerTelemetryValue(input: {customerAttributeId: "%s",
        value: {count: $n, big: 12345678901234, list: [1, "two", false, null]}}) { value } }"""
        % attribute.pk,
        {"n": 150},
    )
    assert literal == {
        "addCustomerTelemetryValue": {"value": {"count": 150, "big": 12345678901234, "list": [1, "two", False, None]}}
    }
    assert CustomerTelemetryValue.objects.order_by("pk").last().value == literal["addCustomerTelemetryValue"]["value"]


def test_manual_status_beats_telemetry_until_reset(as_csm, acme):
    install = acme["tasks"]["Install"]  # BOOLEAN sso_enabled must be true
    attribute = install.telemetry_attributes.get()
    data_of(
        as_csm,
        'mutation { updateCustomerTaskStatus(input: {customerTaskId: "%s", status: DONE, '
        'notes: "Customer says so"}) { id } }' % install.pk,
    )
    data_of(
        as_csm,
        'mutation { addCustomerTelemetryValue(input: {customerAttributeId: "%s", value: false}) { id } }'
        % attribute.pk,
    )
    query = (
        """{ customerTask(id: "%s") { status statusUpdateSource statusUpdatedBy telemetryDisagrees
        history { fromStatus toStatus source actor note evidence } } }"""
        % install.pk
    )
    task = data_of(as_csm, query)["customerTask"]
    assert (task["status"], task["statusUpdateSource"], task["telemetryDisagrees"]) == ("DONE", "MANUAL", True)
    assert [(h["toStatus"], h["source"], h["actor"], h["note"]) for h in task["history"]] == [
        ("DONE", "MANUAL", "csm_u", "Customer says so")
    ]

    reset = data_of(
        as_csm,
        'mutation { resetCustomerTaskToTelemetry(customerTaskId: "%s") { status '
        "statusUpdateSource statusUpdatedBy telemetryDisagrees adoptionPlan { completedTasks } } }" % install.pk,
    )
    assert reset == {
        "resetCustomerTaskToTelemetry": {
            "status": "NOT_STARTED",
            "statusUpdateSource": "TELEMETRY",
            "statusUpdatedBy": "telemetry",
            "telemetryDisagrees": False,
            "adoptionPlan": {"completedTasks": 0},
        }
    }
    last = data_of(as_csm, query)["customerTask"]["history"][-1]
    assert (last["fromStatus"], last["toStatus"], last["source"], last["actor"]) == (
        "DONE",
        "NOT_STARTED",
        "TELEMETRY",
        "telemetry",
    )
    assert last["evidence"]["computedStatus"] == "NOT_STARTED"
    assert last["evidence"]["attributes"][0]["name"] == "sso_enabled"
    assert last["evidence"]["attributes"][0]["isMet"] is False
    assert isinstance(last["evidence"], dict)  # JSON, not a JSON-encoded string


def test_evaluate_all_tasks(as_csm, acme, csm):
    attribute = acme["tasks"]["Install"].telemetry_attributes.get()
    telemetry_ingest(actor=csm, items=[{"customerAttributeId": attribute.pk, "value": True}])
    CustomerTask.objects.filter(pk=acme["tasks"]["Install"].pk).update(
        status=TaskStatus.NOT_STARTED, is_complete=False
    )  # as if the value came in before the plan knew
    data = data_of(
        as_csm,
        'mutation { evaluateAllTasksTelemetry(adoptionPlanId: "%s") { completedTasks '
        "completedWeight tasksByStatus(status: DONE) { name statusUpdatedBy } } }" % acme["plan"].pk,
    )
    assert data == {
        "evaluateAllTasksTelemetry": {
            "completedTasks": 1,
            "completedWeight": 2.0,
            "tasksByStatus": [{"name": "Install", "statusUpdatedBy": "telemetry"}],
        }
    }


def test_create_plan_twice_is_a_conflict(as_csm, acme):
    error = error_of(as_csm, 'mutation { createAdoptionPlan(customerProductId: "%s") { id } }' % acme["assignment"].pk)
    assert error["extensions"] == {"code": "CONFLICT", "field": "customerProductId"}
    assert AdoptionPlan.objects.count() == 1


def test_license_level_values_are_the_enum_names(as_csm, acme):
    assignment = acme["assignment"]
    assert assignment.license_level == LicenseLevel.ADVANTAGE
    data = data_of(as_csm, '{ adoptionPlan(id: "%s") { licenseLevel tasks { licenseLevel } } }' % acme["plan"].pk)
    assert data["adoptionPlan"]["licenseLevel"] == "ADVANTAGE"
    assert [t["licenseLevel"] for t in data["adoptionPlan"]["tasks"]] == [
        "ESSENTIAL",
        "ESSENTIAL",
        "ESSENTIAL",
        "ADVANTAGE",
        "ADVANTAGE",
    ]
