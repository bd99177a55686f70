"""Input parsing shared by the adoption services: license levels, statuses, id lists, catalog selections."""

from collections.abc import Iterable

from adoption.choices import LicenseLevel, TaskStatus
from adoption.models import Product
from config.errors import ValidationFailed


def parse_license_level(value) -> LicenseLevel:
    """LicenseLevel, 1..3 or a name such as "ADVANTAGE"; anything else is VALIDATION_ERROR on licenseLevel."""
    if isinstance(value, LicenseLevel):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value in LicenseLevel.values:
            return LicenseLevel(value)
    elif isinstance(value, str):
        try:
            return LicenseLevel.from_name(value)
        except ValueError:
            pass
    raise ValidationFailed(
        f"unknown license level {value!r}; expected one of {', '.join(LicenseLevel.names)}", field="licenseLevel"
    )


def parse_task_status(value) -> TaskStatus:
    """A status name such as "DONE" (any case); anything else is VALIDATION_ERROR on status."""
    if isinstance(value, TaskStatus):
        return value
    if isinstance(value, str) and value.strip().upper() in TaskStatus.values:
        return TaskStatus(value.strip().upper())
    raise ValidationFailed(f"unknown status {value!r}; expected one of {', '.join(TaskStatus.values)}", field="status")


def parse_ids(values, *, field_name: str, label: str) -> tuple[list[int], list[str]]:
    """Distinct positive integer ids in input order, and the malformed inputs as given."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationFailed(f"{label} ids must be a list", field=field_name)
    ids, bad = [], []
    for value in values:
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            bad.append(str(value))
            continue
        if number <= 0 or number > 2**63 - 1:
            bad.append(str(value))
        elif number not in ids:
            ids.append(number)
    return ids, bad


def catalog_selection(model, values, *, product: Product, field_name: str, label: str) -> list[int]:
    """Validate selected outcome/release ids: each must be an active item of this product."""
    if values is None:
        return []
    ids, bad = parse_ids(values, field_name=field_name, label=label)
    found = set(model.objects.filter(pk__in=ids, product=product, is_active=True).values_list("pk", flat=True))
    bad += [str(pk) for pk in ids if pk not in found]
    if bad:
        raise ValidationFailed(
            f"{label}s {', '.join(bad)} are not active {label}s of product {product.name!r}",
            field=field_name,
            details={"invalidIds": bad},
        )
    return sorted(ids)
