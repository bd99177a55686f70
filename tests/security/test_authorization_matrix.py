"""Who may use what: every URL pattern and every GraphQL operation against every kind of caller.

The tables below decide, for each URL pattern (and method) and each GraphQL query and mutation, the
answer each caller gets. The tests enumerate the URL resolver and the GraphQL schema and fail naming
anything without a row, so nothing new can be exposed without deciding who may use it.

Callers (columns, in this order):
  anonymous    no credentials
  viewer       VIEWER assigned to the owned customer
  csm          CSM assigned to the owned customer
  csm_other    CSM assigned to no customer of the matrix
  editor       CATALOG_EDITOR
  admin        superuser (ADMIN)
  key_own      the owned customer's API key (Authorization: Bearer)
  key_foreign  another customer's API key
Everyone with a role is staff, so the Django admin's own scoping is checked too.

Page answers: an HTTP status, "login" (302 to the sign-in page, the admin's one for admin URLs) or
"302->/path" (another redirect). GraphQL answers: "data", or the error's extensions.code, followed
by "/401" etc. when the HTTP status is not 200.
"""

import copy
import json
import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from graphql import get_named_type, is_composite_type

from config.schema import schema
from tests.security.report import REPORT
from tests.security.world import MISSING_ID, Ids

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "csm", "csm_other", "editor", "admin", "key_own", "key_foreign")


def E(*answers):
    """One row's answers, in ROLES order."""
    assert len(answers) == len(ROLES), answers
    return dict(zip(ROLES, answers, strict=True))


# --- callers and requests ---------------------------------------------------------------------------


def clients_for(world) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for role in ("viewer", "csm", "csm_other", "editor", "admin"):
        clients[role] = Client()
        clients[role].force_login(world.users[role])
    clients["key_own"] = Client(HTTP_AUTHORIZATION=f"Bearer {world.keys['own']}")
    clients["key_foreign"] = Client(HTTP_AUTHORIZATION=f"Bearer {world.keys['foreign']}")
    return clients


def isolated(client: Client, method: str, url: str, **kwargs):
    """One request whose writes are rolled back and whose cookie changes (a sign-out) are forgotten,
    so every cell of the matrix starts from the same data and the same signed-in caller."""
    cookies = copy.deepcopy(client.cookies)
    cache.clear()  # rate-limit counters
    try:
        with transaction.atomic():
            response = getattr(client, method.lower())(url, **kwargs)
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    return response


def page_answer(response):
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(("/login/", "/admin/login/")):
            return "login"
        return "302->" + re.sub(r"/\d+/", "/<id>/", location.split("?")[0])
    return response.status_code


# --- URL rows -----------------------------------------------------------------------------------------


@dataclass
class UrlRow:
    pattern: str  # the resolver's pattern, prefixes joined
    method: str
    url: object  # callable(ids) -> path
    expect: dict
    data: object = None  # callable(world, ids) -> POST data (form dict or JSON text)
    json: bool = False
    scoped: bool = False  # names an object of a customer: foreign and missing ids must answer alike

    @property
    def key(self) -> str:
        return f"{self.method} /{self.pattern}"


def telemetry_body(world, ids: Ids) -> str:
    return json.dumps({"batchId": "matrix-1", "values": [{"customerAttributeId": ids.attribute, "value": 95}]})


def everyone(answer):
    return E(*[answer] * len(ROLES))


def written(redirect: str):
    """A write to an owned customer's data: done (and redirected) for its CSM and admins."""
    return E("login", 403, redirect, 404, 404, redirect, "login", "login")


# Answers shared by many rows. Pages never accept API keys: to them a key is no sign-in at all.
LOGIN_ONLY = E("login", 200, 200, 200, 200, 200, "login", "login")  # any signed-in caller
STAFF = LOGIN_ONLY  # everyone with a role is staff in this matrix
ADMIN_PAGE = E("login", 403, 403, 403, 403, 200, "login", "login")
CUSTOMER_READ = E("login", 200, 200, 404, 404, 200, "login", "login")  # foreign customers answer like missing ones
CUSTOMER_WRITE = E("login", 403, 200, 404, 404, 200, "login", "login")  # a viewer sees it but is refused
CUSTOMER_ADMIN = E("login", 403, 403, 404, 404, 200, "login", "login")
TELEMETRY_API = E(401, 401, 401, 401, 401, 401, 200, 403)  # only API keys; another customer's attribute: 403

PAGE_ROWS = [
    UrlRow("", "GET", lambda w, i: "/", LOGIN_ONLY),
    UrlRow("login/", "GET", lambda w, i: "/login/", E(200, "302->/", "302->/", "302->/", "302->/", "302->/", 200, 200)),
    UrlRow("logout/", "POST", lambda w, i: "/logout/", everyone("login")),
    UrlRow("customers/", "GET", lambda w, i: "/customers/", LOGIN_ONLY),
    UrlRow("customers/new/", "GET", lambda w, i: "/customers/new/", ADMIN_PAGE),
    UrlRow(
        "customers/new/",
        "POST",
        lambda w, i: "/customers/new/",
        E("login", 403, 403, 403, 403, "302->/customers/<id>/", "login", "login"),
        data=lambda w, i: {"name": "Fabrikam"},
    ),
    UrlRow("customers/<str:customer_id>/", "GET", lambda w, i: f"/customers/{i.customer}/", CUSTOMER_READ, scoped=True),
    UrlRow(
        "customers/<str:customer_id>/edit/",
        "GET",
        lambda w, i: f"/customers/{i.customer}/edit/",
        CUSTOMER_WRITE,
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/edit/",
        "POST",
        lambda w, i: f"/customers/{i.customer}/edit/",
        written("302->/customers/<id>/"),
        data=lambda w, i: {"name": "Northwind Traders", "description": "renamed"},
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/delete/",
        "GET",
        lambda w, i: f"/customers/{i.customer}/delete/",
        CUSTOMER_ADMIN,
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/delete/",
        "POST",
        lambda w, i: f"/customers/{i.customer}/delete/",
        E("login", 403, 403, 404, 404, "302->/customers/", "login", "login"),
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/products/new/",
        "GET",
        lambda w, i: f"/customers/{i.customer}/products/new/",
        CUSTOMER_WRITE,
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/products/new/",
        "POST",
        lambda w, i: f"/customers/{i.customer}/products/new/",
        CUSTOMER_WRITE,
        data=lambda w, i: {"product": i.free_product, "license_level": "ESSENTIAL"},
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/products/<str:assignment_id>/remove/",
        "GET",
        lambda w, i: f"/customers/{i.customer}/products/{i.assignment}/remove/",
        CUSTOMER_WRITE,
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/products/<str:assignment_id>/remove/",
        "POST",
        lambda w, i: f"/customers/{i.customer}/products/{i.assignment}/remove/",
        written("302->/customers/<id>/"),
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/products/<str:assignment_id>/edit/",
        "GET",
        lambda w, i: f"/customers/{i.customer}/products/{i.assignment}/edit/",
        CUSTOMER_WRITE,
        scoped=True,
    ),
    UrlRow(
        "customers/<str:customer_id>/products/<str:assignment_id>/edit/",
        "POST",
        lambda w, i: f"/customers/{i.customer}/products/{i.assignment}/edit/",
        CUSTOMER_WRITE,  # the form answers in place
        data=lambda w, i: {"license_level": "ADVANTAGE"},
        scoped=True,
    ),
    UrlRow("favicon.ico", "GET", lambda w, i: "/favicon.ico", everyone("302->/static/favicon.svg")),
    UrlRow("plans/<int:plan_id>/", "GET", lambda w, i: f"/plans/{i.plan}/", CUSTOMER_READ, scoped=True),
    UrlRow("plans/<int:plan_id>/sync/", "GET", lambda w, i: f"/plans/{i.plan}/sync/", CUSTOMER_READ, scoped=True),
    UrlRow(
        "plans/<int:plan_id>/sync/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/sync/",
        written("302->/plans/<id>/"),
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/evaluate/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/evaluate/",
        written("302->/plans/<id>/"),
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/evaluate/",
        "GET",
        lambda w, i: f"/plans/{i.plan}/evaluate/",
        E("login", 405, 405, 405, 405, 405, "login", "login"),
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/status/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/tasks/status/",
        written("302->/plans/<id>/"),
        data=lambda w, i: {"task_ids": [i.task], "status": "DONE"},
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/<int:task_id>/",
        "GET",
        lambda w, i: f"/plans/{i.plan}/tasks/{i.task}/",
        CUSTOMER_READ,
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/<int:task_id>/status/",
        "GET",
        lambda w, i: f"/plans/{i.plan}/tasks/{i.task}/status/",
        CUSTOMER_WRITE,
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/<int:task_id>/status/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/tasks/{i.task}/status/",
        written("302->/plans/<id>/"),
        data=lambda w, i: {"status": "DONE", "notes": "checked"},
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/<int:task_id>/evaluate/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/tasks/{i.task}/evaluate/",
        written("302->/plans/<id>/tasks/<id>/"),
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/<int:task_id>/hand-back/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/tasks/{i.task}/hand-back/",
        written("302->/plans/<id>/tasks/<id>/"),
        scoped=True,
    ),
    UrlRow(
        "plans/<int:plan_id>/tasks/<int:task_id>/attributes/<int:attribute_id>/values/",
        "POST",
        lambda w, i: f"/plans/{i.plan}/tasks/{i.task}/attributes/{i.attribute}/values/",
        written("302->/plans/<id>/tasks/<id>/"),
        data=lambda w, i: {"value": "95"},
        scoped=True,
    ),
    UrlRow(
        "jobs/<int:job_id>/",
        "GET",
        lambda w, i: f"/jobs/{i.job}/",
        E("login", 404, 200, 404, 404, 200, "login", "login"),
        scoped=True,
    ),
    UrlRow("graphql/", "GET", lambda w, i: "/graphql/", E(401, 400, 400, 400, 400, 400, 401, 401)),
    UrlRow(
        "graphql/",
        "POST",
        lambda w, i: "/graphql/",
        E(401, 200, 200, 200, 200, 200, 401, 401),
        data=lambda w, i: json.dumps({"query": "{ customers { id } }"}),
        json=True,
    ),
    UrlRow("api/v1/telemetry", "POST", lambda w, i: "/api/v1/telemetry", TELEMETRY_API, data=telemetry_body, json=True),
    UrlRow("api/v1/telemetry", "GET", lambda w, i: "/api/v1/telemetry", everyone(405)),
    UrlRow(
        "api/v1/telemetry/", "POST", lambda w, i: "/api/v1/telemetry/", TELEMETRY_API, data=telemetry_body, json=True
    ),
    # Not a URL pattern: answered by middleware before host checks and sign-in.
    UrlRow("healthz", "GET", lambda w, i: "/healthz", everyone(200)),
]

# The admin's own pages (not per model).
ADMIN_SITE_ROWS = [
    UrlRow("admin/", "GET", lambda w, i: "/admin/", STAFF),
    UrlRow(
        "admin/login/",
        "GET",
        lambda w, i: "/admin/login/",
        E(200, "302->/admin/", "302->/admin/", "302->/admin/", "302->/admin/", "302->/admin/", 200, 200),
    ),
    UrlRow(
        "admin/logout/",
        "POST",
        lambda w, i: "/admin/logout/",
        E("302->/admin/", "login", "login", "login", "login", "login", "302->/admin/", "302->/admin/"),
    ),
    UrlRow("admin/password_change/", "GET", lambda w, i: "/admin/password_change/", STAFF),
    UrlRow("admin/password_change/done/", "GET", lambda w, i: "/admin/password_change/done/", STAFF),
    UrlRow(
        "admin/autocomplete/",
        "GET",
        lambda w, i: "/admin/autocomplete/",
        E("login", 403, 403, 403, 403, 403, "login", "login"),
    ),
    UrlRow("admin/jsi18n/", "GET", lambda w, i: "/admin/jsi18n/", STAFF),
    UrlRow(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        "GET",
        lambda w, i: f"/admin/r/{w.customer_content_type}/{i.customer}/",
        E("login", 404, 404, 404, 404, 404, "login", "login"),
    ),
    UrlRow(
        "admin/^(?P<app_label>auth|axes|customers|audit|adoption|telemetry)/$",
        "GET",
        lambda w, i: "/admin/customers/",
        E("login", 200, 200, 200, 404, 200, "login", "login"),
    ),
    UrlRow(
        "admin/(?P<url>.*)$",
        "GET",
        lambda w, i: "/admin/no-such-page/",
        E("login", 404, 404, 404, 404, 404, "login", "login"),
    ),
    UrlRow(
        "admin/auth/user/<id>/password/",
        "GET",
        lambda w, i: f"/admin/auth/user/{w.users['csm'].pk}/password/",
        ADMIN_PAGE,
    ),
]


# --- the admin, per registered model -------------------------------------------------------------------

ADMIN_ACTIONS = {
    # action: (pattern suffix, url suffix, method)
    "changelist": ("", "", "GET"),
    "add": ("add/", "add/", "GET"),
    "change": ("<path:object_id>/change/", "{pk}/change/", "GET"),
    "delete": ("<path:object_id>/delete/", "{pk}/delete/", "GET"),
    "history": ("<path:object_id>/history/", "{pk}/history/", "GET"),
    "object": ("<path:object_id>/", "{pk}/", "GET"),
}


def _first(model_path: str, **filters):
    def target(w, i):
        from django.apps import apps

        return (
            apps.get_model(model_path)
            ._default_manager.filter(**{k: v(w, i) for k, v in filters.items()})
            .order_by("pk")[0]
            .pk
        )

    return target


HIDDEN = "302->/admin/"  # the admin's "does not exist" answer: an object outside the caller's customers
NOBODY = E("login", 403, 403, 403, 403, 403, "login", "login")
ADMIN_ONLY_MODEL = dict.fromkeys(("changelist", "add", "change", "delete", "history"), ADMIN_PAGE)
SIGN_IN_RECORDS = {**ADMIN_ONLY_MODEL, "add": NOBODY}  # written by django-axes only
AUDIT_LOG = {**ADMIN_ONLY_MODEL, "add": NOBODY, "delete": NOBODY}  # append-only
CATALOG = {
    "changelist": STAFF,
    "change": STAFF,  # a view-only page for those who may not edit
    "history": STAFF,
    "add": E("login", 403, 403, 403, 200, 200, "login", "login"),
    "delete": E("login", 403, 403, 403, 200, 200, "login", "login"),
}
CUSTOMER_RECORDS = {  # read-only rows of a customer's plans and telemetry, scoped to the caller's customers
    "changelist": E("login", 200, 200, 200, 403, 200, "login", "login"),
    "change": E("login", 200, 200, HIDDEN, 403, 200, "login", "login"),
    "history": E("login", 200, 200, HIDDEN, HIDDEN, 200, "login", "login"),
    "add": NOBODY,
    "delete": NOBODY,
}
CUSTOMERS = {**CUSTOMER_RECORDS, "add": ADMIN_PAGE, "delete": ADMIN_PAGE}
ASSIGNMENTS = {
    **CUSTOMER_RECORDS,
    "add": E("login", 403, 200, 200, 403, 200, "login", "login"),
    "delete": E("login", 403, 200, HIDDEN, 403, 200, "login", "login"),
}
API_KEYS = {**CUSTOMER_RECORDS, "add": E("login", 403, 200, 200, 403, 200, "login", "login")}  # revoked, never deleted
JOBS = {  # a job is seen by whoever started it, and by admins
    "changelist": STAFF,
    "change": E("login", HIDDEN, 200, HIDDEN, HIDDEN, 200, "login", "login"),
    "history": E("login", HIDDEN, 200, HIDDEN, HIDDEN, 200, "login", "login"),
    "add": NOBODY,
    "delete": NOBODY,
}

# Every model registered with the admin: the row it opens (of the owned customer where it has one)
# and the answer per action. A model registered without an entry here fails the enumeration test.
ADMIN_MODELS = {
    "auth.group": (_first("auth.Group"), ADMIN_ONLY_MODEL),
    "auth.user": (lambda w, i: w.users["csm"].pk, ADMIN_ONLY_MODEL),
    "axes.accessattempt": (_first("axes.AccessAttempt"), SIGN_IN_RECORDS),
    "axes.accesslog": (_first("axes.AccessLog"), SIGN_IN_RECORDS),
    "axes.accessfailurelog": (_first("axes.AccessFailureLog"), SIGN_IN_RECORDS),
    "customers.customer": (lambda w, i: i.customer, CUSTOMERS),
    "customers.customerproduct": (lambda w, i: i.assignment, ASSIGNMENTS),
    "customers.personalaccesstoken": (
        _first("customers.PersonalAccessToken", user=lambda w, i: w.users["csm"]),
        ADMIN_ONLY_MODEL,
    ),
    "audit.auditlog": (_first("audit.AuditLog"), AUDIT_LOG),
    "adoption.job": (lambda w, i: i.job, JOBS),
    "adoption.product": (lambda w, i: i.product, CATALOG),
    "adoption.outcome": (lambda w, i: i.outcome, CATALOG),
    "adoption.release": (lambda w, i: i.release, CATALOG),
    "adoption.task": (lambda w, i: i.catalog_task, CATALOG),
    "adoption.adoptionplan": (lambda w, i: i.plan, CUSTOMER_RECORDS),
    "adoption.customertask": (lambda w, i: i.task, CUSTOMER_RECORDS),
    "adoption.taskstatuschange": (
        _first("adoption.TaskStatusChange", customer_task_id=lambda w, i: i.task),
        CUSTOMER_RECORDS,
    ),
    "telemetry.telemetryattribute": (lambda w, i: i.catalog_attribute, CATALOG),
    "telemetry.customertelemetryattribute": (lambda w, i: i.attribute, CUSTOMER_RECORDS),
    "telemetry.customertelemetryvalue": (lambda w, i: i.value, CUSTOMER_RECORDS),
    "telemetry.telemetrybatch": (
        _first("telemetry.TelemetryBatch", customer_id=lambda w, i: i.customer),
        CUSTOMER_RECORDS,
    ),
    "telemetry.apikey": (lambda w, i: i.api_key, API_KEYS),
}


def admin_model_rows() -> list[UrlRow]:
    rows = []
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        target, answers = ADMIN_MODELS.get(label, (None, None))
        if target is None:
            continue  # reported by test_every_url_pattern_has_a_row
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for action, (pattern_suffix, url_suffix, method) in ADMIN_ACTIONS.items():

            def url(w, i, target=target, base=base, url_suffix=url_suffix):
                pk = MISSING_ID if i.customer == MISSING_ID else target(w, i)
                return "/" + base + url_suffix.format(pk=pk)

            if action == "object":  # the bare object URL only redirects to its change page
                to_change = f"302->/{base}<id>/change/"
                expect = E("login", *[to_change] * 5, "login", "login")
            else:
                expect = answers[action]
            rows.append(UrlRow(base + pattern_suffix, method, url, expect, scoped=action not in ("changelist", "add")))
    return rows


URL_ROWS = PAGE_ROWS + ADMIN_SITE_ROWS + admin_model_rows()


def resolver_patterns(patterns=None, prefix="") -> list[str]:
    """Every URL pattern of the project, prefixes joined, as Django prints them."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            found += resolver_patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            found.append(prefix + str(entry.pattern))
    return found


# --- GraphQL rows --------------------------------------------------------------------------------------


@dataclass
class Op:
    variables: object  # callable(ids) -> variables
    expect: dict
    scoped: bool = False  # names an object of a customer


UN = "UNAUTHENTICATED/401"  # no session or personal token: API keys do not open GraphQL
SIGNED_IN = E(UN, "data", "data", "data", "data", "data", UN, UN)  # lists are filtered to what the caller may see
CUSTOMER_QUERY = E(UN, "data", "data", "NOT_FOUND", "NOT_FOUND", "data", UN, UN)
OWN_JOB = E(UN, "NOT_FOUND", "data", "NOT_FOUND", "NOT_FOUND", "data", UN, UN)  # its starter's and admins'
CATALOG_MUTATION = E(UN, "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "data", "data", UN, UN)
CUSTOMER_MUTATION = E(UN, "FORBIDDEN", "data", "NOT_FOUND", "NOT_FOUND", "data", UN, UN)
ADMIN_MUTATION = E(UN, "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "data", UN, UN)
CUSTOMER_DELETE = E(UN, "FORBIDDEN", "FORBIDDEN", "NOT_FOUND", "NOT_FOUND", "data", UN, UN)

QUERIES = {
    "products": Op(lambda i: {}, SIGNED_IN),
    "product": Op(lambda i: {"id": i.product}, SIGNED_IN),
    "adoptionPlan": Op(lambda i: {"id": i.plan}, CUSTOMER_QUERY, scoped=True),
    "adoptionPlansForCustomer": Op(lambda i: {"customerId": i.customer}, CUSTOMER_QUERY, scoped=True),
    "customerTask": Op(lambda i: {"id": i.task}, CUSTOMER_QUERY, scoped=True),
    "customerTasksForPlan": Op(lambda i: {"adoptionPlanId": i.plan}, CUSTOMER_QUERY, scoped=True),
    "syncPreview": Op(lambda i: {"adoptionPlanId": i.plan}, CUSTOMER_QUERY, scoped=True),
    "customer": Op(lambda i: {"id": i.customer}, CUSTOMER_QUERY, scoped=True),
    "customers": Op(lambda i: {}, SIGNED_IN),
    "job": Op(lambda i: {"id": i.job}, OWN_JOB, scoped=True),
    "jobs": Op(lambda i: {}, SIGNED_IN),
}

MUTATIONS = {
    "createTelemetryAttribute": Op(
        lambda i: {"input": {"taskId": i.catalog_task, "name": "seats_used", "dataType": "NUMBER"}}, CATALOG_MUTATION
    ),
    "updateTelemetryAttribute": Op(
        lambda i: {"id": i.catalog_attribute, "input": {"description": "Share"}}, CATALOG_MUTATION
    ),
    "deleteTelemetryAttribute": Op(lambda i: {"id": i.catalog_attribute}, CATALOG_MUTATION),
    "createProduct": Op(lambda i: {"input": {"name": "Matrix Vault"}}, CATALOG_MUTATION),
    "updateProduct": Op(
        lambda i: {"id": i.product, "input": {"description": "Sign-in security, v2"}}, CATALOG_MUTATION
    ),
    "deleteProduct": Op(lambda i: {"id": i.product}, CATALOG_MUTATION),
    "createOutcome": Op(lambda i: {"input": {"productId": i.product, "name": "Fewer tickets"}}, CATALOG_MUTATION),
    "updateOutcome": Op(lambda i: {"id": i.outcome, "input": {"description": "No passwords"}}, CATALOG_MUTATION),
    "deleteOutcome": Op(lambda i: {"id": i.outcome}, CATALOG_MUTATION),
    "createRelease": Op(lambda i: {"input": {"productId": i.product, "name": "8.0", "level": 8.0}}, CATALOG_MUTATION),
    "updateRelease": Op(lambda i: {"id": i.release, "input": {"description": "Spring release"}}, CATALOG_MUTATION),
    "deleteRelease": Op(lambda i: {"id": i.release}, CATALOG_MUTATION),
    "createTask": Op(
        lambda i: {"input": {"productId": i.product, "name": "Train admins", "estMinutes": 30, "weight": 2.0}},
        CATALOG_MUTATION,
    ),
    "updateTask": Op(lambda i: {"id": i.catalog_task, "input": {"estMinutes": 45}}, CATALOG_MUTATION),
    "deleteTask": Op(lambda i: {"id": i.catalog_task}, CATALOG_MUTATION),
    "addCustomerTelemetryValue": Op(
        lambda i: {"input": {"customerAttributeId": i.attribute, "value": 95}}, CUSTOMER_MUTATION, scoped=True
    ),
    "bulkAddCustomerTelemetryValues": Op(
        lambda i: {"inputs": [{"customerAttributeId": i.attribute, "value": 96}]}, CUSTOMER_MUTATION, scoped=True
    ),
    "evaluateTaskTelemetry": Op(lambda i: {"customerTaskId": i.task}, CUSTOMER_MUTATION, scoped=True),
    "evaluateAllTasksTelemetry": Op(lambda i: {"adoptionPlanId": i.plan}, CUSTOMER_MUTATION, scoped=True),
    "resetCustomerTaskToTelemetry": Op(lambda i: {"customerTaskId": i.task}, CUSTOMER_MUTATION, scoped=True),
    "createAdoptionPlan": Op(lambda i: {"customerProductId": i.unplanned_assignment}, CUSTOMER_MUTATION, scoped=True),
    "syncAdoptionPlan": Op(lambda i: {"adoptionPlanId": i.plan}, CUSTOMER_MUTATION, scoped=True),
    "updateCustomerTaskStatus": Op(
        lambda i: {"input": {"customerTaskId": i.task, "status": "DONE", "notes": "checked"}},
        CUSTOMER_MUTATION,
        scoped=True,
    ),
    "bulkUpdateCustomerTaskStatus": Op(
        lambda i: {"adoptionPlanId": i.plan, "taskIds": [i.task], "status": "DONE"}, CUSTOMER_MUTATION, scoped=True
    ),
    "createCustomer": Op(lambda i: {"input": {"name": "Fabrikam"}}, ADMIN_MUTATION),
    "updateCustomer": Op(
        lambda i: {"id": i.customer, "input": {"description": "Renamed"}}, CUSTOMER_MUTATION, scoped=True
    ),
    "deleteCustomer": Op(lambda i: {"id": i.customer}, CUSTOMER_DELETE, scoped=True),
    "assignProductToCustomer": Op(
        lambda i: {
            "input": {
                "customerId": i.customer,
                "productId": i.free_product,
                "licenseLevel": "ESSENTIAL",
                "selectedOutcomeIds": [],
            }
        },
        CUSTOMER_MUTATION,
        scoped=True,
    ),
    "updateCustomerProduct": Op(
        lambda i: {"id": i.assignment, "input": {"licenseLevel": "ADVANTAGE"}}, CUSTOMER_MUTATION, scoped=True
    ),
    "removeProductFromCustomer": Op(lambda i: {"id": i.assignment}, CUSTOMER_MUTATION, scoped=True),
    "syncProductPlans": Op(lambda i: {"productId": i.product}, CATALOG_MUTATION),
}


def document(kind: str, name: str) -> str:
    """`query`/`mutation` calling one field with every argument as a variable, selecting __typename."""
    root = schema.graphql_schema.query_type if kind == "query" else schema.graphql_schema.mutation_type
    field = root.fields[name]
    declarations = ", ".join(f"${arg}: {definition.type}" for arg, definition in field.args.items())
    arguments = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
    head = f"{kind} M({declarations})" if declarations else kind
    call = f"{name}({arguments})" if arguments else name
    return f"{head} {{ {call}{selection} }}"


def graphql_answer(response, name: str):
    body = response.json()
    errors = body.get("errors") or []
    if errors:
        codes = sorted({(error.get("extensions") or {}).get("code", "NO CODE") for error in errors})
        answer = "+".join(codes)
    else:
        assert body["data"][name] is not None, body
        answer = "data"
    return answer if response.status_code == 200 else f"{answer}/{response.status_code}"


def send_graphql(client, kind, name, variables):
    return isolated(
        client,
        "POST",
        "/graphql/",
        data=json.dumps({"query": document(kind, name), "variables": variables}),
        content_type="application/json",
    )


def graphql_rows():
    return [("query", name, op) for name, op in QUERIES.items()] + [
        ("mutation", name, op) for name, op in MUTATIONS.items()
    ]


def send_url(client, row: UrlRow, world, ids: Ids):
    kwargs = {}
    if row.data is not None:
        kwargs["data"] = row.data(world, ids)
        if row.json:
            kwargs["content_type"] = "application/json"
    return isolated(client, row.method, row.url(world, ids), **kwargs)


def shape(text: str) -> str:
    """A body with every number blanked out (ids, line numbers) and the per-request tokens removed,
    to compare the answers to two different ids."""
    text = re.sub(r'(csrfmiddlewaretoken" value|nonce)="[^"]*"', "", text)
    text = re.sub(r'"X-CSRFToken": "[^"]*"', "", text)
    return re.sub(r"\d+", "<n>", text)


# --- the tests -----------------------------------------------------------------------------------------


def test_every_url_pattern_has_a_row():
    decided = {row.pattern for row in URL_ROWS}
    missing = [pattern for pattern in resolver_patterns() if pattern not in decided]
    unregistered = sorted(
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model in admin.site._registry
        if f"{model._meta.app_label}.{model._meta.model_name}" not in ADMIN_MODELS
    )
    assert not unregistered, f"admin models without a row in ADMIN_MODELS: {unregistered}"
    assert not missing, f"URL patterns without a row in the authorization matrix: {missing}"


def test_every_graphql_operation_has_a_row():
    graphql_schema = schema.graphql_schema
    missing = sorted(set(graphql_schema.query_type.fields) - set(QUERIES)) + sorted(
        set(graphql_schema.mutation_type.fields) - set(MUTATIONS)
    )
    assert not missing, f"GraphQL operations without a row in the authorization matrix: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_url_matrix(world, role):
    client = clients_for(world)[role]
    wrong = []
    for row in URL_ROWS:
        answer = page_answer(send_url(client, row, world, world.own))
        if row.expect[role] != answer:
            wrong.append(f"{row.key}: expected {row.expect[role]!r}, got {answer!r}")
    REPORT.add("URL matrix", rows=len(URL_ROWS) if role == ROLES[0] else 0, roles=1, cells=len(URL_ROWS))
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_graphql_matrix(world, role):
    client = clients_for(world)[role]
    wrong = []
    rows = graphql_rows()
    for kind, name, op in rows:
        answer = graphql_answer(send_graphql(client, kind, name, op.variables(world.own)), name)
        if op.expect[role] != answer:
            wrong.append(f"{kind} {name}: expected {op.expect[role]!r}, got {answer!r}")
    REPORT.add("GraphQL matrix", rows=len(rows) if role == ROLES[0] else 0, roles=1, cells=len(rows))
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ["viewer", "csm"])
def test_foreign_and_missing_objects_answer_alike(world, role):
    """An object of a customer the caller may not see answers exactly like one that does not exist:
    same status, same body once the ids are blanked out (pages, admin pages and GraphQL alike)."""
    client = clients_for(world)[role]
    compared, different = 0, []
    for row in URL_ROWS:
        if not row.scoped or row.url(world, world.foreign) == row.url(world, world.own):
            continue
        answers = []
        for ids in (world.foreign, world.missing):
            response = send_url(client, row, world, ids)
            answers.append(
                (response.status_code, shape(response.get("Location", "")), shape(response.content.decode()))
            )
        compared += 1
        if answers[0] != answers[1]:
            different.append(f"{row.key}: foreign {answers[0][:2]}, missing {answers[1][:2]}")
    for kind, name, op in graphql_rows():
        if not op.scoped:
            continue
        answers = []
        for ids in (world.foreign, world.missing):
            response = send_graphql(client, kind, name, op.variables(ids))
            answers.append((response.status_code, shape(response.content.decode())))
        compared += 1
        if answers[0] != answers[1]:
            different.append(f"{kind} {name}: foreign {answers[0]}, missing {answers[1]}")
        assert "NOT_FOUND" in answers[0][1], (name, answers[0])
    REPORT.add("Foreign vs missing ids", pairs=compared, requests=2 * compared)
    assert compared > 50
    assert not different, "\n".join(different)
