"""The endpoint's executor reads plain leaves in place (config.graphql.execution): whatever the values,
its results and errors are graphql-core's own, field for field."""

import enum
from decimal import Decimal

import graphene
import pytest
from graphql import execute, parse

from config.graphql.execution import PlainLeafExecutionContext, is_awaitable, plain_resolver


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


ColourEnum = graphene.Enum.from_enum(Colour)


class Thing:
    def __init__(self, **values):
        self.__dict__.update(values)

    @property
    def broken(self):
        raise RuntimeError("the property failed")


class Leafy(graphene.ObjectType):
    name = graphene.String(required=True)
    maybe = graphene.String()
    count = graphene.Int()
    ratio = graphene.Float(required=True)
    flag = graphene.Boolean()
    ident = graphene.ID(required=True)
    colour = graphene.Field(ColourEnum)
    broken = graphene.String()
    shouted = graphene.String(resolver=plain_resolver("name", str.upper))
    plain = graphene.String(required=True, resolver=plain_resolver("maybe"))
    with_argument = graphene.String(prefix=graphene.String())

    @staticmethod
    def resolve_with_argument(obj, info, prefix=""):
        return prefix + obj.name


def good():
    return Thing(
        name="a", maybe="m", count=3, ratio=Decimal("1.50"), flag=True, ident=7, colour="red", shouted="x", plain="p"
    )


SOURCES = {
    "plain objects": [good(), Thing(name="b", maybe=None, count=None, ratio=2, flag=None, ident="x", colour=None)],
    "dicts": [{"name": "c", "ratio": 0.5, "ident": 9, "colour": "blue", "maybe": "m"}],
    "a null for a non-null field": [Thing(name=None, maybe="m", ratio=1, ident=1, colour="red")],
    "values the scalars refuse": [
        Thing(name=["list"], maybe={"a": 1}, count=2**40, ratio="x", flag="yes", ident=True, colour="green")
    ],
    "a missing attribute": [Thing(ratio=1, ident=1)],
    "enums by value, name, member, and unknown": [
        Thing(name="n", maybe="m", ratio=1, ident=1, colour=colour)
        for colour in ("blue", "BLUE", Colour.RED, "green", ["red"], {"red": 1})
    ],
}


class Query(graphene.ObjectType):
    things = graphene.List(Leafy, kind=graphene.String(required=True))

    @staticmethod
    def resolve_things(root, info, kind):
        return SOURCES[kind]


schema = graphene.Schema(query=Query).graphql_schema

DOCUMENT = parse(
    """
    query($kind: String!) {
      things(kind: $kind) {
        name maybe count ratio flag ident colour broken shouted plain
        again: name withArgument(prefix: "p-") __typename
        ... on Leafy { name count }
      }
    }
    """
)


def run(kind, **options):
    result = execute(schema, DOCUMENT, variable_values={"kind": kind}, **options)
    errors = sorted((error.message, tuple(error.path)) for error in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("kind", list(SOURCES))
def test_results_and_errors_are_graphql_cores(kind):
    expected = run(kind)
    assert run(kind, execution_context_class=PlainLeafExecutionContext, is_awaitable=is_awaitable) == expected
    # With middleware every field takes graphql-core's path.
    assert run(kind, execution_context_class=PlainLeafExecutionContext, middleware=[]) == expected


def test_the_short_path_keeps_the_order_of_the_selection():
    data, errors = run("plain objects", execution_context_class=PlainLeafExecutionContext, is_awaitable=is_awaitable)
    assert list(data["things"][0]) == [
        "name", "maybe", "count", "ratio", "flag", "ident", "colour", "broken", "shouted", "plain", "again",
        "withArgument", "__typename",
    ]  # fmt: skip
    assert data["things"][0]["shouted"] == "A" and data["things"][0]["ratio"] == 1.5
    assert sorted(path for _, path in errors) == [
        ("things", 0, "broken"),
        ("things", 1, "broken"),
        ("things", 1, "plain"),
    ]


def test_plain_leaves_skip_graphql_cores_field_execution(monkeypatch):
    executed = []
    original = PlainLeafExecutionContext.execute_field

    def counting(self, parent_type, source, field_nodes, path):
        executed.append(path.key)
        return original(self, parent_type, source, field_nodes, path)

    monkeypatch.setattr(PlainLeafExecutionContext, "execute_field", counting)
    run("plain objects", execution_context_class=PlainLeafExecutionContext, is_awaitable=is_awaitable)
    # The list, the failing property, the field with an argument and __typename; the second thing's null
    # for the non-null "plain" goes the long way to report its error, which ends that object.
    assert executed == ["things", "broken", "withArgument", "__typename", "broken", "plain"]


def test_middleware_still_sees_every_field():
    seen = []

    def spy(next_, root, info, **args):
        seen.append(info.field_name)
        return next_(root, info, **args)

    execute(
        schema,
        DOCUMENT,
        variable_values={"kind": "dicts"},
        middleware=[spy],
        execution_context_class=PlainLeafExecutionContext,
    )
    assert {"name", "ratio", "ident", "shouted", "plain"} <= set(seen)


def test_is_awaitable_answers_like_graphql_core():
    async def coroutine():
        return 1

    pending = coroutine()
    try:
        assert is_awaitable(pending)
    finally:
        pending.close()
    assert not any(is_awaitable(value) for value in ("s", 1, 1.0, None, {}, [], Decimal(1), Thing()))
