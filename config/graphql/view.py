"""The GraphQL endpoint: session (with CSRF) or ``Authorization: Bearer <token>``, a mutation document
runs in one transaction and is rolled back whole when any of its fields fails, GraphiQL from
``static/graphiql/`` for logged-in users when ``DEBUG`` or ``GRAPHIQL_ENABLED``.

Bearer tokens are checked by the ``authenticate_token`` callable the URL configuration passes in
(raw token -> active user or None): the plumbing knows no app's models.
"""

from collections.abc import Callable

from csp.decorators import csp_update
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import ExecutionResult, GraphQLError, OperationType, execute, get_operation_ast, parse

from config import ratelimit
from config.graphql.cost import cost_errors, measure_document, scan_errors, size_errors
from config.graphql.documents import valid_documents
from config.graphql.errors import error_response, format_error
from config.graphql.execution import PlainLeafExecutionContext, is_awaitable
from config.graphql.switches import graphiql_enabled, introspection_allowed, max_query_depth, query_limits
from config.graphql.validation import MAX_TOKENS, validate_document
from config.replica import use_replica


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
    authenticate_token: Callable[[str], object | None] | None = None  # without it, every token is refused

    def __init__(self, *, authenticate_token: Callable[[str], object | None] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.authenticate_token = authenticate_token

    @method_decorator(csrf_exempt)  # token requests are exempt; session posts are checked below
    def dispatch(self, request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, raw = header.partition(" ")
            raw = raw.strip()
            bearer = scheme.lower() == "bearer" and raw and self.authenticate_token is not None
            user = self.authenticate_token(raw) if bearer else None
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
        refused = ratelimit.graphql_refusal(request.user)
        if refused is not None:
            return refused
        self.graphiql = graphiql_enabled() and not header
        return super().dispatch(request, *args, **kwargs)

    # The vendored GraphiQL stylesheet carries its fonts inline as data: URLs; this page alone may load them.
    @csp_update({"font-src": ["data:"]})
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
        # Authenticated already (dispatch). Aliases and fields as written are counted before parsing,
        # which is the slow step; after parsing, with fragments expanded, before validation; the cost
        # after validation. Nothing runs a resolver before all three pass.
        limits = query_limits()
        if errors := scan_errors(query, limits, max_tokens=MAX_TOKENS):
            return ExecutionResult(data=None, errors=errors)
        schema = self.schema.graphql_schema
        # A document that passed validation before, under the same settings, is not parsed or
        # validated again (config.graphql.documents); the checks on variables run every time.
        cache_key = (schema, query, max_query_depth(), introspection_allowed())
        document = valid_documents.get(cache_key)
        validated = document is not None
        if document is None:
            try:
                document = parse(query, max_lexical_tokens=MAX_TOKENS)
            except GraphQLError as exc:
                return ExecutionResult(data=None, errors=[exc])
        try:
            measured = measure_document(schema, document, list_factor=limits.list_factor, variables=variables)
        except RecursionError:
            return ExecutionResult(data=None, errors=[GraphQLError("the query is nested too deeply to be measured")])
        if errors := size_errors(measured, limits):
            return ExecutionResult(data=None, errors=errors)
        operation_ast = get_operation_ast(document, operation_name)
        if request.method.lower() == "get" and operation_ast is not None:
            if operation_ast.operation != OperationType.QUERY:
                if show_graphiql:
                    return None
                raise HttpError(
                    HttpResponseNotAllowed(["POST"]),
                    f"Can only perform a {operation_ast.operation.value} operation from a POST request.",
                )
        if not validated:
            try:
                errors = validate_document(schema, document)
            except Exception as exc:  # e.g. recursion on a pathological document: logged and masked
                return ExecutionResult(data=None, errors=[exc])
            if errors:
                return ExecutionResult(data=None, errors=errors)
            valid_documents.put(cache_key, query, document)
        if errors := cost_errors(measured, limits):
            return ExecutionResult(data=None, errors=errors)
        options = {
            "root_value": self.get_root_value(request),
            "context_value": self.get_context(request),
            "variable_values": variables,
            "operation_name": operation_name,
            "middleware": self.get_middleware(request),
            "execution_context_class": PlainLeafExecutionContext,
            "is_awaitable": is_awaitable,
        }
        try:
            if operation_ast is not None and operation_ast.operation == OperationType.MUTATION:
                # One document, one transaction: a refused field leaves the database as it was.
                with transaction.atomic():
                    result = execute(schema, document, **options)
                    if result.errors:
                        transaction.set_rollback(True)
                return result
            # Queries may read from the replica (when there is one); mutations never do.
            with use_replica():
                return execute(schema, document, **options)
        except Exception as exc:  # errors outside resolvers: logged and masked by format_error
            return ExecutionResult(data=None, errors=[exc])
