"""Customer journeys in a real browser: a CSM's home and customers, creating a customer and assigning a
product with the live preview up to its plan (counting every click and field), refusals for a viewer,
the delete confirmation; every page checked with axe and photographed."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from adoption.catalog_io import catalog_load_file
from adoption.choices import LicenseLevel, TaskStatus
from adoption.models import AdoptionPlan, Outcome, Product
from adoption.services import (
    customer_product_assign,
    customer_product_update,
    customer_task_update_status,
    eligible_catalog_tasks,
)
from customers.models import Customer, Role
from customers.services import customer_create, customer_set_assignees
from telemetry.models import CustomerTelemetryAttribute
from telemetry.services import telemetry_ingest

DEMO_CATALOG = Path(settings.BASE_DIR) / "adoption" / "demo" / "catalog.yaml"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def assert_fits(page, width: int):
    """Nothing scrolls sideways at this width: not the page, not a table inside it."""
    page.set_viewport_size({"width": width, "height": 900})
    overflow = page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll('.table-responsive')]
              .filter(el => el.scrollWidth > el.clientWidth + 1)
              .map(el => (el.id || el.className || el.tagName) + ' ' + el.scrollWidth + '>' + el.clientWidth)"""
    )
    assert overflow == [], f"horizontal scrolling at {width} px: {overflow}"


def customer_with(admin, name, description, people, products, *, done=0, in_progress=0):
    """A customer through the services: assigned people, products (name, level, outcome names), and the
    first tasks of each plan moved on by the first assignee."""
    customer = customer_create(actor=admin, name=name, description=description)
    customer_set_assignees(actor=admin, customer=customer, users=people)
    for product_name, level, outcome_names in products:
        product = Product.objects.get(name=product_name, is_active=True)
        outcome_ids = list(Outcome.objects.filter(product=product, name__in=outcome_names).values_list("pk", flat=True))
        assignment = customer_product_assign(
            actor=admin, customer=customer, product=product, license_level=level, outcome_ids=outcome_ids
        )
        tasks = list(assignment.adoption_plan.tasks.order_by("sequence_number"))
        for task in tasks[:done]:
            customer_task_update_status(actor=people[0], task=task, status=TaskStatus.DONE)
        for task in tasks[done : done + in_progress]:
            customer_task_update_status(actor=people[0], task=task, status=TaskStatus.IN_PROGRESS)
    return customer


def fill_telemetry(admin, customer, *, days_ago: int = 0, value_for=None):
    """A value for every attribute of the customer's plans (what the customer's systems would send)."""
    observed = (timezone.now() - timedelta(days=days_ago)).isoformat()
    attributes = CustomerTelemetryAttribute.objects.filter(
        customer_task__adoption_plan__customer_product__customer=customer, is_active=True
    )
    examples = {"BOOLEAN": True, "NUMBER": 95, "STRING": "saml", "TIMESTAMP": observed, "JSON": {"ok": True}}
    items = [
        {"customerAttributeId": a.pk, "value": (value_for or examples)[a.data_type], "observedAt": observed}
        for a in attributes
    ]
    telemetry_ingest(actor=admin, items=items)


@pytest.fixture
def portfolio(make_user):
    """The demo catalog; Casey (CSM) with four customers in different states; Sam (CSM) with one."""
    catalog_load_file(DEMO_CATALOG)
    admin = make_user("ada", Role.ADMIN, first_name="Ada", last_name="Admin")
    casey = make_user("casey", Role.CSM, first_name="Casey", last_name="Morgan")
    sam = make_user("sam", Role.CSM, first_name="Sam", last_name="Patel")
    vic = make_user("vic", Role.VIEWER, first_name="Vic", last_name="Nakamura")
    northwind = customer_with(
        admin,
        "Northwind Logistics",
        "Freight and warehousing group replacing its VPN with zero-trust access.",
        [casey, vic],
        [
            ("Identity Guard", LicenseLevel.SIGNATURE, ["Zero-trust access"]),
            ("Teamspace Collaboration", LicenseLevel.ADVANTAGE, []),
        ],
        done=3,
        in_progress=2,
    )
    fill_telemetry(admin, northwind, days_ago=12)  # values arrive, but old: stale
    contoso = customer_with(
        admin,
        "Contoso Health",
        "Regional hospital network, 11 sites.",
        [casey],
        [("Pulse Observability", LicenseLevel.ADVANTAGE, [])],
        done=2,
    )
    fill_telemetry(admin, contoso)
    customer_product_update(
        actor=admin, customer_product=contoso.products.get(), license_level=LicenseLevel.SIGNATURE
    )  # upgraded: needs a sync
    fabrikam = customer_with(
        admin,
        "Fabrikam Retail",
        "Retail chain, 300 stores.",
        [casey],
        [("Identity Guard", LicenseLevel.ESSENTIAL, [])],
        done=1,
    )
    fill_telemetry(admin, fabrikam)
    woodgrove = customer_with(admin, "Woodgrove Bank", "New customer, onboarding in December.", [casey], [])
    other = customer_with(
        admin, "Tailspin Toys", "Sam's customer.", [sam], [("Pulse Observability", LicenseLevel.ESSENTIAL, [])]
    )
    return {
        "admin": admin,
        "casey": casey,
        "sam": sam,
        "vic": vic,
        "northwind": northwind,
        "contoso": contoso,
        "fabrikam": fabrikam,
        "woodgrove": woodgrove,
        "other": other,
    }


def test_csm_sees_only_their_customers_searches_and_opens_one(page, portfolio, login, check_a11y, screenshot):
    login(portfolio["casey"])
    # home: Casey's four customers, never Sam's, the counters filled
    rows = page.get_by_test_id("customer-row")
    expect(rows).to_have_count(4)
    assert "Tailspin Toys" not in page.content()
    assert page.get_by_test_id("counter-sync").locator(".counter-value").inner_text() == "1"
    assert page.get_by_test_id("counter-stale").locator(".counter-value").inner_text() == "2"  # both of Northwind's
    check_a11y(page, "home")
    assert_fits(page, 1280)
    screenshot(page, "home")

    # the sync counter lands on exactly the customer whose plan needs a sync
    page.get_by_test_id("counter-sync").click()
    page.wait_for_url("**/customers/?attention=sync")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    expect(page.get_by_test_id("customer-row")).to_contain_text("Contoso Health")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 plan needs a sync")

    # the list: live search narrows the rows without a reload and keeps the filter in the URL
    page.goto("/customers/")
    expect(page.get_by_test_id("customer-row")).to_have_count(4)
    check_a11y(page, "customers list")
    assert_fits(page, 1280)
    screenshot(page, "customers-list")
    page.get_by_label("Search", exact=True).fill("north")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    page.wait_for_url("**/customers/?q=north**")
    page.get_by_label("Product", exact=True).select_option(label="Teamspace Collaboration")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    page.get_by_label("Search", exact=True).fill("")
    expect(page.get_by_test_id("customer-row")).to_contain_text("Northwind Logistics")

    # the customer page: cards with license, outcomes, progress and the stale value named
    page.get_by_role("link", name="Northwind Logistics").first.click()
    page.wait_for_url(f"**/customers/{portfolio['northwind'].pk}/")
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Identity Guard")
    expect(cards.first).to_contain_text("Signature")
    expect(cards.first).to_contain_text("Zero-trust access")
    expect(cards.first.get_by_test_id("stale-telemetry")).to_contain_text("last value 12 days ago")
    check_a11y(page, "customer page")
    assert_fits(page, 1280)
    screenshot(page, "customer-page")
    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet: the page itself never scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.set_viewport_size({"width": 1280, "height": 900})

    # a foreign customer's page is a plain 404
    response = page.goto(f"/customers/{portfolio['other'].pk}/")
    assert response.status == 404
    expect(page.get_by_test_id("error-page")).to_contain_text("does not exist, or you may not see it")


def test_create_a_customer_and_assign_a_product_in_at_most_10_steps(page, portfolio, login, check_a11y, screenshot):
    admin = portfolio["admin"]
    login(admin)
    steps = 0

    page.get_by_role("link", name="Customers", exact=True).click()
    steps += 1
    page.get_by_test_id("new-customer").click()
    steps += 1
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    check_a11y(page, "new customer dialog")
    screenshot(page, "new-customer-dialog")

    # an empty name is refused under the field, the dialog stays open
    page.get_by_role("button", name="Create customer").click()
    steps += 1
    expect(page.get_by_test_id("error-name")).to_have_text("This field is required.")
    page.get_by_label("Name").fill("Adventure Works")
    steps += 1
    page.get_by_role("button", name="Create customer").click()
    steps += 1
    customer = None
    page.wait_for_url("**/customers/*/")
    customer = Customer.objects.get(name="Adventure Works")
    assert page.url.endswith(f"/customers/{customer.pk}/")
    expect(page.get_by_test_id("customer-name")).to_have_text("Adventure Works")

    page.get_by_test_id("assign-product").click()
    steps += 1
    expect(dialog).to_be_visible()
    page.get_by_label("Product", exact=True).select_option(label="Identity Guard")
    steps += 1
    page.get_by_label("Advantage").check()
    steps += 1
    page.get_by_label("Zero-trust access").check()
    steps += 1

    product = Product.objects.get(name="Identity Guard", is_active=True)
    outcome = Outcome.objects.get(product=product, name="Zero-trust access")
    expected = list(
        eligible_catalog_tasks(
            product=product, license_level=LicenseLevel.ADVANTAGE, outcome_ids=[outcome.pk], release_ids=[]
        )
    )
    weight = sum((t.weight for t in expected), Decimal("0"))
    preview = page.get_by_test_id("preview-line")
    expect(preview).to_contain_text(f"The plan will hold {len(expected)} tasks")
    expect(preview).to_contain_text(f"{weight.normalize():f}")
    page.get_by_text("Show the tasks").click()  # looking, not a step towards the plan
    expect(page.locator("#assign-preview tbody tr")).to_have_count(len(expected))
    check_a11y(page, "assign dialog")
    screenshot(page, "assign-dialog")

    page.get_by_role("button", name="Create plan").click()
    steps += 1
    page.wait_for_url("**/plans/*/")
    plan = AdoptionPlan.objects.get(customer_product__customer=customer)
    assert page.url.endswith(f"/plans/{plan.pk}/")
    assert plan.total_tasks == len(expected)
    assert plan.total_weight == weight
    assert steps <= 10, f"{steps} steps from the list to the plan"


def test_a_product_picked_the_moment_the_dialog_shows_is_not_lost(page, portfolio, login):
    """htmx wires swapped content when it settles; the dialog wires its content as it opens, so a choice
    made at once still brings the product's outcomes (a long settle delay makes the moment wide)."""
    login(portfolio["casey"])
    page.goto(f"/customers/{portfolio['woodgrove'].pk}/")
    page.evaluate("htmx.config.defaultSettleDelay = 3000")
    page.get_by_test_id("assign-product").click()
    expect(page.locator("#modal")).to_be_visible()
    page.get_by_label("Product", exact=True).select_option(label="Identity Guard")
    expect(page.get_by_label("Zero-trust access")).to_be_visible(timeout=2500)


def test_an_error_under_a_field_goes_once_the_field_is_changed(page, portfolio, login):
    """The assign dialog refreshes its choices and preview, not the license group: the license's
    error goes as soon as a license is picked, and the product's as soon as one is chosen."""
    login(portfolio["casey"])
    page.goto(f"/customers/{portfolio['woodgrove'].pk}/")
    page.get_by_test_id("assign-product").click()
    dialog = page.locator("#modal")
    dialog.get_by_role("button", name="Create plan").click()
    expect(dialog.get_by_test_id("error-license_level")).to_have_text("Choose the license level the customer bought.")
    expect(dialog.get_by_test_id("error-product")).to_be_visible()
    product = dialog.get_by_label("Product", exact=True)
    expect(product).to_have_class(re.compile(r"\bis-invalid\b"))  # (htmx settles the classes of a swap a moment later)
    product.select_option(label="Identity Guard")
    expect(dialog.get_by_test_id("error-product")).to_have_count(0)
    expect(dialog.get_by_test_id("error-license_level")).to_be_visible()  # not changed yet
    dialog.get_by_label("Advantage").check()
    expect(dialog.get_by_test_id("error-license_level")).to_have_count(0)
    expect(dialog.locator(".is-invalid")).to_have_count(0)
    expect(dialog.get_by_test_id("preview-line")).to_contain_text("The plan will hold")


def test_pages_with_tables_fit_a_phone(page, portfolio, login):
    """At 390 px the page itself never scrolls sideways: a wide table scrolls inside its own box."""
    login(portfolio["casey"])
    plan = portfolio["northwind"].products.order_by("pk").first().adoption_plan
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/customers/", f"/customers/{portfolio['northwind'].pk}/", f"/plans/{plan.pk}/"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"


def test_a_long_name_without_spaces_wraps(page, portfolio, login):
    login(portfolio["casey"])
    customer = portfolio["woodgrove"]
    customer.name = "W" * 120
    customer.save()
    page.set_viewport_size({"width": 1280, "height": 900})
    for path in ("/customers/", f"/customers/{customer.pk}/"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"{path} is {width} px wide"
    assert_fits(page, 1280)


def test_csm_edits_a_customer_in_place(page, portfolio, login):
    login(portfolio["casey"])
    page.goto(f"/customers/{portfolio['fabrikam'].pk}/")
    page.get_by_test_id("edit-customer").click()
    expect(page.locator("#modal")).to_be_visible()
    page.get_by_label("Description").fill("Retail chain, 320 stores.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#modal")).to_be_hidden()
    expect(page.get_by_test_id("customer-description")).to_have_text("Retail chain, 320 stores.")
    expect(page.locator("#toasts")).to_contain_text("Saved Fabrikam Retail.")
    # the dialog also closes with Esc, and nothing is saved then
    page.get_by_test_id("edit-customer").click()
    expect(page.locator("#modal")).to_be_visible()
    page.get_by_label("Name").fill("Not saved")
    page.keyboard.press("Escape")
    expect(page.locator("#modal")).to_be_hidden()
    assert Customer.objects.get(pk=portfolio["fabrikam"].pk).name == "Fabrikam Retail"


def test_viewer_sees_no_edit_controls_and_a_forged_post_is_refused(page, portfolio, login, check_a11y):
    login(portfolio["vic"])
    northwind = portfolio["northwind"]
    page.goto(f"/customers/{northwind.pk}/")
    expect(page.get_by_test_id("product-card")).to_have_count(2)
    for control in ("edit-customer", "delete-customer", "assign-product", "remove-product", "edit-entitlements"):
        expect(page.get_by_test_id(control)).to_have_count(0)
    check_a11y(page, "customer page for a viewer")

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/customers/{northwind.pk}/edit/", form={"name": "Hacked"}, headers={"X-CSRFToken": token}
    )
    assert response.status == 403
    assert "You may not change this customer." in response.text()
    response = page.request.post(
        f"/customers/{northwind.pk}/products/new/",
        form={"product": str(Product.objects.get(name="Pulse Observability").pk), "license_level": "1"},
        headers={"X-CSRFToken": token},
    )
    assert response.status == 403
    identity = northwind.products.get(product__name="Identity Guard")
    response = page.request.post(
        f"/customers/{northwind.pk}/products/{identity.pk}/edit/",
        form={"license_level": "1"},
        headers={"X-CSRFToken": token},
    )
    assert response.status == 403
    northwind.refresh_from_db()
    assert northwind.name == "Northwind Logistics"
    assert northwind.products.count() == 2
    identity.refresh_from_db()
    assert identity.license_level == LicenseLevel.SIGNATURE


def test_delete_confirmation_names_what_goes(page, portfolio, login, check_a11y, screenshot):
    login(portfolio["admin"])
    northwind = portfolio["northwind"]
    page.goto(f"/customers/{northwind.pk}/")
    page.get_by_test_id("delete-customer").click()
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    counts = page.get_by_test_id("delete-counts")
    expect(counts).to_contain_text("2 products")
    expect(counts).to_contain_text("2 adoption plans")
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    check_a11y(page, "delete confirmation")
    screenshot(page, "delete-confirmation")
    page.get_by_role("button", name="Delete Northwind Logistics").click()
    page.wait_for_url("**/customers/")
    expect(page.locator("#messages")).to_contain_text("Deleted customer Northwind Logistics with 2 products")
    assert not Customer.objects.filter(pk=northwind.pk).exists()


def test_customers_list_fits_a_tablet_and_a_laptop(page, portfolio, login):
    """The filter row wraps instead of clipping ("Filte…", "Every CS"), and the page never scrolls sideways."""
    login(portfolio["casey"])
    page.goto("/customers/")
    expect(page.get_by_test_id("customer-row")).to_have_count(4)
    expect(page.locator("input[type=search]:visible")).to_have_count(1)  # the navbar search is hidden here
    for width in (768, 1280):
        assert_fits(page, width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('#customer-filters button, #customer-filters select')]
                  .filter(el => el.scrollWidth > el.clientWidth + 1 || (el.tagName === 'SELECT' && el.clientWidth < 150))
                  .map(el => (el.id || el.textContent.trim()) + ' ' + el.clientWidth)"""
        )
        assert clipped == [], f"filters clipped at {width} px: {clipped}"
        button = page.get_by_test_id("filter-button")
        assert button.inner_text() == "Filter"
        assert page.evaluate("el => el.scrollWidth <= el.clientWidth", button.element_handle())


def test_csm_edits_entitlements_with_a_preview_and_lands_on_the_sync_banner(
    page, portfolio, login, check_a11y, screenshot
):
    login(portfolio["casey"])
    fabrikam = portfolio["fabrikam"]
    assignment = fabrikam.products.get()
    plan = assignment.adoption_plan
    tasks_before = plan.tasks.count()
    page.goto(f"/customers/{fabrikam.pk}/")
    card = page.get_by_test_id("product-card")
    expect(card.get_by_test_id("license")).to_have_text("Essential license")
    card.get_by_test_id("edit-entitlements").click()
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Essential")).to_be_checked()
    expect(dialog.get_by_label("Essential")).to_be_focused()  # the current license, where Space changes nothing
    preview = page.get_by_test_id("preview-line")
    expect(preview).to_contain_text("a sync would add or archive none")

    product = Product.objects.get(name="Identity Guard", is_active=True)
    expected = eligible_catalog_tasks(
        product=product, license_level=LicenseLevel.SIGNATURE, outcome_ids=[], release_ids=[]
    ).count()
    dialog.get_by_label("Signature").check()
    expect(preview).to_contain_text(
        f"After a sync the plan would hold {expected} tasks: {expected - tasks_before} added, 0 archived"
    )
    expect(page.get_by_test_id("preview-add")).to_have_count(expected - tasks_before)
    check_a11y(page, "entitlements dialog")
    screenshot(page, "entitlements-dialog")

    page.get_by_role("button", name="Save entitlements").click()
    page.wait_for_url(f"**/customers/{fabrikam.pk}/")
    expect(page.locator("#messages")).to_contain_text("Changed the entitlements of Identity Guard")
    expect(page.get_by_test_id("license")).to_have_text("Signature license")
    assert plan.tasks.count() == tasks_before  # nothing moves before the sync
    page.get_by_test_id("review-sync").click()
    page.wait_for_url(f"**/plans/{plan.pk}/sync/")


@pytest.fixture
def newcomer(make_user):
    return make_user("nina", Role.CSM, first_name="Nina", last_name="New")


def test_a_csm_without_customers_is_told_who_creates_them(page, newcomer, login, check_a11y):
    login(newcomer)
    expect(page.get_by_test_id("ask-admin")).to_have_text(
        "No customers are assigned to you yet. Ask an admin to create customers and assign them to you."
    )
    page.goto("/customers/")
    expect(page.get_by_test_id("ask-admin")).to_be_visible()
    expect(page.get_by_test_id("new-customer")).to_have_count(0)
    check_a11y(page, "empty customers list")
