"""Django admin for telemetry: attribute definitions (catalog, soft delete, criteria validated by the
model's clean()), customer attributes, values and ingestion batches (read-only: values come in
through the ingestion service only), and customer API keys (issued and revoked through
telemetry.services, the raw key shown once)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html

from adoption.admin import SoftDeleteAdminMixin, TelemetryAttributeForm
from config.changelists import IndexedValuesFieldListFilter, UnionSearchAdminMixin
from customers.admin import CustomerScopedAdminMixin, ReadOnlyAdminMixin, refresh_saved
from customers.permissions import can_manage_api_keys
from telemetry.criteria import describe
from telemetry.models import (
    ApiKey,
    CustomerTelemetryAttribute,
    CustomerTelemetryValue,
    TelemetryAttribute,
    TelemetryBatch,
)
from telemetry.permissions import (
    api_keys_visible_to,
    can_issue_api_keys,
    customer_attributes_visible_to,
    telemetry_batches_visible_to,
    telemetry_values_visible_to,
)
from telemetry.services import api_key_create, api_key_revoke

TASK_CUSTOMER = "customer_task__adoption_plan__customer_product__customer"


def criterion_sentence(attribute) -> str:
    return describe(attribute.success_criteria, attribute.name, attribute.data_type)


@admin.register(TelemetryAttribute)
class TelemetryAttributeAdmin(SoftDeleteAdminMixin, admin.ModelAdmin):
    form = TelemetryAttributeForm
    list_display = ["name", "task", "product", "data_type", "is_required", "criterion", "order", "is_active"]
    list_filter = ["is_active", "data_type", "is_required", "task__product"]
    search_fields = ["name", "description", "task__name", "task__product__name"]
    list_select_related = ["task__product"]
    autocomplete_fields = ["task"]
    parent_field = "task"

    @admin.display(description="product", ordering="task__product__name")
    def product(self, obj):
        return obj.task.product

    @admin.display(description="success criteria")
    def criterion(self, obj):
        return criterion_sentence(obj)


@admin.register(CustomerTelemetryAttribute)
class CustomerTelemetryAttributeAdmin(
    ReadOnlyAdminMixin, UnionSearchAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin
):
    customer_path = TASK_CUSTOMER
    visible_to = staticmethod(customer_attributes_visible_to)
    list_display = [
        "name",
        "customer",
        "customer_task",
        "data_type",
        "criterion",
        "is_required",
        "is_met",
        "is_active",
        "value_count",
        "last_seen_at",
        "last_checked_at",
    ]
    list_filter = ["data_type", "is_met", "is_active", "is_required"]
    search_fields = ["name", "customer_task__name", f"{TASK_CUSTOMER}__name"]
    ordering = ["customer_task_id", "order", "id"]  # along the customer task index, sorted within a task
    list_select_related = ["customer_task__adoption_plan__customer_product__customer"]
    fields = [
        "customer_task",
        "original_attribute",
        "name",
        "description",
        "data_type",
        "is_required",
        "success_criteria",
        "criterion",
        "order",
        "is_active",
        "is_met",
        "last_checked_at",
        "last_seen_at",
        "values_link",
    ]
    readonly_fields = ["criterion", "values_link"]

    def get_queryset(self, request):
        # A count per row of the page (an index-only lookup each), not a GROUP BY over every attribute
        # and value joined before the page is cut: the page no longer grows with the table.
        values = (
            CustomerTelemetryValue.objects.filter(customer_attribute_id=OuterRef("pk"))
            .order_by()
            .values("customer_attribute_id")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return super().get_queryset(request).annotate(value_count=Coalesce(Subquery(values), 0))

    @admin.display(description="customer")
    def customer(self, obj):
        return obj.customer_task.adoption_plan.customer_product.customer

    @admin.display(description="success criteria")
    def criterion(self, obj):
        return criterion_sentence(obj)

    @admin.display(description="values")  # not sortable: that would count the values of every attribute
    def value_count(self, obj):
        return obj.value_count

    @admin.display(description="values")
    def values_link(self, obj):
        url = reverse("admin:telemetry_customertelemetryvalue_changelist") + f"?customer_attribute__id__exact={obj.pk}"
        return format_html('<a href="{}">{} values</a>', url, obj.value_count)


@admin.register(CustomerTelemetryValue)
class CustomerTelemetryValueAdmin(
    ReadOnlyAdminMixin, UnionSearchAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin
):
    customer_path = f"customer_attribute__{TASK_CUSTOMER}"
    visible_to = staticmethod(telemetry_values_visible_to)
    list_display = ["customer_attribute", "customer", "value", "observed_at", "source", "batch_id", "created_at"]
    # The biggest table: no filter whose choices are read from it (its sources are free text, shown
    # in the list), fixed date ranges rather than a date hierarchy (a DISTINCT over every value).
    list_filter = ["observed_at", "customer_attribute__data_type"]
    # Indexed searches only: a batch id exactly, the attribute's or the customer's name (trigram
    # indexes); "contains" on the values' own text columns would read every value.
    search_fields = ["=batch_id", "customer_attribute__name", f"customer_attribute__{TASK_CUSTOMER}__name"]
    ordering = ["-id"]  # newest first, along the primary key: a page never sorts the values it matched
    list_select_related = ["customer_attribute__customer_task__adoption_plan__customer_product__customer"]
    fields = ["customer_attribute", "value", "observed_at", "source", "batch_id", "notes", "created_at"]

    @admin.display(description="customer")
    def customer(self, obj):
        return obj.customer_attribute.customer_task.adoption_plan.customer_product.customer


@admin.register(TelemetryBatch)
class TelemetryBatchAdmin(ReadOnlyAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin):
    visible_to = staticmethod(telemetry_batches_visible_to)
    list_display = ["batch_id", "customer", "channel", "actor_label", "value_count", "created_at"]
    list_filter = [("channel", IndexedValuesFieldListFilter), "created_at"]  # no DISTINCT over every batch
    search_fields = ["batch_id", "customer__name", "actor_label"]
    list_select_related = ["customer"]
    fields = ["customer", "batch_id", "channel", "actor_label", "value_count", "content_hash", "response", "created_at"]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["customer", "name"]


@admin.register(ApiKey)
class ApiKeyAdmin(CustomerScopedAdminMixin, admin.ModelAdmin):
    visible_to = staticmethod(api_keys_visible_to)
    form = ApiKeyForm
    list_display = ["prefix", "customer", "name", "is_active", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["prefix", "name", "customer__name"]
    list_select_related = ["customer", "created_by"]
    autocomplete_fields = ["customer"]
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", "name"]
        return ["customer", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["customer", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request, *args):
        return can_issue_api_keys(request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        user = request.user

        class ScopedApiKeyForm(form):
            def clean_customer(self):
                customer = self.cleaned_data["customer"]
                if not can_manage_api_keys(user, customer):
                    raise forms.ValidationError("you may not issue keys for this customer")
                return customer

        return ScopedApiKeyForm

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, raw = api_key_create(actor=request.user, customer=obj.customer, name=obj.name)
        refresh_saved(obj, api_key)
        messages.success(
            request,
            f"API key for {api_key.customer}: {raw} — copy it now into the customer's system: it is stored "
            "only as a hash and will not be shown again.",
        )

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True).select_related("customer"):
            if can_manage_api_keys(request.user, api_key.customer):
                api_key_revoke(actor=request.user, api_key=api_key)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)

    @admin.display(boolean=True, description="active")
    def is_active(self, obj):
        return obj.revoked_at is None
