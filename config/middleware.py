from django.conf import settings
from django.db import connections


class _Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    """With DEBUG on, every response carries X-DB-Query-Count so an N+1 shows from outside (SPEC 9)."""

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
