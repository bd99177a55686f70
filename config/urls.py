from django.contrib import admin
from django.urls import path

admin.site.site_header = "Adoption planner administration"
admin.site.site_title = "Adoption planner"

urlpatterns = [
    path("admin/", admin.site.urls),
]
