"""Credentials never reach the logs: the configured console handler masks them in messages and tracebacks."""

import logging
from io import StringIO

import pytest

from config.log_filters import RedactSecretsFilter, redact


@pytest.fixture
def console():
    """The root console handler from settings.LOGGING, writing into a buffer for the test."""
    handler = next(
        h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    buffer = StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_headers_keys_and_tokens_are_masked_in_messages_and_tracebacks(console):
    log = logging.getLogger("tests.secrets")
    key = "cak_" + "K" * 43
    token = "pat_" + "T" * 43

    log.warning("request headers %s", {"HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_ACCEPT": "application/json"})
    log.warning("Authorization: Basic dXNlcjpzZWNyZXQ=")
    try:
        raise ValueError(f"token {token} refused")
    except ValueError:
        log.exception("failed")

    output = console.getvalue()
    assert key not in output and token not in output and "K" * 10 not in output and "T" * 10 not in output
    assert "dXNlcjpzZWNyZXQ=" not in output
    assert "{'HTTP_AUTHORIZATION': '[redacted]', 'HTTP_ACCEPT': 'application/json'}" in output
    assert "Authorization: [redacted]" in output
    assert "ValueError: token [redacted] refused" in output


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Bearer abc.def-123", "Bearer [redacted]"),
        ("authorization=Token xyz", "authorization=[redacted]"),
        ("key cak_AbC-12_x3 used", "key cak_[redacted] used"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact(text, masked):
    assert redact(text) == masked


def test_a_refused_request_is_logged_without_its_traceback_and_a_server_error_with_it(console):
    log = logging.getLogger("django.request")
    for status in (403, 500):
        try:
            raise PermissionError(f"refused {status}")
        except PermissionError:
            log.warning("Answered %s", status, exc_info=True, extra={"status_code": status})
    output = console.getvalue()
    assert "Answered 403" in output and "refused 403" not in output
    assert "Answered 500" in output and "PermissionError: refused 500" in output
