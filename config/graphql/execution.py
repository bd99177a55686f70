"""The executor the endpoint runs documents with: graphql-core's, with a short path for plain leaves.

A whole plan is a few thousand objects with a dozen scalar fields each; graphql-core spends more time
on the bookkeeping of each such field (its path, its resolve info, its arguments, awaitable checks,
the recursive completion) than on reading the value. A *plain leaf* is a field that

- has no arguments and a scalar or enum type (nullable or not),
- is resolved by graphene's default resolver (a key of a dict, else an attribute) or by a resolver
  made with :func:`plain_resolver` (one attribute, optionally converted), neither of which reads
  ``info``,
- runs with no middleware.

Such a field is read and serialized in place. Anything out of the ordinary (a null for a non-null
field, an exception, an awaitable, a value the scalar refuses) takes graphql-core's own path for that
field, which resolves it again and reports exactly what it always reports: results and errors do not
depend on the short path.
"""

from asyncio import gather
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache, partial
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql import ExecutionContext, GraphQLEnumType, GraphQLNonNull, is_leaf_type
from graphql.execution.execute import get_field_def
from graphql.pyutils import Path, Undefined
from graphql.pyutils import is_awaitable as graphql_is_awaitable

_PLAIN_RESOLVER = "_plain_attribute"

# Values of these types are never awaitable: no need to ask.
_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), dict, list, tuple, Decimal, datetime, date})


def is_awaitable(value: Any) -> bool:
    """graphql-core's test, answered at once for the plain values resolvers return almost always."""
    return type(value) not in _NEVER_AWAITABLE and graphql_is_awaitable(value)


def plain_resolver(attr: str, convert: Callable[[Any], Any] | None = None) -> Callable:
    """A resolver that returns ``convert(getattr(obj, attr))`` (or the attribute itself) and reads
    nothing of ``info``: the executor may call it without building one."""

    if convert is None:

        def resolve(obj, info):
            return getattr(obj, attr)

    else:

        def resolve(obj, info):
            return convert(getattr(obj, attr))

    setattr(resolve, _PLAIN_RESOLVER, (attr, convert))
    return resolve


# How a plain leaf reads its value (see _leaf_reader).
_DEFAULT, _ATTRIBUTE, _CONVERTED = 0, 1, 2


def _leaf_reader(field_def) -> tuple | None:
    """(how, name, default or convert, serialize, non-null) for a plain leaf field, else None."""
    if field_def.args:
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    named = field_type.of_type if non_null else field_type
    if not is_leaf_type(named):
        return None
    resolve = field_def.resolve
    if isinstance(resolve, partial) and resolve.func is dict_or_attr_resolver and not resolve.keywords:
        if len(resolve.args) != 2:
            return None
        name, default = resolve.args
        return _DEFAULT, name, default, _serializer(named), non_null
    plain = getattr(resolve, _PLAIN_RESOLVER, None)
    if plain is None:
        return None
    name, convert = plain
    return (_ATTRIBUTE if convert is None else _CONVERTED), name, convert, _serializer(named), non_null


@cache
def _serializer(leaf_type) -> Callable[[Any], Any]:
    """The type's own ``serialize``; for a graphene enum, its answers for the stored values are kept in a
    dict first (graphene looks each value up in the Python enum, then graphql-core in its own table)."""
    python_enum = getattr(getattr(getattr(leaf_type, "graphene_type", None), "_meta", None), "enum", None)
    if not isinstance(leaf_type, GraphQLEnumType) or python_enum is None:
        return leaf_type.serialize
    serialize = leaf_type.serialize
    names = {}
    for member in python_enum:
        try:
            names[member.value] = serialize(member.value)
        except Exception:  # noqa: S112 - such a value keeps the long way
            continue

    def serialize_known(value):
        name = names.get(value)
        return serialize(value) if name is None else name

    return serialize_known


class PlainLeafExecutionContext(ExecutionContext):
    """graphql-core's ExecutionContext, with plain leaves read in place (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._short_path = manager is None or not manager.middlewares
        # id(fields) -> (fields, parent type, [(response name, field nodes, leaf reader or None)]):
        # graphql-core hands over the same fields dict for every object of a list (its subfields cache).
        self._plans: dict[int, tuple] = {}

    def _plan(self, parent_type, fields) -> list:
        plan = self._plans.get(id(fields))
        if plan is not None and plan[0] is fields and plan[1] is parent_type:
            return plan[2]
        entries = []
        for response_name, field_nodes in fields.items():
            field_def = get_field_def(self.schema, parent_type, field_nodes[0])
            entries.append((response_name, field_nodes, _leaf_reader(field_def) if field_def is not None else None))
        self._plans[id(fields)] = (fields, parent_type, entries)
        return entries

    def execute_fields(self, parent_type, source_value, path, fields):
        if not self._short_path:
            return super().execute_fields(parent_type, source_value, path, fields)
        results = {}
        awaitable_fields = []
        for response_name, field_nodes, reader in self._plan(parent_type, fields):
            if reader is not None:
                value = _read_leaf(reader, source_value)
                if value is not Undefined:
                    results[response_name] = value
                    continue
            result = self.execute_field(
                parent_type, source_value, field_nodes, Path(path, response_name, parent_type.name)
            )
            if result is not Undefined:
                results[response_name] = result
                if self.is_awaitable(result):
                    awaitable_fields.append(response_name)
        if not awaitable_fields:
            return results

        # As graphql-core does (no resolver of this API is asynchronous, though).
        async def get_results():
            results.update(
                zip(awaitable_fields, await gather(*(results[name] for name in awaitable_fields)), strict=True)
            )
            return results

        return get_results()


def _read_leaf(reader: tuple, source: Any) -> Any:
    """The serialized value of a plain leaf, or Undefined when graphql-core's own path must decide."""
    how, name, extra, serialize, non_null = reader
    try:
        if how == _DEFAULT:
            value = source.get(name, extra) if isinstance(source, dict) else getattr(source, name, extra)
        elif how == _ATTRIBUTE:
            value = getattr(source, name)
        else:
            value = extra(getattr(source, name))
        if value is None:
            return Undefined if non_null else None
        if type(value) not in _NEVER_AWAITABLE and (
            value is Undefined or isinstance(value, Exception) or graphql_is_awaitable(value)
        ):
            return Undefined
        serialized = serialize(value)
    except Exception:
        return Undefined
    if serialized is None:
        return Undefined
    return serialized
