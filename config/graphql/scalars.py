"""The one JSON scalar (objects in, objects out), enum inputs, and the result of delete mutations."""

import graphene
from graphene.types.generic import GenericScalar
from graphql import GraphQLError
from graphql.language import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    VariableNode,
)


class JSON(GenericScalar):
    """Any JSON value: objects and lists in literals and variables, returned as they are stored."""

    @staticmethod
    def parse_literal(ast, _variables=None):
        if isinstance(ast, NullValueNode):
            return None
        if isinstance(ast, (StringValueNode, BooleanValueNode)):
            return ast.value
        if isinstance(ast, IntValueNode):
            return int(ast.value)  # no 32-bit limit: JSON numbers are not GraphQL Ints
        if isinstance(ast, FloatValueNode):
            return float(ast.value)
        if isinstance(ast, ListValueNode):
            return [JSON.parse_literal(value, _variables) for value in ast.values]
        if isinstance(ast, ObjectValueNode):
            return {field.name.value: JSON.parse_literal(field.value, _variables) for field in ast.fields}
        if isinstance(ast, VariableNode):
            return (_variables or {}).get(ast.name.value)
        raise GraphQLError("JSON values are strings, numbers, booleans, null, lists and objects.")


def enum_value(value):
    """Graphene hands enum inputs over as Python enum members (or raw values from defaults)."""
    return getattr(value, "value", value)


class DeleteResult(graphene.ObjectType):
    """The answer of a delete or remove mutation."""

    success = graphene.Boolean(required=True, description="True when the item was deleted (refusals are errors).")
    message = graphene.String(
        description="What was deleted, in words, e.g. with the number of tasks that went with it."
    )
