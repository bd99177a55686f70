"""Customer-system API, mounted under /api/v1/ (config/urls.py)."""

from django.urls import path

from telemetry.api import telemetry_ingest_view

app_name = "telemetry_api"

urlpatterns = [
    path("telemetry", telemetry_ingest_view, name="ingest"),
    path("telemetry/", telemetry_ingest_view),
]
