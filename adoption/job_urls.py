from django.urls import path

from adoption import job_views

urlpatterns = [
    path("jobs/<int:job_id>/", job_views.job_detail, name="job-detail"),
]
