"""Request ids and structured logs.

Every request gets an id: the incoming ``X-Request-ID`` when it is a sane token (load balancers and
proxies set one), else a new one; it is echoed in the response header and carried by every log line
written while the request runs. With ``LOG_FORMAT=json`` (the default in production) each log line is
one JSON object: time, level, logger, message, request_id, and for the access line of each request
method, path, status, duration_ms and user_id.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # nothing that could forge a log line or a header
ACCESS_LOGGER = "config.request"
# Probes hit the health check every few seconds: only failed checks are logged.
QUIET_PATHS = ("/healthz",)

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger(ACCESS_LOGGER)


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str | None):
    """Set the id carried by log lines from here on (background jobs bind the job's); returns a token."""
    return _request_id.set(value)


def unbind_request_id(token) -> None:
    _request_id.reset(token)


def request_id_from(header_value: str | None) -> str:
    """The caller's id when it is sane, else a fresh one."""
    if header_value and _SANE_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


def _user_id(request) -> int | None:
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class RequestIdMiddleware:
    """Outermost middleware: request id in, request id out, one access log line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            if not (request.path in QUIET_PATHS and response.status_code < 400):
                access_log.log(
                    logging.WARNING if response.status_code >= 500 else logging.INFO,
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                        "user_id": _user_id(request),
                    },
                )
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record, so any logger's lines can be joined to a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


# Attributes every LogRecord has; anything else given through `extra=` is emitted as a field.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in _ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name not in entry and not name.startswith("_"):
                entry[name] = value
        if record.exc_info or record.exc_text:
            # exc_text first: filters (config.log_filters) may have masked credentials in it.
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
