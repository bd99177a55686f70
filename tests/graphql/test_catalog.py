# ruff: noqa: UP031  (GraphQL documents are full of braces: %-formatting keeps them readable)
"""Catalog management over GraphQL: products, outcomes, releases, tasks and
telemetry attribute definitions; soft deletes; validation; catalog changes mark plans as needing sync."""

from decimal import Decimal

from adoption.models import Outcome, Product, Release, Task
from config.audit.models import AuditLog
from telemetry.models import TelemetryAttribute
from tests.factories import OutcomeFactory, ProductFactory
from tests.graphql.conftest import data_of, error_of

PRODUCT_TREE = """query($id: ID!) { product(id: $id) {
    id name description
    outcomes { id name description productId }
    releases { id name level }
    tasks { id name description estMinutes weight sequenceNumber licenseLevel notes howToDoc howToVideo
            outcomes { name } releases { name }
            telemetryAttributes { id taskId name dataType isRequired successCriteria order } }
} }"""


def test_build_a_product_through_the_api(as_editor, editor):
    product = data_of(
        as_editor,
        'mutation { createProduct(input: {name: "Vault", description: "Secrets"}) '
        "{ id name description outcomes { id } releases { id } tasks { id } } }",
    )
    product = product["createProduct"]
    pid = product["id"]
    assert product == {
        "id": pid,
        "name": "Vault",
        "description": "Secrets",
        "outcomes": [],
        "releases": [],
        "tasks": [],
    }
    outcome = data_of(
        as_editor,
        'mutation { createOutcome(input: {productId: "%s", name: "Zero trust"}) '
        "{ id name productId description } }" % pid,
    )["createOutcome"]
    assert outcome == {"id": outcome["id"], "name": "Zero trust", "productId": pid, "description": None}
    release = data_of(
        as_editor,
        'mutation { createRelease(input: {productId: "%s", name: "7.2", level: 7.2}) { id name level } }' % pid,
    )["createRelease"]
    assert (release["name"], release["level"]) == ("7.2", 7.2)
    task = data_of(
        as_editor,
        """mutation($input: TaskCreateInput!) { createTask(input: $input) { id } }""",
        {
            "input": {
                "productId": pid,
                "name": "Enable SSO",
                "description": "Wire the IdP",
                "estMinutes": 45,
                "weight": 12.5,
                "sequenceNumber": 3,
                "licenseLevel": "ADVANTAGE",
                "notes": "Needs an admin",
                "howToDoc": ["https://docs.example.com/sso"],
                "howToVideo": [],
                "outcomeIds": [outcome["id"]],
                "releaseIds": [release["id"]],
            }
        },
    )
    tid = task["createTask"]["id"]
    criteria = {
        "all": [
            {"op": "eq", "path": "sso.enabled", "value": True},
            {"any": [{"op": "gte", "path": "users", "value": 100}, {"not": {"op": "exists", "path": "legacy"}}]},
        ]
    }
    attribute = data_of(
        as_editor,
        """mutation($input: TelemetryAttributeInput!) {
        createTelemetryAttribute(input: $input) { id successCriteria isRequired order } }""",
        {"input": {"taskId": tid, "name": "sso", "dataType": "JSON", "successCriteria": criteria}},
    )
    attribute = attribute["createTelemetryAttribute"]
    assert attribute == {"id": attribute["id"], "successCriteria": criteria, "isRequired": False, "order": 0}

    tree = data_of(as_editor, PRODUCT_TREE, {"id": pid})["product"]
    assert tree == {
        "id": pid,
        "name": "Vault",
        "description": "Secrets",
        "outcomes": [{"id": outcome["id"], "name": "Zero trust", "description": None, "productId": pid}],
        "releases": [{"id": release["id"], "name": "7.2", "level": 7.2}],
        "tasks": [
            {
                "id": tid,
                "name": "Enable SSO",
                "description": "Wire the IdP",
                "estMinutes": 45,
                "weight": 12.5,
                "sequenceNumber": 3,
                "licenseLevel": "ADVANTAGE",
                "notes": "Needs an admin",
                "howToDoc": ["https://docs.example.com/sso"],
                "howToVideo": [],
                "outcomes": [{"name": "Zero trust"}],
                "releases": [{"name": "7.2"}],
                "telemetryAttributes": [
                    {
                        "id": attribute["id"],
                        "taskId": tid,
                        "name": "sso",
                        "dataType": "JSON",
                        "isRequired": False,
                        "successCriteria": criteria,
                        "order": 0,
                    }
                ],
            }
        ],
    }
    assert Task.objects.get(pk=tid).weight == Decimal("12.50")
    assert Release.objects.get(pk=release["id"]).level == Decimal("7.2")
    actions = sorted(AuditLog.objects.filter(actor=editor).values_list("action", flat=True))
    assert actions == [
        "catalog.attribute.create",
        "catalog.outcome.create",
        "catalog.product.create",
        "catalog.release.create",
        "catalog.task.create",
    ]


def test_task_defaults_and_partial_updates(as_editor, retail):
    product = retail["product"]
    created = data_of(
        as_editor,
        'mutation { createTask(input: {productId: "%s", name: "Extra", estMinutes: 0, '
        "weight: 0}) { id sequenceNumber licenseLevel outcomes { id } howToDoc } }" % product.pk,
    )["createTask"]
    assert created == {
        "id": created["id"],
        "sequenceNumber": 7,
        "licenseLevel": "ESSENTIAL",
        "outcomes": [],
        "howToDoc": [],
    }
    install = retail["tasks"]["Install"]
    updated = data_of(
        as_editor,
        """mutation { updateTask(id: "%s", input: {weight: 9999.99, outcomeIds: [],
        releaseIds: ["%s"], licenseLevel: SIGNATURE}) { name weight estMinutes licenseLevel outcomes { id }
        releases { name } } }"""
        % (install.pk, retail["releases"]["1.0"].pk),
    )["updateTask"]
    assert updated == {
        "name": "Install",
        "weight": 9999.99,
        "estMinutes": 30,
        "licenseLevel": "SIGNATURE",
        "outcomes": [],
        "releases": [{"name": "1.0"}],
    }


def test_catalog_changes_mark_plans_as_needing_sync(as_editor, as_csm, acme, retail):
    plan = acme["plan"]
    query = '{ adoptionPlan(id: "%s") { needsSync } }' % plan.pk
    assert data_of(as_csm, query) == {"adoptionPlan": {"needsSync": False}}
    data_of(
        as_editor, 'mutation { updateTask(id: "%s", input: {estMinutes: 90}) { id } }' % retail["tasks"]["Configure"].pk
    )
    assert data_of(as_csm, query) == {"adoptionPlan": {"needsSync": True}}
    preview = data_of(
        as_csm, '{ syncPreview(adoptionPlanId: "%s") { tasksToUpdate { name changedFields } } }' % plan.pk
    )
    assert preview == {"syncPreview": {"tasksToUpdate": [{"name": "Configure", "changedFields": ["estMinutes"]}]}}


def test_deletes_are_soft(as_editor, as_csm, acme, retail):
    product, configure = retail["product"], retail["tasks"]["Configure"]
    result = data_of(as_editor, 'mutation { deleteTask(id: "%s") { success message } }' % configure.pk)
    assert result == {
        "deleteTask": {
            "success": True,
            "message": "task 'Configure' deleted (existing plans keep their copies until synced)",
        }
    }
    configure.refresh_from_db()
    assert configure.is_active is False
    tasks = data_of(as_editor, '{ product(id: "%s") { tasks { name } } }' % product.pk)["product"]["tasks"]
    assert [t["name"] for t in tasks] == ["Install", "Invite users", "Integrate", "Automate", "Optimize"]
    # The plan keeps its copy until a sync, which archives it.
    plan = acme["plan"]
    assert len(data_of(as_csm, '{ adoptionPlan(id: "%s") { tasks { id } } }' % plan.pk)["adoptionPlan"]["tasks"]) == 5
    preview = data_of(as_csm, '{ syncPreview(adoptionPlanId: "%s") { tasksToRemove { name hasProgress } } }' % plan.pk)
    assert preview == {"syncPreview": {"tasksToRemove": [{"name": "Configure", "hasProgress": False}]}}
    # A deleted item is gone for the API, and its name is free again.
    assert error_of(as_editor, 'mutation { updateTask(id: "%s", input: {weight: 2}) { id } }' % configure.pk)[
        "extensions"
    ] == {"code": "NOT_FOUND", "field": "id"}
    again = data_of(
        as_editor,
        'mutation { createTask(input: {productId: "%s", name: "Configure", estMinutes: 5, '
        "weight: 1}) { name } }" % product.pk,
    )
    assert again == {"createTask": {"name": "Configure"}}


def test_deleted_product_leaves_the_catalog_but_assignments_stay(as_editor, acme, retail):
    product = retail["product"]
    assert data_of(as_editor, 'mutation { deleteProduct(id: "%s") { success } }' % product.pk) == {
        "deleteProduct": {"success": True}
    }
    assert data_of(as_editor, "{ products { id } }") == {"products": []}
    assert error_of(as_editor, '{ product(id: "%s") { id } }' % product.pk)["extensions"] == {
        "code": "NOT_FOUND",
        "field": "id",
    }
    assert error_of(as_editor, 'mutation { createOutcome(input: {productId: "%s", name: "X"}) { id } }' % product.pk)[
        "extensions"
    ] == {"code": "NOT_FOUND", "field": "productId"}
    assert Product.objects.get(pk=product.pk).is_active is False
    acme["assignment"].refresh_from_db()  # still there


def test_outcome_and_release_updates_and_deletes(as_editor, retail):
    outcome, release = retail["outcomes"]["A"], retail["releases"]["2.0"]
    assert data_of(
        as_editor,
        'mutation { updateOutcome(id: "%s", input: {description: "Shorter queues"}) '
        "{ name description } }" % outcome.pk,
    ) == {"updateOutcome": {"name": "Faster checkout", "description": "Shorter queues"}}
    assert data_of(
        as_editor, 'mutation { updateRelease(id: "%s", input: {name: "2.1", level: 2.1}) { name level } }' % release.pk
    ) == {"updateRelease": {"name": "2.1", "level": 2.1}}
    assert error_of(as_editor, 'mutation { updateRelease(id: "%s", input: {name: "1.0"}) { id } }' % release.pk)[
        "extensions"
    ] == {"code": "CONFLICT", "field": "name"}
    data_of(as_editor, 'mutation { deleteOutcome(id: "%s") { success } }' % outcome.pk)
    data_of(as_editor, 'mutation { deleteRelease(id: "%s") { success } }' % release.pk)
    assert not Outcome.objects.get(pk=outcome.pk).is_active and not Release.objects.get(pk=release.pk).is_active
    tree = data_of(as_editor, '{ product(id: "%s") { outcomes { name } releases { name } } }' % retail["product"].pk)
    assert tree == {
        "product": {"outcomes": [{"name": "Happier staff"}, {"name": "Lower costs"}], "releases": [{"name": "1.0"}]}
    }
    install = data_of(as_editor, '{ product(id: "%s") { tasks { name outcomes { name } } } }' % retail["product"].pk)[
        "product"
    ]["tasks"][0]
    assert install == {"name": "Install", "outcomes": []}  # links to deleted outcomes are not shown


def test_task_links_must_belong_to_the_product(as_editor, retail):
    foreign = OutcomeFactory(product=ProductFactory(name="Other"))
    error = error_of(
        as_editor,
        'mutation { updateTask(id: "%s", input: {outcomeIds: ["%s", "nope"]}) { id } }'
        % (retail["tasks"]["Install"].pk, foreign.pk),
    )
    assert error["extensions"] == {
        "code": "VALIDATION_ERROR",
        "field": "outcomeIds",
        "details": {"invalidIds": ["nope", str(foreign.pk)]},
    }
    assert list(retail["tasks"]["Install"].outcomes.values_list("name", flat=True)) == ["Faster checkout"]


def test_attribute_updates_revalidate_criteria(as_editor, retail):
    attribute = TelemetryAttribute.objects.get(name="users")  # NUMBER, {"op": "gte", "value": 10}
    error = error_of(
        as_editor, 'mutation { updateTelemetryAttribute(id: "%s", input: {dataType: STRING}) { id } }' % attribute.pk
    )
    assert error["extensions"]["field"] == "successCriteria.op"
    assert error["extensions"]["details"] == {
        "errors": [
            {
                "field": "successCriteria.op",
                "message": "op 'gte' does not apply to STRING attributes (allowed: eq, ne, contains, regex, in, exists)",
            }
        ]
    }
    attribute.refresh_from_db()
    assert attribute.data_type == "NUMBER"

    kept = data_of(
        as_editor,
        'mutation { updateTelemetryAttribute(id: "%s", input: {isRequired: true, order: 4}) '
        "{ isRequired order successCriteria } }" % attribute.pk,
    )
    assert kept == {
        "updateTelemetryAttribute": {"isRequired": True, "order": 4, "successCriteria": {"op": "gte", "value": 10}}
    }
    cleared = data_of(
        as_editor,
        'mutation { updateTelemetryAttribute(id: "%s", input: {dataType: STRING, '
        "successCriteria: null}) { dataType successCriteria } }" % attribute.pk,
    )
    assert cleared == {"updateTelemetryAttribute": {"dataType": "STRING", "successCriteria": {}}}
    assert data_of(as_editor, 'mutation { deleteTelemetryAttribute(id: "%s") { success } }' % attribute.pk) == {
        "deleteTelemetryAttribute": {"success": True}
    }
    attribute.refresh_from_db()
    assert attribute.is_active is False


def test_catalog_is_readable_by_every_role(as_viewer, retail):
    products = data_of(as_viewer, "{ products { name tasks { name } } }")["products"]
    assert products == [
        {
            "name": "Retail App",
            "tasks": [
                {"name": n} for n in ("Install", "Configure", "Invite users", "Integrate", "Automate", "Optimize")
            ],
        }
    ]
