"""Customers list and customer page: search and filters in the URL, pagination, htmx rows, the
customer's products, and refusals (same 404 for foreign and missing, 403 for forbidden actions)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import LicenseLevel
from adoption.services import customer_product_update
from customers.models import Customer, Role
from tests.factories import UserFactory
from tests.pages.helpers import make_catalog, make_customer, without_csrf

pytestmark = pytest.mark.django_db


def row_names(content) -> list[str]:
    if isinstance(content, bytes):
        content = content.decode()
    return re.findall(r'<a class="customer-name" href="/customers/\d+/">([^<]+)</a>', content)


@pytest.fixture
def book(admin_user, csm):
    """Three customers of the CSM with different products, one of another CSM."""
    identity, _, _ = make_catalog(tasks=6, name="Identity Guard")
    pulse, _, _ = make_catalog(tasks=3, name="Pulse", attributes=False)
    casey = UserFactory(username="casey", first_name="Casey", last_name="Morgan", role=Role.CSM)
    northwind = make_customer(admin_user, "Northwind Logistics", assignees=[csm, casey], products=[identity], done=2)
    contoso = make_customer(admin_user, "Contoso Health", assignees=[csm], products=[pulse])
    fabrikam = make_customer(admin_user, "Fabrikam", assignees=[csm], products=[identity, pulse])
    Customer.objects.filter(pk=fabrikam.pk).update(description="Retail chain moving to zero-trust")
    other = make_customer(admin_user, "Other Corp", assignees=[UserFactory(username="sam", role=Role.CSM)])
    return {
        "identity": identity,
        "pulse": pulse,
        "casey": casey,
        "northwind": northwind,
        "contoso": contoso,
        "fabrikam": fabrikam,
        "other": other,
    }


# --- list -------------------------------------------------------------------------------------------


def test_list_shows_the_users_customers_by_name(client, csm, book):
    client.force_login(csm)
    response = client.get("/customers/")
    assert response.status_code == 200
    assert row_names(response.content) == ["Contoso Health", "Fabrikam", "Northwind Logistics"]
    assert b"3 customers" in response.content
    # the CSM may not create customers: no button
    assert b"New customer" not in response.content


def test_search_matches_name_and_description_case_insensitively(client, csm, book):
    client.force_login(csm)
    assert row_names(client.get("/customers/?q=north").content) == ["Northwind Logistics"]
    assert row_names(client.get("/customers/?q=ZERO-TRUST").content) == ["Fabrikam"]
    empty = client.get("/customers/?q=nothing+like+this").content.decode()
    assert row_names(empty) == []
    assert "No customer matches these filters" in empty


def test_filters_by_product_and_csm(client, csm, book):
    client.force_login(csm)
    by_product = client.get(f"/customers/?product={book['pulse'].pk}").content
    assert row_names(by_product) == ["Contoso Health", "Fabrikam"]
    by_csm = client.get(f"/customers/?csm={book['casey'].pk}").content.decode()
    assert row_names(by_csm) == ["Northwind Logistics"]
    # the CSM filter offers the CSMs of the user's customers by name, not others
    assert ">Casey Morgan</option>" in by_csm
    assert ">sam</option>" not in by_csm
    combined = client.get(f"/customers/?product={book['identity'].pk}&q=fab").content
    assert row_names(combined) == ["Fabrikam"]


def test_invalid_filter_value_is_shown_not_ignored(client, csm, book):
    client.force_login(csm)
    content = client.get("/customers/?product=999999").content.decode()
    assert row_names(content) == []
    assert "That product is not in the catalog any more" in content
    content = client.get("/customers/?attention=bogus").content.decode()
    assert row_names(content) == []
    assert "Pick one of the listed reasons." in content


def test_needs_attention_filter(client, csm, admin_user, book):
    customer_product_update(
        actor=admin_user, customer_product=book["contoso"].products.get(), license_level=LicenseLevel.ESSENTIAL
    )
    client.force_login(csm)
    assert row_names(client.get("/customers/?attention=sync").content) == ["Contoso Health"]


def test_htmx_request_renders_only_the_rows(client, csm, book):
    client.force_login(csm)
    response = client.get("/customers/?q=contoso", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-rows")
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="customer-rows"')
    assert "<html" not in content and 'id="customer-filters"' not in content
    assert row_names(content) == ["Contoso Health"]
    assert "HX-Request" in response["Vary"]
    # a history restore gets the whole page
    full = client.get(
        "/customers/?q=contoso",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="customer-rows",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert b"<html" in full.content


def test_pagination_25_per_page_keeps_the_filters(client, admin_user):
    for n in range(30):
        make_customer(admin_user, f"Acme {n:02d}")
    make_customer(admin_user, "Zulu")
    client.force_login(admin_user)
    first = client.get("/customers/?q=acme").content.decode()
    assert len(row_names(first)) == 25
    assert "30 customers, showing 1–25" in first
    assert 'href="?q=acme&amp;page=2"' in first
    second = client.get("/customers/?q=acme&page=2").content.decode()
    assert row_names(second) == [f"Acme {n:02d}" for n in range(25, 30)]
    assert "Page 2 of 2" in second


def test_admin_sees_new_customer_button(client, admin_user):
    client.force_login(admin_user)
    content = client.get("/customers/").content.decode()
    assert 'hx-get="/customers/new/"' in content
    assert "No customers yet. Create the first one" in content


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_takes_the_same_queries_for_2_and_50_customers_and_small_and_large_plans(client, admin_user, csm):
    small, _, _ = make_catalog(tasks=5, name="Small")
    large, _, _ = make_catalog(tasks=200, name="Large")
    for n in range(2):
        make_customer(admin_user, f"Few {n}", assignees=[csm], products=[small], done=1)
    client.force_login(csm)
    urls = ["/customers/", "/customers/?attention=any", f"/customers/?product={small.pk}&q=e"]
    few = [_count_queries(client, url) for url in urls]
    for n in range(48):
        make_customer(admin_user, f"Many {n}", assignees=[csm], products=[small, large] if n % 5 == 0 else [small])
    many = [_count_queries(client, url) for url in urls]
    assert few == many


# --- customer page ------------------------------------------------------------------------------------


def test_customer_page_shows_products_with_progress_and_actions_for_a_csm(client, csm, book):
    client.force_login(csm)
    northwind = book["northwind"]
    plan = northwind.products.get().adoption_plan
    response = client.get(f"/customers/{northwind.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="customer-name">Northwind Logistics<' in content
    assert "Casey Morgan" in content
    # SIGNATURE plan of 6 tasks at 2.5 weight, 2 done: 5 of 15 weight
    assert ">Signature license<" in content
    assert "All outcomes" in content and "All releases" in content
    assert 'data-testid="plan-progress">33.3 %<' in content
    assert re.search(r'<span class="num">2</span> of <span class="num">6</span> tasks done', content)
    assert '<span class="num">5.0</span> of <span class="num">15.0</span> weight' in content
    assert f'href="/plans/{plan.pk}/"' in content
    # every attribute is without a value: missing (as the plan page says), naming the attribute
    assert "Missing required telemetry" in content and "has no value yet" in content
    assert "Stale required telemetry" not in content
    # a CSM edits and assigns, but does not delete customers
    assert 'data-testid="edit-customer"' in content
    assert 'data-testid="assign-product"' in content
    assert 'data-testid="remove-product"' in content
    assert 'data-testid="delete-customer"' not in content


def test_customer_page_for_a_viewer_has_no_edit_controls(client, book):
    viewer = UserFactory(username="vic", role=Role.VIEWER)
    book["northwind"].assigned_users.add(viewer)
    client.force_login(viewer)
    content = client.get(f"/customers/{book['northwind'].pk}/").content.decode()
    assert "Northwind Logistics" in content
    for control in ("edit-customer", "delete-customer", "assign-product", "remove-product"):
        assert f'data-testid="{control}"' not in content


def test_customer_page_shows_needs_sync_banner(client, csm, admin_user, book):
    customer_product_update(
        actor=admin_user, customer_product=book["contoso"].products.get(), license_level=LicenseLevel.ESSENTIAL
    )
    client.force_login(csm)
    content = client.get(f"/customers/{book['contoso'].pk}/").content.decode()
    assert 'data-testid="needs-sync"' in content
    plan = book["contoso"].products.get().adoption_plan
    assert (
        f'href="/plans/{plan.pk}/sync/" class="alert-link" data-testid="review-sync">Review and apply the sync<'
        in content
    )


def test_foreign_and_missing_customer_give_the_same_404(client, csm, book):
    client.force_login(csm)
    foreign = client.get(f"/customers/{book['other'].pk}/")
    missing = client.get("/customers/999999/")
    malformed = client.get("/customers/abc/")
    assert foreign.status_code == missing.status_code == malformed.status_code == 404
    assert without_csrf(foreign.content) == without_csrf(missing.content) == without_csrf(malformed.content)
    assert b"This page does not exist, or you may not see it." in foreign.content
    assert b"Other Corp" not in foreign.content


def test_customer_page_takes_the_same_queries_for_a_5_and_a_200_task_plan(client, admin_user, csm):
    small, _, _ = make_catalog(tasks=5, name="Small")
    large, _, _ = make_catalog(tasks=200, name="Large")
    first = make_customer(admin_user, "First", assignees=[csm], products=[small], done=2)
    second = make_customer(admin_user, "Second", assignees=[csm], products=[large], done=2)
    client.force_login(csm)
    assert _count_queries(client, f"/customers/{first.pk}/") == _count_queries(client, f"/customers/{second.pk}/")
