"""Plan pages: the plan dashboard, status changes, the task drawer, sync.

Views stay thin: authorize through the permission modules, read through selectors, write through
services, and render a page or, for htmx requests, one of its named partials.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from adoption.permissions import get_plan_for_user


@login_required
def plan_detail(request, plan_id: int):
    plan = get_plan_for_user(request.user, plan_id)
    return render(request, "plans/dashboard.html", {"plan": plan, "nav_section": "customers"})
