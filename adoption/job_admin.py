"""Admin for background jobs: the Job list (read-only, each user their own, admins all) and the
"sync every plan" action on products, whose message links to the job's page."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from adoption.jobs import product_plans_sync_enqueue
from adoption.models import Job
from adoption.permissions import can_sync_product_plans, can_view_jobs, jobs_visible_to
from config.changelists import CappedCountAdminMixin


class ProductPlansSyncAdminMixin:
    """For ProductAdmin: sync every plan of the selected products, one background job each."""

    def has_sync_plans_permission(self, request):
        return can_sync_product_plans(request.user)

    @admin.action(description="Sync every plan of the selected products (background job)", permissions=["sync_plans"])
    def sync_all_plans(self, request, queryset):
        for product in queryset.filter(is_active=True):
            job = product_plans_sync_enqueue(actor=request.user, product=product)
            self.message_user(
                request,
                format_html(
                    'Syncing every plan of {} as job {}: <a href="{}">follow its progress</a>.',
                    product.name,
                    job.pk,
                    reverse("job-detail", args=[job.pk]),
                ),
                messages.SUCCESS,
            )
        inactive = queryset.filter(is_active=False).count()
        if inactive:
            self.message_user(request, f"Skipped {inactive} deactivated product(s).", messages.WARNING)


@admin.register(Job)
class JobAdmin(CappedCountAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "started_by", "created_at", "finished_at", "page_link"]
    list_filter = ["status", "kind"]
    list_select_related = ["started_by"]
    search_fields = ["message", "error"]
    fields = [
        "kind",
        "status",
        ("done", "total"),
        "message",
        "error",
        "attempts",
        "started_by",
        "params",
        "result",
        "created_at",
        "started_at",
        "finished_at",
        "page_link",
    ]
    readonly_fields = [name for entry in fields for name in (entry if isinstance(entry, tuple) else (entry,))]

    def has_module_permission(self, request):
        return can_view_jobs(request.user)

    # Jobs are written by their runners only: nobody adds, changes or deletes them here.
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return can_view_jobs(request.user)

    def get_queryset(self, request):
        return jobs_visible_to(request.user).defer("input_file")

    @admin.display(description="progress")
    def progress(self, obj):
        if not obj.total:
            return "-"
        return f"{obj.done} / {obj.total} ({obj.percentage} %)"

    @admin.display(description="page")
    def page_link(self, obj):
        return format_html('<a href="{}">follow</a>', reverse("job-detail", args=[obj.pk]))
