"""GET /healthz for load balancers and orchestrators: is this app server able to serve?

Checks the database (and the read replica when there is one) with ``SELECT 1`` and Redis (when
REDIS_URL is set) with PING, each with a short timeout. 200 ``{"status": "ok", "checks": {...}}``
when all pass, else 503 with ``"status": "error"`` and each failed check naming what failed. No
authentication and nothing secret in the answer (exception class names only, no hosts).

It is answered by a middleware near the top of the stack: probes come with the balancer's own Host
header (often an IP address, not in ALLOWED_HOSTS) and over plain HTTP, so host validation and the
HTTPS redirect must not turn a healthy server into a failing probe.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from django.http import HttpResponseNotAllowed, JsonResponse

from config.replica import replica_alias

HEALTH_PATH = "/healthz"
REDIS_TIMEOUT_SECONDS = 1.0
logger = logging.getLogger("config.health")

_redis_clients: dict[str, object] = {}


def _redis_client(url: str):
    """One client (and connection pool) per URL and process: a probe does not reconnect each time."""
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        _redis_clients[url] = client
    return client


def _failure(exc: Exception) -> str:
    return f"failed: {type(exc).__name__}"


def check_database(alias: str) -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("health check of database %r failed", alias, exc_info=True)
        return _failure(exc)
    return "ok"


def check_redis(url: str) -> str:
    try:
        _redis_client(url).ping()
    except Exception as exc:
        logger.warning("health check of Redis failed", exc_info=True)
        return _failure(exc)
    return "ok"


def run_checks() -> dict[str, str]:
    checks = {"database": check_database("default")}
    alias = replica_alias()
    if alias:
        checks["replica"] = check_database(alias)
    if settings.REDIS_URL:
        checks["redis"] = check_redis(settings.REDIS_URL)
    return checks


def healthz(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    response = JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers /healthz before host validation, HTTPS redirects, sessions or authentication run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH:
            return healthz(request)
        return self.get_response(request)
