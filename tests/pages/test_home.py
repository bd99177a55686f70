"""Home: the user's customers with products, progress, last activity and attention, and three counters
that land on the customers list filtered to exactly what they count."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adoption.choices import LicenseLevel, TaskStatus
from adoption.services import customer_product_update, customer_task_update_status
from customers.models import Role
from telemetry.models import CustomerTelemetryAttribute
from telemetry.services import telemetry_ingest
from tests.factories import UserFactory
from tests.pages.helpers import make_catalog, make_customer

pytestmark = pytest.mark.django_db


def ingest(actor, attributes, value=True, observed_at=None):
    observed = (observed_at or timezone.now()).isoformat()
    telemetry_ingest(
        actor=actor,
        items=[{"customerAttributeId": a.pk, "value": value, "observedAt": observed} for a in attributes],
    )


def plan_attributes(customer):
    return list(
        CustomerTelemetryAttribute.objects.filter(
            customer_task__adoption_plan__customer_product__customer=customer
        ).order_by("pk")
    )


@pytest.fixture
def portfolio(admin_user, csm):
    """Four customers of the CSM (and one of someone else), each in a known state of attention."""
    other = UserFactory(username="other_csm", role=Role.CSM)
    fresh_product, _, _ = make_catalog(tasks=4, name="Fresh")
    plain_product, _, _ = make_catalog(tasks=3, name="Plain", attributes=False)

    calm = make_customer(admin_user, "Calm Co", assignees=[csm], products=[plain_product], done=1)
    syncing = make_customer(admin_user, "Sync Co", assignees=[csm], products=[plain_product])
    customer_product_update(
        actor=admin_user, customer_product=syncing.products.get(), license_level=LicenseLevel.ESSENTIAL
    )
    disagreeing = make_customer(admin_user, "Disagree Co", assignees=[csm], products=[fresh_product])
    attributes = plan_attributes(disagreeing)
    ingest(admin_user, attributes, True)  # every task DONE by telemetry, values fresh
    task = attributes[0].customer_task
    customer_task_update_status(actor=csm, task=task, status=TaskStatus.IN_PROGRESS)  # the CSM disagrees
    stale = make_customer(admin_user, "Stale Co", assignees=[csm], products=[fresh_product])
    ingest(admin_user, plan_attributes(stale), True, observed_at=timezone.now() - timedelta(days=10))
    foreign = make_customer(admin_user, "Foreign Co", assignees=[other], products=[plain_product])
    customer_product_update(
        actor=admin_user, customer_product=foreign.products.get(), license_level=LicenseLevel.ESSENTIAL
    )
    return {"calm": calm, "sync": syncing, "disagree": disagreeing, "stale": stale, "foreign": foreign}


def row_names(content: str) -> list[str]:
    return re.findall(r'<a class="customer-name" href="/customers/\d+/">([^<]+)</a>', content)


def counter(content: str, kind: str) -> int:
    match = re.search(
        rf'data-testid="counter-{kind}">\s*<div class="card-body">\s*<div class="counter-value num">(\d+)<', content
    )
    return int(match.group(1))


def test_csm_sees_only_their_customers_most_in_need_first(client, csm, portfolio):
    client.force_login(csm)
    response = client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    names = row_names(content)
    assert "Foreign Co" not in content
    # three customers need attention (one reason each), sorted among themselves by last activity
    # (the stale values were observed 10 days ago but received now); the calm one comes last
    assert names[-1] == "Calm Co"
    assert set(names[:3]) == {"Sync Co", "Disagree Co", "Stale Co"}
    assert len(names) == 4


def test_counters_count_the_users_plans_and_tasks(client, csm, portfolio):
    client.force_login(csm)
    content = client.get("/").content.decode()
    assert (counter(content, "sync"), counter(content, "disagrees"), counter(content, "stale")) == (1, 1, 1)
    assert 'href="/customers/?attention=sync"' in content
    assert 'href="/customers/?attention=disagrees"' in content
    assert 'href="/customers/?attention=stale"' in content


@pytest.mark.parametrize(
    ("kind", "expected", "summary"),
    [
        ("sync", ["Sync Co"], "1 plan needs a sync"),
        ("disagrees", ["Disagree Co"], "telemetry disagrees on 1 task"),
        ("stale", ["Stale Co"], "1 plan with stale required telemetry"),
        ("any", ["Disagree Co", "Stale Co", "Sync Co"], "1 to sync, 1 disagreeing, 1 stale"),
    ],
)
def test_counter_links_land_on_exactly_those(client, csm, portfolio, kind, expected, summary):
    client.force_login(csm)
    response = client.get(f"/customers/?attention={kind}")
    content = response.content.decode()
    assert row_names(content) == expected
    assert summary in content


def test_admin_counts_every_customer(client, admin_user, portfolio):
    client.force_login(admin_user)
    content = client.get("/").content.decode()
    assert "All customers" in content
    assert (counter(content, "sync"), counter(content, "disagrees"), counter(content, "stale")) == (2, 1, 1)
    assert len(row_names(content)) == 5


def test_row_shows_products_progress_and_last_activity(client, csm, portfolio):
    client.force_login(csm)
    content = client.get("/").content.decode()
    calm = portfolio["calm"]
    plan = calm.products.get().adoption_plan
    row = content.split(f'id="customer-{calm.pk}"')[1].split("</tr>")[0]
    # 1 of 3 tasks of 2.5 weight done -> 33.3 %
    assert f'href="/plans/{plan.pk}/"' in row
    assert 'value="33.33" aria-label="Plain: 33.3 %"' in row
    assert "33.3 %" in row
    assert "just now" in row and "<time datetime=" in row
    assert "All in order" in row


def test_empty_states_say_what_to_do(client, csm, editor):
    client.force_login(csm)
    assert "No customers are assigned to you yet" in client.get("/").content.decode()
    client.force_login(editor)
    assert "Your role works on the catalog" in client.get("/").content.decode()
    # The customers list says the same to a catalog editor, not "ask an admin to assign you customers".
    listed = client.get("/customers/").content.decode()
    assert "Your role works on the catalog" in listed and "No customers are assigned to you" not in listed


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_home_takes_the_same_queries_for_2_and_50_customers_and_small_and_large_plans(client, admin_user, csm):
    small, _, _ = make_catalog(tasks=5, name="Small")
    large, _, _ = make_catalog(tasks=200, name="Large")
    for n in range(2):
        make_customer(admin_user, f"Few {n}", assignees=[csm], products=[small], done=1)
    client.force_login(csm)
    few = _count_queries(client, "/")
    for n in range(48):
        make_customer(admin_user, f"Many {n}", assignees=[csm], products=[small, large] if n % 5 == 0 else [small])
    many = _count_queries(client, "/")
    assert "Many 47" in client.get("/").content.decode()
    assert few == many
