"""Usability fixes on the customer pages: editing an assignment's entitlements with a live preview of
the sync, an explicit license choice when assigning, empty states that name who creates customers, one
search box on the list, the license badge, an out-of-range page, the favicon and GraphiQL's start."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from adoption.choices import LicenseLevel
from adoption.models import AdoptionPlan, CustomerTask, Outcome
from adoption.services import adoption_plan_sync_preview, customer_product_assign
from config.audit.models import AuditLog
from customers.models import CustomerProduct, Role
from tests.factories import UserFactory
from tests.pages.helpers import make_catalog, make_customer

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "modal-content"}


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    return client


def post(client: Client, url: str, data: dict, **extra):
    return client.post(url, data, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value, **extra)


@pytest.fixture
def catalog():
    return make_catalog(tasks=6, name="Identity Guard")


@pytest.fixture
def northwind(admin_user, csm, catalog):
    return make_customer(admin_user, "Northwind", assignees=[csm], products=[catalog[0]], done=2)


def edit_url(customer, assignment):
    return f"/customers/{customer.pk}/products/{assignment.pk}/edit/"


def entitlements(assignment):
    assignment = CustomerProduct.objects.get(pk=assignment.pk)
    return (
        assignment.license_level,
        sorted(assignment.selected_outcomes.values_list("pk", flat=True)),
        sorted(assignment.selected_releases.values_list("pk", flat=True)),
        assignment.entitlements_changed_at,
    )


def plan_tasks(assignment):
    return list(
        CustomerTask.objects.filter(adoption_plan__customer_product=assignment)
        .order_by("pk")
        .values_list("pk", "name", "status", "is_archived")
    )


# --- 1. edit entitlements ---------------------------------------------------------------------------


def test_product_card_offers_edit_entitlements_to_writers_only(csm, northwind):
    assignment = northwind.products.get()
    content = csrf_client(csm).get(f"/customers/{northwind.pk}/").content.decode()
    assert f'href="{edit_url(northwind, assignment)}"' in content and "Edit entitlements" in content
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    northwind.assigned_users.add(viewer)
    content = csrf_client(viewer).get(f"/customers/{northwind.pk}/").content.decode()
    assert "Edit entitlements" not in content and "/edit/" not in content.split("products-heading")[1]


def test_entitlements_dialog_shows_the_current_choice_and_nothing_to_sync(csm, northwind, catalog):
    _, outcomes, release = catalog
    assignment = northwind.products.get()
    content = csrf_client(csm).get(edit_url(northwind, assignment), **HTMX).content.decode()
    assert '<h2 class="h5 mb-0" id="modal-title">Entitlements of Identity Guard for Northwind</h2>' in content
    assert re.search(r'<input type="radio" name="license_level" value="3"[^>]*checked', content)
    assert not re.search(r'<input type="radio" name="license_level" value="[12]"[^>]*checked', content)
    assert f'value="{outcomes[0].pk}"' in content and f'value="{release.pk}"' in content
    assert "(none ticked = all outcomes)" in content and "(none ticked = all releases)" in content
    assert 'a sync would add or archive none (<span class="num">6</span> tasks)' in content


def test_assign_and_entitlements_dialogs_draw_their_choices_from_one_template(csm, admin_user, northwind, catalog):
    """The license, outcome and release groups look and read the same in both dialogs: one partial draws them."""
    product, outcomes, release = catalog
    fabrikam = make_customer(admin_user, "Fabrikam", assignees=[csm])
    client = csrf_client(csm)
    ticks = {"product": product.pk, "license_level": "2", "outcomes": [outcomes[1].pk], "releases": [release.pk]}
    assign = client.get(f"/customers/{fabrikam.pk}/products/new/", ticks, **HTMX)
    edit = client.get(edit_url(northwind, northwind.products.get()), ticks, **HTMX)

    for response in (assign, edit):
        used = [t.name for t in response.templates]
        assert used.count("customers/choice_group.html") == 3, used
    fieldsets = [re.findall(r"<fieldset.*?</fieldset>", r.content.decode(), re.S) for r in (assign, edit)]
    assert len(fieldsets[0]) == len(fieldsets[1]) == 3
    assert fieldsets[0] == fieldsets[1]  # the same ticks make the very same markup
    assert re.search(rf'name="outcomes" value="{outcomes[1].pk}"[^>]*checked', fieldsets[0][1])


def test_preview_lists_what_the_sync_would_archive_and_add(csm, northwind, catalog):
    _, outcomes, _ = catalog
    assignment = northwind.products.get()
    client = csrf_client(csm)
    lower = client.get(
        edit_url(northwind, assignment),
        {"license_level": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="entitlements-preview",
    ).content.decode()
    assert lower.lstrip().startswith('<div id="entitlements-preview"')
    assert (
        re.sub(r"\s+", " ", lower).count(
            'the plan would hold <strong class="num">4</strong> tasks: <strong class="num">0</strong> added, '
            '<strong class="num">2</strong> archived'
        )
        == 1
    )
    archived = re.findall(r"Archive: ([^<]+)</li>", lower)
    assert archived == ["Identity Guard task 2", "Identity Guard task 5"]  # the ADVANTAGE tasks
    # After saving the lower license the sync really archives those two
    post(client, edit_url(northwind, assignment), {"license_level": "1"}, **HTMX)
    plan = AdoptionPlan.objects.get(customer_product=assignment)
    assert sorted(r.customer_task.name for r in adoption_plan_sync_preview(plan=plan).to_remove) == archived
    # ... and going back up to SIGNATURE with one outcome adds them back to the preview
    assert plan.tasks.count() == 6
    again = client.get(
        edit_url(northwind, assignment),
        {"license_level": "3", "outcomes": [outcomes[0].pk]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="entitlements-preview",
    ).content.decode()
    assert re.findall(r"Archive: ([^<]+)</li>", again) == [
        "Identity Guard task 1",
        "Identity Guard task 3",
        "Identity Guard task 5",
    ]
    assert re.findall(r"Add: ([^<]+) <span", again) == []


def test_saving_marks_the_plan_needing_sync_and_lands_on_the_customer_page(csm, northwind):
    assignment = northwind.products.get()
    tasks_before = plan_tasks(assignment)
    client = csrf_client(csm)
    response = post(client, edit_url(northwind, assignment), {"license_level": "2"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/customers/{northwind.pk}/"
    level, outcomes, releases, changed_at = entitlements(assignment)
    assert (level, outcomes, releases) == (LicenseLevel.ADVANTAGE, [], [])
    assert changed_at > assignment.entitlements_changed_at
    assert plan_tasks(assignment) == tasks_before  # the tasks wait for the sync
    entry = AuditLog.objects.filter(action="customer_product.update").get()
    assert entry.details["changed"] == ["licenseLevel"]
    page = client.get(f"/customers/{northwind.pk}/").content.decode()
    plan = AdoptionPlan.objects.get(customer_product=assignment)
    assert "Changed the entitlements of Identity Guard: sync its plan to apply them." in page
    assert 'data-testid="needs-sync"' in page
    assert f'href="/plans/{plan.pk}/sync/" class="alert-link" data-testid="review-sync"' in page


def test_an_edit_keeps_what_it_did_not_touch_including_retired_outcomes(csm, admin_user, catalog):
    product, outcomes, release = catalog
    customer = make_customer(admin_user, "Fabrikam", assignees=[csm])
    assignment = customer_product_assign(
        actor=admin_user,
        customer=customer,
        product=product,
        license_level=LicenseLevel.SIGNATURE,
        outcome_ids=[o.pk for o in outcomes],
        release_ids=[release.pk],
    )
    Outcome.objects.filter(pk=outcomes[1].pk).update(is_active=False)  # retired from the catalog since
    client = csrf_client(csm)
    dialog = client.get(edit_url(customer, assignment), **HTMX).content.decode()
    assert re.search(rf'value="{outcomes[0].pk}"[^>]*checked', dialog)
    assert f'name="outcomes" value="{outcomes[1].pk}"' not in dialog  # cannot be ticked any more ...
    assert 'Also selected, no longer in the catalog: <span class="chip">MFA</span>' in dialog  # ... but is named
    # Only the license changes: the outcomes (retired one included) and the release stay selected.
    post(
        client,
        edit_url(customer, assignment),
        {"license_level": "1", "outcomes": [outcomes[0].pk], "releases": [release.pk]},
        **HTMX,
    )
    level, outcome_ids, release_ids, _ = entitlements(assignment)
    assert (level, outcome_ids, release_ids) == (1, sorted(o.pk for o in outcomes), [release.pk])
    # Unticking every release means all releases; the outcomes are still left alone.
    post(client, edit_url(customer, assignment), {"license_level": "1", "outcomes": [outcomes[0].pk]}, **HTMX)
    level, outcome_ids, release_ids, _ = entitlements(assignment)
    assert (level, outcome_ids, release_ids) == (1, sorted(o.pk for o in outcomes), [])


def test_saving_without_a_change_changes_nothing_and_says_so(csm, northwind):
    assignment = northwind.products.get()
    before = entitlements(assignment)
    client = csrf_client(csm)
    response = post(client, edit_url(northwind, assignment), {"license_level": "3"}, **HTMX)
    assert response["HX-Redirect"] == f"/customers/{northwind.pk}/"
    assert entitlements(assignment) == before
    assert not AuditLog.objects.filter(action="customer_product.update").exists()
    page = client.get(f"/customers/{northwind.pk}/").content.decode()
    assert "The entitlements of Identity Guard are unchanged." in page and 'data-testid="needs-sync"' not in page


def test_entitlement_errors_show_under_the_field_and_change_nothing(csm, northwind):
    assignment = northwind.products.get()
    _, other_outcomes, _ = make_catalog(tasks=2, name="Other")
    before = (entitlements(assignment), plan_tasks(assignment))
    client = csrf_client(csm)
    missing = post(client, edit_url(northwind, assignment), {}, **HTMX).content.decode()
    assert 'data-testid="error-license_level">Choose the license level the customer bought.<' in missing
    foreign = post(
        client, edit_url(northwind, assignment), {"license_level": "1", "outcomes": [other_outcomes[0].pk]}, **HTMX
    ).content.decode()
    assert (
        f'data-testid="error-outcomes">Select a valid choice. {other_outcomes[0].pk} is not one of the available choices.<'
        in foreign
    )
    assert (entitlements(assignment), plan_tasks(assignment)) == before


def test_viewer_forged_entitlement_edit_is_403_and_changes_nothing(northwind):
    assignment = northwind.products.get()
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    northwind.assigned_users.add(viewer)
    client = csrf_client(viewer)
    before = entitlements(assignment)
    assert client.get(edit_url(northwind, assignment)).status_code == 403
    response = post(client, edit_url(northwind, assignment), {"license_level": "1"})
    assert response.status_code == 403 and b"You may not change this customer&#x27;s products." in response.content
    assert entitlements(assignment) == before


def test_entitlements_of_a_foreign_or_mismatched_assignment_are_the_same_404(csm, admin_user, northwind, catalog):
    other = make_customer(admin_user, "Tailspin", products=[catalog[0]])  # csm is not assigned
    mine = make_customer(admin_user, "Fabrikam", assignees=[csm])
    client = csrf_client(csm)
    foreign = client.get(edit_url(other, other.products.get()))
    mismatched = client.get(f"/customers/{mine.pk}/products/{northwind.products.get().pk}/edit/")
    missing = client.get(f"/customers/{northwind.pk}/products/999999/edit/")
    assert foreign.status_code == mismatched.status_code == missing.status_code == 404
    assert b"This page does not exist, or you may not see it." in missing.content
    assert b"This page does not exist, or you may not see it." in mismatched.content


# --- 4. the assign dialog asks for the license ------------------------------------------------------


def test_assign_dialog_preselects_no_license_and_requires_one(csm, admin_user, catalog):
    product, _, _ = catalog
    fresh = make_customer(admin_user, "Fresh Co", assignees=[csm])
    client = csrf_client(csm)
    url = f"/customers/{fresh.pk}/products/new/"
    content = client.get(url, {"product": product.pk}, **HTMX).content.decode()
    assert 'name="license_level"' in content and not re.search(r'name="license_level"[^>]*checked', content)
    assert "Choose the license level the customer bought to see what the plan will hold." in content
    response = post(client, url, {"product": product.pk}, **HTMX).content.decode()
    assert 'data-testid="error-license_level">Choose the license level the customer bought.<' in response
    assert not CustomerProduct.objects.filter(customer=fresh).exists()
    assert AdoptionPlan.objects.filter(customer_product__customer=fresh).count() == 0


# --- 2. who creates customers -----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/customers/"])
def test_a_csm_without_customers_is_told_to_ask_an_admin(csm, url):
    client = Client()
    client.force_login(csm)
    content = client.get(url).content.decode()
    assert "Ask an admin to create customers and assign them to you." in content
    assert "/customers/new/" not in content


@pytest.mark.parametrize("url", ["/", "/customers/"])
def test_an_admin_without_customers_keeps_the_create_button(admin_user, url):
    client = Client()
    client.force_login(admin_user)
    content = client.get(url).content.decode()
    assert "Ask an admin" not in content
    assert 'href="/customers/new/"' in content


# --- 5, 6, 8, 9 ---------------------------------------------------------------------------------------


def test_the_navbar_search_is_hidden_on_the_customer_list_only(csm, northwind):
    client = Client()
    client.force_login(csm)
    assert client.get("/customers/").content.decode().count('type="search"') == 1
    assert 'id="nav-search"' not in client.get("/customers/").content.decode()
    assert 'id="nav-search"' in client.get("/").content.decode()
    assert 'id="nav-search"' in client.get(f"/customers/{northwind.pk}/").content.decode()


def test_license_badge_reads_as_a_license(csm, northwind):
    client = Client()
    client.force_login(csm)
    content = client.get(f"/customers/{northwind.pk}/").content.decode()
    assert 'data-testid="license">Signature license</span>' in content


def test_a_page_past_the_end_shows_the_last_page_with_a_note(admin_user):
    for n in range(27):
        make_customer(admin_user, f"Acme {n:02d}")
    client = Client()
    client.force_login(admin_user)
    content = client.get("/customers/?page=99").content.decode()
    assert "There is no page 99: showing page 2 of 2." in content
    assert "27 customers, showing 26–27" in content
    assert "Acme 26" in content and "Acme 00" not in content
    assert "“x” is not a page number: showing page 1 of 2." in client.get("/customers/?page=x").content.decode()
    assert 'data-testid="page-note"' not in client.get("/customers/?page=2").content.decode()
    assert 'data-testid="page-note"' not in client.get("/customers/").content.decode()


def test_favicon_is_linked_and_favicon_ico_redirects_to_it(csm):
    client = Client()
    client.force_login(csm)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get("/").content.decode()
    response = Client().get("/favicon.ico")  # browsers ask before anyone signs in
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    assert (Path(settings.BASE_DIR) / "static" / "favicon.svg").read_text().startswith("<svg")


# --- 7. GraphiQL --------------------------------------------------------------------------------------


def default_graphiql_query() -> str:
    script = (Path(settings.BASE_DIR) / "static" / "graphiql" / "start.js").read_text()
    block = script.split("var DEFAULT_QUERY = [")[1].split('].join("\\n")')[0]
    return "\n".join(json.loads(f"[{block.rstrip().rstrip(',')}]"))


@override_settings(DEBUG=True)
def test_graphiql_links_back_to_the_app(csm):
    client = Client()
    client.force_login(csm)
    html = client.get("/graphql/", HTTP_ACCEPT="text/html").content.decode()
    assert '<a href="/" data-testid="back-to-app">&larr; Back to the app</a>' in html


def test_graphiql_default_query_runs_against_this_schema(csm, northwind):
    query = default_graphiql_query()
    assert query.splitlines()[2] == "query {"  # anonymous: no operationName to go stale while it is edited
    client = Client()
    client.force_login(csm)
    token = client.get("/").cookies["csrftoken"].value
    response = client.post(
        "/graphql/", json.dumps({"query": query}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    body = response.json()
    assert "errors" not in body
    plan = AdoptionPlan.objects.get(customer_product__customer=northwind)
    assert body["data"]["customers"] == [
        {
            "name": "Northwind",
            "products": [
                {
                    "product": {"name": "Identity Guard"},
                    "licenseLevel": "SIGNATURE",
                    "adoptionPlan": {
                        "progressPercentage": float(plan.progress_percentage),
                        "completedTasks": 2,
                        "totalTasks": 6,
                    },
                }
            ],
        }
    ]


# --- 11. README screenshots ---------------------------------------------------------------------------


def test_readme_shows_a_screenshot_of_every_main_page():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## Screenshots\n")[1].split("\n## ")[0]
    shown = re.findall(r"!\[[^\]]+\]\(docs/screenshots/([a-z-]+\.png)\)", section)
    assert shown == [
        "home.png",
        "customers-list.png",
        "customer-page.png",
        "assign-dialog.png",
        "entitlements-dialog.png",
        "plan-dashboard.png",
        "status-modal.png",
        "plan-bulk-bar.png",
        "task-drawer.png",
        "plan-sync-preview.png",
    ]
    for name in shown:
        assert (Path(settings.BASE_DIR) / "docs" / "screenshots" / name).is_file(), name
