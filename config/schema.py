"""The root GraphQL schema: every app contributes its queries and mutations (strategy section 4,
SPEC 9, issue 5). The printed SDL is committed as schema.graphql; regenerate it with
`python manage.py graphql_schema --out schema.graphql` (a test fails when the two differ)."""

import graphene

from adoption.schema import AdoptionMutation, AdoptionQuery, CatalogMutation
from customers.schema import CustomerMutation, CustomerQuery
from telemetry.schema import TelemetryCatalogMutation, TelemetryMutation


class Query(CustomerQuery, AdoptionQuery, graphene.ObjectType):
    pass


class Mutation(
    CustomerMutation,
    AdoptionMutation,
    TelemetryMutation,
    CatalogMutation,
    TelemetryCatalogMutation,
    graphene.ObjectType,
):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
