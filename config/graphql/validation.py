"""Validation every document passes before it runs: graphql-core's standard rules, then graphene's
depth limit (``depth_limit_validator``) and, unless introspection is allowed, graphene's
``DisableIntrospection``.

The depth and introspection rules run only on documents the standard rules accept: graphene's
depth crawler expects known, acyclic fragments, which the standard rules guarantee. Their errors
keep this API's wording: the depth limit counts levels of fields, leaves included (graphene counts
levels of selection sets, one fewer), and names the operation and the limit from the settings.
"""

from graphene.validation import DisableIntrospection, depth_limit_validator
from graphql import GraphQLError, GraphQLSchema, specified_rules, validate
from graphql.language import DocumentNode, OperationDefinitionNode

from config.graphql.switches import introspection_allowed, max_query_depth

MAX_TOKENS = 100_000  # lexical tokens in one document; big inputs belong in variables
MAX_ERRORS = 20
INTROSPECTION_DISABLED = "Introspection is disabled on this server."


def _depth_errors(schema: GraphQLSchema, document: DocumentNode, max_depth: int) -> list[GraphQLError]:
    depths: dict[str, int] = {}
    # graphene's own errors are dropped: its callback gives each operation's depth, worded here.
    validate(schema, document, [depth_limit_validator(max_depth - 1, callback=depths.update)])
    operations = {
        (node.name.value if node.name else "anonymous"): node
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
    }
    return [
        GraphQLError(f"Operation '{name}' is nested deeper than the limit of {max_depth} levels.", operations[name])
        for name, depth in depths.items()
        if depth > max_depth - 1 and name in operations
    ]


def validate_document(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """Every validation error of the document (at most MAX_ERRORS from the standard rules)."""
    errors = validate(schema, document, specified_rules, max_errors=MAX_ERRORS)
    if errors:
        return errors
    errors = _depth_errors(schema, document, max_query_depth())
    if not introspection_allowed():
        # graphene's rule refuses every "__" field; __typename is not introspection and stays allowed.
        errors += [
            GraphQLError(INTROSPECTION_DISABLED, error.nodes)
            for error in validate(schema, document, [DisableIntrospection])
            if error.nodes and error.nodes[0].name.value != "__typename"
        ]
    return errors
