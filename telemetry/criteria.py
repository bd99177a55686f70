"""Success-criteria engine for telemetry attributes.

Pure Python: no Django, no database. Regular expressions run on RE2 (google-re2), whose matching time
is linear in the length of the text whatever the pattern, so no criterion can stall an evaluation
(which runs inside the ingestion transaction, with row locks held).

A criterion is a JSON object, either a leaf::

    {"op": OP, "value": V}                 compare the attribute's value with V
    {"op": OP, "value": V, "path": "a.b"}  JSON attributes: compare the value found at that dotted path
    {"op": "exists"}                       any value at all (at the path, if given)

or a composite ``{"all": [C, ...]}``, ``{"any": [C, ...]}``, ``{"not": C}``, nesting freely.
``None`` and ``{}`` mean "no criteria": met as soon as the attribute has any value.

Public API:

* :func:`normalize_criterion`, :func:`validate_criterion`, :func:`check_criterion`: saving criteria;
* :func:`validate_value`: type check of a telemetry value;
* :func:`evaluate`: does a value meet a criterion (never raises); :class:`Prepared` checks a criterion
  once to evaluate it against many values;
* :func:`describe`: a short human sentence (never raises).

Semantics worth knowing (decisions made here):

* Numbers never include booleans; non-finite numbers never compare.
* A value that cannot be compared (wrong JSON type, unparsable timestamp, ...) does not meet the leaf;
  ``ne`` included: ``"abc" ne 5`` is false, not true.
* Timestamps: ISO 8601, trailing ``Z`` accepted, a date alone means midnight UTC, a naive date-time is
  taken as UTC. ``before``/``after`` are strict. ``within_days: N`` holds when the timestamp lies in
  ``[now - N days, now + CLOCK_SKEW_TOLERANCE]``: slightly in the future (clock skew) still counts, the
  same tolerance ingestion allows for ``observedAt``; a timestamp further ahead never does.
* ``regex`` uses RE2 syntax (no backreferences, no look-around); a pattern RE2 cannot compile, or longer
  than ``MAX_REGEX_LENGTH`` characters, is rejected when saved. ``re.search`` semantics (a match anywhere).
  A string longer than ``MAX_REGEX_SUBJECT_LENGTH`` characters cannot be compared and does not meet it.
* JSON attributes: the op is applied to the value at ``path`` (or the whole value without a path) by that
  value's own JSON type: booleans take ``eq``/``ne``/``in``; numbers the NUMBER ops plus ``in``; strings
  the STRING ops plus the TIMESTAMP ops (when the string parses as a timestamp); a list only ``contains``
  ("the list has this element") and ``exists``; an object only ``exists``. A JSON ``null`` counts as no
  value: ``exists`` is false there, as it is for a path that is missing. Integer path segments index lists
  (``items.0.name``).
* A criterion that does not validate for the data type never meets (``evaluate`` returns False for it and
  for its negation), so a criterion left behind by a data-type change cannot turn into "always met".
* ``not`` is the exact negation of its inner criterion, ``all``/``any`` are the exact conjunction and
  disjunction of their children (``{"all": []}`` is true, ``{"any": []}`` false), for any valid criterion
  and any value (given the attribute has a value: an attribute without values never meets anything).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import re2

__all__ = [
    "CLOCK_SKEW_TOLERANCE",
    "DATA_TYPES",
    "CriterionError",
    "CriteriaValidationError",
    "normalize_criterion",
    "validate_criterion",
    "check_criterion",
    "validate_value",
    "evaluate",
    "Prepared",
    "describe",
]

DATA_TYPES = ("BOOLEAN", "NUMBER", "STRING", "TIMESTAMP", "JSON")

OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "BOOLEAN": ("eq", "exists"),
    "NUMBER": ("eq", "ne", "gt", "gte", "lt", "lte", "between", "exists"),
    "STRING": ("eq", "ne", "contains", "regex", "in", "exists"),
    "TIMESTAMP": ("before", "after", "within_days", "exists"),
}
ALL_OPS: tuple[str, ...] = (
    "eq", "ne", "gt", "gte", "lt", "lte", "between",
    "contains", "regex", "in",
    "before", "after", "within_days",
    "exists",
)  # fmt: skip
OPS_BY_TYPE["JSON"] = ALL_OPS

COMPOSITE_KEYS = ("all", "any", "not")
LEAF_KEYS = ("op", "value", "path", "caseSensitive")
MAX_DEPTH = 32  # nesting levels of composites; deeper criteria are rejected (and never evaluated)
MAX_REGEX_LENGTH = 500  # characters of a regex pattern
MAX_REGEX_SUBJECT_LENGTH = 10_000  # characters of the string a regex is matched against
# How far ahead of the server's clock a timestamp may be and still count as "now": ingestion accepts an
# observedAt up to this far in the future, and within_days counts a timestamp up to this far ahead.
CLOCK_SKEW_TOLERANCE = timedelta(minutes=5)

_NUMBER_COMPARE = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]")


class CriterionError(NamedTuple):
    """One validation problem: ``path`` inside the criterion (``"all[1].value"``; ``""`` for the root)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {self.message}"


class CriteriaValidationError(ValueError):
    """Raised by :func:`check_criterion` / :func:`normalize_criterion` with every error found."""

    def __init__(self, errors: list[CriterionError]):
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "; ".join(str(e) for e in self.errors)


# --------------------------------------------------------------------------------------------------
# small helpers


def _is_number(v: Any) -> bool:
    """A JSON number: int/float/Decimal, never bool."""
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _is_finite_number(v: Any) -> bool:
    if not _is_number(v):
        return False
    try:
        return math.isfinite(v)
    except (ValueError, TypeError, OverflowError):
        return False


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, str)) or _is_finite_number(v)


def _json_problem(v: Any, depth: int = 0) -> str | None:
    """None if ``v`` is a JSON value (nested nulls allowed, finite numbers, string keys), else why not."""
    if depth > 64:
        return "is nested too deeply"
    if v is None or isinstance(v, (bool, str)):
        return None
    if _is_number(v):
        return None if _is_finite_number(v) else "contains a non-finite number"
    if isinstance(v, list):
        for item in v:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    if isinstance(v, dict):
        for k, item in v.items():
            if not isinstance(k, str):
                return "has a non-string object key"
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    return f"is not a JSON value ({type(v).__name__})"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _short(s: str, limit: int = 40) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _received(v: Any) -> str:
    """What was received, for messages: ``string 'abc'``, ``boolean true``, ``null``, ..."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {'true' if v else 'false'}"
    if _is_number(v):
        return f"number {v}" if _is_finite_number(v) else f"non-finite number {v}"
    if isinstance(v, str):
        return f"string {_short(v)!r}"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _parse_timestamp(v: Any, *, require_tz: bool = False) -> datetime | None:
    """ISO 8601 date-time (trailing Z ok) or date (midnight UTC) -> aware datetime; None if not one.

    Naive date-times are taken as UTC unless ``require_tz``. datetime/date objects are accepted too.
    """
    if isinstance(v, datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            return None if require_tz else v.replace(tzinfo=UTC)
        return v
    if isinstance(v, date):
        return datetime.combine(v, time(), tzinfo=UTC)
    if not isinstance(v, str) or len(v) > 64:
        return None
    s = v.strip()
    if s != v or not s:
        return None
    try:
        if _DATE_ONLY.fullmatch(s):
            return datetime.combine(date.fromisoformat(s), time(), tzinfo=UTC)
        if not _DATE_TIME_START.match(s):
            return None  # fromisoformat also takes week dates, compact dates, any separator: not here
        if s[-1] in "zZ":
            s = s[:-1] + "+00:00"
        dt = datetime.fromisoformat(s)
    except (ValueError, TypeError, OverflowError):
        return None
    if dt.tzinfo is None or dt.utcoffset() is None:
        return None if require_tz else dt.replace(tzinfo=UTC)
    return dt


def _regex_options(case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the user, not to stderr
    options.case_sensitive = case_sensitive
    return options


_CASE_SENSITIVE = _regex_options(True)
_IGNORING_CASE = _regex_options(False)


def _compile_regex(pattern: str, case_sensitive: bool = True):
    """RE2 keeps compiled patterns in a small LRU cache of its own."""
    return re2.compile(pattern, _CASE_SENSITIVE if case_sensitive else _IGNORING_CASE)


def _regex_problem(pattern: str) -> str | None:
    """None if RE2 compiles the pattern, else its reason (e.g. ``missing ): (``)."""
    try:
        _compile_regex(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "cannot be compiled"
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    except Exception:  # e.g. a string with unpaired surrogates that cannot be encoded as UTF-8
        return "cannot be compiled"
    return None


# --------------------------------------------------------------------------------------------------
# telemetry values


def validate_value(value: Any, data_type: str) -> str | None:
    """Type check of one telemetry value: None if it fits ``data_type``, else a message.

    The message names the expected type and what was received (``expected NUMBER, got string 'abc'``).
    A JSON ``null`` is always rejected, also for JSON attributes (nested nulls inside a JSON value are fine).
    """
    try:
        if data_type not in DATA_TYPES:
            return f"unknown data type {_short(str(data_type))!r}; expected one of {', '.join(DATA_TYPES)}"
        if value is None:
            return f"expected {data_type}, got null"
        if data_type == "BOOLEAN":
            ok = isinstance(value, bool)
        elif data_type == "NUMBER":
            if _is_number(value) and not _is_finite_number(value):
                return f"expected {data_type} (a finite number), got {_received(value)}"
            ok = _is_finite_number(value)
        elif data_type == "STRING":
            ok = isinstance(value, str)
        elif data_type == "TIMESTAMP":
            ok = isinstance(value, str) and _parse_timestamp(value, require_tz=True) is not None
            if not ok:
                return (
                    f"expected {data_type} (ISO 8601 date-time with time zone, or YYYY-MM-DD), got {_received(value)}"
                )
        else:  # JSON
            problem = _json_problem(value)
            if problem:
                return f"expected {data_type}, got a value that {problem}"
            ok = True
        return None if ok else f"expected {data_type}, got {_received(value)}"
    except Exception:  # pragma: no cover - defensive
        return f"expected {data_type}, got an unreadable value"


# --------------------------------------------------------------------------------------------------
# validation


def normalize_criterion(criterion: Any) -> dict:
    """``None`` -> ``{}``; a dict is returned unchanged; anything else raises CriteriaValidationError."""
    if criterion is None:
        return {}
    if isinstance(criterion, dict):
        return criterion
    raise CriteriaValidationError([CriterionError("", f"must be a JSON object or null, got {_received(criterion)}")])


def check_criterion(criterion: Any, data_type: str) -> dict:
    """Normalize and validate; raise CriteriaValidationError with all errors; return the normalized dict."""
    normalized = normalize_criterion(criterion)
    errors = validate_criterion(normalized, data_type)
    if errors:
        raise CriteriaValidationError(errors)
    return normalized


def validate_criterion(criterion: Any, data_type: str) -> list[CriterionError]:
    """Every problem of ``criterion`` for an attribute of ``data_type``; ``[]`` when valid. Never raises."""
    errors: list[CriterionError] = []
    try:
        if data_type not in DATA_TYPES:
            return [CriterionError("", f"unknown data type {_short(str(data_type))!r}")]
        if criterion is None or (isinstance(criterion, dict) and not criterion):
            return []  # no criteria: met when the attribute has any value
        _validate_node(criterion, data_type, "", errors, 0)
    except Exception:  # pragma: no cover - defensive (e.g. objects whose methods raise)
        errors.append(CriterionError("", "invalid criterion"))
    return errors


def _validate_node(node: Any, dt: str, path: str, errors: list[CriterionError], depth: int) -> None:
    if depth > MAX_DEPTH:
        errors.append(CriterionError(path, f"is nested too deeply (more than {MAX_DEPTH} levels)"))
        return
    if not isinstance(node, dict):
        message = f'must be an object (a leaf with "op" or all/any/not), got {_received(node)}'
        errors.append(CriterionError(path, message))
        return
    composite = [k for k in COMPOSITE_KEYS if k in node]
    if composite:
        if len(node) != 1:
            keys = ", ".join(sorted(str(k) for k in node))
            errors.append(CriterionError(path, f"a composite must have exactly one key, found: {keys}"))
        for key in composite:
            child_path = _join(path, key)
            child = node[key]
            if key == "not":
                _validate_node(child, dt, child_path, errors, depth + 1)
            elif not isinstance(child, list):
                message = f"must be a list of criteria, got {_received(child)}"
                errors.append(CriterionError(child_path, message))
            else:
                for i, item in enumerate(child):
                    _validate_node(item, dt, f"{child_path}[{i}]", errors, depth + 1)
        return
    _validate_leaf(node, dt, path, errors)


def _validate_leaf(node: dict, dt: str, path: str, errors: list[CriterionError]) -> None:
    def err(key: str, message: str) -> None:
        errors.append(CriterionError(_join(path, key), message))

    for key in node:
        if key not in LEAF_KEYS:
            err(str(key), "unknown key (a leaf takes op, value, path, caseSensitive)")

    if "path" in node:
        p = node["path"]
        if dt != "JSON":
            err("path", f"path is only allowed for JSON attributes, not {dt}")
        elif not isinstance(p, str) or not p or any(seg == "" for seg in p.split(".")):
            err("path", 'must be a non-empty dotted path like "a.b" or "items.0.name"')

    if "caseSensitive" in node:
        if dt not in ("STRING", "JSON"):
            err("caseSensitive", f"caseSensitive only applies to STRING and JSON attributes, not {dt}")
        elif not isinstance(node["caseSensitive"], bool):
            err("caseSensitive", f"must be true or false, got {_received(node['caseSensitive'])}")

    if "op" not in node:
        err("op", "is required")
        return
    op = node["op"]
    if not isinstance(op, str):
        err("op", f"must be a string, got {_received(op)}")
        return
    if op not in ALL_OPS:
        err("op", f"unknown op {_short(op)!r}; expected one of {', '.join(ALL_OPS)}")
        return
    if op not in OPS_BY_TYPE[dt]:
        err("op", f"op {op!r} does not apply to {dt} attributes (allowed: {', '.join(OPS_BY_TYPE[dt])})")
        return

    if op == "exists":
        if "value" in node:
            err("value", "exists takes no value")
        return
    if "value" not in node:
        err("value", f"is required for op {op!r}")
        return
    for sub, message in _value_problems(op, dt, node["value"]):
        err(sub, message)


def _value_problems(op: str, dt: str, v: Any) -> list[tuple[str, str]]:
    """Problems of the value of a leaf with a known op that fits ``dt``: (path below the leaf, message)."""
    got = _received(v)
    if op in ("eq", "ne"):
        if dt == "BOOLEAN":
            ok, want = isinstance(v, bool), "true or false"
        elif dt == "NUMBER":
            ok, want = _is_finite_number(v), "a finite number"
        elif dt == "STRING":
            ok, want = isinstance(v, str), "a string"
        else:  # JSON: compared with the scalar at the path
            ok, want = _is_scalar(v), "a boolean, finite number or string"
        return [] if ok else [("value", f"must be {want}, got {got}")]
    if op in _NUMBER_COMPARE:
        return [] if _is_finite_number(v) else [("value", f"must be a finite number, got {got}")]
    if op == "between":
        if not (isinstance(v, list) and len(v) == 2 and all(_is_finite_number(x) for x in v)):
            return [("value", f"must be a list [min, max] of two finite numbers, got {_short(_dump(v))}")]
        if v[0] > v[1]:
            return [("value", f"min {v[0]} is greater than max {v[1]}")]
        return []
    if op == "contains":
        if dt == "STRING":
            return [] if isinstance(v, str) else [("value", f"must be a string, got {got}")]
        if v is None:  # JSON: a substring, or an element of a list
            return [("value", "must not be null")]
        problem = _json_problem(v)
        return [("value", problem)] if problem else []
    if op == "regex":
        if not isinstance(v, str):
            return [("value", f"must be a regular expression string, got {got}")]
        if len(v) > MAX_REGEX_LENGTH:
            return [("value", f"regular expression is longer than {MAX_REGEX_LENGTH} characters")]
        problem = _regex_problem(v)
        return [("value", f"invalid regular expression (RE2 syntax): {problem}")] if problem else []
    if op == "in":
        if not isinstance(v, list):
            kind = "strings" if dt == "STRING" else "booleans, numbers or strings"
            return [("value", f"must be a list of {kind}, got {got}")]
        problems = []
        for i, item in enumerate(v):
            if dt == "STRING" and not isinstance(item, str):
                problems.append((f"value[{i}]", f"must be a string, got {_received(item)}"))
            elif dt != "STRING" and not _is_scalar(item):
                message = f"must be a boolean, finite number or string, got {_received(item)}"
                problems.append((f"value[{i}]", message))
        return problems
    if op in ("before", "after"):
        if _parse_timestamp(v) is None or not isinstance(v, str):
            return [("value", f"must be an ISO 8601 date-time or date, got {got}")]
        return []
    if op == "within_days":
        if not _is_finite_number(v) or v < 0:
            return [("value", f"must be a non-negative number of days, got {got}")]
        return []
    return [("op", f"unknown op {op!r}")]  # pragma: no cover - ops are checked before


# --------------------------------------------------------------------------------------------------
# evaluation


def evaluate(criterion: Any, data_type: str, value: Any, *, has_value: bool = True, now: Any = None) -> bool:
    """Does ``value`` (the attribute's latest value) meet ``criterion``? Never raises.

    ``has_value=False``: the attribute has no value at all, which never meets anything.
    ``None``/``{}``: met iff the attribute has a value. An invalid criterion never meets.
    ``now`` (default: current UTC time; naive = UTC) is the reference of ``within_days``.
    """
    return Prepared(criterion, data_type).evaluate(value, has_value=has_value, now=now)


_NEVER, _ANY_VALUE, _NODE = 0, 1, 2


class Prepared:
    """A criterion checked once for its data type, to evaluate against many values.

    ``Prepared(c, t).evaluate(v, ...)`` is exactly ``evaluate(c, t, v, ...)``; evaluating thousands of
    attributes that share a few criteria then validates each criterion once, not once per attribute.
    The criterion must not be changed afterwards.
    """

    __slots__ = ("criterion", "data_type", "_mode", "_simple")

    def __init__(self, criterion: Any, data_type: str):
        self.criterion, self.data_type, self._simple = criterion, data_type, None
        try:
            if data_type not in DATA_TYPES or (criterion is not None and not isinstance(criterion, dict)):
                self._mode = _NEVER
            elif not criterion:  # None or {}: no criteria
                self._mode = _ANY_VALUE
            else:
                self._mode = _NEVER if validate_criterion(criterion, data_type) else _NODE
                if self._mode == _NODE:
                    self._simple = _simple_leaf(criterion, data_type)
        except Exception:  # pragma: no cover - defensive, like evaluate
            self._mode = _NEVER

    def evaluate(self, value: Any, *, has_value: bool = True, now: Any = None) -> bool:
        """See :func:`evaluate`. Never raises."""
        if not has_value or self._mode == _NEVER:
            return False
        if self._mode == _ANY_VALUE:
            return True
        if self._simple is not None:
            return self._simple(value)
        try:
            if isinstance(now, datetime):
                if now.tzinfo is None or now.utcoffset() is None:
                    now = now.replace(tzinfo=UTC)
            else:
                now = datetime.now(UTC)
            return bool(_eval_node(self.criterion, self.data_type, value, now))
        except Exception:
            return False


def _simple_leaf(node: dict, dt: str):
    """For the commonest valid leaves (a NUMBER compared with a number, a BOOLEAN equal to true or
    false, without a path), a function of the value that gives what _eval_leaf gives, without its
    general walk: catalogs are mostly made of these, and a batch evaluates thousands. None otherwise.
    """
    op = node.get("op")
    if "path" in node or "value" not in node:
        return None
    expected = node["value"]
    if dt == "NUMBER" and op in _NUMBER_COMPARE:
        compare = _NUMBER_COMPARE[op]
        return lambda value: _is_finite_number(value) and compare(value, expected)
    if dt == "NUMBER" and op in ("eq", "ne"):
        equal = op == "eq"
        return lambda value: _is_finite_number(value) and (value == expected) is equal
    if dt == "BOOLEAN" and op == "eq":
        return lambda value: isinstance(value, bool) and value is expected
    return None


def _eval_node(node: dict, dt: str, value: Any, now: datetime) -> bool:
    # The criterion is valid here (checked by evaluate), so the structure can be trusted.
    if "all" in node:
        return all(_eval_node(child, dt, value, now) for child in node["all"])
    if "any" in node:
        return any(_eval_node(child, dt, value, now) for child in node["any"])
    if "not" in node:
        return not _eval_node(node["not"], dt, value, now)
    try:
        return bool(_eval_leaf(node, dt, value, now))
    except Exception:  # a value that cannot be compared does not meet the leaf
        return False


_MISSING = object()


def _resolve(value: Any, path: str) -> Any:
    current = value
    for segment in path.split("."):
        if isinstance(current, dict):
            current = current.get(segment, _MISSING)
        elif isinstance(current, list) and segment.isascii() and segment.isdigit():
            index = int(segment)
            current = current[index] if index < len(current) else _MISSING
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def _type_fits(dt: str, target: Any) -> bool:
    if dt == "BOOLEAN":
        return isinstance(target, bool)
    if dt == "NUMBER":
        return _is_number(target)
    if dt == "STRING":
        return isinstance(target, str)
    if dt == "TIMESTAMP":
        return isinstance(target, (str, date))
    return True  # JSON: the op decides by the target's own type


def _eval_leaf(node: dict, dt: str, value: Any, now: datetime) -> bool:
    op = node["op"]
    target = _resolve(value, node["path"]) if "path" in node else value
    if target is _MISSING or target is None:
        return False
    if op == "exists":
        return True
    if not _type_fits(dt, target):
        return False
    expected = node["value"]
    case_sensitive = node.get("caseSensitive", True) is not False

    if isinstance(target, list):
        if op == "contains":
            return any(_json_equal(item, expected, case_sensitive) for item in target)
        return False
    if isinstance(target, dict):
        return False
    if op == "eq":
        return _scalar_equal(target, expected, case_sensitive) is True
    if op == "ne":
        return _scalar_equal(target, expected, case_sensitive) is False
    if op == "in":
        return any(_scalar_equal(target, item, case_sensitive) is True for item in expected)
    if isinstance(target, bool):
        return False  # booleans take eq, ne, in only
    if _is_number(target):
        if not _is_finite_number(target):
            return False
        if op in _NUMBER_COMPARE:
            return _NUMBER_COMPARE[op](target, expected)
        if op == "between":
            return expected[0] <= target <= expected[1]
        return False
    if isinstance(target, str):
        if op == "contains":
            if not isinstance(expected, str):
                return False
            if case_sensitive:
                return expected in target
            return expected.casefold() in target.casefold()
        if op == "regex":
            if len(target) > MAX_REGEX_SUBJECT_LENGTH:
                return False
            return _compile_regex(expected, case_sensitive).search(target) is not None
    if op in ("before", "after", "within_days"):
        moment = _parse_timestamp(target)
        if moment is None:
            return False
        if op == "within_days":
            if moment > now + CLOCK_SKEW_TOLERANCE:
                return False  # a future timestamp would otherwise stay "recent" for ever
            try:
                cutoff = now - timedelta(days=expected)
            except OverflowError:
                return True  # more days than the calendar holds: every past timestamp is within
            return moment >= cutoff
        reference = _parse_timestamp(expected)
        if reference is None:
            return False
        return moment < reference if op == "before" else moment > reference
    return False


def _scalar_equal(a: Any, b: Any, case_sensitive: bool) -> bool | None:
    """Equality of two scalars of the same JSON type; None when they cannot be compared."""
    if isinstance(a, bool) or isinstance(b, bool):
        return (a is b) if isinstance(a, bool) and isinstance(b, bool) else None
    if _is_number(a) and _is_number(b):
        if not (_is_finite_number(a) and _is_finite_number(b)):
            return None
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b if case_sensitive else a.casefold() == b.casefold()
    return None


def _json_equal(a: Any, b: Any, case_sensitive: bool, depth: int = 0) -> bool:
    """JSON equality (booleans are not numbers); caseSensitive applies to strings."""
    if depth > 64:
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y, case_sensitive, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k], case_sensitive, depth + 1) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return _scalar_equal(a, b, case_sensitive) is True


# --------------------------------------------------------------------------------------------------
# human sentences

_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def _dump(v: Any) -> str:
    try:
        return json.dumps(v, ensure_ascii=False, sort_keys=True, default=repr)
    except Exception:
        try:
            return repr(v)
        except Exception:  # pragma: no cover
            return "?"


def _fmt(v: Any) -> str:
    """A criterion value as shown in sentences: numbers plain (7.0 -> 7), strings quoted, JSON otherwise."""
    if _is_finite_number(v) and not isinstance(v, int):
        f = float(v)
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f) if isinstance(v, float) else str(v)
    return _dump(v)


def describe(criterion: Any, attribute_name: Any, data_type: str) -> str:
    """A short human sentence, e.g. ``active_users ≥ 100``, ``all of (a is true; b within 7 days)``."""
    try:
        name = str(attribute_name)
    except Exception:  # pragma: no cover
        name = "attribute"
    try:
        if criterion is None or (isinstance(criterion, dict) and not criterion):
            return f"{name} has any value"
        return _describe_node(criterion, name, 0)
    except Exception:
        return f"{name}: {_short(_dump(criterion), 200)}"


def _describe_node(node: Any, name: str, depth: int) -> str:
    odd = f"{name}: {_short(_dump(node), 200)}"
    if depth > MAX_DEPTH or not isinstance(node, dict):
        return odd
    if len(node) == 1 and ("all" in node or "any" in node):
        key = "all" if "all" in node else "any"
        children = node[key]
        if not isinstance(children, list):
            return odd
        return f"{key} of ({'; '.join(_describe_node(c, name, depth + 1) for c in children)})"
    if len(node) == 1 and "not" in node:
        return f"not ({_describe_node(node['not'], name, depth + 1)})"
    return _describe_leaf(node, name) or odd


def _describe_leaf(node: dict, name: str) -> str | None:
    op = node.get("op")
    if not isinstance(op, str) or op not in ALL_OPS or any(k not in LEAF_KEYS for k in node):
        return None
    path = node.get("path")
    subject = f"{name}.{path}" if isinstance(path, str) and path else name
    suffix = " (ignoring case)" if node.get("caseSensitive") is False else ""
    if op == "exists":
        return f"{subject} has a value"
    if "value" not in node:
        return None
    v = node["value"]
    if op in ("eq", "ne") and isinstance(v, bool):
        return f"{subject} is {'' if op == 'eq' else 'not '}{'true' if v else 'false'}"
    if op in _SYMBOLS:
        return f"{subject} {_SYMBOLS[op]} {_fmt(v)}{suffix}"
    if op == "between":
        if isinstance(v, list) and len(v) == 2:
            return f"{subject} between {_fmt(v[0])} and {_fmt(v[1])}"
        return None
    if op == "contains":
        return f"{subject} contains {_fmt(v)}{suffix}"
    if op == "regex":
        return f"{subject} matches /{v}/{suffix}" if isinstance(v, str) else None
    if op == "in":
        if isinstance(v, list):
            return f"{subject} is one of {', '.join(_fmt(x) for x in v) or '(nothing)'}{suffix}"
        return None
    if op in ("before", "after"):
        return f"{subject} {op} {v if isinstance(v, str) else _fmt(v)}"
    if op == "within_days":
        return f"{subject} within {_fmt(v)} {'day' if v == 1 else 'days'}"
    return None  # pragma: no cover
