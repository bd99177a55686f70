"""GraphQL plumbing shared by every app's schema module. It imports no app: the kernel's GraphQL part.

- ``scalars``: one ``JSON`` scalar (objects in, objects out), enum inputs, ``DeleteResult``;
- ``fields``: timestamps as ISO 8601 strings, optional strings as null when empty, list caps, errors
  named after the GraphQL argument;
- ``pagination``: ``first`` / ``offset`` / ``search`` on lists that grow with the portfolio;
- ``prefetch``: selection-driven prefetching, so nested lists resolve without N+1 queries;
- ``switches``: depth and cost limits, introspection and GraphiQL, from settings or the environment;
- ``validation``: depth limit and introspection rules;
- ``cost``: aliases, field selections and query cost of a document, counted before it runs;
- ``errors``: masking, only domain errors reach the client with their text;
- ``documents``: documents that passed validation, kept by their text (parsed and validated once);
- ``execution``: graphql-core's executor with plain scalar fields read in place (no per-field
  bookkeeping for the thousands of leaves of a whole plan), same results and errors;
- ``view``: the endpoint (imported by the URL configuration only, which passes in token authentication).

Schema modules import the names below from ``config.graphql``.
"""

from config.graphql.fields import (
    MAX_LINK_IDS,
    MAX_TASK_IDS,
    MAX_TELEMETRY_VALUES,
    check_count,
    fields_renamed,
    find,
    iso,
    optional_string,
    timestamp,
    user_of,
)
from config.graphql.pagination import MAX_PAGE_SIZE, page_arguments, paginate, search_text
from config.graphql.prefetch import (
    Relation,
    load,
    load_many,
    optimize,
    prefetch_for,
    register_needs,
    register_relation,
    related,
    related_list,
    related_object,
)
from config.graphql.scalars import JSON, DeleteResult, enum_value
from config.graphql.switches import graphiql_enabled, introspection_allowed

__all__ = [
    "JSON",
    "MAX_LINK_IDS",
    "MAX_PAGE_SIZE",
    "MAX_TASK_IDS",
    "MAX_TELEMETRY_VALUES",
    "DeleteResult",
    "Relation",
    "check_count",
    "enum_value",
    "fields_renamed",
    "find",
    "graphiql_enabled",
    "introspection_allowed",
    "iso",
    "load",
    "load_many",
    "optimize",
    "optional_string",
    "page_arguments",
    "paginate",
    "prefetch_for",
    "register_needs",
    "register_relation",
    "related",
    "related_list",
    "related_object",
    "search_text",
    "timestamp",
    "user_of",
]
