"""Dialogs of the customer pages: create, edit, delete, assign a product (with its live preview) and
remove a product. Writes go through the services; refusals answer in words and change nothing."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from adoption.choices import LicenseLevel
from adoption.models import AdoptionPlan, CustomerTask
from adoption.services import eligible_catalog_tasks
from config.audit.models import AuditLog
from config.errors import ValidationFailed
from customers.forms import CustomerForm, add_domain_error
from customers.models import Customer, CustomerProduct, Role
from telemetry.models import CustomerTelemetryValue
from telemetry.services import telemetry_ingest
from tests.factories import ApiKeyFactory, ProductFactory, UserFactory
from tests.pages.helpers import make_catalog, make_customer, without_csrf

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "modal-content"}


def csrf_client(user) -> Client:
    """A client that enforces CSRF like a browser; returns it with a token from a rendered page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    return client


def post(client: Client, url: str, data: dict, **extra):
    token = client.cookies["csrftoken"].value
    return client.post(url, data, HTTP_X_CSRFTOKEN=token, **extra)


@pytest.fixture
def catalog():
    return make_catalog(tasks=6, name="Identity Guard")


@pytest.fixture
def northwind(admin_user, csm, catalog):
    product, _, _ = catalog
    return make_customer(admin_user, "Northwind", assignees=[csm], products=[product], done=2)


def domain_snapshot():
    return (
        list(Customer.objects.order_by("pk").values_list("pk", "name", "description")),
        list(CustomerProduct.objects.order_by("pk").values_list("pk", "customer_id", "product_id", "license_level")),
        AdoptionPlan.objects.count(),
        CustomerTask.objects.count(),
        list(Customer.assigned_users.through.objects.order_by("pk").values_list("customer_id", "user_id")),
    )


# --- new customer -----------------------------------------------------------------------------------


def test_new_customer_dialog_and_page(admin_user):
    client = csrf_client(admin_user)
    dialog = client.get("/customers/new/", **HTMX).content.decode()
    assert dialog.lstrip().startswith('<div class="dialog-header">')
    assert 'id="modal-title">New customer<' in dialog
    assert '<label class="form-label" for="id_name">Name' in dialog
    assert "Assigned people" in dialog
    page = client.get("/customers/new/").content.decode()
    assert "<html" in page and 'id="customer-form"' in page


def test_admin_creates_a_customer_with_assignees_and_lands_on_its_page(admin_user, csm):
    client = csrf_client(admin_user)
    response = post(
        client, "/customers/new/", {"name": "  Fabrikam  ", "description": "Retail", "assignees": [csm.pk]}, **HTMX
    )
    customer = Customer.objects.get(name="Fabrikam")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/customers/{customer.pk}/"
    assert customer.description == "Retail"
    assert list(customer.assigned_users.all()) == [csm]
    assert list(AuditLog.objects.filter(customer_id=customer.pk).values_list("action", flat=True).order_by("id")) == [
        "customer.create",
        "customer.set_assignees",
    ]
    page = client.get(response["HX-Redirect"]).content.decode()
    assert "Created customer Fabrikam." in page


def test_create_without_javascript_redirects(admin_user):
    client = csrf_client(admin_user)
    response = post(client, "/customers/new/", {"name": "Plain Form Co"})
    customer = Customer.objects.get(name="Plain Form Co")
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "Ensure this value has at most 200 characters (it has 201)."),
        ({"name": "Ok", "description": "y" * 10_001}, "description", "at most 10000 characters"),
        ({"name": "Ok", "assignees": ["999999"]}, "assignees", "Select a valid choice. 999999 is not one of"),
        ({"name": "Nul\x00Co"}, "name", "Null characters are not allowed."),
    ],
)
def test_create_shows_errors_under_the_field_and_creates_nothing(admin_user, data, field, message):
    client = csrf_client(admin_user)
    before = domain_snapshot()
    response = post(client, "/customers/new/", data, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert f'data-testid="error-{field}">' in content
    error = content.split(f'data-testid="error-{field}">')[1].split("</div>")[0]
    assert message in error
    assert domain_snapshot() == before


def test_service_refusal_is_shown_under_the_field_it_names():
    form = CustomerForm({"name": "Northwind"})
    assert form.is_valid()
    add_domain_error(form, ValidationFailed("a customer named 'Northwind' already exists", field="name"))
    assert form.errors == {"name": ["A customer named 'Northwind' already exists"]}
    assert "is-invalid" in form.fields["name"].widget.attrs["class"]
    add_domain_error(form, ValidationFailed("something else", field="unknownField"))
    assert form.non_field_errors() == ["Something else"]


@pytest.mark.parametrize("role", [Role.CSM, Role.VIEWER, Role.CATALOG_EDITOR])
def test_only_admins_may_create_customers(role):
    user = UserFactory(username=f"u_{role}", role=role)
    client = csrf_client(user)
    before = domain_snapshot()
    assert client.get("/customers/new/").status_code == 403
    response = post(client, "/customers/new/", {"name": "Sneaky Co"})
    assert response.status_code == 403
    assert b"Only admins may create customers." in response.content
    htmx = post(client, "/customers/new/", {"name": "Sneaky Co"}, **HTMX)
    assert htmx.status_code == 403 and htmx["X-Error-Message"] == "Only%20admins%20may%20create%20customers."
    assert domain_snapshot() == before


# --- edit -------------------------------------------------------------------------------------------------


def test_csm_edits_name_and_description_in_place(csm, northwind):
    client = csrf_client(csm)
    dialog = client.get(f"/customers/{northwind.pk}/edit/", **HTMX).content.decode()
    assert 'value="Northwind"' in dialog
    assert "Assigned people" not in dialog  # a CSM does not manage assignees
    response = post(
        client, f"/customers/{northwind.pk}/edit/", {"name": "Northwind Logistics", "description": "New"}, **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert json.loads(response["HX-Trigger"]) == {"toast": {"message": "Saved Northwind Logistics."}}
    assert json.loads(response["HX-Trigger-After-Swap"]) == {"modal:close": {}}
    content = response.content.decode()
    assert '<header id="customer-header"' in content and 'hx-swap-oob="true"' in content
    assert 'data-testid="customer-name">Northwind Logistics<' in content
    northwind.refresh_from_db()
    assert (northwind.name, northwind.description) == ("Northwind Logistics", "New")


def test_csm_cannot_change_assignees_by_forging_the_field(csm, northwind):
    other = UserFactory(username="other", role=Role.CSM)
    client = csrf_client(csm)
    post(client, f"/customers/{northwind.pk}/edit/", {"name": "Northwind", "assignees": [other.pk]}, **HTMX)
    assert list(northwind.assigned_users.all()) == [csm]


def test_admin_edits_assignees(admin_user, csm, northwind):
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    client = csrf_client(admin_user)
    dialog = client.get(f"/customers/{northwind.pk}/edit/", **HTMX).content.decode()
    assert f'value="{csm.pk}" class="form-check-input" id="id_assignees_' in dialog and "checked" in dialog
    post(client, f"/customers/{northwind.pk}/edit/", {"name": "Northwind", "assignees": [viewer.pk]}, **HTMX)
    assert list(northwind.assigned_users.all()) == [viewer]


def test_edit_errors_show_under_the_field_and_change_nothing(csm, northwind):
    client = csrf_client(csm)
    before = domain_snapshot()
    response = post(client, f"/customers/{northwind.pk}/edit/", {"name": "", "description": "x"}, **HTMX)
    assert 'data-testid="error-name">This field is required.<' in response.content.decode()
    assert domain_snapshot() == before


def test_viewer_forged_edit_is_refused_with_403_and_changes_nothing(northwind):
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    northwind.assigned_users.add(viewer)
    client = csrf_client(viewer)
    before = domain_snapshot()
    assert client.get(f"/customers/{northwind.pk}/edit/").status_code == 403
    response = post(client, f"/customers/{northwind.pk}/edit/", {"name": "Hacked"})
    assert response.status_code == 403
    assert b"You may not change this customer." in response.content
    assert domain_snapshot() == before


def test_edit_of_a_foreign_customer_is_the_same_404_as_a_missing_one(csm, admin_user):
    foreign = make_customer(admin_user, "Foreign")
    client = csrf_client(csm)
    before = domain_snapshot()
    foreign_answer = post(client, f"/customers/{foreign.pk}/edit/", {"name": "Mine now"})
    missing_answer = post(client, "/customers/999999/edit/", {"name": "Mine now"})
    assert foreign_answer.status_code == missing_answer.status_code == 404
    assert without_csrf(foreign_answer.content) == without_csrf(missing_answer.content)
    assert domain_snapshot() == before


# --- delete ---------------------------------------------------------------------------------------------


def test_delete_confirmation_says_exactly_what_goes(admin_user, northwind):
    attribute = northwind.products.get().adoption_plan.tasks.first().telemetry_attributes.get()
    telemetry_ingest(
        actor=admin_user,
        items=[
            {"customerAttributeId": attribute.pk, "value": v, "observedAt": f"2026-11-0{d}T10:00:00Z"}
            for d, v in ((1, False), (2, True))
        ],
    )
    ApiKeyFactory(customer=northwind)
    client = csrf_client(admin_user)
    content = client.get(f"/customers/{northwind.pk}/delete/", **HTMX).content.decode()
    items = content.split('data-testid="delete-counts">')[1].split("</ul>")[0]
    history = northwind.products.get().adoption_plan.tasks.first().history.count()
    total_history = sum(t.history.count() for t in northwind.products.get().adoption_plan.tasks.all())
    assert history >= 1
    assert [line.strip() for line in items.replace("<li>", "").split("</li>") if line.strip()] == [
        "1 product",
        "1 adoption plan",
        "6 tasks",
        f"{total_history} status history entries",
        "6 telemetry attributes",
        "2 telemetry values",
        "1 API key",
    ]
    assert "This cannot be undone" in content


def test_confirmations_name_what_goes_as_text_with_cancel_first(admin_user, northwind):
    """The delete and remove dialogs: the name on the red button is text (markup in it is escaped,
    once), Cancel takes the focus in the dialog, and on a full page Cancel leads back."""
    northwind.name = 'Northwind <b>"Logistics"</b>'
    northwind.save()
    assignment = northwind.products.get()
    client = csrf_client(admin_user)
    for url, label in (
        (f"/customers/{northwind.pk}/delete/", "Delete Northwind &lt;b&gt;&quot;Logistics&quot;&lt;/b&gt;"),
        (f"/customers/{northwind.pk}/products/{assignment.pk}/remove/", f"Remove {assignment.product.name}"),
    ):
        dialog = client.get(url, **HTMX).content.decode()
        assert f'<button type="submit" class="btn btn-danger">{label}</button>' in dialog
        assert "data-close-dialog autofocus>Cancel</button>" in dialog
        page = client.get(url).content.decode()
        assert f'<a class="btn btn-outline-secondary" href="/customers/{northwind.pk}/">Cancel</a>' in page


def test_admin_deletes_a_customer_and_lands_on_the_list(admin_user, northwind):
    client = csrf_client(admin_user)
    response = post(client, f"/customers/{northwind.pk}/delete/", {}, **HTMX)
    assert response["HX-Redirect"] == "/customers/"
    assert not Customer.objects.filter(pk=northwind.pk).exists()
    assert CustomerTask.objects.count() == 0
    assert (
        "Deleted customer Northwind with 1 product, 1 adoption plan, 6 tasks"
        in client.get("/customers/").content.decode()
    )


@pytest.mark.parametrize("role", [Role.CSM, Role.VIEWER])
def test_only_admins_may_delete(role, northwind):
    user = UserFactory(username=f"u_{role}", role=role)
    northwind.assigned_users.add(user)
    client = csrf_client(user)
    before = domain_snapshot()
    assert client.get(f"/customers/{northwind.pk}/delete/").status_code == 403
    response = post(client, f"/customers/{northwind.pk}/delete/", {})
    assert response.status_code == 403 and b"Only admins may delete customers." in response.content
    assert domain_snapshot() == before


def test_delete_is_post_only(admin_user, northwind):
    client = csrf_client(admin_user)
    token = client.cookies["csrftoken"].value
    assert client.put(f"/customers/{northwind.pk}/delete/", HTTP_X_CSRFTOKEN=token).status_code == 405
    assert Customer.objects.filter(pk=northwind.pk).exists()


# --- remove a product -----------------------------------------------------------------------------------


def test_remove_confirmation_counts_and_removal(csm, northwind):
    assignment = northwind.products.get()
    client = csrf_client(csm)
    content = client.get(f"/customers/{northwind.pk}/products/{assignment.pk}/remove/", **HTMX).content.decode()
    assert 'id="modal-title">Remove Identity Guard from Northwind?<' in content
    items = content.split('data-testid="remove-counts">')[1].split("</ul>")[0]
    assert (
        "<li>1 adoption plan</li>" in items and "<li>6 tasks</li>" in items and "<li>0 telemetry values</li>" in items
    )
    response = post(client, f"/customers/{northwind.pk}/products/{assignment.pk}/remove/", {}, **HTMX)
    assert response["HX-Redirect"] == f"/customers/{northwind.pk}/"
    assert not CustomerProduct.objects.filter(pk=assignment.pk).exists()
    assert AdoptionPlan.objects.count() == 0
    assert (
        "Removed Identity Guard from Northwind with 1 adoption plan, 6 tasks"
        in client.get(response["HX-Redirect"]).content.decode()
    )


def test_viewer_cannot_remove_a_product(northwind):
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    northwind.assigned_users.add(viewer)
    assignment = northwind.products.get()
    client = csrf_client(viewer)
    before = domain_snapshot()
    response = post(client, f"/customers/{northwind.pk}/products/{assignment.pk}/remove/", {})
    assert response.status_code == 403 and b"You may not change this customer&#x27;s products." in response.content
    assert domain_snapshot() == before


def test_removing_another_customers_product_through_this_customer_is_404(admin_user, csm, northwind, catalog):
    mine_too = make_customer(admin_user, "Mine too", assignees=[csm], products=[catalog[0]])
    client = csrf_client(csm)
    before = domain_snapshot()
    response = post(client, f"/customers/{northwind.pk}/products/{mine_too.products.get().pk}/remove/", {})
    assert response.status_code == 404
    assert domain_snapshot() == before


# --- assign a product ----------------------------------------------------------------------------------


@pytest.fixture
def fresh(admin_user, csm):
    return make_customer(admin_user, "Fresh Co", assignees=[csm])


def assign_url(customer):
    return f"/customers/{customer.pk}/products/new/"


def test_assign_dialog_offers_active_unassigned_products_only(csm, northwind, catalog):
    pulse, _, _ = make_catalog(tasks=2, name="Pulse")
    ProductFactory(name="Retired", is_active=False)
    client = csrf_client(csm)
    content = client.get(assign_url(northwind), **HTMX).content.decode()
    options = content.split('name="product"')[1].split("</select>")[0]
    assert f'<option value="{pulse.pk}" selected>Pulse</option>' in options  # the only choice is preselected
    assert "Identity Guard" not in options and "Retired" not in options
    # no license is preselected: the preview waits for one
    assert "Choose the license level the customer bought to see what the plan will hold." in content


def test_assign_choices_follow_the_product(csm, fresh, catalog):
    product, outcomes, release = catalog
    other, other_outcomes, _ = make_catalog(tasks=2, name="Other")
    client = csrf_client(csm)
    response = client.get(
        assign_url(fresh),
        {"product": product.pk, "license_level": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="assign-choices",
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="assign-choices">')
    assert "(none ticked = all outcomes)" in content and "(none ticked = all releases)" in content
    assert f'value="{outcomes[0].pk}"' in content and f'value="{release.pk}"' in content
    assert f'value="{other_outcomes[0].pk}"' not in content


@pytest.mark.parametrize(
    ("level", "outcome_index", "tasks", "weight", "hours"),
    [
        (LicenseLevel.ESSENTIAL, None, 4, "10.0", "4 h"),
        (LicenseLevel.SIGNATURE, None, 6, "15.0", "6 h"),
        (LicenseLevel.SIGNATURE, 0, 3, "7.5", "3 h"),
        (LicenseLevel.ESSENTIAL, 1, 2, "5.0", "2 h"),
    ],
)
def test_preview_matches_the_plan_that_is_created(csm, fresh, catalog, level, outcome_index, tasks, weight, hours):
    product, outcomes, _ = catalog
    data = {"product": product.pk, "license_level": str(int(level))}
    if outcome_index is not None:
        data["outcomes"] = [outcomes[outcome_index].pk]
    client = csrf_client(csm)
    preview = client.get(assign_url(fresh), data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="assign-preview")
    content = preview.content.decode()
    assert content.lstrip().startswith('<div id="assign-preview"')
    assert (
        f'The plan will hold <strong class="num">{tasks}</strong> task{"s" if tasks != 1 else ""},\n'
        f'            <strong class="num">{weight}</strong> weight, about <strong class="num">{hours}</strong> of work.'
    ) in content
    expected_names = list(
        eligible_catalog_tasks(
            product=product,
            license_level=level,
            outcome_ids=[outcomes[outcome_index].pk] if outcome_index is not None else [],
            release_ids=[],
        ).values_list("name", flat=True)
    )
    assert [n for n in expected_names if f"<td>{n}</td>" in content] == expected_names
    response = post(client, assign_url(fresh), data, **HTMX)
    plan = AdoptionPlan.objects.get(customer_product__customer=fresh)
    assert response["HX-Redirect"] == f"/plans/{plan.pk}/"
    assert plan.total_tasks == tasks
    assert plan.total_weight == Decimal(weight)
    assert sorted(plan.tasks.values_list("name", flat=True)) == sorted(expected_names)


def test_assign_errors_show_under_the_field_and_create_nothing(csm, fresh, catalog):
    product, _, _ = catalog
    _, other_outcomes, _ = make_catalog(tasks=2, name="Other")
    client = csrf_client(csm)
    before = domain_snapshot()
    missing = post(client, assign_url(fresh), {"license_level": "1"}, **HTMX).content.decode()
    assert 'data-testid="error-product">This field is required.<' in missing
    foreign_outcome = post(
        client,
        assign_url(fresh),
        {"product": product.pk, "license_level": "1", "outcomes": [other_outcomes[0].pk]},
        **HTMX,
    ).content.decode()
    assert (
        f'data-testid="error-outcomes">Select a valid choice. {other_outcomes[0].pk} is not one of the available choices.<'
        in foreign_outcome
    )
    bad_level = post(client, assign_url(fresh), {"product": product.pk, "license_level": "7"}, **HTMX).content.decode()
    assert (
        'data-testid="error-license_level">Select a valid choice. 7 is not one of the available choices.<' in bad_level
    )
    assert domain_snapshot() == before


def test_assigning_a_product_the_customer_has_is_refused(csm, northwind, catalog):
    make_catalog(tasks=2, name="Pulse")
    client = csrf_client(csm)
    before = domain_snapshot()
    content = post(
        client, assign_url(northwind), {"product": catalog[0].pk, "license_level": "1"}, **HTMX
    ).content.decode()
    assert 'data-testid="error-product">Select a valid choice.' in content
    assert domain_snapshot() == before


def test_viewer_forged_assign_is_403_and_creates_nothing(northwind, catalog):
    pulse, _, _ = make_catalog(tasks=2, name="Pulse")
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    northwind.assigned_users.add(viewer)
    client = csrf_client(viewer)
    before = domain_snapshot()
    assert client.get(assign_url(northwind)).status_code == 403
    response = post(client, assign_url(northwind), {"product": pulse.pk, "license_level": "1"})
    assert response.status_code == 403 and b"You may not change this customer." in response.content
    assert domain_snapshot() == before
    assert CustomerTelemetryValue.objects.count() == 0
