"""Logging filter that keeps credentials out of the logs.

Nothing in the app logs request headers, but third-party code, a debugging session or a future log
line might: every record reaching the configured handlers has Authorization header values, bearer
credentials, telemetry API keys and personal access tokens masked, in its message and traceback.
"""

import logging
import re

REDACTED = "[redacted]"

_PATTERNS = [
    # Authorization: <scheme> <credentials>, 'HTTP_AUTHORIZATION': '...', authorization=...
    (re.compile(r"""(\b(?:HTTP_)?AUTHORIZATION['"]?\s*[:=]\s*['"]?)[^'"\r\n,}]+""", re.I), r"\1" + REDACTED),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 " + REDACTED),
    # Raw telemetry API keys (cak_) and personal access tokens (pat_), wherever they appear.
    (re.compile(r"\b(cak_|pat_)[A-Za-z0-9_-]+"), r"\1" + REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class ClientErrorWithoutTracebackFilter(logging.Filter):
    """A refused request (403, 404, ...) is logged by Django with the exception that answered it: a
    traceback for every forbidden or missing page, which buries the real errors. For answers below
    500 the line stays and the traceback goes; a server error keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name.startswith("django.request") and isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
