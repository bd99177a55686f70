"""Per-user rate limit of the GraphQL endpoint: 429 with Retry-After and a RATE_LIMITED error, one
count per user whether they come with a session or a token, and nothing executed past the limit."""

import pytest
from django.test import Client

from customers.models import Customer
from tests.graphql.conftest import URL, client_for, data_of, post, token_for

pytestmark = pytest.mark.django_db

CUSTOMERS = "{ customers { name } }"
CREATE = 'mutation { createCustomer(input: {name: "Late"}) { name } }'


@pytest.fixture
def tight(settings):
    settings.GRAPHQL_RATE_LIMIT = 3
    settings.GRAPHQL_RATE_WINDOW = 3600  # a window boundary inside the test is then all but impossible


def test_past_the_limit_is_429_rate_limited_with_retry_after_and_nothing_runs(tight, admin_user, settings):
    client = client_for(admin_user)
    for _ in range(3):
        assert data_of(client, CUSTOMERS) == {"customers": []}

    response = client.post(URL, data={"query": CREATE}, content_type="application/json")

    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert response.json() == {
        "errors": [
            {
                "message": f"Too many requests: at most 3 every 3600 seconds per user. Retry in {retry_after} seconds.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
            }
        ]
    }
    assert not Customer.objects.exists()
    # The same mutation runs once the user has requests left.
    settings.GRAPHQL_RATE_LIMIT = 5
    assert data_of(client, CREATE) == {"createCustomer": {"name": "Late"}}


def test_session_and_token_share_one_count_per_user_and_users_are_counted_apart(tight, admin_user, csm):
    session = client_for(admin_user)
    token = token_for(admin_user)
    for _ in range(2):
        data_of(session, CUSTOMERS)
    data_of(Client(), CUSTOMERS, HTTP_AUTHORIZATION=f"Bearer {token}")

    status, body = post(Client(), CUSTOMERS, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert status == 429 and body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert data_of(client_for(csm), CUSTOMERS) == {"customers": []}


def test_unauthenticated_requests_are_refused_before_counting(tight, admin_user, client):
    for _ in range(5):
        status, body = post(client, CUSTOMERS)
        assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    assert data_of(client_for(admin_user), CUSTOMERS) == {"customers": []}


def test_a_limit_of_zero_switches_the_limit_off(settings, admin_user):
    settings.GRAPHQL_RATE_LIMIT = 0
    client = client_for(admin_user)

    assert all(post(client, CUSTOMERS)[0] == 200 for _ in range(5))
