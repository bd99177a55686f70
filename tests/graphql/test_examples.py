# ruff: noqa: UP031  (GraphQL documents are full of braces: %-formatting keeps them readable)
"""Worked client examples (create and assign, manual status, telemetry, license change and sync),
run as written with real ids, and end-to-end integration flows, all through the HTTP endpoint."""

from datetime import datetime

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, TaskStatusChange
from adoption.services import customer_task_update_status
from customers.models import Customer, CustomerProduct
from telemetry.models import CustomerTelemetryValue
from tests.factories import CustomerProductFactory, ProductFactory, TaskFactory
from tests.graphql.conftest import data_of

PLAN_TASKS = ["Install", "Configure", "Invite users", "Integrate", "Automate"]


# --- Create customer and assign product (two requests) ------------------------------------------------


def test_create_customer_then_assign_product(as_admin, retail):
    outcomes = retail["outcomes"]
    created = data_of(
        as_admin,
        """
        mutation CreateCustomerWithProduct {
          customer: createCustomer(input: {
            name: "Acme Corporation"
            description: "Large retail company"
          }) {
            id
            name
          }
        }""",
    )
    customer = Customer.objects.get()
    assert created == {"customer": {"id": str(customer.pk), "name": "Acme Corporation"}}
    assert customer.description == "Large retail company"

    assigned = data_of(
        as_admin,
        """
        mutation CreateCustomerWithProduct($customerId: ID!) {
          assignment: assignProductToCustomer(input: {
            customerId: $customerId
            productId: "%s"
            licenseLevel: ADVANTAGE
            selectedOutcomeIds: ["%s", "%s", "%s"]
          }) {
            id
            licenseLevel
            adoptionPlan {
              id
              totalTasks
              progressPercentage
              tasks {
                id
                name
                status
              }
            }
          }
        }"""
        % (retail["product"].pk, outcomes["A"].pk, outcomes["B"].pk, outcomes["C"].pk),
        {"customerId": created["customer"]["id"]},
    )

    assignment = CustomerProduct.objects.get()
    plan = assignment.adoption_plan
    tasks = list(plan.tasks.order_by("sequence_number"))
    assert assigned == {
        "assignment": {
            "id": str(assignment.pk),
            "licenseLevel": "ADVANTAGE",
            "adoptionPlan": {
                "id": str(plan.pk),
                "totalTasks": 5,
                "progressPercentage": 0.0,
                "tasks": [{"id": str(t.pk), "name": t.name, "status": "NOT_STARTED"} for t in tasks],
            },
        }
    }
    assert [t.name for t in tasks] == PLAN_TASKS
    assert sorted(assignment.selected_outcomes.values_list("name", flat=True)) == [
        "Faster checkout",
        "Happier staff",
        "Lower costs",
    ]


# --- Update task status manually ----------------------------------------------------------------------


def test_update_task_status_manually(as_csm, acme):
    install = acme["tasks"]["Install"]
    data = data_of(
        as_csm,
        """
        mutation UpdateTaskStatus {
          updateCustomerTaskStatus(input: {
            customerTaskId: "%s"
            status: IN_PROGRESS
            notes: "Customer started working on this task"
          }) {
            id
            status
            statusUpdatedAt
            statusUpdatedBy
            adoptionPlan {
              progressPercentage
              completedTasks
            }
          }
        }"""
        % install.pk,
    )
    install.refresh_from_db()
    result = data["updateCustomerTaskStatus"]
    assert result == {
        "id": str(install.pk),
        "status": "IN_PROGRESS",
        "statusUpdatedAt": install.status_updated_at.isoformat(),
        "statusUpdatedBy": "csm_u",
        "adoptionPlan": {"progressPercentage": 0.0, "completedTasks": 0},
    }
    assert datetime.fromisoformat(result["statusUpdatedAt"]).tzinfo is not None
    assert install.status_notes == "Customer started working on this task"
    assert install.status_update_source == StatusSource.MANUAL


# --- Add telemetry and auto-evaluate (one document, two mutations in order) ---------------------------


def test_add_telemetry_and_evaluate_in_one_document(as_csm, acme):
    integrate = acme["tasks"]["Integrate"]
    attribute = integrate.telemetry_attributes.get(name="integration")
    data = data_of(
        as_csm,
        """
        mutation AddTelemetryAndEvaluate {
          addCustomerTelemetryValue(input: {
            customerAttributeId: "%s"
            value: { enabled: true, count: 150 }
            source: "customer_api"
            notes: "Integration deployed"
          }) {
            id
            value
          }

          evaluateTaskTelemetry(customerTaskId: "%s") {
            id
            status
            statusUpdatedBy
            telemetryProgress {
              allRequiredMet
              completionPercentage
            }
          }
        }"""
        % (attribute.pk, integrate.pk),
    )
    value = CustomerTelemetryValue.objects.get()
    assert data == {
        "addCustomerTelemetryValue": {"id": str(value.pk), "value": {"enabled": True, "count": 150}},
        "evaluateTaskTelemetry": {
            "id": str(integrate.pk),
            "status": "DONE",
            "statusUpdatedBy": "telemetry",
            "telemetryProgress": {"allRequiredMet": True, "completionPercentage": 100.0},
        },
    }
    assert value.value == {"enabled": True, "count": 150}  # stored as JSON, not as a string
    assert (value.source, value.notes) == ("customer_api", "Integration deployed")
    plan = AdoptionPlan.objects.get()
    assert (plan.completed_tasks, float(plan.progress_percentage)) == (1, 26.67)  # 4 of 15


# --- Change license level and sync (one document, two mutations in order) -----------------------------


def test_upgrade_license_and_sync(as_csm, acme, csm):
    customer_task_update_status(actor=csm, task=acme["tasks"]["Configure"], status=TaskStatus.DONE)
    assignment, plan = acme["assignment"], acme["plan"]
    data = data_of(
        as_csm,
        """
        mutation UpgradeLicense {
          updateCustomerProduct(
            id: "%s"
            input: { licenseLevel: SIGNATURE }
          ) {
            id
            licenseLevel
            adoptionPlan {
              needsSync
            }
          }

          syncAdoptionPlan(adoptionPlanId: "%s") {
            id
            totalTasks
            tasks {
              id
              name
              licenseLevel
              status
            }
          }
        }"""
        % (assignment.pk, plan.pk),
    )
    tasks = list(CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number"))
    levels = {
        "Install": "ESSENTIAL",
        "Configure": "ESSENTIAL",
        "Invite users": "ESSENTIAL",
        "Integrate": "ADVANTAGE",
        "Automate": "ADVANTAGE",
        "Optimize": "SIGNATURE",
    }
    assert data == {
        "updateCustomerProduct": {
            "id": str(assignment.pk),
            "licenseLevel": "SIGNATURE",
            "adoptionPlan": {"needsSync": True},
        },
        "syncAdoptionPlan": {
            "id": str(plan.pk),
            "totalTasks": 6,
            "tasks": [
                {
                    "id": str(t.pk),
                    "name": t.name,
                    "licenseLevel": levels[t.name],
                    "status": "DONE" if t.name == "Configure" else "NOT_STARTED",
                }
                for t in tasks
            ],
        },
    }
    assert [t.name for t in tasks] == [*PLAN_TASKS, "Optimize"]
    after = data_of(as_csm, '{ adoptionPlan(id: "%s") { needsSync licenseLevel } }' % plan.pk)
    assert after == {"adoptionPlan": {"needsSync": False, "licenseLevel": "SIGNATURE"}}


# --- Integration flows ----------------------------------------------------------------------------------


def test_create_adoption_plan_with_correct_tasks(as_admin, retail):
    """ESSENTIAL with outcome A only: Install (tagged A) and Configure (untagged); Invite users is B."""
    outcome_a = retail["outcomes"]["A"]
    customer = data_of(as_admin, 'mutation { createCustomer(input: {name: "Globex"}) { id } }')["createCustomer"]
    data = data_of(
        as_admin,
        """
        mutation($input: AssignProductInput!) {
          assignProductToCustomer(input: $input) {
            licenseLevel
            selectedOutcomes { name }
            selectedReleases { name }
            adoptionPlan {
              productName licenseLevel totalTasks totalWeight needsSync
              selectedOutcomes { id name }
              tasks {
                name weight licenseLevel status statusUpdateSource
                outcomes { name }
                telemetryAttributes { name dataType isRequired successCriteria isActive isMet latestValue { id } }
              }
            }
          }
        }""",
        {
            "input": {
                "customerId": customer["id"],
                "productId": str(retail["product"].pk),
                "licenseLevel": "ESSENTIAL",
                "selectedOutcomeIds": [str(outcome_a.pk)],
            }
        },
    )
    assert data["assignProductToCustomer"] == {
        "licenseLevel": "ESSENTIAL",
        "selectedOutcomes": [{"name": "Faster checkout"}],
        "selectedReleases": [],
        "adoptionPlan": {
            "productName": "Retail App",
            "licenseLevel": "ESSENTIAL",
            "totalTasks": 2,
            "totalWeight": 5.0,
            "needsSync": False,
            "selectedOutcomes": [{"id": str(outcome_a.pk), "name": "Faster checkout"}],
            "tasks": [
                {
                    "name": "Install",
                    "weight": 2.0,
                    "licenseLevel": "ESSENTIAL",
                    "status": "NOT_STARTED",
                    "statusUpdateSource": "SYSTEM",
                    "outcomes": [{"name": "Faster checkout"}],
                    "telemetryAttributes": [
                        {
                            "name": "sso_enabled",
                            "dataType": "BOOLEAN",
                            "isRequired": True,
                            "successCriteria": {"op": "eq", "value": True},
                            "isActive": True,
                            "isMet": False,
                            "latestValue": None,
                        }
                    ],
                },
                {
                    "name": "Configure",
                    "weight": 3.0,
                    "licenseLevel": "ESSENTIAL",
                    "status": "NOT_STARTED",
                    "statusUpdateSource": "SYSTEM",
                    "outcomes": [],
                    "telemetryAttributes": [
                        {
                            "name": "configured",
                            "dataType": "BOOLEAN",
                            "isRequired": True,
                            "successCriteria": {"op": "eq", "value": True},
                            "isActive": True,
                            "isMet": False,
                            "latestValue": None,
                        },
                        {
                            "name": "users",
                            "dataType": "NUMBER",
                            "isRequired": False,
                            "successCriteria": {"op": "gte", "value": 10},
                            "isActive": True,
                            "isMet": False,
                            "latestValue": None,
                        },
                    ],
                },
            ],
        },
    }


def test_create_plan_for_an_assignment_without_one(as_csm, acme, retail, csm):
    other = CustomerProductFactory(
        customer=acme["customer"], product=_second_product(retail), license_level=LicenseLevel.ESSENTIAL
    )
    data = data_of(
        as_csm,
        'mutation { createAdoptionPlan(customerProductId: "%s") '
        "{ productName totalTasks tasks { name } customerProduct { id } } }" % other.pk,
    )
    assert data == {
        "createAdoptionPlan": {
            "productName": "Second",
            "totalTasks": 1,
            "tasks": [{"name": "Only"}],
            "customerProduct": {"id": str(other.pk)},
        }
    }


def _second_product(retail):
    product = ProductFactory(name="Second")
    TaskFactory(product=product, name="Only", license_level=LicenseLevel.ESSENTIAL)
    return product


def test_progress_follows_status_changes(as_csm, acme):
    tasks = acme["tasks"]
    query = """
        mutation($id: ID!, $status: CustomerTaskStatus!) {
          updateCustomerTaskStatus(input: {customerTaskId: $id, status: $status}) {
            status isComplete completedBy
            adoptionPlan { totalTasks completedTasks totalWeight completedWeight progressPercentage }
          }
        }"""
    steps = [
        ("Configure", "DONE", (5, 1, 15.0, 3.0, 20.0)),
        ("Invite users", "NOT_APPLICABLE", (4, 1, 14.0, 3.0, 21.43)),
        ("Integrate", "DONE", (4, 2, 14.0, 7.0, 50.0)),
        ("Configure", "IN_PROGRESS", (4, 1, 14.0, 4.0, 28.57)),
    ]
    for name, status, (total, completed, total_weight, completed_weight, percent) in steps:
        result = data_of(as_csm, query, {"id": str(tasks[name].pk), "status": status})["updateCustomerTaskStatus"]
        assert result == {
            "status": status,
            "isComplete": status == "DONE",
            "completedBy": "csm_u" if status == "DONE" else None,
            "adoptionPlan": {
                "totalTasks": total,
                "completedTasks": completed,
                "totalWeight": total_weight,
                "completedWeight": completed_weight,
                "progressPercentage": percent,
            },
        }
    history = data_of(
        as_csm, '{ customerTask(id: "%s") { history { fromStatus toStatus source actor } } }' % tasks["Configure"].pk
    )
    assert history == {
        "customerTask": {
            "history": [
                {"fromStatus": "NOT_STARTED", "toStatus": "DONE", "source": "MANUAL", "actor": "csm_u"},
                {"fromStatus": "DONE", "toStatus": "IN_PROGRESS", "source": "MANUAL", "actor": "csm_u"},
            ]
        }
    }


def test_downgrade_removes_tasks_and_upgrade_brings_them_back(as_csm, acme, csm):
    """Downgrade ADVANTAGE -> ESSENTIAL: the preview flags the task with progress, the sync archives
    Integrate and Automate; upgrading again restores them with status and history (zero data loss)."""
    tasks, assignment, plan = acme["tasks"], acme["assignment"], acme["plan"]
    data_of(
        as_csm,
        'mutation { updateCustomerTaskStatus(input: {customerTaskId: "%s", status: DONE}) { id } }'
        % tasks["Integrate"].pk,
    )
    downgrade = data_of(
        as_csm,
        """
        mutation { updateCustomerProduct(id: "%s", input: {licenseLevel: ESSENTIAL}) {
          licenseLevel adoptionPlan { needsSync totalTasks } } }"""
        % assignment.pk,
    )
    assert downgrade == {
        "updateCustomerProduct": {"licenseLevel": "ESSENTIAL", "adoptionPlan": {"needsSync": True, "totalTasks": 5}}
    }

    preview = data_of(
        as_csm,
        """
        { syncPreview(adoptionPlanId: "%s") {
            adoptionPlanId isEmpty
            tasksToAdd { name }
            tasksToRemove { customerTaskId name status hasProgress }
            tasksToUpdate { name }
        } }"""
        % plan.pk,
    )
    assert preview == {
        "syncPreview": {
            "adoptionPlanId": str(plan.pk),
            "isEmpty": False,
            "tasksToAdd": [],
            "tasksToUpdate": [],
            "tasksToRemove": [
                {
                    "customerTaskId": str(tasks["Integrate"].pk),
                    "name": "Integrate",
                    "status": "DONE",
                    "hasProgress": True,
                },
                {
                    "customerTaskId": str(tasks["Automate"].pk),
                    "name": "Automate",
                    "status": "NOT_STARTED",
                    "hasProgress": False,
                },
            ],
        }
    }
    assert CustomerTask.objects.filter(is_archived=True).count() == 0  # the preview changed nothing

    synced = data_of(
        as_csm,
        'mutation { syncAdoptionPlan(adoptionPlanId: "%s") { totalTasks completedTasks '
        "totalWeight progressPercentage tasks { name } } }" % plan.pk,
    )
    assert synced == {
        "syncAdoptionPlan": {
            "totalTasks": 3,
            "completedTasks": 0,
            "totalWeight": 6.0,
            "progressPercentage": 0.0,
            "tasks": [{"name": "Install"}, {"name": "Configure"}, {"name": "Invite users"}],
        }
    }
    assert data_of(as_csm, '{ customerTasksForPlan(adoptionPlanId: "%s", status: DONE) { name } }' % plan.pk) == {
        "customerTasksForPlan": []
    }

    data_of(
        as_csm, 'mutation { updateCustomerProduct(id: "%s", input: {licenseLevel: ADVANTAGE}) { id } }' % assignment.pk
    )
    preview = data_of(
        as_csm, '{ syncPreview(adoptionPlanId: "%s") { tasksToAdd { name restoredCustomerTaskId } } }' % plan.pk
    )
    assert preview == {
        "syncPreview": {
            "tasksToAdd": [
                {"name": "Integrate", "restoredCustomerTaskId": str(tasks["Integrate"].pk)},
                {"name": "Automate", "restoredCustomerTaskId": str(tasks["Automate"].pk)},
            ]
        }
    }
    restored = data_of(
        as_csm,
        """
        mutation { syncAdoptionPlan(adoptionPlanId: "%s") {
          totalTasks completedTasks progressPercentage
          tasksByStatus(status: DONE) { id name history { toStatus actor } }
        } }"""
        % plan.pk,
    )
    assert restored == {
        "syncAdoptionPlan": {
            "totalTasks": 5,
            "completedTasks": 1,
            "progressPercentage": 26.67,
            "tasksByStatus": [
                {
                    "id": str(tasks["Integrate"].pk),
                    "name": "Integrate",
                    "history": [{"toStatus": "DONE", "actor": "csm_u"}],
                }
            ],
        }
    }
    assert TaskStatusChange.objects.count() == 1
