"""Customer pages: sign in/out, the user's home, the customer list and a customer's page.

Views stay thin: authorize through customers.permissions, read through selectors, write through
services, and render a page or, for htmx requests, one of its named partials.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from customers.permissions import customers_visible_to


class LoginView(auth_views.LoginView):
    template_name = "auth/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


@login_required
def home(request):
    customers = customers_visible_to(request.user).order_by("name")[:100]
    return render(request, "customers/home.html", {"customers": customers, "nav_section": "home"})


@login_required
def customer_list(request):
    customers = customers_visible_to(request.user).order_by("name")[:100]
    return render(request, "customers/list.html", {"customers": customers, "nav_section": "customers"})
