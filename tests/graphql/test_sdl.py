"""schema.graphql is the printed SDL of the code's schema; this fails when the two drift apart.
Regenerate with `python manage.py graphql_schema --out schema.graphql`."""

from pathlib import Path

from django.conf import settings
from graphql import parse, print_ast, print_schema
from graphql.language import Visitor, visit

from config.schema import schema


def test_committed_sdl_matches_the_code():
    committed = (Path(settings.BASE_DIR) / "schema.graphql").read_text(encoding="utf-8")
    assert committed.rstrip("\n") == print_schema(schema.graphql_schema).rstrip("\n"), (
        "schema.graphql is out of date: run `python manage.py graphql_schema --out schema.graphql`"
    )


class _DropDescriptions(Visitor):
    def enter(self, node, *_args):
        if getattr(node, "description", None) is not None:
            node.description = None


def signatures_sdl(graphql_schema) -> str:
    """The printed SDL without descriptions, so that every field's signature is on one line."""
    document = parse(print_schema(graphql_schema))
    visit(document, _DropDescriptions())
    return print_ast(document)


def test_sdl_has_the_contract_shapes():
    """Spot checks of the API contract in the printed SDL (names and nullability)."""
    sdl = signatures_sdl(schema.graphql_schema)
    for line in [
        "customer(id: ID!): Customer",
        # Lists that grow with the portfolio add optional first/offset(/search): same shapes, same calls.
        "customers(first: Int, offset: Int, search: String): [Customer!]!",
        "adoptionPlan(id: ID!): AdoptionPlan",
        "adoptionPlansForCustomer(customerId: ID!, first: Int, offset: Int, search: String): [AdoptionPlan!]!",
        "customerTask(id: ID!): CustomerTask",
        "customerTasksForPlan(adoptionPlanId: ID!, status: CustomerTaskStatus, first: Int, offset: Int, "
        "search: String): [CustomerTask!]!",
        "syncPreview(adoptionPlanId: ID!): SyncPreview!",
        "createCustomer(input: CreateCustomerInput!): Customer!",
        "updateCustomer(id: ID!, input: UpdateCustomerInput!): Customer!",
        "deleteCustomer(id: ID!): DeleteResult!",
        "assignProductToCustomer(input: AssignProductInput!): CustomerProductWithPlan!",
        "updateCustomerProduct(id: ID!, input: UpdateCustomerProductInput!): CustomerProductWithPlan!",
        "removeProductFromCustomer(id: ID!): DeleteResult!",
        "createAdoptionPlan(customerProductId: ID!): AdoptionPlan!",
        "syncAdoptionPlan(adoptionPlanId: ID!): AdoptionPlan!",
        "updateCustomerTaskStatus(input: UpdateTaskStatusInput!): CustomerTask!",
        "bulkUpdateCustomerTaskStatus(adoptionPlanId: ID!, taskIds: [ID!]!, status: CustomerTaskStatus!, "
        "notes: String): [CustomerTask!]!",
        "addCustomerTelemetryValue(input: AddTelemetryValueInput!): CustomerTelemetryValue!",
        "bulkAddCustomerTelemetryValues(inputs: [AddTelemetryValueInput!]!): [CustomerTelemetryValue!]!",
        "evaluateTaskTelemetry(customerTaskId: ID!): CustomerTask!",
        "evaluateAllTasksTelemetry(adoptionPlanId: ID!): AdoptionPlan!",
        "resetCustomerTaskToTelemetry(customerTaskId: ID!): CustomerTask!",
        "createProduct(input: ProductInput!): Product!",
        "createOutcome(input: OutcomeInput!): Outcome!",
        "createRelease(input: ReleaseInput!): Release!",
        "createTask(input: TaskCreateInput!): Task!",
        "createTelemetryAttribute(input: TelemetryAttributeInput!): TelemetryAttribute!",
        "scalar JSON",
        "  successCriteria: JSON!",
        "  value: JSON!",
        "  observedAt: String!",
        "  statusUpdateSource: StatusUpdateSource!",
        "  history(first: Int, offset: Int): [TaskStatusChange!]!",
        "  values(first: Int, offset: Int): [CustomerTelemetryValue!]!",
        "  telemetryDisagrees: Boolean!",
        "  selectedReleases: [Release!]!",
        "  selectedReleaseIds: [ID!]",
        "  selectedOutcomeIds: [ID!]!",
        "  progressPercentage: Float!",
        "  lastSyncedAt: String",
        "  level: Float!",
    ]:
        assert line in sdl, line
    assert "solutions" not in sdl  # left out until product bundles exist
    assert "Node" not in sdl and "edges" not in sdl  # no Relay
