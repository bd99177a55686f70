"""Django admin for customers, assignments, roles, the audit log and access tokens.

Admin permissions follow the roles (customers.permissions), not Django's per-model permissions:
ADMIN (superuser) everything; CATALOG_EDITOR the catalog only; CSM and VIEWER the customers
assigned to them (CSM may edit them, VIEWER only looks). A customer the user may not see is
simply not in the queryset, so its pages answer like a missing object.

Writes that matter go through the same services as the pages and GraphQL, so the admin records
the same audit entries and creates real adoption plans.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html

from adoption.models import Outcome, Release
from adoption.services import customer_product_assign, customer_product_remove, customer_product_update
from config.audit.models import AuditLog
from config.changelists import (
    CappedCountAdminMixin,
    IndexedValuesFieldListFilter,
    RowCheckboxMixin,
    UnionSearchAdminMixin,
)
from config.errors import DomainError, ValidationFailed
from customers.models import Customer, CustomerProduct, PersonalAccessToken, UserProfile
from customers.permissions import (
    assignments_visible_to,
    can_assign_products,
    can_change_customer_data,
    can_create_customer,
    can_delete_customer,
    can_manage_assignees,
    can_manage_users,
    can_remove_assignment,
    can_view_customer_data,
    can_write_customer,
    customers_visible_to,
    sees_every_customer,
)
from customers.services import (
    customer_create,
    customer_delete,
    customer_name_check,
    customer_set_assignees,
    customer_update,
    personal_token_issue,
    personal_token_revoke,
    user_role_set,
)

User = get_user_model()


def admin_link(obj, label=None):
    """A link to the admin change page of obj."""
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else str(obj))


# ---------------------------------------------------------------------------------------------
# Role-based permission mixins, shared by the adoption and telemetry admins.
# ---------------------------------------------------------------------------------------------


class CustomerScopedAdminMixin(CappedCountAdminMixin, RowCheckboxMixin):
    """For models that belong to a customer. Rows come from the permission module's `visible_to`
    queryset (VIEWERs and CSMs see their assigned customers' rows, admins all); `customer_path`
    leads from the model to its Customer ("" for Customer itself) for the per-object write check.
    Adding and deleting are refused unless a model admin says otherwise. These tables grow with the
    portfolio: their lists count up to a cap (no exact COUNT(*) of a broad search, no second
    COUNT(*) of the whole table per page)."""

    customer_path = "customer"
    visible_to = staticmethod(customers_visible_to)  # each model admin names its own

    def _customer_of(self, obj):
        if not self.customer_path:
            return obj
        for part in self.customer_path.split("__"):
            obj = getattr(obj, part)
        return obj

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_every_customer(request.user):
            return queryset
        return queryset.filter(pk__in=self.visible_to(request.user).values("pk"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A customer picker offers only the customers this user may see.
        if db_field.name == "customer":
            kwargs["queryset"] = customers_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return can_view_customer_data(request.user)

    def has_view_permission(self, request, obj=None):
        return can_view_customer_data(request.user)

    def has_change_permission(self, request, obj=None):
        if not can_change_customer_data(request.user):
            return False
        return obj is None or can_write_customer(request.user, self._customer_of(obj))

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin:
    """Append-only records (history, audit, values): nobody adds, changes or deletes them here."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AdminOnlyMixin:
    """Models only admins manage: users and roles, personal access tokens, the audit log."""

    def has_module_permission(self, request):
        return can_manage_users(request.user)

    def has_view_permission(self, request, obj=None):
        return can_manage_users(request.user)

    def has_add_permission(self, request, *args):
        return can_manage_users(request.user)

    def has_change_permission(self, request, obj=None):
        return can_manage_users(request.user)

    def has_delete_permission(self, request, obj=None):
        return can_manage_users(request.user)


def _form_field_of(error_field: str | None, form) -> str | None:
    """The form field a service error names: ``estMinutes`` -> ``est_minutes``, ``howToDoc[2]`` ->
    ``how_to_doc``, ``outcomeIds`` -> ``outcomes``; None (a form-wide error) when the form has no
    such field."""
    if not error_field:
        return None
    head = re.split(r"[.\[]", error_field, maxsplit=1)[0]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", head).lower()
    for candidate in (snake, snake.removesuffix("_ids") + "s", "selected_" + snake.removesuffix("_ids") + "s"):
        if candidate in form.fields:
            return candidate
    return None


class ServiceErrorsAdminMixin:
    """Saves go through the domain services, which may still refuse what the form accepted (a name
    taken concurrently, a rule only the service knows). The refusal rolls the whole save back (the
    admin wraps it in a transaction); the page is then rendered again with the user's input and the
    service's message next to the field it names, like any other form error."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            if request.method != "POST" or getattr(request, "_service_error", None) is not None:
                raise
            request._service_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class ServiceCheckedForm(form):
            def clean(self):
                data = super().clean()
                error = getattr(request, "_service_error", None)
                if error is not None:
                    field = _form_field_of(error.field, self)
                    message = error.message if field or not error.field else f"{error.field}: {error.message}"
                    self.add_error(field, message)
                return data

        ServiceCheckedForm.__name__ = form.__name__
        return ServiceCheckedForm


def refresh_saved(obj, saved):
    """Point the admin's unsaved form instance at the row a service created."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj.refresh_from_db()


# ---------------------------------------------------------------------------------------------
# Customers and assignments
# ---------------------------------------------------------------------------------------------


class CustomerProductInline(admin.TabularInline):
    model = CustomerProduct
    fields = ["product_link", "license_level", "purchased_at", "plan_link", "progress"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "adoption_plan")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return can_view_customer_data(request.user)

    @admin.display(description="product")
    def product_link(self, obj):
        return obj.product.name

    @admin.display(description="adoption plan")
    def plan_link(self, obj):
        plan = getattr(obj, "adoption_plan", None)
        return admin_link(plan, f"Plan {plan.pk}") if plan else "-"

    @admin.display(description="progress")
    def progress(self, obj):
        plan = getattr(obj, "adoption_plan", None)
        return f"{plan.progress_percentage}% ({plan.completed_tasks}/{plan.total_tasks})" if plan else "-"


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "description", "assigned_users"]

    def clean_name(self):
        # The service's own rule (unique regardless of case), shown next to the field.
        try:
            return customer_name_check(self.cleaned_data.get("name"), exclude_pk=self.instance.pk)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Customer)
class CustomerAdmin(ServiceErrorsAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin):
    customer_path = ""
    form = CustomerForm
    list_display = ["name", "assignees", "product_count", "updated_at"]
    search_fields = ["name", "description"]
    ordering = ["name", "id"]  # along the name index; the customer picker paginates
    list_filter = ["assigned_users"]
    autocomplete_fields = ["assigned_users"]
    fields = ["name", "description", "assigned_users", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [CustomerProductInline]

    def get_queryset(self, request):
        # A count per customer of the page, not a GROUP BY over every customer and assignment joined:
        # the page and its paginator's COUNT(*) stay as cheap as the customer table allows.
        products = (
            CustomerProduct.objects.filter(customer_id=OuterRef("pk"))
            .order_by()
            .values("customer_id")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(product_count=Coalesce(Subquery(products), 0))
            .prefetch_related("assigned_users")
        )

    def get_list_filter(self, request):
        # Filtering by assignee lists every user: only for those who manage assignees.
        return self.list_filter if can_manage_assignees(request.user) else []

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not can_manage_assignees(request.user):
            fields.append("assigned_users")
        return fields

    def has_add_permission(self, request, *args):
        return can_create_customer(request.user)

    def has_delete_permission(self, request, obj=None):
        return can_delete_customer(request.user, obj)

    @admin.display(description="assigned users")
    def assignees(self, obj):
        return ", ".join(sorted(u.username for u in obj.assigned_users.all())) or "-"

    @admin.display(description="products", ordering="product_count")
    def product_count(self, obj):
        return obj.product_count

    def save_model(self, request, obj, form, change):
        if change:
            current = Customer.objects.get(pk=obj.pk)
            customer_update(actor=request.user, customer=current, name=obj.name, description=obj.description)
            obj.refresh_from_db()
        else:
            refresh_saved(obj, customer_create(actor=request.user, name=obj.name, description=obj.description))

    def save_related(self, request, form, formsets, change):
        # The only many-to-many field is assigned_users: it goes through the service (audited).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        if "assigned_users" in form.cleaned_data and can_manage_assignees(request.user):
            customer_set_assignees(
                actor=request.user, customer=form.instance, users=list(form.cleaned_data["assigned_users"])
            )

    def delete_model(self, request, obj):
        customer_delete(actor=request.user, customer=obj)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            customer_delete(actor=request.user, customer=customer)


class CustomerProductForm(forms.ModelForm):
    class Meta:
        model = CustomerProduct
        fields = ["customer", "product", "license_level", "selected_outcomes", "selected_releases", "purchased_at"]

    SELECTIONS = (("selected_outcomes", Outcome), ("selected_releases", Release))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        product = self.instance.product if self.instance.pk else None
        for name, model in self.SELECTIONS:
            if name in self.fields:
                # Offer the product's active items plus whatever is selected now, soft-deleted ones
                # included: the page shows the selection as it is, so saving it unchanged keeps it.
                queryset = model.objects.select_related("product")
                if product is not None:
                    selected = getattr(self.instance, name).values("pk")
                    queryset = queryset.filter(product=product).filter(Q(is_active=True) | Q(pk__in=selected))
                else:
                    queryset = queryset.filter(is_active=True)
                self.fields[name].queryset = queryset.order_by("product__name", "name", "pk")
                self.fields[name].label_from_instance = self._label
                self.fields[name].help_text = "None selected means all."
        if "purchased_at" in self.fields:
            self.fields["purchased_at"].required = False
            self.fields["purchased_at"].help_text = "Empty means now."

    @staticmethod
    def _label(item) -> str:
        label = f"{item.product.name}: {item.name}"
        return label if item.is_active else f"{label} (no longer in the catalog)"

    def clean(self):
        data = super().clean()
        product = data.get("product") or (self.instance.product if self.instance.pk else None)
        if product is not None:
            for name, _model in self.SELECTIONS:
                wrong = [str(item) for item in data.get(name) or [] if item.product_id != product.pk]
                if wrong:
                    self.add_error(name, f"not items of {product.name}: {', '.join(wrong)}")
                elif name in self.changed_data:
                    gone = [item.name for item in data.get(name) or [] if not item.is_active]
                    if gone:
                        self.add_error(
                            name,
                            f"{', '.join(gone)} no longer in the catalog: deselect to change this selection",
                        )
            if not self.instance.pk and not product.is_active:
                self.add_error("product", f"{product.name} is no longer in the catalog")
        return data


@admin.register(CustomerProduct)
class CustomerProductAdmin(ServiceErrorsAdminMixin, UnionSearchAdminMixin, CustomerScopedAdminMixin, admin.ModelAdmin):
    form = CustomerProductForm
    visible_to = staticmethod(assignments_visible_to)
    list_display = ["customer", "product", "license_level", "purchased_at", "plan", "entitlements_changed_at"]
    list_filter = ["license_level", "product"]
    search_fields = ["customer__name", "product__name"]
    list_select_related = ["customer", "product", "adoption_plan"]
    autocomplete_fields = ["customer", "product"]
    filter_horizontal = ["selected_outcomes", "selected_releases"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["entitlements_changed_at"]
        # Customer and product identify the assignment; purchase date is history.
        return ["customer", "product", "purchased_at", "entitlements_changed_at", "plan"]

    def get_fields(self, request, obj=None):
        fields = ["customer", "product", "license_level", "selected_outcomes", "selected_releases", "purchased_at"]
        if obj is not None:
            fields += ["entitlements_changed_at", "plan"]
        return fields

    def has_add_permission(self, request, *args):
        return can_assign_products(request.user)

    def has_delete_permission(self, request, obj=None):
        return can_remove_assignment(request.user, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        user = request.user

        class ScopedForm(form):
            def clean(self):
                data = super().clean()
                customer = data.get("customer") or (self.instance.customer if self.instance.pk else None)
                if customer is not None and not can_write_customer(user, customer):
                    self.add_error("customer", "you may not change this customer's products")
                return data

        return ScopedForm

    @admin.display(description="adoption plan")
    def plan(self, obj):
        plan = getattr(obj, "adoption_plan", None)
        return admin_link(plan, f"Plan {plan.pk} ({plan.progress_percentage}%)") if plan else "-"

    def save_model(self, request, obj, form, change):
        outcomes = [o.pk for o in form.cleaned_data.get("selected_outcomes") or []]
        releases = [r.pk for r in form.cleaned_data.get("selected_releases") or []]
        if change:
            # Only what the user changed: an untouched field stays as stored (a selection that holds
            # soft-deleted items must not turn into "all").
            changed = set(form.changed_data)
            arguments = {
                "license_level": obj.license_level if "license_level" in changed else None,
                "outcome_ids": outcomes if "selected_outcomes" in changed else None,
                "release_ids": releases if "selected_releases" in changed else None,
            }
            if any(value is not None for value in arguments.values()):
                customer_product_update(actor=request.user, customer_product=obj, **arguments)
            obj.refresh_from_db()
        else:
            assignment = customer_product_assign(
                actor=request.user,
                customer=obj.customer,
                product=obj.product,
                license_level=obj.license_level,
                outcome_ids=outcomes,
                release_ids=releases,
                purchased_at=form.cleaned_data.get("purchased_at"),
            )
            refresh_saved(obj, assignment)

    def save_related(self, request, form, formsets, change):
        # Selections were saved by the service; only inlines (none today) would remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        customer_product_remove(actor=request.user, customer_product=obj)

    def delete_queryset(self, request, queryset):
        for assignment in queryset:
            customer_product_remove(actor=request.user, customer_product=assignment)


# ---------------------------------------------------------------------------------------------
# Audit log (read-only) and personal access tokens
# ---------------------------------------------------------------------------------------------


@admin.register(AuditLog)
class AuditLogAdmin(CappedCountAdminMixin, ReadOnlyAdminMixin, AdminOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_id", "customer_id", "summary"]
    # The log only grows: its filters read their choices along an index (one step per distinct value,
    # not a scan of the log), and the date filter offers fixed ranges (no date hierarchy, whose links
    # come from a DISTINCT over every entry).
    list_filter = [
        ("action", IndexedValuesFieldListFilter),
        ("object_type", IndexedValuesFieldListFilter),
        ("actor_label", IndexedValuesFieldListFilter),
        "created_at",
    ]
    search_fields = ["summary", "actor_label", "action", "object_id"]  # each trigram-indexed on PostgreSQL
    list_select_related = ["actor"]
    fields = [
        "created_at",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "customer_id",
        "summary",
        "details",
    ]
    readonly_fields = fields


class PersonalAccessTokenForm(forms.ModelForm):
    class Meta:
        model = PersonalAccessToken
        fields = ["user", "name"]


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(ServiceErrorsAdminMixin, AdminOnlyMixin, admin.ModelAdmin):
    form = PersonalAccessTokenForm
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])  # only the label; user, prefix and hash are read-only
            return
        token, raw = personal_token_issue(actor=request.user, user=obj.user, name=obj.name)
        refresh_saved(obj, token)
        messages.success(
            request,
            f"The new token for {obj.user} is {raw} — copy it now: it is stored only as a hash and "
            "will not be shown again.",
        )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            personal_token_revoke(actor=request.user, token=token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)


# ---------------------------------------------------------------------------------------------
# Users with their role
# ---------------------------------------------------------------------------------------------


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    fields = ["role"]
    verbose_name = "role"
    verbose_name_plural = "role"
    extra = 1
    max_num = 1


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [UserProfileInline]
    list_display = ["username", "email", "first_name", "last_name", "role", "is_staff", "is_active"]
    list_filter = ["profile__role", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["profile"]

    @admin.display(description="role", ordering="profile__role")
    def role(self, obj):
        if obj.is_superuser:
            return "Admin (superuser)"
        profile = getattr(obj, "profile", None)
        return profile.get_role_display() if profile else "-"

    def save_formset(self, request, form, formset, change):
        if formset.model is not UserProfile:
            return super().save_formset(request, form, formset, change)
        # The role goes through the service, which audits it (the same action for every path).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            if not profile_form.has_changed() or "role" not in profile_form.cleaned_data:
                continue
            adding = profile_form.instance.pk is None
            profile = user_role_set(actor=request.user, user=form.instance, role=profile_form.cleaned_data["role"])
            if adding:
                formset.new_objects.append(profile)
            else:
                formset.changed_objects.append((profile, profile_form.changed_data))
