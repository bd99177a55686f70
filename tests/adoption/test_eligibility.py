"""Which catalog tasks belong in a plan. One function decides it for create, preview and sync."""

import pytest

from adoption.choices import LicenseLevel
from adoption.services import customer_product_assign, eligible_catalog_tasks
from config.errors import ValidationFailed
from tests.factories import CustomerFactory, OutcomeFactory, ProductFactory, ReleaseFactory, TaskFactory

pytestmark = pytest.mark.django_db


def names(tasks):
    return sorted(t.name for t in tasks)


def eligible(product, level, outcomes=(), releases=()):
    return names(
        eligible_catalog_tasks(
            product=product,
            license_level=level,
            outcome_ids=[o.pk for o in outcomes],
            release_ids=[r.pk for r in releases],
        )
    )


@pytest.fixture
def ladder():
    product = ProductFactory(name="Ladder")
    TaskFactory(product=product, name="essential", license_level=LicenseLevel.ESSENTIAL)
    TaskFactory(product=product, name="advantage", license_level=LicenseLevel.ADVANTAGE)
    TaskFactory(product=product, name="signature", license_level=LicenseLevel.SIGNATURE)
    return product


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (LicenseLevel.ESSENTIAL, ["essential"]),
        (LicenseLevel.ADVANTAGE, ["advantage", "essential"]),
        (LicenseLevel.SIGNATURE, ["advantage", "essential", "signature"]),
    ],
)
def test_license_ladder_includes_tasks_at_or_below_the_level(ladder, level, expected):
    assert eligible(ladder, level) == expected


@pytest.mark.parametrize(("level", "expected_count"), [("ESSENTIAL", 1), ("advantage", 2), (3, 3)])
def test_license_level_may_be_given_by_name_or_number(ladder, level, expected_count):
    assert eligible_catalog_tasks(product=ladder, license_level=level, outcome_ids=[], release_ids=[]).count() == (
        expected_count
    )


def test_unknown_license_level_is_a_validation_error(ladder):
    with pytest.raises(ValidationFailed) as error:
        eligible_catalog_tasks(product=ladder, license_level="PLATINUM", outcome_ids=[], release_ids=[])
    assert error.value.field == "licenseLevel"
    assert "ESSENTIAL, ADVANTAGE, SIGNATURE" in error.value.message


@pytest.fixture
def tagged():
    product = ProductFactory(name="Tagged")
    o1, o2, o3 = (OutcomeFactory(product=product, name=n) for n in ("o1", "o2", "o3"))
    r1, r2 = (ReleaseFactory(product=product, name=n) for n in ("r1", "r2"))
    TaskFactory(product=product, name="general")
    TaskFactory(product=product, name="t-o1", outcomes=[o1])
    TaskFactory(product=product, name="t-o2", outcomes=[o2])
    TaskFactory(product=product, name="t-o1-o2", outcomes=[o1, o2])
    TaskFactory(product=product, name="t-o3", outcomes=[o3])
    TaskFactory(product=product, name="t-r1", releases=[r1])
    TaskFactory(product=product, name="t-o1-r2", outcomes=[o1], releases=[r2])
    return product, (o1, o2, o3), (r1, r2)


ALL_TAGGED = ["general", "t-o1", "t-o1-o2", "t-o1-r2", "t-o2", "t-o3", "t-r1"]


def test_empty_selections_mean_all(tagged):
    product, _, _ = tagged
    assert eligible(product, LicenseLevel.ESSENTIAL) == ALL_TAGGED


def test_outcome_selection_keeps_untagged_and_sharing_tasks(tagged):
    product, (o1, o2, o3), _ = tagged
    assert eligible(product, LicenseLevel.ESSENTIAL, outcomes=[o1]) == ["general", "t-o1", "t-o1-o2", "t-o1-r2", "t-r1"]
    assert eligible(product, LicenseLevel.ESSENTIAL, outcomes=[o3]) == ["general", "t-o3", "t-r1"]


def test_task_with_several_selected_outcomes_appears_once(tagged):
    product, (o1, o2, _), _ = tagged
    tasks = list(
        eligible_catalog_tasks(
            product=product, license_level=LicenseLevel.ESSENTIAL, outcome_ids=[o1.pk, o2.pk], release_ids=[]
        )
    )
    assert names(tasks) == ["general", "t-o1", "t-o1-o2", "t-o1-r2", "t-o2", "t-r1"]
    assert len(tasks) == len({t.pk for t in tasks})


def test_release_selection_follows_the_same_rule(tagged):
    product, _, (r1, r2) = tagged
    assert eligible(product, LicenseLevel.ESSENTIAL, releases=[r1]) == [
        "general",
        "t-o1",
        "t-o1-o2",
        "t-o2",
        "t-o3",
        "t-r1",
    ]
    assert eligible(product, LicenseLevel.ESSENTIAL, releases=[r2]) == [
        "general",
        "t-o1",
        "t-o1-o2",
        "t-o1-r2",
        "t-o2",
        "t-o3",
    ]


def test_outcome_and_release_selections_both_apply(tagged):
    product, (o1, _, _), (r1, _) = tagged
    assert eligible(product, LicenseLevel.ESSENTIAL, outcomes=[o1], releases=[r1]) == [
        "general",
        "t-o1",
        "t-o1-o2",
        "t-r1",
    ]


def test_license_and_outcomes_combine(tagged):
    product, (o1, _, _), _ = tagged
    TaskFactory(product=product, name="t-o1-signature", outcomes=[o1], license_level=LicenseLevel.SIGNATURE)
    assert "t-o1-signature" not in eligible(product, LicenseLevel.ADVANTAGE, outcomes=[o1])
    assert "t-o1-signature" in eligible(product, LicenseLevel.SIGNATURE, outcomes=[o1])


def test_inactive_tasks_are_never_eligible(tagged):
    product, _, _ = tagged
    product.tasks.filter(name="general").update(is_active=False)
    assert "general" not in eligible(product, LicenseLevel.SIGNATURE)


def test_links_to_deleted_outcomes_do_not_count(tagged):
    # o3 left the catalog: its only task is now a general task, shown for any selection.
    product, (o1, _, o3), _ = tagged
    o3.is_active = False
    o3.save()
    assert "t-o3" in eligible(product, LicenseLevel.ESSENTIAL, outcomes=[o1])


def test_tasks_of_an_inactive_product_are_not_eligible(tagged):
    product, _, _ = tagged
    product.is_active = False
    product.save()
    assert eligible(product, LicenseLevel.SIGNATURE) == []


def test_other_products_tasks_are_not_eligible(tagged):
    product, _, _ = tagged
    TaskFactory(name="elsewhere")
    assert "elsewhere" not in eligible(product, LicenseLevel.SIGNATURE)


def test_plan_creation_copies_exactly_the_eligible_tasks(tagged, admin_user):
    product, (o1, o2, _), (r1, _) = tagged
    assignment = customer_product_assign(
        actor=admin_user,
        customer=CustomerFactory(),
        product=product,
        license_level="ESSENTIAL",
        outcome_ids=[o1.pk, o2.pk],
        release_ids=[r1.pk],
    )
    plan_tasks = assignment.adoption_plan.tasks.all()
    assert names(plan_tasks) == ["general", "t-o1", "t-o1-o2", "t-o2", "t-r1"]
