"""Weighted progress, in Decimal, rounded half up to 2 decimals."""

from decimal import ROUND_HALF_UP, Decimal

TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal("100")


def to_decimal(value) -> Decimal:
    """Aggregates come back as float on SQLite: go through str so 0.1 stays 0.1."""
    if value is None:
        return Decimal("0")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def round2(value: Decimal) -> Decimal:
    return to_decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def percentage(part, whole) -> Decimal:
    part, whole = to_decimal(part), to_decimal(whole)
    if whole <= 0:
        return Decimal("0.00")
    return round2(part / whole * HUNDRED)
