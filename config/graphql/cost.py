"""What one GraphQL document may ask for: aliases, field selections and a simple query cost.

Three limits, the same for every role (settings, see ``config.graphql.switches``):

- **aliases**: fields renamed with ``alias: field``; aliases are how one request asks for the same
  list thousands of times, so they are capped low;
- **field selections**: every field the document selects, fragments counted each time they are spread;
- **cost**: each field costs 1, and the fields below a list field count ``list factor`` times (a list
  of products of which each has tasks costs ``1 + 10 * (1 + 10 * ...)``), since every row of a list
  resolves its own sub-selection. Introspection (``__schema``, ``__type``, ``__typename``) reads the
  schema, never the database: its fields count as selections but are not multiplied.

Two passes, both linear in the size of the document:

1. ``scan_errors``: before parsing, a regular-expression pass over the raw text counts the aliases
   and field selections as written. Parsing is the slow part (a 10,000-alias document takes seconds
   to parse in pure Python), so a document that is already over a limit as written is refused
   without being parsed.
2. ``measure_document``: after parsing, the AST is measured against the schema with fragments
   expanded (each fragment measured once and reused, so spreads cannot blow the work up) and list
   fields multiplied.

Both answer with ``GraphQLError``s that name the limit and the value ("the query has 10000 aliases;
at most 100 are allowed"); the view returns them as ``VALIDATION_ERROR`` before any resolver runs.
Aliases and selections are checked before the validation rules run (they walk every expanded
fragment), the cost after them (so a document too deep is told that first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)


@dataclass(frozen=True)
class QueryLimits:
    max_aliases: int
    max_fields: int
    max_cost: int
    list_factor: int


@dataclass
class Tally:
    aliases: int = 0
    fields: int = 0
    cost: int = 0

    def add(self, other: Tally) -> None:
        self.aliases += other.aliases
        self.fields += other.fields
        self.cost += other.cost


def size_errors(tally: Tally, limits: QueryLimits) -> list[GraphQLError]:
    """The aliases and field selections limits: checked before the document is validated, since the
    validation rules walk every expanded fragment."""
    errors = []
    if tally.aliases > limits.max_aliases:
        errors.append(GraphQLError(f"the query has {tally.aliases} aliases; at most {limits.max_aliases} are allowed"))
    if tally.fields > limits.max_fields:
        errors.append(GraphQLError(f"the query selects {tally.fields} fields; at most {limits.max_fields} are allowed"))
    return errors


def cost_errors(tally: Tally, limits: QueryLimits) -> list[GraphQLError]:
    """The cost limit: checked after validation, so a document that is invalid anyway (too deep, an
    unknown field) is told that first."""
    if tally.cost <= limits.max_cost:
        return []
    return [
        GraphQLError(
            f"the query costs {tally.cost} (each field 1, the fields below a list field {limits.list_factor} "
            f"times); at most {limits.max_cost} is allowed"
        )
    ]


# ---------------------------------------------------------------------------------------------
# Pass 1: the raw text, before parsing
# ---------------------------------------------------------------------------------------------

# Strings and comments are removed whole so nothing inside them counts.
_STRINGS_AND_COMMENTS = re.compile(r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n\r])*"|#[^\n\r]*')
_PARENTHESES = re.compile(r"\([^()]*\)")  # they never nest in a valid document
_ALIAS = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\s*:")
_TOKEN = re.compile(r"[_A-Za-z][_0-9A-Za-z]*|\.\.\.|[:{}@]")


def _selections_text(source: str) -> str:
    """The document without strings, comments and everything in parentheses (arguments, variable
    definitions, directive arguments): what is left are definition headers and selection sets."""
    return _PARENTHESES.sub(" ", _STRINGS_AND_COMMENTS.sub(" ", source))


def scan_errors(source: str, limits: QueryLimits, *, max_tokens: int) -> list[GraphQLError]:
    """Aliases and field selections as written (each fragment counted once), checked before parsing.

    Outside parentheses a colon only ever separates an alias from its field, so the aliases are
    counted by one regular expression, at the speed of the regex engine, whatever the document's
    size. Field selections need a walk over the names: a name inside braces is an alias, a field, a
    fragment name, a type condition or a directive name, told apart by the token before it. A text
    with more than ``max_tokens`` names is left to the parser, whose own token cap answers.
    """
    text = _selections_text(source)
    if "(" in text or ")" in text:
        return []  # nested or unbalanced parentheses: a syntax error the parser reports
    aliases = len(_ALIAS.findall(text))
    if aliases > limits.max_aliases:
        return size_errors(Tally(aliases=aliases), limits)
    fields = 0
    braces = 0
    previous = ""  # "field", "...", "on", "@", or another token
    for count, match in enumerate(_TOKEN.finditer(text)):
        if count > max_tokens:
            return []
        token = match.group()
        if token == "{":
            braces += 1
        elif token == "}":
            braces = max(braces - 1, 0)
        elif token == ":":
            fields -= previous == "field"  # that name was the alias; the field name comes next
        elif token in ("...", "@"):
            pass
        elif braces and previous not in ("...", "on", "@"):
            fields += 1
            token = "field"
        elif previous == "..." and token == "on":
            token = "on"  # an inline fragment: its type condition follows
        else:
            token = "other"  # operation or fragment header, spread, type condition, directive name
        previous = token
    return size_errors(Tally(aliases=aliases, fields=fields), limits)


# ---------------------------------------------------------------------------------------------
# Pass 2: the parsed document against the schema
# ---------------------------------------------------------------------------------------------


@dataclass
class _Measure:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    list_factor: int
    variables: dict = field(default_factory=dict)
    memo: dict[str, Tally] = field(default_factory=dict)
    in_progress: set[str] = field(default_factory=set)

    def selection_set(self, node, parent_type, *, multiply: bool = True) -> Tally:
        tally = Tally()
        selection_set = getattr(node, "selection_set", None)
        if selection_set is None:
            return tally
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                tally.add(self.field(selection, parent_type, multiply=multiply))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent_type
                tally.add(self.selection_set(selection, inner, multiply=multiply))
            elif isinstance(selection, FragmentSpreadNode):
                tally.add(self.fragment(selection.name.value, multiply=multiply))
        return tally

    def field(self, node: FieldNode, parent_type, *, multiply: bool) -> Tally:
        name = node.name.value
        introspection = name.startswith("__")
        definition = None
        fields = getattr(parent_type, "fields", None)
        if fields is not None and not introspection:
            definition = fields.get(name)
        field_type = definition.type if definition is not None else None
        if introspection:
            field_type = {
                "__schema": self.schema.get_type("__Schema"),
                "__type": self.schema.get_type("__Type"),
            }.get(name)
        children = self.selection_set(
            node, get_named_type(field_type) if field_type else None, multiply=multiply and not introspection
        )
        is_list = (
            multiply and not introspection and field_type is not None and is_list_type(get_nullable_type(field_type))
        )
        factor = self.page_size(node, definition) if is_list else 1
        return Tally(
            aliases=children.aliases + (1 if node.alias else 0),
            fields=children.fields + 1,
            cost=1 + factor * children.cost,
        )

    def page_size(self, node: FieldNode, definition) -> int:
        """A paginated list asked for with ``first`` multiplies by that many rows (at least 1); other
        lists, and paginated ones without ``first``, by the list factor."""
        if definition is None or "first" not in definition.args:
            return self.list_factor
        for argument in node.arguments:
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 1)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(given, 1)
        return self.list_factor

    def fragment(self, name: str, *, multiply: bool) -> Tally:
        key = f"{name}:{multiply}"
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        if definition is None or key in self.in_progress:
            return Tally()  # unknown fragments and cycles are the standard rules' business
        self.in_progress.add(key)
        parent_type = self.schema.get_type(definition.type_condition.name.value)
        tally = self.selection_set(definition, parent_type, multiply=multiply)
        self.in_progress.discard(key)
        self.memo[key] = tally
        return tally


def measure_document(
    schema: GraphQLSchema, document: DocumentNode, *, list_factor: int, variables: dict | None = None
) -> Tally:
    """Aliases, field selections and cost of every operation of the document together, fragments
    expanded where they are spread; ``first`` of paginated lists (literal or from ``variables``) is the
    factor of that list."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    measure = _Measure(schema=schema, fragments=fragments, list_factor=list_factor, variables=variables or {})
    roots = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }
    total = Tally()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total.add(measure.selection_set(definition, roots.get(definition.operation)))
    return total
