"""Validation rules every document passes: the standard ones, a depth limit, and no introspection
unless it is allowed."""

from graphql import GraphQLError, specified_rules
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
)
from graphql.validation import ValidationRule

from config.graphql.switches import introspection_allowed, max_query_depth

MAX_TOKENS = 100_000  # lexical tokens in one document; big inputs belong in variables


def depth_limit_rule(max_depth: int) -> type[ValidationRule]:
    """Rejects operations nested deeper than ``max_depth`` fields (introspection fields not counted).

    Fragments are followed; unknown fragments and fragment cycles are left to the standard rules.
    """

    class DepthLimitRule(ValidationRule):
        def enter_document(self, node, *_args):
            fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth = self._depth(definition, fragments, 0, frozenset())
                if depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"Operation '{name}' is nested deeper than the limit of {max_depth} levels.",
                            definition,
                        )
                    )

        def _depth(self, node, fragments, depth, seen) -> int:
            deepest = depth
            selection_set = getattr(node, "selection_set", None)
            if selection_set is None or depth > max_depth:
                return depth
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    if selection.name.value.startswith("__"):
                        continue
                    if selection.selection_set is None:
                        deepest = max(deepest, depth + 1)
                    else:
                        deepest = max(deepest, self._depth(selection, fragments, depth + 1, seen))
                elif isinstance(selection, InlineFragmentNode):
                    deepest = max(deepest, self._depth(selection, fragments, depth, seen))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in fragments and name not in seen:
                        deepest = max(deepest, self._depth(fragments[name], fragments, depth, seen | {name}))
            return deepest

    return DepthLimitRule


class NoIntrospectionRule(ValidationRule):
    def enter_field(self, node: FieldNode, *_args):
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError("Introspection is disabled on this server.", node))


def validation_rules() -> list[type[ValidationRule]]:
    rules = [*specified_rules, depth_limit_rule(max_query_depth())]
    if not introspection_allowed():
        rules.append(NoIntrospectionRule)
    return rules
