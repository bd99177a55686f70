from django.contrib import admin
from django.urls import include, path

from config.graphql.view import AdoptionGraphQLView
from customers.tokens import user_for_token

# The root URL configuration is an interface module: it wires the plumbing to the apps (bearer tokens
# are personal access tokens of the customers app).
graphql_view = AdoptionGraphQLView.as_view(authenticate_token=user_for_token)

admin.site.site_header = "Adoption planner administration"
admin.site.site_title = "Adoption planner"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", graphql_view, name="graphql"),
    path("api/v1/", include("telemetry.urls")),
    path("", include("adoption.job_urls")),
    path("", include("adoption.urls")),
    path("", include("customers.urls")),
]
