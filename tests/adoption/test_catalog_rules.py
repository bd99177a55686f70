"""One set of catalog field rules: a bad value gets the same message from the catalog services
(GraphQL, pages) as from a catalog file, and a refused task leaves the catalog unchanged."""

from decimal import Decimal

import pytest

from adoption import catalog
from adoption.catalog_file import validate_catalog
from adoption.models import Task
from config.errors import ValidationFailed
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

GOOD = {"name": "Enable SSO", "estMinutes": 30, "weight": 2, "licenseLevel": "ESSENTIAL"}

CASES = [
    pytest.param("weight", Decimal("1.234"), "weight", "has more than 2 decimal places: 1.234", id="weight-places"),
    pytest.param("weight", 10000, "weight", "must be between 0 and 9999.99, got 10000", id="weight-range"),
    pytest.param("estMinutes", -1, "estMinutes", "must be 0 or more, got -1", id="minutes-negative"),
    pytest.param("estMinutes", 2.5, "estMinutes", "must be an integer, got number 2.5", id="minutes-float"),
    pytest.param(
        "licenseLevel",
        "GOLD",
        "licenseLevel",
        "unknown license level 'GOLD'; expected one of ESSENTIAL, ADVANTAGE, SIGNATURE",
        id="level-unknown",
    ),
    pytest.param("name", "   ", "name", "must not be empty", id="name-blank"),
    pytest.param("name", "x" * 201, "name", "is too long (201 characters, at most 200)", id="name-long"),
    pytest.param(
        "howToDoc",
        ["https://docs.example.com/a", "ftp://files.example.com/b"],
        "howToDoc[1]",
        "is not a valid http(s) URL: 'ftp://files.example.com/b'",
        id="url-scheme",
    ),
]

SERVICE_ARGS = {"name": "name", "estMinutes": "est_minutes", "weight": "weight", "licenseLevel": "license_level"}


@pytest.mark.parametrize(("key", "value", "field", "message"), CASES)
def test_a_bad_task_field_gets_one_message_from_services_and_files(admin_user, key, value, field, message):
    product = ProductFactory(name="Identity")
    arguments = {SERVICE_ARGS.get(k, k): v for k, v in GOOD.items()}
    arguments["how_to_doc" if key == "howToDoc" else SERVICE_ARGS[key]] = value

    with pytest.raises(ValidationFailed) as refused:
        catalog.task_create(actor=admin_user, product=product, **arguments)
    assert (refused.value.code, refused.value.field, refused.value.message) == ("VALIDATION_ERROR", field, message)
    assert not Task.objects.exists()

    _, errors = validate_catalog({"products": [{"name": "Identity", "tasks": [{**GOOD, key: value}]}]})
    assert [(e.location, e.message) for e in errors] == [(f"products[0].tasks[0].{field}", message)]


def test_names_lose_surrounding_blanks_in_files_and_services(admin_user):
    product = ProductFactory(name="Identity")
    task = catalog.task_create(actor=admin_user, product=product, name="  Enable SSO ", est_minutes=5, weight=1)
    products, errors = validate_catalog(
        {
            "products": [
                {
                    "name": " Identity ",
                    "outcomes": [{"name": " Secure "}],
                    "tasks": [{**GOOD, "name": " Enable SSO", "outcomes": ["Secure "]}],
                }
            ]
        }
    )
    assert errors == []
    assert (task.name, products[0]["name"], products[0]["tasks"][0]["name"]) == ("Enable SSO", "Identity", "Enable SSO")
    assert products[0]["tasks"][0]["outcomes"] == ["Secure"]
