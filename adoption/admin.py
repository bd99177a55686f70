"""Django admin for the catalog (products, outcomes, releases, tasks, telemetry attributes) and for
adoption plans, customer tasks and their status history.

Catalog: ADMINs and CATALOG_EDITORs edit it; CSMs and VIEWERs may look (autocomplete in the
assignment form needs that). Catalog deletes are soft: the delete action and the delete
page deactivate (is_active=False) instead, because plans keep snapshots that point at catalog tasks
(CustomerTask.original_task is PROTECT). Every catalog write here (forms, inline rows, deactivate
and reactivate) goes through adoption.catalog, which records the product's catalog_changed_at
(needsSync) and an audit entry, exactly as GraphQL does.

Plans, customer tasks and history belong to customers: scoped by customers.permissions; a status
change made here goes through adoption.services.customer_task_update_status (history, totals, audit).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from adoption import catalog
from adoption.job_admin import ProductPlansSyncAdminMixin
from adoption.models import (
    AdoptionPlan,
    CustomerTask,
    CustomerTaskOutcome,
    CustomerTaskRelease,
    Outcome,
    Product,
    Release,
    Task,
    TaskStatusChange,
)
from adoption.permissions import (
    can_edit_catalog,
    can_sync_plans,
    can_view_catalog,
    customer_tasks_visible_to,
    plans_visible_to,
    status_history_visible_to,
)
from adoption.services import TASK_SNAPSHOT_FIELDS, adoption_plan_sync, customer_task_update_status
from config.changelists import IndexedValuesFieldListFilter, UnionSearchAdminMixin
from config.errors import Conflict
from customers.admin import (
    CustomerScopedAdminMixin,
    ReadOnlyAdminMixin,
    ServiceErrorsAdminMixin,
    admin_link,
    refresh_saved,
)
from customers.permissions import can_view_customer_data, can_write_customer
from telemetry.criteria import CriteriaValidationError, normalize_criterion
from telemetry.models import CustomerTelemetryAttribute, TelemetryAttribute

# ---------------------------------------------------------------------------------------------
# Catalog writes: every save, inline row, deactivation and reactivation goes through
# adoption.catalog, which records the product's catalog_changed_at (needsSync) and an audit entry.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogWrites:
    noun: str  # the keyword the services take the object by: product=, outcome=, task=, attribute=
    create: Callable
    update: Callable
    delete: Callable
    reactivate: Callable
    parent: str | None = None  # the keyword of the parent on create: product= or task=


CATALOG_WRITES = {
    Product: CatalogWrites(
        "product", catalog.product_create, catalog.product_update, catalog.product_delete, catalog.product_reactivate
    ),
    Outcome: CatalogWrites(
        "outcome",
        catalog.outcome_create,
        catalog.outcome_update,
        catalog.outcome_delete,
        catalog.outcome_reactivate,
        parent="product",
    ),
    Release: CatalogWrites(
        "release",
        catalog.release_create,
        catalog.release_update,
        catalog.release_delete,
        catalog.release_reactivate,
        parent="product",
    ),
    Task: CatalogWrites(
        "task", catalog.task_create, catalog.task_update, catalog.task_delete, catalog.task_reactivate, parent="product"
    ),
    TelemetryAttribute: CatalogWrites(
        "attribute",
        catalog.telemetry_attribute_create,
        catalog.telemetry_attribute_update,
        catalog.telemetry_attribute_delete,
        catalog.telemetry_attribute_reactivate,
        parent="task",
    ),
}

# Form fields whose service argument is spelled differently.
LINK_ARGUMENTS = {"outcomes": "outcome_ids", "releases": "release_ids"}
NOT_ARGUMENTS = {"id", "is_active", "DELETE"}


def _arguments(data: dict, fields) -> dict:
    arguments = {}
    for name in fields:
        if name in NOT_ARGUMENTS or name not in data:
            continue
        value = data[name]
        if name in LINK_ARGUMENTS:
            arguments[LINK_ARGUMENTS[name]] = [item.pk for item in value or []]
        else:
            arguments[name] = value
    return arguments


def catalog_set_active(actor, obj, active: bool) -> None:
    """Deactivate (soft delete) or reactivate through the model's catalog service."""
    writes = CATALOG_WRITES[type(obj)]
    (writes.reactivate if active else writes.delete)(actor=actor, **{writes.noun: obj})


def catalog_save_form(actor, form, *, parent=None):
    """Create or update the catalog item behind a (inline) model form through its service, passing
    only the fields the user changed; returns the saved object (None when nothing changed)."""
    model = form._meta.model
    writes = CATALOG_WRITES[model]
    data = form.cleaned_data
    if form.instance.pk is None:
        if parent is not None:
            arguments = _arguments(data, [name for name in form.fields if name != writes.parent])
            arguments[writes.parent] = parent
        else:
            arguments = _arguments(data, form.fields)
        saved = writes.create(actor=actor, **arguments)
        if data.get("is_active") is False:
            catalog_set_active(actor, saved, False)
        return saved
    changed = [name for name in form.changed_data if name != writes.parent or parent is None]
    if not changed:
        return None
    current = model.objects.get(pk=form.instance.pk)
    arguments = _arguments(data, changed)
    if arguments:
        writes.update(actor=actor, **{writes.noun: current}, **arguments)
    if "is_active" in changed and data["is_active"] != current.is_active:
        catalog_set_active(actor, current, data["is_active"])
    return current


# ---------------------------------------------------------------------------------------------
# Catalog permissions and soft delete
# ---------------------------------------------------------------------------------------------


class CatalogPermissionMixin:
    def has_module_permission(self, request):
        return can_view_catalog(request.user)

    def has_view_permission(self, request, obj=None):
        return can_view_catalog(request.user)

    def has_add_permission(self, request, *args):
        return can_edit_catalog(request.user)

    def has_change_permission(self, request, obj=None):
        return can_edit_catalog(request.user)

    def has_delete_permission(self, request, obj=None):
        # "Delete" here means deactivate; see SoftDeleteAdminMixin.
        return can_edit_catalog(request.user)


class CatalogInline(CatalogPermissionMixin):
    can_delete = False  # deactivate with the is_active box instead
    extra = 0
    show_change_link = True

    def has_delete_permission(self, request, obj=None):
        return False


def set_active_action(*, active: bool, description: str, permission: str):
    """The changelist action that deactivates (active=False) or reactivates the selected catalog items."""

    def action(self, request, queryset):
        self._set_active_selected(request, queryset, active=active)

    action.__name__ = "reactivate_selected" if active else "deactivate_selected"
    return admin.action(description=description, permissions=[permission])(action)


class SoftDeleteAdminMixin(ServiceErrorsAdminMixin, CatalogPermissionMixin):
    """Catalog admin: saves and inline rows through adoption.catalog, and deactivation instead of
    hard deletion, in the changelist action and on the delete page."""

    actions = ["deactivate_selected", "reactivate_selected"]
    # The parent an item belongs to is fixed once created (a task never moves to another product).
    parent_field: str | None = None

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and self.parent_field:
            fields.append(self.parent_field)
        return fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        saved = catalog_save_form(request.user, form)
        if saved is not None:
            refresh_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        # Links (outcomes, releases) were set by the service with the rest of the form.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        if formset.model not in CATALOG_WRITES:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed():
                continue
            adding = inline_form.instance.pk is None
            saved = catalog_save_form(request.user, inline_form, parent=formset.instance)
            if saved is None:
                continue
            if adding:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, inline_form.changed_data))

    def _set_active(self, request, objects, *, active: bool) -> tuple[int, list[str]]:
        """Deactivate (soft delete) or reactivate each object not already so, through its catalog
        service, each in a savepoint: one whose name an active sibling took is skipped and named."""
        done, clashes = 0, []
        for obj in objects:
            if obj.is_active == active:
                continue
            try:
                with transaction.atomic():
                    catalog_set_active(request.user, obj, active)
            except Conflict:
                clashes.append(str(obj))
                continue
            done += 1
        return done, clashes

    def _set_active_selected(self, request, queryset, *, active: bool) -> None:
        done, clashes = self._set_active(request, queryset, active=active)
        verb = "Reactivated" if active else "Deactivated"
        noun = self.opts.verbose_name if done == 1 else self.opts.verbose_name_plural
        self.message_user(request, f"{verb} {done} {noun}.", messages.SUCCESS)
        if clashes:
            self.message_user(
                request,
                f"Not {verb.lower()}, an active one has the same name: {', '.join(clashes)}",
                messages.WARNING,
            )

    deactivate_selected = set_active_action(
        active=False, description="Deactivate selected (soft delete: plans keep their copies)", permission="delete"
    )
    reactivate_selected = set_active_action(active=True, description="Reactivate selected", permission="change")

    def delete_model(self, request, obj):
        self._set_active(request, [obj], active=False)

    def delete_queryset(self, request, queryset):
        self._set_active(request, queryset, active=False)

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST":
            with transaction.atomic():
                self._set_active(request, [obj], active=False)
            self.message_user(
                request, f"{self.opts.verbose_name.capitalize()} “{obj}” was deactivated.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Deactivate {self.opts.verbose_name}",
            "subtitle": str(obj),
            "object": obj,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "change_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/adoption/deactivate_confirmation.html", context)


# ---------------------------------------------------------------------------------------------
# Telemetry attribute definitions (used here as an inline and by telemetry.admin)
# ---------------------------------------------------------------------------------------------


class TelemetryAttributeForm(forms.ModelForm):
    class Meta:
        model = TelemetryAttribute
        fields = ["task", "name", "description", "data_type", "is_required", "success_criteria", "order", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "success_criteria" in self.fields:
            self.fields["success_criteria"].help_text = (
                'When the attribute counts as met, in JSON: {"op": "gte", "value": 100} for a number, '
                '{"op": "eq", "value": true} for a yes/no, {"op": "within_days", "value": 30} for a date, '
                '{"op": "contains", "value": "saml"} for a text; several at once with {"all": [...]} or '
                '{"any": [...]}. {} means any value counts.'
            )

    def clean_success_criteria(self):
        # Null criteria are stored as {}; the model's clean() then validates the rest.
        try:
            return normalize_criterion(self.cleaned_data.get("success_criteria"))
        except CriteriaValidationError as exc:
            raise ValidationError(str(exc)) from None


class TelemetryAttributeInline(CatalogInline, admin.StackedInline):
    model = TelemetryAttribute
    form = TelemetryAttributeForm
    fields = [("name", "data_type", "is_required", "order", "is_active"), "description", "success_criteria"]


# ---------------------------------------------------------------------------------------------
# Products, outcomes, releases, tasks
# ---------------------------------------------------------------------------------------------


class OutcomeInline(CatalogInline, admin.TabularInline):
    model = Outcome
    fields = ["name", "description", "is_active"]


class ReleaseInline(CatalogInline, admin.TabularInline):
    model = Release
    fields = ["name", "level", "description", "is_active"]


class TaskInline(CatalogInline, admin.TabularInline):
    model = Task
    fields = ["sequence_number", "name", "license_level", "weight", "est_minutes", "priority", "is_active"]


@admin.register(Product)
class ProductAdmin(ProductPlansSyncAdminMixin, SoftDeleteAdminMixin, admin.ModelAdmin):
    actions = [*SoftDeleteAdminMixin.actions, "sync_all_plans"]
    list_display = [
        "name",
        "is_active",
        "task_count",
        "outcome_count",
        "release_count",
        "catalog_changed_at",
        "updated_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    # Explicit: a query with aggregates ignores the model's default ordering, and the product
    # picker (autocomplete) paginates this queryset.
    ordering = ["name", "id"]
    readonly_fields = ["catalog_changed_at", "created_at", "updated_at"]
    fields = ["name", "description", "is_active", "catalog_changed_at", "created_at", "updated_at"]
    inlines = [OutcomeInline, ReleaseInline, TaskInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                task_count=Count("tasks", filter=Q(tasks__is_active=True), distinct=True),
                outcome_count=Count("outcomes", filter=Q(outcomes__is_active=True), distinct=True),
                release_count=Count("releases", filter=Q(releases__is_active=True), distinct=True),
            )
        )

    @admin.display(description="active tasks", ordering="task_count")
    def task_count(self, obj):
        return obj.task_count

    @admin.display(description="outcomes", ordering="outcome_count")
    def outcome_count(self, obj):
        return obj.outcome_count

    @admin.display(description="releases", ordering="release_count")
    def release_count(self, obj):
        return obj.release_count


@admin.register(Outcome)
class OutcomeAdmin(SoftDeleteAdminMixin, admin.ModelAdmin):
    parent_field = "product"
    list_display = ["name", "product", "is_active", "updated_at"]
    list_filter = ["is_active", "product"]
    search_fields = ["name", "description", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    fields = ["product", "name", "description", "is_active"]


@admin.register(Release)
class ReleaseAdmin(SoftDeleteAdminMixin, admin.ModelAdmin):
    parent_field = "product"
    list_display = ["name", "product", "level", "is_active", "updated_at"]
    list_filter = ["is_active", "product"]
    search_fields = ["name", "description", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    fields = ["product", "name", "level", "description", "is_active"]


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = [
            "product",
            "name",
            "description",
            "license_level",
            "sequence_number",
            "est_minutes",
            "weight",
            "priority",
            "how_to_doc",
            "how_to_video",
            "notes",
            "outcomes",
            "releases",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        product_id = self.instance.product_id if self.instance.pk else None
        for name, model in (("outcomes", Outcome), ("releases", Release)):
            if name in self.fields:
                queryset = model.objects.active().select_related("product")
                self.fields[name].queryset = queryset.filter(product_id=product_id) if product_id else queryset
                self.fields[name].label_from_instance = lambda item: f"{item.product.name}: {item.name}"
                self.fields[name].required = False
        for name in ("how_to_doc", "how_to_video"):
            if name in self.fields:
                self.fields[
                    name
                ].help_text = 'A JSON list of http(s) links, e.g. ["https://docs.example.com/guide"]; [] for none.'

    def clean(self):
        data = super().clean()
        # On change the product is read-only (not a form field): the task keeps its own.
        product = data.get("product") or (self.instance.product if self.instance.pk else None)
        if product is not None:
            for name in ("outcomes", "releases"):
                wrong = [str(item) for item in data.get(name) or [] if item.product_id != product.pk]
                if wrong:
                    self.add_error(
                        name, f"{', '.join(wrong)}: not of {product.name}; choose among {product.name}'s own {name}"
                    )
        for name in ("how_to_doc", "how_to_video"):
            value = data.get(name)
            if value is not None and not (isinstance(value, list) and all(isinstance(u, str) for u in value)):
                self.add_error(name, 'must be a JSON list of URLs, e.g. ["https://docs.example.com/guide"]')
        return data


@admin.register(Task)
class TaskAdmin(SoftDeleteAdminMixin, admin.ModelAdmin):
    parent_field = "product"
    form = TaskForm
    list_display = [
        "name",
        "product",
        "license_level",
        "sequence_number",
        "weight",
        "est_minutes",
        "priority",
        "tags",
        "attribute_count",
        "is_active",
        "updated_at",
    ]
    list_filter = ["is_active", "license_level", "product", "priority"]
    search_fields = ["name", "description", "product__name"]
    ordering = ["product__name", "sequence_number", "id"]  # aggregates drop the default ordering
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    filter_horizontal = ["outcomes", "releases"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [TelemetryAttributeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(attribute_count=Count("telemetry_attributes", filter=Q(telemetry_attributes__is_active=True)))
            .prefetch_related("outcomes", "releases")
        )

    @admin.display(description="outcomes / releases")
    def tags(self, obj):
        outcomes = ", ".join(o.name for o in obj.outcomes.all()) or "all"
        releases = ", ".join(r.name for r in obj.releases.all()) or "all"
        return f"{outcomes} / {releases}"

    @admin.display(description="attributes", ordering="attribute_count")
    def attribute_count(self, obj):
        return obj.attribute_count


# ---------------------------------------------------------------------------------------------
# Plans, customer tasks, history
# ---------------------------------------------------------------------------------------------


PLAN_CUSTOMER = "customer_product__customer"
TASK_CUSTOMER = "adoption_plan__customer_product__customer"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return can_view_customer_data(request.user)


class CustomerTaskInline(ReadOnlyInline):
    model = CustomerTask
    fields = [
        "task_link",
        "license_level",
        "weight",
        "status",
        "status_update_source",
        "status_updated_by",
        "is_archived",
    ]
    readonly_fields = fields
    ordering = ["is_archived", "sequence_number", "id"]

    @admin.display(description="task")
    def task_link(self, obj):
        return admin_link(obj, obj.name)


@admin.register(AdoptionPlan)
class AdoptionPlanAdmin(ReadOnlyAdminMixin, UnionSearchAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin):
    customer_path = PLAN_CUSTOMER
    visible_to = staticmethod(plans_visible_to)
    list_display = [
        "__str__",
        "customer",
        "product_name",
        "license_level",
        "completed_tasks",
        "total_tasks",
        "progress",
        "last_synced_at",
    ]
    list_filter = ["license_level", "product"]
    search_fields = ["product_name", "customer_product__customer__name"]
    list_select_related = ["customer_product__customer"]
    inlines = [CustomerTaskInline]
    actions = ["sync_selected"]
    fields = [
        "customer",
        "product",
        "product_name",
        "license_level",
        "selected_outcomes",
        "selected_releases",
        ("total_tasks", "completed_tasks"),
        ("total_weight", "completed_weight"),
        "progress",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["customer", "progress"]

    @admin.display(description="customer", ordering="customer_product__customer__name")
    def customer(self, obj):
        return admin_link(obj.customer_product.customer)

    @admin.display(description="progress", ordering="progress_percentage")
    def progress(self, obj):
        return f"{obj.progress_percentage}%"

    def has_sync_permission(self, request):
        return can_sync_plans(request.user)

    @admin.action(description="Sync selected plans with the catalog", permissions=["sync"])
    def sync_selected(self, request, queryset):
        plans = [
            plan
            for plan in queryset.select_related("customer_product__customer")
            if can_write_customer(request.user, plan.customer_product.customer)
        ]
        for plan in plans:
            adoption_plan_sync(actor=request.user, plan=plan)
        self.message_user(request, f"Synced {len(plans)} plan(s).", messages.SUCCESS)


class CustomerTaskOutcomeInline(ReadOnlyInline):
    model = CustomerTaskOutcome
    fields = ["outcome"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("outcome")


class CustomerTaskReleaseInline(ReadOnlyInline):
    model = CustomerTaskRelease
    fields = ["release"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("release")


class CustomerTelemetryAttributeInline(ReadOnlyInline):
    model = CustomerTelemetryAttribute
    fields = [
        "attribute_link",
        "data_type",
        "is_required",
        "success_criteria",
        "is_active",
        "is_met",
        "last_checked_at",
        "last_seen_at",
    ]
    readonly_fields = fields

    @admin.display(description="attribute")
    def attribute_link(self, obj):
        return admin_link(obj, obj.name)


class TaskStatusChangeInline(ReadOnlyInline):
    model = TaskStatusChange
    fields = ["created_at", "from_status", "to_status", "source", "actor", "note"]
    readonly_fields = fields
    verbose_name_plural = "status history"


class CustomerTaskForm(forms.ModelForm):
    """A status change with its note. The note belongs to the change being made, so the field starts
    empty (the previous change's note is in the history below), and a note alone is no change."""

    class Meta:
        model = CustomerTask
        fields = ["status", "status_notes"]
        labels = {"status_notes": "Note on this change"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status_notes" in self.fields:
            self.initial["status_notes"] = ""
            self.fields["status_notes"].help_text = (
                f"Last note: {self.instance.status_notes}" if self.instance.status_notes else ""
            )

    def clean(self):
        data = super().clean()
        if self.instance.is_archived and self.changed_data:
            raise ValidationError("This task was archived by a sync and is no longer part of the plan.")
        if "status_notes" in self.changed_data and "status" not in self.changed_data:
            self.add_error(
                "status_notes",
                "A note is recorded with a status change: choose the new status as well "
                "(the note alone would record a change that did not happen).",
            )
        return data


# A customer task's copy of its catalog task (with where it came from), read-only in the admin.
CUSTOMER_TASK_SNAPSHOT = ["plan", "original_task_link", *TASK_SNAPSHOT_FIELDS, "is_archived", "archived_at"]


@admin.register(CustomerTask)
class CustomerTaskAdmin(ServiceErrorsAdminMixin, UnionSearchAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin):
    customer_path = TASK_CUSTOMER
    visible_to = staticmethod(customer_tasks_visible_to)
    form = CustomerTaskForm
    list_display = [
        "name",
        "customer",
        "plan",
        "license_level",
        "weight",
        "status",
        "status_update_source",
        "is_archived",
        "status_updated_at",
    ]
    list_filter = ["status", "status_update_source", "is_archived", "license_level"]
    search_fields = ["name", "adoption_plan__product_name", "adoption_plan__customer_product__customer__name"]
    list_select_related = ["adoption_plan__customer_product__customer"]
    ordering = ["-id"]  # newest first, along the primary key: a page never sorts the whole table
    inlines = [
        CustomerTaskOutcomeInline,
        CustomerTaskReleaseInline,
        CustomerTelemetryAttributeInline,
        TaskStatusChangeInline,
    ]
    fieldsets = [
        (
            "Status",
            {
                "fields": [
                    "status",
                    "status_notes",
                    "status_update_source",
                    "status_updated_by",
                    "status_updated_at",
                    "telemetry_status",
                    "completed_at",
                    "completed_by",
                ]
            },
        ),
        ("Snapshot of the catalog task", {"fields": CUSTOMER_TASK_SNAPSHOT}),
    ]
    # Only the status and its note are edited here; the rest is set by the services.
    readonly_fields = [
        "status_update_source",
        "status_updated_by",
        "status_updated_at",
        "telemetry_status",
        "completed_at",
        "completed_by",
        *CUSTOMER_TASK_SNAPSHOT,
    ]

    @admin.display(description="customer", ordering="adoption_plan__customer_product__customer__name")
    def customer(self, obj):
        return obj.adoption_plan.customer_product.customer

    @admin.display(description="plan")
    def plan(self, obj):
        return admin_link(obj.adoption_plan)

    @admin.display(description="catalog task")
    def original_task_link(self, obj):
        return admin_link(obj.original_task)

    def save_model(self, request, obj, form, change):
        # Only a new status is a change: a save that changes nothing records nothing.
        if "status" in form.changed_data:
            customer_task_update_status(
                actor=request.user,
                task=obj,
                status=form.cleaned_data["status"],
                notes=form.cleaned_data.get("status_notes", ""),
            )
        obj.refresh_from_db()

    def response_post_save_change(self, request, obj):
        # Back to the plan the task belongs to, not the list of every customer's tasks.
        return HttpResponseRedirect(reverse("admin:adoption_adoptionplan_change", args=[obj.adoption_plan_id]))


@admin.register(TaskStatusChange)
class TaskStatusChangeAdmin(ReadOnlyAdminMixin, UnionSearchAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin):
    customer_path = f"customer_task__{TASK_CUSTOMER}"
    visible_to = staticmethod(status_history_visible_to)
    list_display = ["created_at", "customer_task", "customer", "from_status", "to_status", "source", "actor"]
    # History only grows: the actor filter reads its choices along the actor index, the date filter
    # offers fixed ranges (a date hierarchy would run a DISTINCT over the whole history per page).
    list_filter = ["to_status", "source", ("actor", IndexedValuesFieldListFilter), "created_at"]
    # Indexed searches only: an actor exactly (its B-tree index), the task's or the customer's name
    # (trigram indexes). The notes are free text without an index: a "contains" on them would read
    # the whole history.
    search_fields = ["=actor", "customer_task__name", f"customer_task__{TASK_CUSTOMER}__name"]
    search_help_text = "A task's or a customer's name, or an actor exactly (telemetry, a user name)."
    ordering = ["-id"]  # newest first, along the primary key: a page never sorts the history it matched
    list_select_related = ["customer_task__adoption_plan__customer_product__customer"]
    fields = ["created_at", "customer_task", "from_status", "to_status", "source", "actor", "note", "evidence"]

    @admin.display(description="customer")
    def customer(self, obj):
        return obj.customer_task.adoption_plan.customer_product.customer
