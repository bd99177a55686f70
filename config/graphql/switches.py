"""What the GraphQL endpoint allows, from settings first and the environment second: nesting depth,
query cost limits, introspection and GraphiQL."""

from django.conf import settings

from config.env import env_bool
from config.graphql.cost import QueryLimits

DEFAULT_MAX_DEPTH = 10
# Cost limits of one document, for every role. The documented example operations stay far below
# them (the largest selects under 100 fields and costs about 7,000); five nested lists with a
# couple of fields each (customers > products > plan > tasks > attributes > values) still run.
DEFAULT_MAX_ALIASES = 100
DEFAULT_MAX_FIELDS = 1_000
DEFAULT_MAX_COST = 250_000
DEFAULT_LIST_FACTOR = 10


def max_query_depth() -> int:
    return int(getattr(settings, "GRAPHQL_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def query_limits():
    """Aliases, field selections and cost one document may have (settings GRAPHQL_MAX_ALIASES,
    GRAPHQL_MAX_FIELDS, GRAPHQL_MAX_COST; GRAPHQL_LIST_FACTOR is what a list field multiplies by)."""
    return QueryLimits(
        max_aliases=int(getattr(settings, "GRAPHQL_MAX_ALIASES", DEFAULT_MAX_ALIASES)),
        max_fields=int(getattr(settings, "GRAPHQL_MAX_FIELDS", DEFAULT_MAX_FIELDS)),
        max_cost=int(getattr(settings, "GRAPHQL_MAX_COST", DEFAULT_MAX_COST)),
        list_factor=int(getattr(settings, "GRAPHQL_LIST_FACTOR", DEFAULT_LIST_FACTOR)),
    )


def introspection_allowed() -> bool:
    """On outside production mode; in production only when GRAPHQL_INTROSPECTION says so."""
    explicit = getattr(settings, "GRAPHQL_INTROSPECTION", None)
    if explicit is not None:
        return bool(explicit)
    return env_bool("GRAPHQL_INTROSPECTION", not getattr(settings, "PRODUCTION", False))


def graphiql_enabled() -> bool:
    """With DEBUG, or when the GRAPHIQL_ENABLED setting (else environment variable) says so."""
    if settings.DEBUG:
        return True
    explicit = getattr(settings, "GRAPHIQL_ENABLED", None)
    return bool(explicit) if explicit is not None else env_bool("GRAPHIQL_ENABLED", False)
