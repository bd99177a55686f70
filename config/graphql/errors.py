"""Error masking: only domain errors (config.errors) reach the client with their text, as
``extensions.code`` / ``extensions.field``; query errors are ``VALIDATION_ERROR``; anything else is
logged with its traceback and answered ``INTERNAL_ERROR`` with a generic message."""

import json
import logging

from django.http import HttpResponse
from graphene_django.views import HttpError
from graphql import GraphQLError

from config.errors import DomainError, conflict_from_database_error

logger = logging.getLogger("config.graphql")

ALLOWED_CODES = ("UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "VALIDATION_ERROR", "CONFLICT")
INTERNAL_ERROR = "INTERNAL_ERROR"
GENERIC_MESSAGE = "Internal server error. The problem was logged."


def _domain_error_of(error) -> DomainError | None:
    """The domain error behind a GraphQL error; a deadlock or serialization failure counts as CONFLICT."""
    original = getattr(error, "original_error", None)
    while original is not None and not isinstance(original, DomainError):
        conflict = conflict_from_database_error(original)
        if conflict is not None:
            logger.warning("GraphQL request rolled back: %s", conflict.details["reason"])
            return conflict
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
