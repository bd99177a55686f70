"""Searches that grow with the portfolio are answered from trigram indexes on PostgreSQL (the lookup and
the index are the same UPPER(...) expression), and the migrations that build them do nothing on SQLite."""

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from adoption.choices import LicenseLevel
from adoption.models import CustomerTask
from adoption.services import customer_product_assign
from config import changelists
from config.audit.models import AuditLog
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.selectors import customers_matching
from customers.services import customer_create
from tests.conftest import postgres_only
from tests.factories import ProductFactory, TaskFactory

TRIGRAM_INDEXES = {
    Customer: ["customer_name_trgm", "customer_description_trgm"],
    CustomerTask: ["ctask_name_trgm"],
    AuditLog: ["audit_summary_trgm", "audit_actor_label_trgm", "audit_action_trgm", "audit_object_id_trgm"],
}


def _indexes(model) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


@pytest.mark.django_db
def test_trigram_indexes_exist_on_postgresql_only():
    for model, names in TRIGRAM_INDEXES.items():
        found = _indexes(model)
        for name in names:
            if connection.vendor == "postgresql":
                assert found[name]["type"] == "gin", name
            else:
                assert name not in found, name


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of test rows would be read sequentially anyway: forbid that, so the plan shows
        # whether the index can answer the lookup at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # nor walk another index whole
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@postgres_only
@pytest.mark.django_db(transaction=False)
def test_customer_search_of_pages_graphql_and_admin_uses_the_trigram_indexes(admin_user):
    customer_create(actor=admin_user, name="Acme Corporation", description="retail")
    request = RequestFactory().get("/customers/", {"q": "acme"})
    request.user = admin_user
    page_filter = CustomerFilter(request.GET, queryset=Customer.objects.order_by("name", "pk"), request=request)
    for queryset in (customers_matching(Customer.objects.all(), "acme"), page_filter.qs):
        plan = _plan(queryset)
        assert "customer_name_trgm" in plan and "customer_description_trgm" in plan, plan
        assert "Seq Scan on customers_customer" not in plan, plan


@postgres_only
@pytest.mark.django_db
def test_task_and_audit_searches_use_the_trigram_indexes():
    plan = _plan(CustomerTask.objects.filter(name__icontains="install"))
    assert "ctask_name_trgm" in plan, plan
    for field, index in (("summary", "audit_summary_trgm"), ("actor_label", "audit_actor_label_trgm")):
        plan = _plan(AuditLog.objects.filter(**{f"{field}__icontains": "acme"}))
        assert index in plan, plan


@pytest.fixture
def two_customers(admin_user):
    product = ProductFactory(name="Retail App")
    TaskFactory(product=product, name="Install", sequence_number=1)
    TaskFactory(product=product, name="Configure", sequence_number=2)
    customers = {}
    for name in ("Acme Corporation", "Globex"):
        customers[name] = customer_create(actor=admin_user, name=name)
        customer_product_assign(
            actor=admin_user, customer=customers[name], product=product, license_level=LicenseLevel.ESSENTIAL
        )
    return customers


def _admin_rows(admin_user, path, q):
    client = Client()
    client.force_login(admin_user)
    response = client.get(path, {"q": q})
    assert response.status_code == 200
    return response.context["cl"]


@pytest.fixture(params=["narrow", "broad", "broad here, narrow in related rows"])
def search_breadth(request, monkeypatch):
    """Every way the admin asks a word: the union of index lookups, and (for a word the planner
    expects in many rows) one condition per row, whose fields across a foreign key are asked by a join
    ("broad": the word is broad in the related rows too) or as "key IN (the related rows that match)"."""
    if request.param != "narrow":
        monkeypatch.setattr(changelists, "BROAD_SEARCH_ROWS", -1)
        monkeypatch.setattr(changelists, "BROAD_RELATED_ROWS", -1 if request.param == "broad" else 10**9)
    return request.param


def test_admin_task_search_finds_tasks_by_name_customer_or_product(admin_user, two_customers, search_breadth):
    path = "/admin/adoption/customertask/"

    def found(q):
        changelist = _admin_rows(admin_user, path, q)
        return sorted((task.adoption_plan.customer_product.customer.name, task.name) for task in changelist.result_list)

    assert found("install") == [("Acme Corporation", "Install"), ("Globex", "Install")]
    assert found("ACME") == [("Acme Corporation", "Configure"), ("Acme Corporation", "Install")]
    assert found("acme install") == [("Acme Corporation", "Install")]  # every word, each in some field
    assert found("retail conf") == [("Acme Corporation", "Configure"), ("Globex", "Configure")]
    assert found("nothing") == []
    changelist = _admin_rows(admin_user, path, "install")
    assert changelist.show_full_result_count is False
    assert [task.pk for task in changelist.result_list] == sorted((t.pk for t in changelist.result_list), reverse=True)


def test_admin_customer_and_audit_search_without_a_full_count(admin_user, two_customers):
    changelist = _admin_rows(admin_user, "/admin/customers/customer/", "glob")
    assert [c.name for c in changelist.result_list] == ["Globex"]
    assert changelist.show_full_result_count is False
    changelist = _admin_rows(admin_user, "/admin/audit/auditlog/", "created customer acme")
    assert [entry.summary for entry in changelist.result_list] == ["Created customer Acme Corporation"]
    assert changelist.show_full_result_count is False


@postgres_only
@pytest.mark.django_db
def test_a_broad_word_is_asked_row_by_row_and_a_narrow_one_by_union(admin_user, two_customers, monkeypatch):
    client = Client()
    client.force_login(admin_user)
    path = "/admin/adoption/customertask/"
    with CaptureQueriesContext(connection) as narrow:
        client.get(path, {"q": "install"})
    assert any(" UNION ALL " in q["sql"] and q["sql"].startswith("SELECT COUNT(*)") for q in narrow.captured_queries)
    monkeypatch.setattr(changelists, "BROAD_SEARCH_ROWS", -1)  # as if the planner expected many rows
    monkeypatch.setattr(changelists, "BROAD_RELATED_ROWS", -1)  # here and among the related rows
    with CaptureQueriesContext(connection) as broad:
        response = client.get(path, {"q": "install"})
    counts = [q["sql"] for q in broad.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert counts and all(" UNION " not in sql and " OR " in sql for sql in counts)
    # Broad among the related rows too: each row's related row is joined, no list of related rows is built.
    assert all(" IN (SELECT " not in sql and " JOIN " in sql for sql in counts), counts
    # The count reads rows in the list's order (newest first), told not to hash or merge; then the
    # settings are as they were.
    statements = [q["sql"] for q in broad.captured_queries]
    count_at = next(i for i, sql in enumerate(statements) if sql.startswith("SELECT COUNT(*)"))
    assert "set_config('enable_hashjoin'" in statements[count_at - 1]
    assert "set_config('enable_hashjoin'" in statements[count_at + 1]
    assert " ORDER BY " in statements[count_at]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')")
        assert cursor.fetchone() == ("on", "on")
    monkeypatch.setattr(changelists, "BROAD_RELATED_ROWS", 10**9)  # few related rows match
    with CaptureQueriesContext(connection) as related_narrow:
        acme = client.get(path, {"q": "acme"})
    counts = [q["sql"] for q in related_narrow.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    # The matching customers' plans are few: their ids are written into the statement (and a field
    # whose related rows match nothing drops out).
    assert counts and all(" UNION " not in sql and " IN (SELECT " not in sql and " IN (" in sql for sql in counts)
    assert {task.adoption_plan.customer_product.customer.name for task in acme.context["cl"].result_list} == {
        "Acme Corporation"
    }
    # A narrow search counts as the planner likes: no order, no settings.
    with CaptureQueriesContext(connection) as narrow_again:
        monkeypatch.setattr(changelists, "BROAD_SEARCH_ROWS", 10**9)
        client.get(path, {"q": "install"})
    assert not any("set_config(" in q["sql"] for q in narrow_again.captured_queries)
    assert sorted(task.adoption_plan.customer_product.customer.name for task in response.context["cl"].result_list) == [
        "Acme Corporation",
        "Globex",
    ]
