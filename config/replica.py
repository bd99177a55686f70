"""An optional read replica (DATABASE_REPLICA_URL) and when reads may go to it.

Reads go to the replica only inside an explicit ``use_replica()`` block; everything else, and every
write, stays on the primary ("default"). Two places enter the block: GraphQL query operations
(never mutations) and safe-method page views (``ReplicaMiddleware``). A replica lags behind the
primary, so anything that must read its own writes stays out: the admin, GraphQL mutations, the
telemetry API, job progress pages, health checks, sessions and users (auth data always comes from the
primary), and a browser that wrote something in the last few seconds (``REPLICA_PIN_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA_ALIAS = "replica"
# Only the domain's own tables are read from the replica; sessions, users, permissions and content
# types stay on the primary (a user who just signed in must not look signed out).
REPLICA_APPS = frozenset({"customers", "adoption", "telemetry"})
PIN_COOKIE = "primary_pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_replica_active: ContextVar[bool] = ContextVar("replica_active", default=False)


@contextmanager
def use_replica() -> Iterator[None]:
    """Reads of the domain's tables inside this block may be answered by the replica."""
    token = _replica_active.set(True)
    try:
        yield
    finally:
        _replica_active.reset(token)


@contextmanager
def use_primary() -> Iterator[None]:
    """Leave a use_replica() block for the reads that must see the latest writes."""
    token = _replica_active.set(False)
    try:
        yield
    finally:
        _replica_active.reset(token)


def replica_active() -> bool:
    return _replica_active.get()


def replica_alias() -> str | None:
    """The replica's connection alias when one is configured, else None."""
    alias = getattr(settings, "REPLICA_DATABASE", None)
    return alias if alias and alias in connections.settings else None


class ReplicaRouter:
    """Reads of the domain apps inside use_replica() go to the replica; all else to the primary."""

    def db_for_read(self, model, **hints):
        if not _replica_active.get() or model._meta.app_label not in REPLICA_APPS:
            return None
        return replica_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


def _excluded(path: str) -> bool:
    return any(path.startswith(prefix) for prefix in settings.REPLICA_EXCLUDED_PATHS)


class ReplicaMiddleware:
    """Safe-method page views read from the replica; writes pin the browser to the primary for a while.

    A POST (a status change, a sync...) answers with a short-lived cookie; while it lives, the same
    browser's pages read from the primary, so a user always sees what they just did.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if replica_alias() is None:
            return self.get_response(request)
        if request.method not in SAFE_METHODS:
            response = self.get_response(request)
            pin = settings.REPLICA_PIN_SECONDS
            if pin > 0:
                response.set_cookie(
                    PIN_COOKIE, "1", max_age=pin, httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE
                )
            return response
        if _excluded(request.path) or request.COOKIES.get(PIN_COOKIE):
            return self.get_response(request)
        with use_replica():
            return self.get_response(request)
