from django.urls import path

from customers import views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/new/", views.customer_create, name="customer-create"),
    path("customers/<str:customer_id>/", views.customer_detail, name="customer-detail"),
    path("customers/<str:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("customers/<str:customer_id>/delete/", views.customer_delete, name="customer-delete"),
    path("customers/<str:customer_id>/products/new/", views.customer_assign, name="customer-assign"),
    path(
        "customers/<str:customer_id>/products/<str:assignment_id>/edit/",
        views.assignment_edit,
        name="assignment-edit",
    ),
    path(
        "customers/<str:customer_id>/products/<str:assignment_id>/remove/",
        views.assignment_remove,
        name="assignment-remove",
    ),
]
