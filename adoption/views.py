"""Plan pages: the plan dashboard, status changes, the task drawer, sync.

Views stay thin: authorize through the permission modules, read through selectors, write through
services, and render a page or, for htmx requests, one of its named partials.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from adoption import selectors, services
from adoption.choices import TaskStatus
from adoption.filters import PlanTaskFilter
from adoption.forms import BulkStatusForm, TaskStatusForm, TelemetryValueForm, add_domain_error
from adoption.permissions import get_customer_task_for_user, get_plan_for_user
from adoption.templatetags.ui import pct
from config.errors import DomainError, NotFound
from config.middleware import error_response
from customers.permissions import can_write_customer, customer_ids_visible_to
from telemetry import criteria
from telemetry.evaluation import adoption_plan_evaluate, evaluate_customer_tasks
from telemetry.permissions import get_customer_attribute_for_user
from telemetry.selectors import plan_stalest_required_attribute, task_attribute_rows
from telemetry.services import customer_task_reset_to_telemetry, telemetry_ingest

DASHBOARD = "plans/dashboard.html"
DRAWER = "tasks/drawer.html"


# --- lookups --------------------------------------------------------------------------------------


def _plan(request, plan_id, *, write: bool = False):
    """The plan as the page shows it, and whether the user may change it (403 for a forged write)."""
    allowed = get_plan_for_user(request.user, plan_id, write=write)
    can_edit = write or can_write_customer(request.user, allowed.customer_product.customer)
    return selectors.plan_for_page(allowed.pk), can_edit


def _task(request, plan, task_id, *, write: bool = False):
    """A task of this plan; a task of another plan is as unknown as a missing one."""
    task = get_customer_task_for_user(request.user, task_id, write=write)
    if task.adoption_plan_id != plan.pk:
        raise NotFound(f"customer task {task_id} not found")
    return task


def _customer_url(customer) -> str | None:
    try:
        return reverse("customer-detail", args=[customer.pk])
    except NoReverseMatch:  # the customer page may not be mounted
        return None


def _with_summary(task):
    task.telemetry = selectors.task_telemetry_summary(task)
    return task


def _htmx_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _triggers(response, **events):
    response["HX-Trigger"] = json.dumps(events)
    return response


# --- the dashboard ----------------------------------------------------------------------------------


def _filter_query(request) -> str:
    """The filters in use as a query string, without the empty ones ("?status=DONE", not "&outcome=&...")."""
    query = request.GET.copy()
    for key in list(query):
        values = [value for value in query.getlist(key) if value]
        if values:
            query.setlist(key, values)
        else:
            del query[key]
    return query.urlencode()


def _table_context(request, plan, can_edit: bool) -> dict:
    filterset = PlanTaskFilter(request.GET, queryset=selectors.plan_tasks(plan), plan=plan)
    tasks = [_with_summary(task) for task in filterset.qs]
    return {
        "plan": plan,
        "can_edit": can_edit,
        "filterset": filterset,
        "tasks": tasks,
        "filter_query": _filter_query(request),
        "status_choices": TaskStatus.choices,
        "bulk_form": BulkStatusForm(),
    }


def _progress_context(plan) -> dict:
    counts = selectors.plan_status_counts(plan)
    return {
        "plan": plan,
        "counts": counts,
        "visible_tasks": sum(c.count for c in counts),
        # Progress leaves them out; the status chart counts them: the card says why the totals differ.
        "not_applicable": sum(c.count for c in counts if c.status == TaskStatus.NOT_APPLICABLE),
        "stalest": plan_stalest_required_attribute(plan),
    }


@login_required
def plan_detail(request, plan_id: int):
    plan, can_edit = _plan(request, plan_id)
    context = _table_context(request, plan, can_edit)
    if _htmx_partial(request) and request.htmx.target == "task-table":
        return render(request, f"{DASHBOARD}#filtered-table", context)
    preview = services.adoption_plan_sync_preview(plan=plan) if plan.needs_sync else None
    context.update(
        _progress_context(plan),
        customer=plan.customer_product.customer,
        customer_url=_customer_url(plan.customer_product.customer),
        sync_preview=preview,
        nav_section="customers",
    )
    return render(request, DASHBOARD, context)


def _status_changed_response(request, plan, task, *, message: str, context: str = "") -> HttpResponse:
    """The new row and, out of band, the progress card and the counts (and the drawer's status)."""
    plan = selectors.plan_for_page(plan.pk)
    row = selectors.plan_task(plan, task.pk)
    parts = {"plan": plan, "task": _with_summary(row) if row else None, "can_edit": True, "oob": True}
    parts.update(_progress_context(plan))
    html = render_to_string(f"{DASHBOARD}#status-changed", parts, request=request)
    if context == "drawer" and row is not None:
        drawer = {**_drawer_context(plan, parts["task"], can_edit=True, context="panel"), "oob": True}
        html += render_to_string(f"{DRAWER}#drawer-status-and-history", drawer, request=request)
    return _triggers(HttpResponse(html), **{"modal:close": True, "toast": message})


@login_required
@require_http_methods(["GET", "POST"])
def task_status(request, plan_id: int, task_id: int):
    """The status dialog (GET) and a person's status change (POST), through customer_task_update_status."""
    plan, _ = _plan(request, plan_id, write=True)
    task = _task(request, plan, task_id, write=True)
    context = request.POST.get("context") or request.GET.get("context") or ""
    if request.method == "POST":
        form = TaskStatusForm(request.POST)
        if form.is_valid():
            try:
                task = services.customer_task_update_status(
                    actor=request.user, task=task, status=form.cleaned_data["status"], notes=form.cleaned_data["note"]
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                label = TaskStatus(task.status).label
                if task.status_change_recorded:
                    message = f"“{task.name}” is now {label}."
                else:
                    message = f"“{task.name}” was already {label}; nothing changed."
                if not request.htmx:
                    messages.success(request, message)
                    return redirect("plan-detail", plan_id=plan.pk)
                return _status_changed_response(request, plan, task, message=message, context=context)
    else:
        form = TaskStatusForm(initial={"status": task.status})
    page = {"plan": plan, "task": _with_summary(selectors.plan_task(plan, task.pk) or task), "form": form}
    page["context"] = context
    if request.htmx:
        response = render(request, f"{DASHBOARD}#status-modal", page)
        if request.method == "POST":  # errors: show them in the dialog, which stays open
            response["HX-Retarget"] = "#modal-content"
            response["HX-Reswap"] = "innerHTML"
        return response
    status = 400 if request.method == "POST" else 200
    return render(request, "tasks/status.html", {**page, "nav_section": "customers"}, status=status)


def _plan_url(plan, request) -> str:
    """Back to the plan with the filters in use."""
    query = _filter_query(request)
    return f"{reverse('plan-detail', args=[plan.pk])}{'?' if query else ''}{query}"


def _bulk_message(tasks, label: str) -> str:
    """“2 tasks set to Done; 1 was already Done.”: tasks that already had the status are not counted as set."""
    recorded = sum(1 for task in tasks if task.status_change_recorded)
    unchanged = len(tasks) - recorded
    parts = []
    if recorded:
        parts.append(f"{recorded} task{'' if recorded == 1 else 's'} set to {label}")
    if unchanged:
        if recorded:
            parts.append(f"{unchanged} {'was' if unchanged == 1 else 'were'} already {label}")
        else:
            parts.append(
                f"{unchanged} task{'' if unchanged == 1 else 's'} {'was' if unchanged == 1 else 'were'} already {label}; nothing changed"
            )
    return "; ".join(parts) + "."


@login_required
@require_POST
def plan_bulk_status(request, plan_id: int):
    """One status for the ticked tasks, all or nothing, through customer_tasks_bulk_update_status."""
    plan, _ = _plan(request, plan_id, write=True)
    form = BulkStatusForm(request.POST)
    error = None
    if form.is_valid():
        try:
            changed = services.customer_tasks_bulk_update_status(
                actor=request.user,
                plan=plan,
                task_ids=form.cleaned_data["task"],
                status=form.cleaned_data["status"],
                notes=form.cleaned_data["note"],
            )
        except DomainError as exc:
            error = exc.message
        else:
            message = _bulk_message(changed, TaskStatus(form.cleaned_data["status"]).label)
            if not request.htmx:
                messages.success(request, message)
                return redirect(_plan_url(plan, request))
            plan = selectors.plan_for_page(plan.pk)
            context = {**_table_context(request, plan, True), **_progress_context(plan), "oob": True}
            html = render_to_string(f"{DASHBOARD}#bulk-changed", context, request=request)
            return _triggers(HttpResponse(html), toast=message)
    else:
        error = " ".join(str(message) for messages_ in form.errors.values() for message in messages_)
    if not request.htmx:
        messages.error(request, f"Nothing was changed: {error}")
        return redirect(_plan_url(plan, request))
    response = render(request, f"{DASHBOARD}#bulk-error", {"error": error})
    response["HX-Retarget"] = "#bulk-feedback"
    response["HX-Reswap"] = "innerHTML"
    return response


@login_required
@require_POST
def plan_evaluate(request, plan_id: int):
    """Re-check every task of the plan against its telemetry now (the plan evaluation service)."""
    plan, _ = _plan(request, plan_id, write=True)
    before = plan.progress_percentage
    plan = adoption_plan_evaluate(actor=request.user, plan=plan)
    messages.success(
        request, f"Telemetry evaluated for every task. Progress {pct(before)} → {pct(plan.progress_percentage)}."
    )
    return redirect("plan-detail", plan_id=plan.pk)


# --- sync -------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan_sync(request, plan_id: int):
    """What a sync would change (GET, for everyone who sees the plan) and applying it (POST, writers)."""
    plan, can_edit = _plan(request, plan_id, write=request.method == "POST")
    if request.method == "POST":
        preview = services.adoption_plan_sync_preview(plan=plan)
        services.adoption_plan_sync(actor=request.user, plan=plan)
        messages.success(
            request,
            f"Plan synced: {len(preview.to_add)} task{'' if len(preview.to_add) == 1 else 's'} added, "
            f"{len(preview.to_remove)} archived, {len(preview.to_update)} refreshed.",
        )
        return redirect("plan-detail", plan_id=plan.pk)
    preview = services.adoption_plan_sync_preview(plan=plan)
    return render(
        request,
        "plans/sync.html",
        {
            "plan": plan,
            "customer": plan.customer_product.customer,
            "customer_url": _customer_url(plan.customer_product.customer),
            "preview": preview,
            "can_edit": can_edit,
            "nav_section": "customers",
        },
    )


# --- the task drawer ----------------------------------------------------------------------------------


def _drawer_context(
    plan, task, *, can_edit: bool, context: str, forms: dict | None = None, keep_open: int | None = None
) -> dict:
    """Everything the drawer shows about one task: telemetry cards with their latest value and a
    form to add one, and the status history (newest first) with its evidence. `keep_open` names the
    attribute whose form just stored a value: it stays open, empty and focused, for the next one."""
    forms = forms or {}
    cards = []
    for attribute, latest in task_attribute_rows(task):
        form = forms.get(attribute.pk) or (TelemetryValueForm(attribute=attribute) if can_edit else None)
        is_open = form is not None and attribute.pk == keep_open
        if is_open:
            form.fields["value"].widget.attrs["autofocus"] = True
        cards.append(
            {
                "attribute": attribute,
                "latest": latest,
                "criterion": criteria.describe(attribute.success_criteria, attribute.name, attribute.data_type),
                "form": form,
                "open": is_open,
            }
        )
    return {
        "plan": plan,
        "task": task,
        "cards": cards,
        "history": selectors.task_history(task),
        "can_edit": can_edit and not task.is_archived,
        "can_hand_back": can_edit and task.is_user_owned and bool(cards),
        "context": context,
    }


def _drawer_task(request, plan, task_id):
    """The visible task with its row relations; archived tasks have left the plan: 404 like a missing one."""
    _task(request, plan, task_id)
    task = selectors.plan_task(plan, task_id)
    if task is None:
        raise NotFound(f"customer task {task_id} not found")
    return _with_summary(task)


def _render_drawer(
    request, plan, task, *, can_edit: bool, context: str, forms=None, message: str = "", keep_open: int | None = None
):
    """The drawer after a GET or a change. As a panel on the dashboard, a change also answers the task's
    row, the progress card and the counts out of band, so the dashboard behind stays true."""
    page = _drawer_context(plan, task, can_edit=can_edit, context=context, forms=forms, keep_open=keep_open)
    if not request.htmx:
        if message:
            messages.success(request, message)
        if request.method == "POST":
            return redirect("task-detail", plan_id=plan.pk, task_id=task.pk)
        return render(request, DRAWER, {**page, "customer": plan.customer_product.customer, "nav_section": "customers"})
    html = render_to_string(f"{DRAWER}#drawer-panel", page, request=request)
    if request.method == "POST" and context == "panel":
        fresh = selectors.plan_for_page(plan.pk)
        parts = {**_progress_context(fresh), "task": task, "can_edit": True, "oob": True}
        html += render_to_string(f"{DASHBOARD}#status-changed", parts, request=request)
    response = HttpResponse(html)
    return _triggers(response, toast=message) if message else response


@login_required
def task_detail(request, plan_id: int, task_id: int):
    """The task drawer: a panel on the dashboard for htmx, a page of its own otherwise."""
    plan, can_edit = _plan(request, plan_id)
    task = _drawer_task(request, plan, task_id)
    context = "panel" if request.htmx else "page"
    return _render_drawer(request, plan, task, can_edit=can_edit, context=context)


def _drawer_context_name(request) -> str:
    return "panel" if request.POST.get("context") == "panel" else "page"


@login_required
@require_POST
def task_value_add(request, plan_id: int, task_id: int, attribute_id: int):
    """A telemetry value typed in by a person, through the same ingestion service as GraphQL's
    addTelemetryValue (source "manual entry"); the task is evaluated at once."""
    plan, _ = _plan(request, plan_id, write=True)
    task = _drawer_task(request, plan, task_id)
    attribute = get_customer_attribute_for_user(request.user, attribute_id, write=True)
    if attribute.customer_task_id != task.pk or not attribute.is_active:
        raise NotFound(f"customer telemetry attribute {attribute_id} not found")
    form = TelemetryValueForm(request.POST, attribute=attribute)
    message = ""
    if form.is_valid():
        try:
            result = telemetry_ingest(
                actor=request.user,
                items=[form.ingestion_item()],
                allowed_customer_ids=customer_ids_visible_to(request.user),
                channel="pages",
            )
        except DomainError as error:
            _add_ingestion_errors(form, error)
        else:
            task = _drawer_task(request, plan, task.pk)
            message = f"Value stored for {attribute.name}."
            if result.status_changes:
                message += f" “{task.name}” is now {TaskStatus(task.status).label}."
            form = None
    forms = {attribute.pk: form} if form is not None else None
    if form is not None and not request.htmx:
        page = _drawer_context(plan, task, can_edit=True, context="page", forms=forms)
        return render(request, DRAWER, {**page, "customer": plan.customer_product.customer}, status=400)
    return _render_drawer(
        request,
        plan,
        task,
        can_edit=True,
        context=_drawer_context_name(request),
        forms=forms,
        message=message,
        keep_open=attribute.pk if form is None else None,
    )


def _add_ingestion_errors(form, error: DomainError) -> None:
    """The ingestion service names each bad item's field: show its message under that field."""
    details = error.details if isinstance(error.details, list) else []
    if not details:
        add_domain_error(form, error)
        return
    for item in details:
        form.add_ingestion_error(item.get("field"), item.get("message") or error.message)


def _evaluation_message(task, *, changed: bool) -> str:
    """What an evaluation did. A task a person set keeps its status, so say what telemetry thinks of it."""
    label = TaskStatus(task.status).label
    if task.is_user_owned:
        computed = task.telemetry.computed_status
        if not computed or computed == task.status:
            return "Status set by hand; telemetry now agrees."
        return f"Status set by hand; telemetry says {TaskStatus(computed).label}."
    return f"Telemetry evaluated: now {label}." if changed else f"Telemetry evaluated: still {label}."


@login_required
@require_POST
def task_evaluate(request, plan_id: int, task_id: int):
    """Evaluate this task's telemetry now (the evaluation service GraphQL's evaluateTaskTelemetry uses)."""
    plan, _ = _plan(request, plan_id, write=True)
    task = _drawer_task(request, plan, task_id)
    changes = evaluate_customer_tasks(
        task_ids=[task.pk], evidence_extra={"trigger": "task-evaluation", "requestedBy": request.user.get_username()}
    )
    task = _drawer_task(request, plan, task.pk)
    message = _evaluation_message(task, changed=bool(changes))
    return _render_drawer(request, plan, task, can_edit=True, context=_drawer_context_name(request), message=message)


@login_required
@require_POST
def task_hand_back(request, plan_id: int, task_id: int):
    """Hand the task back to telemetry, which applies its computed status at once."""
    plan, _ = _plan(request, plan_id, write=True)
    task = _drawer_task(request, plan, task_id)
    context = _drawer_context_name(request)
    computed = task.telemetry.computed_status
    if computed and computed != task.status and request.POST.get("confirm") != "yes":
        return _hand_back_confirmation(request, plan, task, computed, context=context)
    try:
        customer_task_reset_to_telemetry(actor=request.user, task=task)
    except DomainError as error:
        return error_response(request, 400, error.message)
    task = _drawer_task(request, plan, task.pk)
    message = f"“{task.name}” is back with telemetry: {TaskStatus(task.status).label}."
    return _render_drawer(request, plan, task, can_edit=True, context=context, message=message)


def _hand_back_confirmation(request, plan, task, computed: str, *, context: str) -> HttpResponse:
    """Handing back would change the status: the drawer asks first, in place, and nothing is written yet."""
    moves = {TaskStatus.DONE, TaskStatus.NOT_APPLICABLE} & {task.status, computed}
    page = _drawer_context(plan, task, can_edit=True, context=context)
    page["hand_back_confirm"] = {
        "current": TaskStatus(task.status).label,
        "computed": TaskStatus(computed).label,
        "progress_changes": bool(moves) and task.weight > 0,
    }
    if request.htmx:
        return render(request, f"{DRAWER}#drawer-panel", page)
    return render(request, DRAWER, {**page, "customer": plan.customer_product.customer, "nav_section": "customers"})
