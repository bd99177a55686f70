from django.urls import path

from adoption import views

urlpatterns = [
    path("plans/<int:plan_id>/", views.plan_detail, name="plan-detail"),
]
