"""Admin lists of growing tables count at most a cap of rows: the capped paginator's count and pages,
the changelist's words ("more than 3 customers"), and a number of queries that does not follow the rows."""

import pytest
from django.contrib import admin
from django.core.paginator import EmptyPage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.changelists import CappedPaginator, count_in_words
from customers.models import Customer
from tests.admin.helpers import url
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def customers(n, prefix="Bulk"):
    for i in range(n):
        CustomerFactory(name=f"{prefix} {i:02d}")
    return Customer.objects.filter(name__startswith=prefix).order_by("-id")


def paginator(queryset, *, cap=5, per_page=2):
    return CappedPaginator(queryset, per_page, cap=cap)


def test_below_the_cap_the_count_and_pages_are_exact():
    pages = paginator(customers(4))
    assert (pages.count, pages.capped, pages.num_pages) == (4, False, 2)
    assert len(pages.page(2).object_list) == 2
    assert not pages.page(2).has_next()


def test_at_the_cap_the_count_is_exact():
    pages = paginator(customers(5))
    assert (pages.count, pages.capped, pages.num_pages) == (5, False, 3)
    assert [c.name for c in pages.page(3).object_list] == ["Bulk 00"]


def test_above_the_cap_the_count_stops_after_it_and_pages_end_at_the_cap():
    queryset = customers(12)
    pages = paginator(queryset)
    with CaptureQueriesContext(connection) as ctx:
        assert pages.count == 6  # cap + 1: "more than 5"
    assert pages.capped
    (count_sql,) = [q["sql"] for q in ctx.captured_queries]
    assert "LIMIT 6" in count_sql.upper() and "ORDER BY" not in count_sql.upper()
    assert pages.num_pages == 3  # rows 1-6 (the page holding row 5); no page link beyond the cap
    assert list(pages.page_range) == [1, 2, 3]
    assert [c.name for c in pages.page(3).object_list] == ["Bulk 07", "Bulk 06"]
    assert not pages.page(3).has_next()
    with pytest.raises(EmptyPage):
        pages.page(4)


def test_a_cap_that_a_page_size_divides_ends_on_a_full_page():
    pages = paginator(customers(9), cap=4, per_page=2)
    assert (pages.count, pages.capped, pages.num_pages) == (5, True, 2)
    assert [c.name for c in pages.page(2).object_list] == ["Bulk 06", "Bulk 05"]


def test_a_list_is_counted_up_to_the_cap_too():
    assert paginator(list(range(9))).count == 6
    assert paginator(list(range(3))).count == 3


@pytest.mark.parametrize("cap", [0, -1, 2.5, "10", True])
def test_a_cap_that_is_not_a_positive_whole_number_is_refused(cap):
    with pytest.raises(ValueError, match="count cap must be a positive whole number"):
        CappedPaginator([], 10, cap=cap)


def test_counts_in_words():
    assert count_in_words(1234) == "1,234"
    assert count_in_words(10_000, capped=True) == "more than 10,000"
    assert count_in_words(610_000, about=True) == "about 610,000"


@pytest.fixture
def small_cap(monkeypatch):
    """The customer list counts up to 3 rows, 2 a page."""
    model_admin = admin.site._registry[Customer]
    monkeypatch.setattr(model_admin, "count_cap", 3)
    monkeypatch.setattr(model_admin, "list_per_page", 2)
    return model_admin


def test_changelist_below_the_cap_says_the_exact_count(admin_client, small_cap):
    customers(3)
    response = admin_client.get(url(Customer, "changelist"), {"q": "bulk"})
    html = response.content.decode()
    cl = response.context["cl"]
    assert (cl.result_count, cl.result_count_capped, cl.paginator.num_pages) == (3, False, 2)
    assert "3 results" in html and "3 customers" in html
    assert "more than" not in html


def test_changelist_above_the_cap_says_more_than_in_words_and_links_pages_up_to_it(admin_client, small_cap):
    customers(7)
    response = admin_client.get(url(Customer, "changelist"), {"q": "bulk"})
    html = response.content.decode()
    cl = response.context["cl"]
    assert cl.result_count_capped and cl.paginator.num_pages == 2
    assert "more than 3 results" in html
    assert "more than 3 customers" in html
    assert "Select all more than 3 customers" in html
    assert "All more than 3 selected" in html
    assert "?p=2&amp;q=bulk" in html or "?q=bulk&amp;p=2" in html
    assert "p=3" not in html  # no link to a page beyond the cap
    assert [c.name for c in cl.result_list] == ["Bulk 00", "Bulk 01"]
    beyond = admin_client.get(url(Customer, "changelist"), {"q": "bulk", "p": 3})
    assert beyond.status_code == 302 and "e=1" in beyond["Location"]  # Django's answer to a page that does not exist


def test_changelist_of_the_whole_table_says_about_on_postgresql(admin_client, small_cap):
    customers(7)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")
    response = admin_client.get(url(Customer, "changelist"))
    html = response.content.decode()
    if connection.vendor == "postgresql":
        assert "about 7 customers" in html  # the table's row estimate, no COUNT(*) of it
    else:
        assert "more than 3 customers" in html
    # Nothing searched: the search bar says no "N results (Show all)" of the list it already shows.
    assert "results (" not in html and "Show all" not in html.split('id="changelist-search"')[1].split("</form>")[0]
    searched = admin_client.get(url(Customer, "changelist"), {"q": "bulk 0"})
    text = searched.content.decode()
    assert "more than 3 results" in text
    assert ("about 7 total" in text) == (connection.vendor == "postgresql")


def test_changelist_queries_do_not_follow_the_rows_below_or_above_the_cap(admin_client, small_cap):
    def queries(**params):
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(url(Customer, "changelist"), params)
            assert response.status_code == 200
        return len(ctx), response.context["cl"].result_count_capped

    customers(1, prefix="Bulk a")
    below, whole_below = queries(q="bulk"), queries()
    customers(2, prefix="Bulk b")
    assert queries(q="bulk") == below and below[1] is False
    assert queries() == whole_below
    customers(2, prefix="Bulk c")
    above, whole_above = queries(q="bulk"), queries()
    customers(30, prefix="Bulk d")
    assert queries(q="bulk") == above and above[1] is True
    assert queries() == whole_above
    # Above the cap, PostgreSQL's row estimate of the table stands in for its total: one query more.
    extra = 1 if connection.vendor == "postgresql" else 0
    assert above[0] == below[0] + extra


def test_a_walking_count_counts_the_same_rows_in_the_lists_order():
    """A broad search's count (walk=True) reads the rows in the list's order; the numbers are the same."""
    queryset = customers(12)
    for cap in (5, 20):
        plain, walking = paginator(queryset, cap=cap), CappedPaginator(queryset, 2, cap=cap, walk=True)
        assert (walking.count, walking.capped, walking.num_pages) == (plain.count, plain.capped, plain.num_pages)
    with CaptureQueriesContext(connection) as ctx:
        assert CappedPaginator(queryset, 2, cap=5, walk=True).count == 6
    (count_sql,) = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    if connection.vendor == "postgresql":
        assert "ORDER BY" in count_sql.upper()
