"""HTTP API for customer systems: POST /api/v1/telemetry with a per-customer API key.

A thin view over telemetry.services.telemetry_ingest. Every answer is JSON; no answer ever shows
internals (a traceback, SQL, file paths): unexpected errors are logged and answered with a plain 500.
"""

import json
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from config import ratelimit
from config.errors import DomainError, conflict_from_database_error
from telemetry.ingestion import MAX_ITEMS
from telemetry.services import api_key_authenticate, telemetry_ingest

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024

STATUS_BY_CODE = {
    "VALIDATION_ERROR": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 403,  # an API key never learns whether another customer's attribute exists
    "CONFLICT": 409,
}


def error_response(status: int, code: str, message: str, *, field=None, details=None, headers=None) -> JsonResponse:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details is not None:
        error["details"] = details
    response = JsonResponse({"error": error}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@sensitive_variables("header", "credentials")
def _bearer_key(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _read_body(request) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY_BYTES (whatever Content-Length claims)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def _admission_refusal(request, api_key):
    """429 past the key's rate limit, 415 for anything but a JSON body; None to go on."""
    limit, window = settings.TELEMETRY_RATE_LIMIT, settings.TELEMETRY_RATE_WINDOW
    retry_after = ratelimit.hit("telemetry", api_key.pk, limit=limit, window=window)
    if retry_after is not None:
        return error_response(
            429,
            "RATE_LIMITED",
            f"too many requests for this API key: at most {limit} every {window} seconds; "
            f"retry in {retry_after} seconds",
            details={"retryAfter": retry_after, "limit": limit, "window": window},
            headers={"Retry-After": str(retry_after)},
        )
    charset = request.content_params.get("charset", "utf-8").lower()
    if request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        sent = (request.META.get("CONTENT_TYPE") or "none")[:100]
        return error_response(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"the body must be JSON sent with Content-Type: application/json (UTF-8); got Content-Type: {sent}",
            headers={"Accept-Post": "application/json"},
        )
    return None


@csrf_exempt
def telemetry_ingest_view(request):
    try:
        return _telemetry_ingest(request)
    except DatabaseError as error:
        conflict = conflict_from_database_error(error)
        if conflict is None:
            logger.exception("telemetry API request failed")
            return error_response(500, "INTERNAL_ERROR", "the request could not be processed; nothing was stored")
        logger.warning("telemetry API request rolled back: %s", conflict.details["reason"])
        return error_response(
            409, conflict.code, conflict.message, details=conflict.details, headers={"Retry-After": "1"}
        )
    except Exception:  # never a traceback to the client
        logger.exception("telemetry API request failed")
        return error_response(500, "INTERNAL_ERROR", "the request could not be processed; nothing was stored")


def _telemetry_ingest(request):
    if request.method != "POST":
        return error_response(405, "METHOD_NOT_ALLOWED", "use POST with a JSON body", headers={"Allow": "POST"})

    api_key = api_key_authenticate(_bearer_key(request))
    if api_key is None:
        return error_response(
            401,
            "UNAUTHENTICATED",
            "a valid API key is required: Authorization: Bearer <api key>",
            headers={"WWW-Authenticate": 'Bearer realm="telemetry"'},
        )
    refused = _admission_refusal(request, api_key)
    if refused is not None:
        return refused

    body = _read_body(request)
    if body is None:
        return error_response(
            413,
            "PAYLOAD_TOO_LARGE",
            f"the body is larger than {MAX_BODY_BYTES} bytes; split the values into several batches",
        )
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error_response(400, "VALIDATION_ERROR", "the body is not valid JSON")
    if not isinstance(payload, dict):
        return error_response(
            400, "VALIDATION_ERROR", 'the body must be a JSON object: {"batchId": ..., "values": [...]}'
        )
    values = payload.get("values")
    if not isinstance(values, list):
        return error_response(400, "VALIDATION_ERROR", "values must be a list of telemetry values", field="values")
    if len(values) > MAX_ITEMS:
        return error_response(
            413,
            "PAYLOAD_TOO_LARGE",
            f"too many values in one request: {len(values)}, at most {MAX_ITEMS}; split them into several batches",
            field="values",
        )

    try:
        result = telemetry_ingest(
            actor=api_key, items=values, batch_id=payload.get("batchId"), customer=api_key.customer, channel="api"
        )
    except DomainError as error:
        return error_response(
            STATUS_BY_CODE.get(error.code, 400),
            "FORBIDDEN" if error.code == "NOT_FOUND" else error.code,
            error.message,
            field=error.field,
            details=error.details,
        )
    return JsonResponse(result.as_dict(), status=200)
