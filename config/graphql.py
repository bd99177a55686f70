"""GraphQL plumbing shared by every app's schema module, and the endpoint's view.

- one ``JSON`` scalar (objects in, objects out) and the enums every app shares;
- timestamps as ISO 8601 strings, ids as database keys, optional strings as null when empty;
- a small, selection-driven prefetcher: root resolvers call :func:`optimize` (or
  :func:`prefetch_for`) so that nested lists resolve from prefetched caches (no N+1), and the
  nested resolvers made by :func:`related_list` / :func:`related_object` read those caches;
- errors: only domain errors (config.errors) reach the client with their text, as
  ``extensions.code`` / ``extensions.field``; query errors are ``VALIDATION_ERROR``; anything else is
  logged with its traceback and answered ``INTERNAL_ERROR`` with a generic message;
- hardening: depth limit, introspection only where allowed;
- the view: session (with CSRF) or ``Authorization: Bearer <personal access token>``, a mutation
  document runs in one transaction and is rolled back whole when any of its fields fails,
  GraphiQL from ``static/graphiql/`` for logged-in users when ``DEBUG`` or ``GRAPHIQL_ENABLED``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import graphene
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene.types.generic import GenericScalar
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.language import (
    BooleanValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    VariableNode,
)
from graphql.validation import ValidationRule

from adoption import choices
from config.env import env_bool
from config.errors import DomainError, NotFound, ValidationFailed

logger = logging.getLogger("config.graphql")

ALLOWED_CODES = ("UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "VALIDATION_ERROR", "CONFLICT")
INTERNAL_ERROR = "INTERNAL_ERROR"
GENERIC_MESSAGE = "Internal server error. The problem was logged."

DEFAULT_MAX_DEPTH = 10
MAX_TOKENS = 100_000  # lexical tokens in one document; big inputs belong in variables
# Caps on list arguments (SPEC hardening): bulk telemetry is bounded by the issue, the others by sense.
MAX_TELEMETRY_VALUES = 5000
MAX_TASK_IDS = 5000
MAX_LINK_IDS = 500


# ---------------------------------------------------------------------------------------------
# Scalars and shared enums
# ---------------------------------------------------------------------------------------------


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


LicenseLevel = graphene.Enum(
    "LicenseLevel",
    [(level.name, level.value) for level in choices.LicenseLevel],
    description="License tiers, ordered ESSENTIAL < ADVANTAGE < SIGNATURE.",
)
CustomerTaskStatus = graphene.Enum(
    "CustomerTaskStatus",
    [(s.name, s.value) for s in choices.TaskStatus],
    description="A customer task's status; NOT_APPLICABLE tasks are left out of progress.",
)
TelemetryDataType = graphene.Enum(
    "TelemetryDataType",
    [(t.name, t.value) for t in choices.DataType],
    description="What a telemetry value is: a JSON boolean, number, string, ISO 8601 timestamp or any JSON.",
)
StatusUpdateSource = graphene.Enum(
    "StatusUpdateSource",
    [(s.name, s.value) for s in choices.StatusSource],
    description="Who set a task's status: a user (MANUAL), telemetry evaluation, sync, the system or an import.",
)


def enum_value(value):
    """Graphene hands enum inputs over as Python enum members (or raw values from defaults)."""
    return getattr(value, "value", value)


class DeleteResult(graphene.ObjectType):
    success = graphene.Boolean(required=True)
    message = graphene.String()


# ---------------------------------------------------------------------------------------------
# Field helpers
# ---------------------------------------------------------------------------------------------


def iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def timestamp(attr: str, *, required: bool = False, **kwargs) -> graphene.String:
    """An ISO 8601 string read from a datetime attribute."""

    def resolve(obj, info):
        return iso(getattr(obj, attr))

    return graphene.String(required=required, resolver=resolve, **kwargs)


def optional_string(attr: str, **kwargs) -> graphene.String:
    """A nullable string: the stored text, or null when it is empty."""

    def resolve(obj, info):
        return getattr(obj, attr) or None

    return graphene.String(resolver=resolve, **kwargs)


def user_of(info):
    return info.context.user


def check_count(items, *, limit: int, field: str) -> None:
    if items is not None and len(items) > limit:
        raise ValidationFailed(f"at most {limit} items are accepted, got {len(items)}", field=field)


@contextmanager
def fields_renamed(mapping: dict[str, str] | None = None, *, default: str | None = None):
    """Name domain errors after the GraphQL argument: services speak of ``customerTaskIds`` where the
    API says ``taskIds``; lookups name no field, the input field that held the id does."""
    try:
        yield
    except DomainError as exc:
        if exc.field and mapping and exc.field in mapping:
            exc.field = mapping[exc.field]
        elif not exc.field and default and isinstance(exc, NotFound):
            exc.field = default
        raise


def find(lookup: Callable, *args, field: str, **kwargs):
    """A permission lookup (``get_x_for_user``, ``catalog_x_get``) whose NOT_FOUND names the argument
    that held the id."""
    with fields_renamed(default=field):
        return lookup(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Selection-driven prefetching
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Relation:
    """How one relation of a GraphQL object type is loaded.

    Many-valued relations land in ``to_attr`` as a list, loaded with ``queryset()`` (which carries the
    filter and order the field promises). Single-valued ones (``to_attr`` None) fill Django's own cache.
    """

    lookup: str
    type_name: str
    queryset: Callable[[], QuerySet]
    to_attr: str | None = None


# type name -> key -> Relation; type name -> field name -> [(key, pass the field's selection on)]
_RELATIONS: dict[str, dict[str, Relation]] = {}
_NEEDS: dict[str, dict[str, list[tuple[str, bool]]]] = {}


def register_relation(type_name: str, key: str, relation: Relation) -> Relation:
    _RELATIONS.setdefault(type_name, {})[key] = relation
    return relation


def register_needs(type_name: str, field_name: str, *keys: str, pass_selection: bool = False) -> None:
    """A field resolved from relation(s) registered under other keys (computed fields, filtered views)."""
    _NEEDS.setdefault(type_name, {})[field_name] = [(key, pass_selection) for key in keys]


def _collect(info, nodes: Iterable, into: dict[str, list[FieldNode]], seen: set[str]) -> None:
    for node in nodes:
        selection_set = getattr(node, "selection_set", None)
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                into.setdefault(selection.name.value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                _collect(info, [selection], into, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = info.fragments.get(name)
                if fragment is not None and name not in seen:
                    _collect(info, [fragment], into, seen | {name})


def _subfields(info, nodes) -> dict[str, list[FieldNode]]:
    fields: dict[str, list[FieldNode]] = {}
    _collect(info, nodes, fields, set())
    return fields


def _prefetches(info, type_name: str, nodes) -> list[Prefetch]:
    relations = _RELATIONS.get(type_name, {})
    if not relations:
        return []
    wanted: dict[str, list[FieldNode]] = {}
    for name, field_nodes in _subfields(info, nodes).items():
        needs = _NEEDS.get(type_name, {}).get(name)
        if needs is None:
            if name in relations:
                wanted.setdefault(name, []).extend(field_nodes)
            continue
        for key, pass_selection in needs:
            wanted.setdefault(key, []).extend(field_nodes if pass_selection else [])
    return [_prefetch(info, relations[key], child_nodes) for key, child_nodes in wanted.items()]


def _prefetch(info, relation: Relation, nodes) -> Prefetch:
    queryset = relation.queryset()
    children = _prefetches(info, relation.type_name, nodes)
    if children:
        queryset = queryset.prefetch_related(*children)
    return Prefetch(relation.lookup, queryset=queryset, to_attr=relation.to_attr)


def prefetch_for(info, type_name: str) -> list[Prefetch]:
    """The prefetches the current field's selection (of objects of ``type_name``) needs."""
    return _prefetches(info, type_name, info.field_nodes)


def optimize(queryset: QuerySet, info, type_name: str) -> QuerySet:
    prefetches = prefetch_for(info, type_name)
    return queryset.prefetch_related(*prefetches) if prefetches else queryset


def load(model_or_queryset, pk, info, type_name: str):
    """A fresh copy of one object with what the selection needs (mutation results, single lookups)."""
    queryset = model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset._default_manager
    return optimize(queryset.filter(pk=pk), info, type_name).get()


def load_many(queryset: QuerySet, pks: list, info, type_name: str) -> list:
    """Objects by id, in the order of ``pks``."""
    by_pk = {obj.pk: obj for obj in optimize(queryset.filter(pk__in=pks), info, type_name)}
    return [by_pk[pk] for pk in pks if pk in by_pk]


def related(obj, info, type_name: str, key: str):
    """The related object(s) of ``obj`` under ``key``: from the prefetch cache, else loaded now
    (once, with the prefetches its own selection needs)."""
    relation = _RELATIONS[type_name][key]
    if relation.to_attr is None:
        return getattr(obj, relation.lookup, None)
    if not hasattr(obj, relation.to_attr):
        prefetch_related_objects([obj], _prefetch(info, relation, info.field_nodes))
    return getattr(obj, relation.to_attr)


def related_list(type_name: str, key: str, of: str, **kwargs) -> graphene.List:
    """A ``[Type!]!`` field resolved through the relation registered under ``key``."""

    def resolve(obj, info):
        return related(obj, info, type_name, key)

    return graphene.List(graphene.NonNull(of), required=True, resolver=resolve, **kwargs)


def related_object(type_name: str, key: str, of: str, *, required: bool = True, **kwargs) -> graphene.Field:
    def resolve(obj, info):
        return related(obj, info, type_name, key)

    return graphene.Field(of, required=required, resolver=resolve, **kwargs)


# ---------------------------------------------------------------------------------------------
# Validation rules: depth limit and introspection
# ---------------------------------------------------------------------------------------------


def max_query_depth() -> int:
    return int(getattr(settings, "GRAPHQL_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def introspection_allowed() -> bool:
    """On outside production mode; in production only when GRAPHQL_INTROSPECTION says so."""
    explicit = getattr(settings, "GRAPHQL_INTROSPECTION", None)
    if explicit is not None:
        return bool(explicit)
    return env_bool("GRAPHQL_INTROSPECTION", not getattr(settings, "PRODUCTION", False))


def graphiql_enabled() -> bool:
    """With DEBUG, or when the GRAPHIQL_ENABLED setting (else environment variable) says so."""
    if settings.DEBUG:
        return True
    explicit = getattr(settings, "GRAPHIQL_ENABLED", None)
    return bool(explicit) if explicit is not None else env_bool("GRAPHIQL_ENABLED", False)


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


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def _domain_error_of(error) -> DomainError | None:
    original = getattr(error, "original_error", None)
    while original is not None and not isinstance(original, DomainError):
        original = getattr(original, "original_error", None)
    return original


def format_error(error) -> dict:
    """Only domain errors and query errors tell the client what went wrong; everything else is masked."""
    if isinstance(error, HttpError):
        return {"message": error.message, "extensions": {"code": "VALIDATION_ERROR"}}
    if isinstance(error, GraphQLError):
        formatted = {"message": error.message}
        if error.locations:
            formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        if error.path is not None:
            formatted["path"] = error.path
        domain = _domain_error_of(error)
        if domain is not None:
            formatted["message"] = domain.message
            extensions = {"code": domain.code}
            if domain.field:
                extensions["field"] = domain.field
            if domain.details is not None:
                extensions["details"] = json.loads(json.dumps(domain.details, default=str))
            formatted["extensions"] = extensions
            return formatted
        if error.path is None:
            # Syntax, validation and variable errors (all raised before execution) describe the
            # document and variables the client sent.
            formatted["extensions"] = {"code": "VALIDATION_ERROR"}
            return formatted
        _log_unexpected(error)
        formatted["message"] = GENERIC_MESSAGE
        formatted["extensions"] = {"code": INTERNAL_ERROR}
        return formatted
    _log_unexpected(error)
    return {"message": GENERIC_MESSAGE, "extensions": {"code": INTERNAL_ERROR}}


def _log_unexpected(error) -> None:
    original = getattr(error, "original_error", None) or error
    logger.error("GraphQL request failed: %s", error, exc_info=(type(original), original, original.__traceback__))


def error_response(status: int, code: str, message: str, **headers) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}),
        status=status,
        content_type="application/json",
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


# ---------------------------------------------------------------------------------------------
# Authentication: session or personal access token
# ---------------------------------------------------------------------------------------------

TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def authenticate_token(raw: str):
    """The active user of a valid, unrevoked personal access token, or None."""
    from customers.models import PersonalAccessToken
    from customers.tokens import hash_token

    token = (
        PersonalAccessToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _csrf_rejected(request) -> bool:
    middleware = CsrfViewMiddleware(lambda _request: None)
    middleware.process_request(request)
    return middleware.process_view(request, _csrf_checked_view, (), {}) is not None


def _csrf_checked_view(request):  # pragma: no cover - never called, only inspected for csrf_exempt
    return None


# ---------------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------------


class AdoptionGraphQLView(GraphQLView):
    graphiql_template = "graphql/graphiql.html"

    @method_decorator(csrf_exempt)  # token requests are exempt; session posts are checked below
    def dispatch(self, request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, raw = header.partition(" ")
            user = authenticate_token(raw.strip()) if scheme.lower() == "bearer" and raw.strip() else None
            if user is None:
                return error_response(
                    401, "UNAUTHENTICATED", "invalid or revoked access token", WWW_Authenticate="Bearer"
                )
            request.user = user
        else:
            user = request.user
            if not user.is_authenticated:
                if request.method == "GET" and graphiql_enabled() and self.request_wants_html(request):
                    return redirect_to_login(request.get_full_path())
                return error_response(401, "UNAUTHENTICATED", "authentication required", WWW_Authenticate="Bearer")
            if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and _csrf_rejected(request):
                return error_response(403, "FORBIDDEN", "CSRF verification failed: send the X-CSRFToken header")
        self.graphiql = graphiql_enabled() and not header
        return super().dispatch(request, *args, **kwargs)

    def render_graphiql(self, request, **data):
        return render(request, self.graphiql_template, {"graphql_url": request.path, "csrf_token": get_token(request)})

    def parse_body(self, request):
        try:
            request.body  # noqa: B018  (read it here so an oversized body is 413, not graphene's 400)
            return super().parse_body(request)
        except HttpError:
            raise
        except RequestDataTooBig:
            raise HttpError(HttpResponse(status=413), "request body too large") from None
        except Exception:  # e.g. JSON nested beyond the interpreter's recursion limit
            raise HttpError(HttpResponse(status=400), "request body could not be read") from None

    @staticmethod
    def format_error(error):
        return format_error(error)

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponse(status=400), "Must provide query string.")
        if not isinstance(query, str):
            raise HttpError(HttpResponse(status=400), "The query must be a string.")
        if variables is not None and not isinstance(variables, dict):
            raise HttpError(HttpResponse(status=400), "Variables must be a JSON object.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise HttpError(HttpResponse(status=400), "operationName must be a string.")
        try:
            document = parse(query, max_lexical_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            return ExecutionResult(data=None, errors=[exc])
        operation_ast = get_operation_ast(document, operation_name)
        if request.method.lower() == "get" and operation_ast is not None:
            if operation_ast.operation != OperationType.QUERY:
                if show_graphiql:
                    return None
                raise HttpError(
                    HttpResponseNotAllowed(["POST"]),
                    f"Can only perform a {operation_ast.operation.value} operation from a POST request.",
                )
        schema = self.schema.graphql_schema
        try:
            errors = validate(schema, document, validation_rules(), max_errors=20)
        except Exception as exc:  # e.g. recursion on a pathological document: logged and masked
            return ExecutionResult(data=None, errors=[exc])
        if errors:
            return ExecutionResult(data=None, errors=errors)
        options = {
            "root_value": self.get_root_value(request),
            "context_value": self.get_context(request),
            "variable_values": variables,
            "operation_name": operation_name,
            "middleware": self.get_middleware(request),
        }
        try:
            if operation_ast is not None and operation_ast.operation == OperationType.MUTATION:
                # One document, one transaction: a refused field leaves the database as it was.
                with transaction.atomic():
                    result = execute(schema, document, **options)
                    if result.errors:
                        transaction.set_rollback(True)
                return result
            return execute(schema, document, **options)
        except Exception as exc:  # errors outside resolvers: logged and masked by format_error
            return ExecutionResult(data=None, errors=[exc])


graphql_view = AdoptionGraphQLView.as_view()
