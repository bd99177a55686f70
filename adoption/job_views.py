"""The page that follows a background job: /jobs/<id>/ (htmx polls its status block every 2 s)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from adoption.permissions import get_job_for_user


@require_safe
@login_required
def job_detail(request, job_id: int):
    job = get_job_for_user(request.user, job_id)
    template = "jobs/detail.html#job-status" if request.htmx else "jobs/detail.html"
    return render(request, template, {"job": job})
