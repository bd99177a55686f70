import pytest
from django.contrib.auth.models import AnonymousUser

from adoption.permissions import can_edit_catalog, get_plan_for_user, products_visible_to
from config.errors import Forbidden, NotFound, Unauthenticated
from customers.models import Role
from customers.permissions import (
    can_create_customer,
    can_delete_customer,
    can_write_customer,
    customers_visible_to,
    get_customer_for_user,
    role_of,
)
from tests.factories import AdoptionPlanFactory, CustomerFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(admin_user, editor, csm, viewer):
    mine = CustomerFactory(name="Mine", assigned_users=[csm, viewer])
    other = CustomerFactory(name="Other")
    return mine, other


def test_superuser_is_admin_and_sees_everything(admin_user, world):
    assert role_of(admin_user) == Role.ADMIN
    assert set(customers_visible_to(admin_user)) == set(world)
    assert can_create_customer(admin_user) and can_delete_customer(admin_user, world[0])


def test_csm_sees_and_writes_only_assigned_customers(csm, world):
    mine, other = world
    assert list(customers_visible_to(csm)) == [mine]
    assert can_write_customer(csm, mine)
    assert not can_write_customer(csm, other)
    assert not can_create_customer(csm)
    assert not can_delete_customer(csm, mine)
    with pytest.raises(NotFound):
        get_customer_for_user(csm, other.pk)


def test_viewer_reads_assigned_but_cannot_write(viewer, world):
    mine, other = world
    assert get_customer_for_user(viewer, mine.pk) == mine
    with pytest.raises(Forbidden):
        get_customer_for_user(viewer, mine.pk, write=True)
    with pytest.raises(NotFound):
        get_customer_for_user(viewer, other.pk)


def test_catalog_editor_edits_catalog_but_sees_no_customers(editor, csm, world):
    ProductFactory()
    assert can_edit_catalog(editor)
    assert not can_edit_catalog(csm)
    assert customers_visible_to(editor).count() == 0
    assert products_visible_to(editor).count() == 1


def test_missing_and_forbidden_plan_answer_the_same(csm, world):
    _, other = world
    plan = AdoptionPlanFactory(customer_product__customer=other)
    with pytest.raises(NotFound) as forbidden:
        get_plan_for_user(csm, plan.pk)
    with pytest.raises(NotFound) as missing:
        get_plan_for_user(csm, plan.pk + 1000)
    assert forbidden.value.code == missing.value.code == "NOT_FOUND"
    with pytest.raises(NotFound):
        get_plan_for_user(csm, "not-a-number")


def test_anonymous_and_roleless_users_are_refused(db):
    roleless = UserFactory(username="nobody")
    assert role_of(roleless) is None
    with pytest.raises(Unauthenticated):
        get_customer_for_user(AnonymousUser(), 1)
    assert customers_visible_to(roleless).count() == 0
