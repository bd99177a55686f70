"""What the fuzzers count as a server error, and how they send one generated request."""

import json
import re

from django.core.cache import cache
from django.db import transaction

# Anything that shows the server's insides: tracebacks, SQL, source paths, driver or ORM names.
INTERNALS = re.compile(
    r"Traceback|psycopg|django\.db|site-packages|File \"|/[\w.-]+/[\w./-]+\.py\b|\.py\", line"
    r"|\bSELECT\b[^\n]{0,200}\bFROM\b|\bINSERT INTO\b|\bUPDATE\b[^\n]{0,200}\bSET\b|\bDELETE FROM\b"
    r"|IntegrityError|DataError|OperationalError|ProgrammingError",
)


def send(client, path: str, body, **extra):
    """POST one body (text or bytes) as JSON, its writes rolled back and the rate limits reset, so every
    generated case meets the same data."""
    cache.clear()
    with transaction.atomic():
        response = client.post(path, data=body, content_type="application/json", **extra)
        transaction.set_rollback(True)
    return response


def server_errors(response) -> list[str]:
    """Why this answer is a server error ([] when it is not): an HTTP 5xx, a body that is not JSON,
    a GraphQL error without extensions.code, an INTERNAL_ERROR (however rare, a defect), or any
    text that shows internals."""
    problems = []
    text = response.content.decode("utf-8", "replace")
    if response.status_code >= 500:
        problems.append(f"HTTP {response.status_code}")
    if INTERNALS.search(text):
        problems.append(f"shows internals: {INTERNALS.search(text).group(0)!r}")
    try:
        body = json.loads(text)
    except ValueError:
        return problems + [f"not JSON: {text[:200]!r}"]
    if isinstance(body, dict):
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if not code:
                problems.append(f"GraphQL error without extensions.code: {error.get('message')!r}")
            elif code == "INTERNAL_ERROR":
                problems.append(f"INTERNAL_ERROR: {error.get('message')!r}")
        error = body.get("error")
        if isinstance(error, dict) and error.get("code") == "INTERNAL_ERROR":
            problems.append(f"INTERNAL_ERROR: {error.get('message')!r}")
    return problems
