"""Request rate limits counted in the cache (Redis when REDIS_URL is set, else this process's memory).

A fixed window per caller: at most ``limit`` requests in each ``window`` seconds. The count lives under
a key named after the scope, the caller and the window, and expires with the window, so nothing needs
cleaning up. Counting uses the cache's atomic increment, so several workers sharing Redis share one
count per caller.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse

KEY_PREFIX = "ratelimit"


def hit(scope: str, caller, *, limit: int, window: int) -> int | None:
    """Count one request of ``caller``; None when it is within the limit, else the seconds to wait.

    A limit of 0 (or less) switches the limit off.
    """
    if limit <= 0 or window <= 0:
        return None
    now = time.time()
    window_start = int(now // window) * window
    key = f"{KEY_PREFIX}:{scope}:{caller}:{window_start}"
    # add() is a no-op when the key exists; +1 s so the key outlives its window on every backend.
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens the count again
        cache.add(key, 1, timeout=window + 1)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil(window_start + window - now))


def graphql_refusal(user) -> HttpResponse | None:
    """429 for a GraphQL user past GRAPHQL_RATE_LIMIT requests in GRAPHQL_RATE_WINDOW seconds, shaped
    like every GraphQL error (errors[].extensions.code RATE_LIMITED); None to go on."""
    limit, window = settings.GRAPHQL_RATE_LIMIT, settings.GRAPHQL_RATE_WINDOW
    retry_after = hit("graphql", user.pk, limit=limit, window=window)
    if retry_after is None:
        return None
    error = {
        "message": f"Too many requests: at most {limit} every {window} seconds per user. "
        f"Retry in {retry_after} seconds.",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
    }
    response = JsonResponse({"errors": [error]}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
