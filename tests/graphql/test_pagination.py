"""Lists that grow with the portfolio take first / offset (and search) and stay plain lists: left out,
they answer as before for portfolios up to the maximum page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adoption.choices import LicenseLevel
from adoption.services import customer_product_assign, customer_task_update_status
from config.graphql import MAX_PAGE_SIZE
from customers.models import Customer
from customers.services import customer_create
from telemetry.models import CustomerTelemetryValue
from telemetry.services import telemetry_ingest
from tests.factories import ProductFactory, TaskFactory
from tests.graphql.conftest import data_of, error_of, post

NAMES = ["Alpha Foods", "Beta Retail", "Gamma Foods", "Delta Shipping", "Epsilon Retail"]
CUSTOMERS = "query($first: Int, $offset: Int, $search: String) { customers(first: $first, offset: $offset, search: $search) { name } }"


@pytest.fixture
def portfolio(admin_user, csm):
    customers = {
        name: customer_create(actor=admin_user, name=name, description="grocery chain" if "Beta" in name else "")
        for name in NAMES
    }
    customers["Beta Retail"].assigned_users.set([csm])
    customers["Gamma Foods"].assigned_users.set([csm])
    return customers


def names(client, **variables):
    return [c["name"] for c in data_of(client, CUSTOMERS, variables)["customers"]]


def test_customers_left_out_arguments_answer_every_customer_by_name(as_admin, portfolio):
    assert names(as_admin) == sorted(NAMES)


def test_customers_pages_follow_the_name_order_without_gaps_or_repeats(as_admin, portfolio):
    ordered = sorted(NAMES)
    assert names(as_admin, first=2) == ordered[0:2]
    assert names(as_admin, first=2, offset=2) == ordered[2:4]
    assert names(as_admin, first=2, offset=4) == ordered[4:5]
    assert names(as_admin, first=2, offset=6) == []


def test_customers_search_matches_name_or_description_ignoring_case(as_admin, portfolio):
    assert names(as_admin, search="FOODS") == ["Alpha Foods", "Gamma Foods"]
    assert names(as_admin, search="  retail ") == ["Beta Retail", "Epsilon Retail"]
    assert names(as_admin, search="grocery") == ["Beta Retail"]  # its description
    assert names(as_admin, search="foods", first=1, offset=1) == ["Gamma Foods"]
    assert names(as_admin, search="   ") == sorted(NAMES)
    assert names(as_admin, search="nobody") == []


def test_customers_pages_and_search_stay_within_what_a_csm_may_see(as_csm, portfolio):
    assert names(as_csm) == ["Beta Retail", "Gamma Foods"]
    assert names(as_csm, first=1, offset=1) == ["Gamma Foods"]
    assert names(as_csm, search="foods") == ["Gamma Foods"]


def test_customers_left_out_first_is_the_documented_maximum(as_admin, db):
    Customer.objects.bulk_create([Customer(name=f"Customer {i:04d}") for i in range(MAX_PAGE_SIZE + 1)])
    assert len(names(as_admin)) == MAX_PAGE_SIZE
    assert names(as_admin, offset=MAX_PAGE_SIZE) == [f"Customer {MAX_PAGE_SIZE:04d}"]


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({"first": 0}, "first", f"first must be between 1 and {MAX_PAGE_SIZE}, got 0"),
        (
            {"first": MAX_PAGE_SIZE + 1},
            "first",
            f"first must be between 1 and {MAX_PAGE_SIZE}, got {MAX_PAGE_SIZE + 1}",
        ),
        ({"first": -3}, "first", f"first must be between 1 and {MAX_PAGE_SIZE}, got -3"),
        ({"offset": -1}, "offset", "offset must be between 0 and 1,000,000, got -1"),
        ({"offset": 1_000_001}, "offset", "offset must be between 0 and 1,000,000, got 1000001"),
        ({"search": "x" * 201}, "search", "search is 201 characters long; at most 200 are allowed"),
        ({"search": "a\x00b"}, "search", "search must not contain NUL characters or unpaired surrogates"),
    ],
    ids=["first-zero", "first-too-big", "first-negative", "offset-negative", "offset-too-big", "search-long", "nul"],
)
def test_customers_refuses_arguments_out_of_range_naming_them(as_admin, portfolio, variables, field, message):
    error = error_of(as_admin, CUSTOMERS, variables)
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": field}
    assert error["message"] == message
    assert error["path"] == ["customers"]


PLANS = """query($id: ID!, $first: Int, $offset: Int, $search: String) {
  adoptionPlansForCustomer(customerId: $id, first: $first, offset: $offset, search: $search) { productName }
}"""


def test_plans_for_customer_pages_and_search_by_product_name(as_admin, admin_user, acme):
    customer = acme["customer"]
    for name in ("Billing Suite", "Analytics Hub"):
        product = ProductFactory(name=name)
        TaskFactory(product=product, name="Start")
        customer_product_assign(
            actor=admin_user, customer=customer, product=product, license_level=LicenseLevel.ESSENTIAL
        )

    def products(**variables):
        answer = data_of(as_admin, PLANS, {"id": str(customer.pk), **variables})
        return [plan["productName"] for plan in answer["adoptionPlansForCustomer"]]

    assert products() == ["Analytics Hub", "Billing Suite", "Retail App"]
    assert products(first=1, offset=1) == ["Billing Suite"]
    assert products(search="suite") == ["Billing Suite"]
    assert products(search="A", first=2) == ["Analytics Hub", "Retail App"]
    error = error_of(as_admin, PLANS, {"id": str(customer.pk), "first": 501})
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "first"}


TASKS = """query($id: ID!, $status: CustomerTaskStatus, $first: Int, $offset: Int, $search: String) {
  customerTasksForPlan(adoptionPlanId: $id, status: $status, first: $first, offset: $offset, search: $search) { name }
}"""


def test_tasks_for_plan_pages_search_and_status_combine(as_admin, admin_user, acme):
    plan = acme["plan"]
    customer_task_update_status(actor=admin_user, task=acme["tasks"]["Integrate"], status="DONE")

    def tasks(**variables):
        answer = data_of(as_admin, TASKS, {"id": str(plan.pk), **variables})
        return [task["name"] for task in answer["customerTasksForPlan"]]

    assert tasks() == ["Install", "Configure", "Invite users", "Integrate", "Automate"]
    assert tasks(first=2, offset=1) == ["Configure", "Invite users"]
    assert tasks(search="in") == ["Install", "Invite users", "Integrate"]
    assert tasks(search="IN", offset=1, first=1) == ["Invite users"]
    assert tasks(search="in", status="NOT_STARTED") == ["Install", "Invite users"]
    assert tasks(status="DONE") == ["Integrate"]
    error = error_of(as_admin, TASKS, {"id": str(plan.pk), "offset": -5})
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": "offset"}


VALUES = """query($id: ID!, $first: Int, $offset: Int) {
  adoptionPlan(id: $id) {
    tasks {
      name
      telemetryAttributes {
        name
        page: values(first: $first, offset: $offset) { value }
        all: values { value }
        latestValue { value }
      }
      history(first: 1) { toStatus }
      fullHistory: history { toStatus }
    }
  }
}"""


def _send_users(admin_user, acme, counts):
    attribute = acme["tasks"]["Configure"].telemetry_attributes.get(name="users")
    for n, count in enumerate(counts):
        telemetry_ingest(
            actor=admin_user,
            batch_id=f"users-{n}",
            items=[
                {"customerAttributeId": str(attribute.pk), "value": count, "observedAt": f"2026-11-0{n + 1}T10:00:00Z"}
            ],
        )
    return attribute


def _configure(data):
    return next(task for task in data["adoptionPlan"]["tasks"] if task["name"] == "Configure")


def test_values_and_history_pages_per_parent_next_to_the_whole_lists(as_admin, admin_user, acme):
    _send_users(admin_user, acme, [3, 12, 40])
    customer_task_update_status(actor=admin_user, task=acme["tasks"]["Configure"], status="DONE")
    data = data_of(as_admin, VALUES, {"id": str(acme["plan"].pk), "first": 2, "offset": 1})
    users = next(a for a in _configure(data)["telemetryAttributes"] if a["name"] == "users")
    assert users["page"] == [{"value": 12}, {"value": 40}]
    assert users["all"] == [{"value": 3}, {"value": 12}, {"value": 40}]
    assert users["latestValue"] == {"value": 40}
    assert _configure(data)["history"] == [{"toStatus": "IN_PROGRESS"}]
    assert [h["toStatus"] for h in _configure(data)["fullHistory"]] == ["IN_PROGRESS", "DONE"]


def test_values_page_out_of_range_is_refused_at_the_field(as_admin, admin_user, acme):
    _send_users(admin_user, acme, [3])
    status, body = post(as_admin, VALUES, {"id": str(acme["plan"].pk), "first": 0})
    assert status == 200
    errors = body["errors"]
    assert {e["extensions"]["field"] for e in errors} == {"first"}
    assert {e["extensions"]["code"] for e in errors} == {"VALIDATION_ERROR"}
    assert errors[0]["path"][-1] == "page"
    assert CustomerTelemetryValue.objects.count() == 1


def test_a_values_page_costs_one_query_for_every_attribute(as_admin, admin_user, acme):
    _send_users(admin_user, acme, [3, 12])
    query = "query($id: ID!) { adoptionPlan(id: $id) { tasks { telemetryAttributes { values(first: 1) { value } } } } }"
    variables = {"id": str(acme["plan"].pk)}
    data_of(as_admin, query, variables)
    with CaptureQueriesContext(connection) as one_page:
        data_of(as_admin, query, variables)
    two_pages = query.replace(
        "values(first: 1) { value }", "a: values(first: 1) { value } b: values(offset: 1) { value }"
    )
    with CaptureQueriesContext(connection) as both:
        data = data_of(as_admin, two_pages, variables)
    assert len(both) == len(one_page) + 1  # the second page is one more query, not one per attribute
    configure = data["adoptionPlan"]["tasks"][1]["telemetryAttributes"]
    users = next(a for a in configure if a["a"])
    assert (users["a"], users["b"]) == ([{"value": 3}], [{"value": 12}])


def test_first_is_the_list_factor_of_the_query_cost(as_admin, portfolio, settings):
    settings.GRAPHQL_MAX_COST = 1000
    # 1 + 500 x 2 = 1,001: one over the limit; the default factor (10) would have said 21.
    status, body = post(as_admin, "{ customers(first: 500) { id name } }")
    assert status == 400
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR"}
    assert body["errors"][0]["message"].startswith("the query costs 1001 ")
    status, body = post(as_admin, "query($n: Int) { customers(first: $n) { id name } }", {"n": 500})
    assert (status, body["errors"][0]["message"][:22]) == (400, "the query costs 1001 (")
    # The page multiplies what is below it: 1 + 90 x (1 + 10 x 1) = 991 passes, 91 rows cost 1,002.
    assert post(as_admin, "{ customers(first: 90) { products { id } } }")[0] == 200
    status, body = post(as_admin, "{ customers(first: 91) { products { id } } }")
    assert (status, body["errors"][0]["message"][:22]) == (400, "the query costs 1002 (")
    # Without first, a paginated list counts like any list: 1 + 10 x 11 = 111.
    assert post(as_admin, "{ customers { products { id } } }")[0] == 200
