from django.urls import path

from adoption import views

urlpatterns = [
    path("plans/<int:plan_id>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/sync/", views.plan_sync, name="plan-sync"),
    path("plans/<int:plan_id>/evaluate/", views.plan_evaluate, name="plan-evaluate"),
    path("plans/<int:plan_id>/tasks/status/", views.plan_bulk_status, name="plan-bulk-status"),
    path("plans/<int:plan_id>/tasks/<int:task_id>/status/", views.task_status, name="task-status"),
]
