import logging
from urllib.parse import quote

from django.conf import settings
from django.db import connections
from django.http import HttpResponse
from django.shortcuts import render

from config.errors import DomainError, conflict_from_database_error

logger = logging.getLogger(__name__)

# A page's words for a write PostgreSQL rolled back because a concurrent one got in the way.
PAGE_RETRY_MESSAGE = "Someone else changed this at the same moment, so nothing was saved. Please try again."


class _Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    """With DEBUG on, every response carries X-DB-Query-Count so an N+1 shows from outside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.DEBUG:
            return self.get_response(request)
        counter = _Counter()
        with connections["default"].execute_wrapper(counter):
            response = self.get_response(request)
        response["X-DB-Query-Count"] = str(counter.count)
        return response


class DomainErrorPageMiddleware:
    """Pages answer a refusal in words: a domain error raised by a page view becomes a readable page
    (or, for an htmx request, a short message the page shows), never a traceback or a blank swap.

    A forbidden action is 403; a missing object and one the user may not see are the same 404.
    A write the database rolled back because a concurrent one got in the way (a deadlock or a
    serialization failure) is 409 with Retry-After, like the API's retryable CONFLICT: nothing was
    saved and sending the form again normally succeeds. Any other database error stays a server error.
    GraphQL and the telemetry API answer their own errors and never let one reach this middleware.
    """

    STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409, "VALIDATION_ERROR": 400}
    TITLES = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile", 400: "Not valid"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            conflict = conflict_from_database_error(exception)
            if conflict is None:
                return None
            logger.warning(
                "page request %s %s rolled back: %s", request.method, request.path, conflict.details["reason"]
            )
            response = error_response(request, 409, PAGE_RETRY_MESSAGE)
            response["Retry-After"] = "1"
            return response
        status = self.STATUS.get(exception.code, 400)
        message = exception.message
        if status == 404:
            message = "This page does not exist, or you may not see it."
        return error_response(request, status, message)


def error_response(request, status: int, message: str):
    """The one way pages answer a refusal: a page for a normal request, a message for htmx."""
    if getattr(request, "htmx", False):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        response["X-Error-Message"] = quote(message)
        return response
    title = DomainErrorPageMiddleware.TITLES.get(status, "Not possible")
    return render(request, "error.html", {"title": title, "message": message}, status=status)
