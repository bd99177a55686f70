"""Text input hygiene: the rules every text a user or a customer system sends must pass, in one place.

Every service that stores text calls these (customers, the catalog and catalog files, status
changes, telemetry ingestion and spreadsheet rows), so pages, GraphQL, the telemetry API,
spreadsheets and catalog files refuse alike, before anything reaches the database:

- no NUL character (U+0000): PostgreSQL cannot store one in text or JSON;
- no surrogate code point (U+D800..U+DFFF): in a Python string these are always unpaired (a valid
  pair is decoded to one character), they cannot be encoded as UTF-8, and the database driver
  would fail on them. JSON text may spell one as ``"\\ud800"``, which Python's json module accepts;
- a maximum length per kind of text (below), and for JSON values a maximum serialized size and
  nesting depth, keys included.

Two styles: ``*_problem`` functions return a message or None, for callers that collect every problem
(catalog files, telemetry items, spreadsheet rows); ``clean_*`` functions raise ``ValidationFailed``
naming the field. This module imports no app.
"""

from __future__ import annotations

import json
from typing import Any

from config.errors import ValidationFailed

# Maximum lengths, in characters (the documented limits; model fields are at least this long).
NAME_MAX = 200  # customers, products, outcomes, tasks
SHORT_NAME_MAX = 100  # releases, telemetry attributes, API keys
DESCRIPTION_MAX = 10_000  # descriptions of customers and catalog items, a catalog task's notes
NOTE_MAX = 4_000  # status change notes, telemetry value notes
STRING_VALUE_MAX = 10_000  # a STRING telemetry value
JSON_VALUE_MAX_BYTES = 64 * 1024  # a JSON telemetry value or a success criterion, serialized as UTF-8
JSON_DEPTH_MAX = 20  # nesting of a JSON telemetry value (a scalar is depth 0)
SOURCE_MAX = 100  # a telemetry value's source
BATCH_ID_MAX = 100  # a telemetry batchId


def _short(path: str, limit: int = 80) -> str:
    return path if len(path) <= limit else path[: limit - 1] + "…"


def character_problem(value: str) -> str | None:
    """Why this string cannot be stored (a NUL or a surrogate, with its position), or None."""
    position = value.find("\x00")
    if position >= 0:
        return f"contains a NUL character (U+0000) at position {position}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains an unpaired surrogate (U+{ord(value[exc.start]):04X}) at position {exc.start}"
    return None


def text_problem(value: str, *, max_length: int | None) -> str | None:
    """Characters first, then length."""
    problem = character_problem(value)
    if problem is None and max_length is not None and len(value) > max_length:
        problem = f"is too long ({len(value)} characters, at most {max_length})"
    return problem


def clean_text(value: Any, *, field: str, max_length: int | None, label: str | None = None, strip: bool = True) -> str:
    """Optional text: None is ""; otherwise a string without NUL or surrogates, at most ``max_length``
    characters (after stripping surrounding blanks when ``strip``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{label or field} must be text", field=field)
    if strip:
        value = value.strip()
    problem = text_problem(value, max_length=max_length)
    if problem:
        raise ValidationFailed(f"{label or field} {problem}", field=field)
    return value


def json_problem(value: Any, *, max_bytes: int | None = None, max_depth: int | None = None) -> str | None:
    """Why this JSON value cannot be stored, or None: every string and object key is checked for NUL
    and surrogates (the message names the path, ``a.b[2]``), the nesting against ``max_depth`` and
    the serialized size against ``max_bytes``. Iterative, so no nesting exhausts the stack. The
    message is a sentence of its own: "the string at a.b contains ...", "the value is too large ..."."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            problem = character_problem(item)
            if problem:
                return f"{'the string at ' + _short(path) if path else 'the value'} {problem}"
        elif isinstance(item, dict | list):
            if max_depth is not None and depth >= max_depth:
                return f"the value is nested more than {max_depth} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    where = f"{path}.{key}" if path else str(key)
                    if isinstance(key, str):
                        problem = character_problem(key)
                        if problem:
                            return f"the key {_short(where)!r} {problem}"
                    stack.append((child, where, depth + 1))
            else:
                for index, child in enumerate(item):
                    stack.append((child, f"{path}[{index}]", depth + 1))
    if max_bytes is not None:
        try:
            size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))
        except (TypeError, ValueError):
            return None  # not JSON at all: the type check names that
        if size > max_bytes:
            return f"the value is too large ({size} bytes as JSON, at most {max_bytes})"
    return None


def telemetry_value_problem(value: Any) -> str | None:
    """The text rules for one telemetry value of any type: strings at most STRING_VALUE_MAX
    characters, JSON at most JSON_VALUE_MAX_BYTES and JSON_DEPTH_MAX levels."""
    if isinstance(value, str):
        problem = text_problem(value, max_length=STRING_VALUE_MAX)
        return f"the value {problem}" if problem else None
    return json_problem(value, max_bytes=JSON_VALUE_MAX_BYTES, max_depth=JSON_DEPTH_MAX)


def clean_json(value: Any, *, field: str, max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    problem = json_problem(value, max_bytes=max_bytes, max_depth=max_depth)
    if problem:
        raise ValidationFailed(f"{field}: {problem}", field=field)
    return value
