from django.urls import path  # noqa: F401  (plan pages are added here)

urlpatterns = []
