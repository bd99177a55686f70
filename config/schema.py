"""The root GraphQL schema: every app contributes its queries and mutations. The printed SDL is
committed as schema.graphql; regenerate it with
`python manage.py graphql_schema --out schema.graphql` (a test fails when the two differ)."""

import graphene

from adoption.job_schema import JobMutation, JobQuery
from adoption.schema import AdoptionMutation, AdoptionQuery, CatalogMutation
from customers.schema import CustomerMutation, CustomerQuery
from telemetry.schema import TelemetryCatalogMutation, TelemetryMutation


class Query(JobQuery, CustomerQuery, AdoptionQuery, graphene.ObjectType):
    """Reads: customers, the catalog, adoption plans and their tasks, background jobs. Everything is
    limited to what the signed-in user may see; an object you may not see answers NOT_FOUND, like a
    missing one."""


class Mutation(
    JobMutation,
    CustomerMutation,
    AdoptionMutation,
    TelemetryMutation,
    CatalogMutation,
    TelemetryCatalogMutation,
    graphene.ObjectType,
):
    """Writes. A document runs in one transaction: if any of its fields fails, nothing of it is kept."""


schema = graphene.Schema(query=Query, mutation=Mutation)
