"""Field helpers every schema module uses: timestamps as ISO 8601 strings, optional strings as null
when empty, caps on list arguments, and domain errors named after the GraphQL argument."""

from collections.abc import Callable
from contextlib import contextmanager

import graphene

from config.errors import DomainError, NotFound, ValidationFailed
from config.graphql.execution import plain_resolver

# Caps on list arguments, so that no single request can ask for unbounded work.
MAX_TELEMETRY_VALUES = 5000
MAX_TASK_IDS = 5000
MAX_LINK_IDS = 500


def iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def timestamp(attr: str, *, required: bool = False, **kwargs) -> graphene.String:
    """An ISO 8601 string read from a datetime attribute."""

    return graphene.String(required=required, resolver=plain_resolver(attr, iso), **kwargs)


def optional_string(attr: str, **kwargs) -> graphene.String:
    """A nullable string: the stored text, or null when it is empty."""

    return graphene.String(resolver=plain_resolver(attr, _or_none), **kwargs)


def _or_none(value):
    return value or None


def user_of(info):
    return info.context.user


def check_count(items, *, limit: int, field: str) -> None:
    if items is not None and len(items) > limit:
        raise ValidationFailed(f"at most {limit} items are accepted, got {len(items)}", field=field)


@contextmanager
def fields_renamed(mapping: dict[str, str] | None = None, *, default: str | None = None):
    """Name domain errors after the GraphQL argument: services speak of ``customerTaskIds`` where the
    API says ``taskIds``; lookups name no field, the input field that held the id does."""
    try:
        yield
    except DomainError as exc:
        if exc.field and mapping and exc.field in mapping:
            exc.field = mapping[exc.field]
        elif not exc.field and default and isinstance(exc, NotFound):
            exc.field = default
        raise


def find(lookup: Callable, *args, field: str, **kwargs):
    """A permission lookup (``get_x_for_user``, ``catalog_x_get``) whose NOT_FOUND names the argument
    that held the id."""
    with fields_renamed(default=field):
        return lookup(*args, **kwargs)
