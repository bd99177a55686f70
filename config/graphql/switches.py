"""What the GraphQL endpoint allows, from settings first and the environment second: nesting depth,
introspection and GraphiQL."""

from django.conf import settings

from config.env import env_bool

DEFAULT_MAX_DEPTH = 10


def max_query_depth() -> int:
    return int(getattr(settings, "GRAPHQL_MAX_DEPTH", DEFAULT_MAX_DEPTH))


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
