from django.urls import path

from adoption import views

urlpatterns = [
    path("plans/<int:plan_id>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/sync/", views.plan_sync, name="plan-sync"),
    path("plans/<int:plan_id>/evaluate/", views.plan_evaluate, name="plan-evaluate"),
    path("plans/<int:plan_id>/tasks/status/", views.plan_bulk_status, name="plan-bulk-status"),
    path("plans/<int:plan_id>/tasks/<int:task_id>/", views.task_detail, name="task-detail"),
    path("plans/<int:plan_id>/tasks/<int:task_id>/status/", views.task_status, name="task-status"),
    path("plans/<int:plan_id>/tasks/<int:task_id>/evaluate/", views.task_evaluate, name="task-evaluate"),
    path("plans/<int:plan_id>/tasks/<int:task_id>/hand-back/", views.task_hand_back, name="task-hand-back"),
    path(
        "plans/<int:plan_id>/tasks/<int:task_id>/attributes/<int:attribute_id>/values/",
        views.task_value_add,
        name="task-value-add",
    ),
]
