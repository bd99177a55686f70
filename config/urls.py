from django.contrib import admin
from django.urls import include, path

from config.graphql import graphql_view

admin.site.site_header = "Adoption planner administration"
admin.site.site_title = "Adoption planner"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", graphql_view, name="graphql"),
    path("api/v1/", include("telemetry.urls")),
    path("", include("adoption.urls")),
    path("", include("customers.urls")),
]
