"""The customers services apply the text rules themselves, so every caller (pages, GraphQL, the
admin, commands) is covered: names, descriptions and personal access token names."""

import pytest

from config.errors import ValidationFailed
from customers.services import customer_create, customer_update, personal_token_issue
from tests.db_state import database_state

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (
            lambda actor, customer: customer_create(actor=actor, name="New\x00"),
            "name",
            "customer name contains a NUL character (U+0000) at position 3",
        ),
        (
            lambda actor, customer: customer_update(actor=actor, customer=customer, description="\ud800 x"),
            "description",
            "customer description contains an unpaired surrogate (U+D800) at position 0",
        ),
        (
            lambda actor, customer: personal_token_issue(actor=actor, user=actor, name="ci\x00"),
            "name",
            "token name contains a NUL character (U+0000) at position 2",
        ),
    ],
    ids=["customer-name", "customer-description", "token-name"],
)
def test_customer_services_refuse_nul_and_surrogates(admin_user, call, field, message):
    customer = customer_create(actor=admin_user, name="Initech")
    before = database_state()
    with pytest.raises(ValidationFailed) as refused:
        call(admin_user, customer)
    assert (refused.value.field, refused.value.message) == (field, message)
    assert database_state() == before
