"""Customer pages: sign in/out, the user's home, the customer list and a customer's page.

Views stay thin: authorize through customers.permissions, read through selectors, write through
services, and render a page or, for htmx requests, one of its named partials.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, reswap, trigger_client_event

from adoption import services as adoption_services
from adoption.permissions import products_visible_to
from adoption.selectors import assignment_contents_counts
from config.errors import Conflict, NotFound, ValidationFailed
from customers import selectors
from customers import services as customer_services
from customers.filters import CustomerFilter
from customers.forms import AssignProductForm, CustomerForm, EntitlementsForm, add_domain_error
from customers.models import Role
from customers.permissions import (
    can_create_customer,
    can_delete_customer,
    can_manage_assignees,
    can_write_customer,
    customers_visible_to,
    get_assignment_for_user,
    get_customer_for_user,
    require_create_customer,
    require_delete_customer,
    role_of,
)
from telemetry.selectors import STALE_AFTER

PAGE_SIZE = 25


class LoginView(auth_views.LoginView):
    template_name = "auth/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


def favicon(request):
    """Browsers ask for /favicon.ico before reading the page's <link rel="icon">: send them to the SVG."""
    return redirect(static("favicon.svg"))


def _is_partial(request, target: str) -> bool:
    """An htmx request aimed at one fragment of the page (not a history restore, which needs the page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


@login_required
def home(request):
    visible = customers_visible_to(request.user)
    summaries = selectors.sort_by_attention(selectors.customer_summaries(visible.order_by("name", "pk")))
    context = {
        "summaries": summaries,
        "counts": selectors.attention_counts(visible),
        "role": role_of(request.user),
        "Role": Role,
        "can_create_customer": can_create_customer(request.user),
        "stale_days": STALE_AFTER.days,
        "nav_section": "home",
    }
    return render(request, "customers/home.html", context)


@login_required
def customer_list(request):
    visible = customers_visible_to(request.user)
    filterset = CustomerFilter(
        request.GET or None, queryset=selectors.with_assignees(visible).order_by("name", "pk"), request=request
    )
    # An invalid filter value (a product that is gone, a mangled choice) shows its error and no rows,
    # rather than quietly ignoring the filter and showing customers that do not match it.
    customers = filterset.qs if not filterset.is_bound or filterset.is_valid() else visible.none()
    requested = request.GET.get("page")
    page = Paginator(customers, PAGE_SIZE).get_page(requested)
    attention = filterset.form.cleaned_data.get("attention") if filterset.is_bound and filterset.is_valid() else ""
    context = {
        "filter": filterset,
        "page": page,
        "summaries": selectors.customer_summaries(page.object_list),
        "attention": attention,
        "attention_counts": selectors.attention_counts(customers) if attention else None,
        "is_filtered": filterset.is_bound and any(v for k, v in request.GET.items() if k != "page"),
        "can_create_customer": can_create_customer(request.user),
        "page_note": _page_note(requested, page),
        "nav_section": "customers",
    }
    template = "customers/list.html#rows" if _is_partial(request, "customer-rows") else "customers/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _page_note(requested: str | None, page) -> str:
    """Say so when the page asked for is not the page shown (Paginator.get_page falls back quietly)."""
    if requested in (None, ""):
        return ""
    shown = f"page {page.number} of {page.paginator.num_pages}"
    try:
        number = int(requested)
    except ValueError:
        return f"“{requested[:20]}” is not a page number: showing {shown}."
    if number == page.number:
        return ""
    return f"There is no page {number}: showing {shown}."


@login_required
def customer_detail(request, customer_id):
    customer = get_customer_for_user(request.user, customer_id)
    summary = selectors.customer_detail(customer)
    can_write = can_write_customer(request.user, customer)
    assigned = {p.assignment.product_id for p in summary.products}
    context = {
        **_header_context(request, customer),
        "summary": summary,
        "can_assign": can_write,
        "can_manage_assignees": can_manage_assignees(request.user),
        "has_unassigned_products": products_visible_to(request.user).exclude(pk__in=assigned).exists(),
        "nav_section": "customers",
    }
    return render(request, "customers/detail.html", context)


# --- dialogs: create, edit, delete, assign, remove ---------------------------------------------------
#
# Each dialog is a page of its own (it works without JavaScript) whose `dialog` partial htmx swaps into
# the shared <dialog>. Validation errors re-render the dialog with the message under the field; a
# refusal (403/404) comes from the permission lookups and DomainErrorPageMiddleware.


def _render_dialog(request, template: str, context: dict, status: int = 200):
    name = f"{template}#dialog" if getattr(request, "htmx", False) else template
    response = render(request, name, {"nav_section": "customers", **context}, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _go(request, url: str):
    """After a successful write: a full navigation (htmx follows HX-Redirect, a plain form a 302)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _counts_sentence(counts: dict) -> list[str]:
    parts = [
        (counts.get("customerProducts"), "product", "products"),
        (counts.get("adoptionPlans"), "adoption plan", "adoption plans"),
        (counts.get("customerTasks"), "task", "tasks"),
        (counts.get("statusHistoryEntries"), "status history entry", "status history entries"),
        (counts.get("telemetryAttributes"), "telemetry attribute", "telemetry attributes"),
        (counts.get("telemetryValues"), "telemetry value", "telemetry values"),
        (counts.get("apiKeys"), "API key", "API keys"),
        (counts.get("telemetryBatches"), "telemetry upload record", "telemetry upload records"),
    ]
    optional = {"API key", "telemetry upload record"}  # left out when there are none
    return [f"{n} {one if n == 1 else many}" for n, one, many in parts if n is not None and (n or one not in optional)]


@login_required
@require_http_methods(["GET", "POST"])
def customer_create(request):
    require_create_customer(request.user)
    form = CustomerForm(request.POST or None, with_assignees=can_manage_assignees(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                customer = customer_services.customer_create(
                    actor=request.user, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
                )
                if form.cleaned_data.get("assignees"):
                    customer_services.customer_set_assignees(
                        actor=request.user, customer=customer, users=list(form.cleaned_data["assignees"])
                    )
        except ValidationFailed as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Created customer {customer.name}.")
            return _go(request, reverse("customer-detail", args=[customer.pk]))
    return _render_dialog(request, "customers/customer_form.html", {"form": form, "customer": None})


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request, customer_id):
    customer = get_customer_for_user(request.user, customer_id, write=True)
    manage_assignees = can_manage_assignees(request.user)
    initial = {"name": customer.name, "description": customer.description}
    if manage_assignees:
        initial["assignees"] = list(customer.assigned_users.values_list("pk", flat=True))
    form = CustomerForm(request.POST or None, initial=initial, with_assignees=manage_assignees)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                customer_services.customer_update(
                    actor=request.user,
                    customer=customer,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
                if manage_assignees:
                    customer_services.customer_set_assignees(
                        actor=request.user, customer=customer, users=list(form.cleaned_data["assignees"])
                    )
        except ValidationFailed as error:
            customer.refresh_from_db()
            add_domain_error(form, error)
        else:
            url = reverse("customer-detail", args=[customer.pk])
            if not getattr(request, "htmx", False):
                messages.success(request, "Saved.")
                return redirect(url)
            # Close the dialog and swap the page's header in place (out of band): nothing reloads.
            response = render(
                request, "customers/detail.html#header", {**_header_context(request, customer), "oob": True}
            )
            reswap(response, "none")
            # After the (empty) swap: htmx still announces afterSwap on the dialog, so closing earlier
            # would be undone by the dialog's opener.
            trigger_client_event(response, "modal:close", after="swap")
            return trigger_client_event(response, "toast", {"message": f"Saved {customer.name}."})
    return _render_dialog(request, "customers/customer_form.html", {"form": form, "customer": customer})


def _header_context(request, customer) -> dict:
    return {
        "customer": customer,
        "assignees": list(customer.assigned_users.select_related("profile").order_by("first_name", "username")),
        "can_edit": can_write_customer(request.user, customer),
        "can_delete": can_delete_customer(request.user, customer),
    }


@login_required
@require_http_methods(["GET", "POST"])
def customer_delete(request, customer_id):
    customer = get_customer_for_user(request.user, customer_id)
    require_delete_customer(request.user, customer)
    if request.method == "POST":
        name = customer.name
        result = customer_services.customer_delete(actor=request.user, customer=customer)
        what = _counts_sentence(result["deleted"])
        messages.success(request, f"Deleted customer {name} with {', '.join(what)}.")
        return _go(request, reverse("customer-list"))
    counts = selectors.customer_contents_counts(customer)
    return _render_dialog(
        request, "customers/delete.html", {"customer": customer, "counts": counts, "what": _counts_sentence(counts)}
    )


def _assignable_products(user, customer):
    """Active products the customer does not have yet."""
    return products_visible_to(user).exclude(assignments__customer=customer).order_by("name", "pk")


def _assignment_preview(form: AssignProductForm) -> dict | None:
    """What the plan would hold, from the very eligibility function plan creation uses. Invalid
    outcome/release ticks (left over from another product) are ignored, as the form will refuse them."""
    product = form.chosen_product()
    if product is None:
        return None
    try:
        level = int(form.data.get("license_level"))
    except (TypeError, ValueError):
        return None
    if level not in (1, 2, 3):
        return None
    outcome_ids = _valid_ids(form, "outcomes")
    release_ids = _valid_ids(form, "releases")
    tasks = list(
        adoption_services.eligible_catalog_tasks(
            product=product, license_level=level, outcome_ids=outcome_ids, release_ids=release_ids
        ).only("name", "weight", "est_minutes", "license_level", "sequence_number")
    )
    return {
        "product": product,
        "tasks": tasks,
        "task_count": len(tasks),
        "weight": sum((task.weight for task in tasks), start=0),
        "minutes": sum(task.est_minutes for task in tasks),
        "all_outcomes": not outcome_ids,
        "all_releases": not release_ids,
    }


def _valid_ids(form: AssignProductForm, name: str) -> list[int]:
    allowed = set(form.fields[name].queryset.values_list("pk", flat=True))
    ids = []
    for value in form.data.getlist(name) if hasattr(form.data, "getlist") else []:
        try:
            pk = int(value)
        except (TypeError, ValueError):
            continue
        if pk in allowed and pk not in ids:
            ids.append(pk)
    return ids


@login_required
@require_http_methods(["GET", "POST"])
def customer_assign(request, customer_id):
    customer = get_customer_for_user(request.user, customer_id, write=True)
    products = _assignable_products(request.user, customer)
    if request.method == "POST":
        form = AssignProductForm(request.POST, products=products)
        if form.is_valid():
            data = form.cleaned_data
            try:
                assignment = adoption_services.customer_product_assign(
                    actor=request.user,
                    customer=customer,
                    product=data["product"],
                    license_level=data["license_level"],
                    outcome_ids=[o.pk for o in data["outcomes"]],
                    release_ids=[r.pk for r in data["releases"]],
                )
            except (ValidationFailed, Conflict) as error:
                add_domain_error(form, error)
            else:
                plan = assignment.adoption_plan
                messages.success(request, f"Assigned {data['product'].name}: its plan holds {plan.total_tasks} tasks.")
                return _go(request, reverse("plan-detail", args=[plan.pk]))
    else:
        # Re-rendered on every change (product, license, ticks): the data travels in the query string.
        form = AssignProductForm(request.GET or None, products=products)
        if len(products) == 1 and not form.is_bound:
            form = AssignProductForm(initial={"product": products[0].pk}, products=products)
    context = {
        "customer": customer,
        "form": form,
        "preview": _assignment_preview(form) if form.is_bound or form.initial.get("product") else None,
        "has_products": bool(products),
    }
    for fragment in ("assign-choices", "assign-preview"):
        if _is_partial(request, fragment):
            return render(request, f"customers/assign.html#{fragment.removeprefix('assign-')}", context)
    return _render_dialog(request, "customers/assign.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def assignment_remove(request, customer_id, assignment_id):
    customer = get_customer_for_user(request.user, customer_id)
    assignment = get_assignment_for_user(request.user, assignment_id, write=True)
    if assignment.customer_id != customer.pk:
        raise NotFound(f"customer product {assignment_id} not found")
    if request.method == "POST":
        result = adoption_services.customer_product_remove(actor=request.user, customer_product=assignment)
        what = _counts_sentence(result["deleted"])
        messages.success(request, f"Removed {result['productName']} from {customer.name} with {', '.join(what)}.")
        return _go(request, reverse("customer-detail", args=[customer.pk]))
    counts = assignment_contents_counts(type(assignment).objects.filter(pk=assignment.pk))
    return _render_dialog(
        request,
        "customers/remove_product.html",
        {"customer": customer, "assignment": assignment, "counts": counts, "what": _counts_sentence(counts)},
    )


def _entitlement_changes(assignment, form: EntitlementsForm, current: dict) -> dict:
    """Only what the user changed; None for a field left as it was, so the service keeps it as it is
    (selected outcomes/releases that have left the catalog since stay selected)."""
    data = form.cleaned_data
    outcome_ids = sorted(o.pk for o in data["outcomes"])
    release_ids = sorted(r.pk for r in data["releases"])
    return {
        "license_level": None if data["license_level"] == assignment.license_level else data["license_level"],
        "outcome_ids": None if outcome_ids == current["outcomes"] else outcome_ids,
        "release_ids": None if release_ids == current["releases"] else release_ids,
    }


@login_required
@require_http_methods(["GET", "POST"])
def assignment_edit(request, customer_id, assignment_id):
    """Change an assignment's entitlements; the plan then needs a sync (its tasks stay as they are)."""
    customer = get_customer_for_user(request.user, customer_id)
    assignment = get_assignment_for_user(request.user, assignment_id, write=True)
    if assignment.customer_id != customer.pk:
        raise NotFound(f"customer product {assignment_id} not found")
    selected_outcomes = list(assignment.selected_outcomes.order_by("name", "pk"))
    selected_releases = list(assignment.selected_releases.order_by("level", "pk"))
    # What the form shows ticked: the active part of the selection (retired items cannot be ticked).
    current = {
        "outcomes": sorted(o.pk for o in selected_outcomes if o.is_active),
        "releases": sorted(r.pk for r in selected_releases if r.is_active),
    }
    initial = {"license_level": assignment.license_level, **current}
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = EntitlementsForm(data, initial=initial, product=assignment.product)
    if request.method == "POST" and form.is_valid():
        changes = _entitlement_changes(assignment, form, current)
        try:
            updated = adoption_services.customer_product_update(
                actor=request.user, customer_product=assignment, **changes
            )
        except ValidationFailed as error:
            add_domain_error(form, error)
        else:
            name = assignment.product.name
            if updated.entitlements_changed_at != assignment.entitlements_changed_at:
                messages.success(request, f"Changed the entitlements of {name}: sync its plan to apply them.")
            else:
                messages.info(request, f"The entitlements of {name} are unchanged.")
            # No #fragment: htmx would only scroll the page it is on instead of loading it again.
            return _go(request, reverse("customer-detail", args=[customer.pk]))
    changes = _entitlement_changes(assignment, form, current) if form.is_bound and form.is_valid() else {}
    context = {
        "customer": customer,
        "assignment": assignment,
        "form": form,
        "preview": adoption_services.entitlements_change_preview(customer_product=assignment, **changes),
        "retired_outcomes": [o for o in selected_outcomes if not o.is_active],
        "retired_releases": [r for r in selected_releases if not r.is_active],
    }
    if _is_partial(request, "entitlements-preview"):
        return render(request, "customers/entitlements.html#preview", context)
    return _render_dialog(request, "customers/entitlements.html", context)
