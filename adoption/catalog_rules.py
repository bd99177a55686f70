"""The catalog's field rules, one set for both ways into the catalog: the item-by-item services
(adoption.catalog: GraphQL, pages, admin), which stop at the first problem, and catalog files
(adoption.catalog_io), which report every problem with its location.

Each rule takes a raw value and returns it cleaned, or raises RuleViolation. A violation's ``path`` is
relative to the field (``[2]`` for the third URL, ``all[1].value`` inside a criterion); callers put the
field's own name or location in front.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from adoption.choices import DataType, LicenseLevel
from adoption.models import WEIGHT_MAX
from config import text as text_rules
from telemetry.criteria import CriteriaValidationError, check_criterion

MAX_INT = 2**31 - 1  # integer columns
MAX_URLS = 50
RELEASE_LEVEL_MAX = Decimal("9999999.999")  # DecimalField(max_digits=10, decimal_places=3)
NAME_MAX = text_rules.NAME_MAX  # products, outcomes, tasks
SHORT_NAME_MAX = text_rules.SHORT_NAME_MAX  # releases, telemetry attributes
TEXT_MAX = text_rules.DESCRIPTION_MAX  # descriptions, a task's notes
CRITERIA_MAX_BYTES = text_rules.JSON_VALUE_MAX_BYTES
PRIORITY_MAX = 30
_url_validator = URLValidator(schemes=["http", "https"])


class RuleViolation(ValueError):
    """One or more problems with one field: ``problems`` is a list of (relative path, message)."""

    def __init__(self, message: str, path: str = "", *, problems: list[tuple[str, str]] | None = None):
        self.problems = problems or [(path, message)]
        self.path, self.message = self.problems[0]
        super().__init__(self.message)


def describe(value: Any) -> str:
    """A received value in words, for messages: ``string 'many'``, ``number 1.5``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float | Decimal):
        return f"number {value!r}" if not isinstance(value, Decimal) else f"number {value}"
    if isinstance(value, str):
        return f"string {value[:40]!r}" + ("…" if len(value) > 40 else "")
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def name(value: Any, *, max_length: int = NAME_MAX) -> str:
    """A required name, without surrounding blanks."""
    if not isinstance(value, str):
        raise RuleViolation(f"must be a string, got {describe(value)}")
    value = value.strip()
    if not value:
        raise RuleViolation("must not be empty")
    if problem := text_rules.text_problem(value, max_length=max_length):
        raise RuleViolation(problem)
    return value


def text(value: Any, *, max_length: int = TEXT_MAX) -> str:
    """Optional free text: null is empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleViolation(f"must be a string, got {describe(value)}")
    if problem := text_rules.text_problem(value, max_length=max_length):
        raise RuleViolation(problem)
    return value


def integer(value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(f"must be an integer, got {describe(value)}")
    if value < minimum:
        raise RuleViolation(f"must be {minimum} or more, got {value}")
    if value > MAX_INT:
        raise RuleViolation(f"must be at most {MAX_INT}, got {value}")
    return value


def order(value: Any) -> int:
    """A sort key: any integer of the column's range, negative ones too."""
    return integer(value, minimum=-MAX_INT)


def decimal(value: Any, *, maximum: Decimal, places: int, minimum: Decimal = Decimal(0), text_ok: bool = False):
    """A number in [minimum, maximum] with at most ``places`` decimals, as Decimal (through str, so 0.1
    stays 0.1). Numeric strings count only where ``text_ok`` (form and API input, not files)."""
    allowed = (int, float, Decimal, str) if text_ok else (int, float, Decimal)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise RuleViolation(f"must be a number, got {describe(value)}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleViolation(f"must be a number, got {describe(value)}") from None
    if not number.is_finite():
        raise RuleViolation(f"must be a finite number, got {describe(value)}")
    if number < minimum or number > maximum:
        raise RuleViolation(f"must be between {minimum} and {maximum}, got {value}")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise RuleViolation(f"has more than {places} decimal places: {value}")
    return number


def weight(value: Any, *, text_ok: bool = False) -> Decimal:
    return decimal(value, maximum=WEIGHT_MAX, places=2, text_ok=text_ok)


def release_level(value: Any, *, text_ok: bool = False) -> Decimal:
    return decimal(value, maximum=RELEASE_LEVEL_MAX, places=3, text_ok=text_ok)


def license_level(value: Any) -> LicenseLevel:
    """A license level by name (``ADVANTAGE``, any case) or number 1..3."""
    value = getattr(value, "value", value)
    if isinstance(value, int) and not isinstance(value, bool) and value in LicenseLevel.values:
        return LicenseLevel(value)
    if isinstance(value, str):
        try:
            return LicenseLevel.from_name(value)
        except ValueError:
            pass
    raise RuleViolation(f"unknown license level {value!r}; expected one of {', '.join(LicenseLevel.names)}")


def data_type(value: Any) -> str:
    value = getattr(value, "value", value)
    if value not in DataType.values:
        raise RuleViolation(f"unknown data type {value!r}; expected one of {', '.join(DataType.values)}")
    return value


def url(value: Any) -> str:
    if not isinstance(value, str):
        raise RuleViolation(f"must be a URL string, got {describe(value)}")
    value = value.strip()
    if problem := text_rules.character_problem(value):
        raise RuleViolation(problem)
    try:
        _url_validator(value)
    except ValidationError:
        raise RuleViolation(f"is not a valid http(s) URL: {value[:80]!r}") from None
    return value


def urls(values: Any) -> list[str]:
    """A list of http(s) URLs; null is none. Every bad entry is reported with its index."""
    if values is None:
        return []
    if not isinstance(values, list | tuple):
        raise RuleViolation(f"must be a list of URLs, got {describe(values)}")
    if len(values) > MAX_URLS:
        raise RuleViolation(f"at most {MAX_URLS} URLs, got {len(values)}")
    cleaned, problems = [], []
    for index, value in enumerate(values):
        try:
            cleaned.append(url(value))
        except RuleViolation as exc:
            problems.append((f"[{index}]", exc.message))
    if problems:
        raise RuleViolation("", problems=problems)
    return cleaned


def success_criteria(value: Any, data_type_value: str) -> dict:
    """A criterion valid for the data type, normalized (null is ``{}``); every problem with its path.
    Its strings and keys follow the text rules, and it is at most CRITERIA_MAX_BYTES as JSON."""
    if problem := text_rules.json_problem(value, max_bytes=CRITERIA_MAX_BYTES):
        raise RuleViolation(problem)
    try:
        return check_criterion(value, data_type_value)
    except CriteriaValidationError as exc:
        problems = [(error.path, error.message) for error in exc.errors] or [("", "invalid criterion")]
        raise RuleViolation("", problems=problems) from None


def joined(field: str, path: str) -> str:
    """``howToDoc`` + ``[2]`` -> ``howToDoc[2]``; ``successCriteria`` + ``all[1].value`` -> with a dot."""
    if not path:
        return field
    return f"{field}{path}" if path.startswith("[") else f"{field}.{path}"
