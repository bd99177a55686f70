"""Catalog files follow the text rules: a NUL or a lone surrogate (JSON escapes \\u0000 / \\ud800, or
YAML's "\\0" / "\\ud800" in double quotes) or over-long text anywhere is an error at its location,
and nothing of the file is loaded."""

import json

import pytest

from adoption.catalog_file import CatalogValidationError
from adoption.catalog_io import catalog_load_file
from tests.db_state import database_state

pytestmark = pytest.mark.django_db


def catalog(**task_extra) -> dict:
    return {
        "products": [
            {
                "name": "Vault",
                "description": "Secrets manager",
                "outcomes": [{"name": "Audit"}],
                "releases": [{"name": "1.0", "level": 1.0}],
                "tasks": [
                    {
                        "name": "Install",
                        "estMinutes": 30,
                        "weight": 2,
                        "licenseLevel": "ESSENTIAL",
                        "telemetry": [{"name": "installed", "dataType": "STRING", "successCriteria": {}}],
                        **task_extra,
                    }
                ],
            }
        ]
    }


def _set(data: dict, location: str, value) -> None:
    """Put ``value`` at a location like ``products[0].tasks[0].telemetry[0].name``."""
    target = data
    parts = location.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value


LOCATIONS = [
    "products[0].name",
    "products[0].description",
    "products[0].outcomes[0].name",
    "products[0].releases[0].name",
    "products[0].tasks[0].name",
    "products[0].tasks[0].notes",
    "products[0].tasks[0].priority",
    "products[0].tasks[0].telemetry[0].name",
    "products[0].tasks[0].telemetry[0].description",
]


def _load(tmp_path, text: str, suffix: str = "json"):
    path = tmp_path / f"catalog.{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogValidationError) as refused:
        catalog_load_file(path)
    return refused.value.errors


@pytest.mark.parametrize(("bad", "problem"), [("\x00", "NUL character (U+0000)"), ("\ud800", "surrogate (U+D800)")])
@pytest.mark.parametrize("location", LOCATIONS)
def test_json_catalog_files_refuse_nul_and_surrogates_everywhere(tmp_path, location, bad, problem):
    data = catalog()
    _set(data, location, f"x{bad}")
    before = database_state()
    errors = _load(tmp_path, json.dumps(data))  # json.dumps writes the \\u0000 / \\ud800 escapes
    assert [error.location for error in errors] == [location]
    assert problem in errors[0].message and "at position 1" in errors[0].message
    assert database_state() == before


@pytest.mark.parametrize(("bad", "problem"), [("\x00", "NUL character (U+0000)"), ("\ud800", "surrogate (U+D800)")])
def test_criteria_and_urls_in_catalog_files_follow_the_text_rules(tmp_path, bad, problem):
    data = catalog(howToDoc=[f"https://docs.example.com/{bad}"])
    data["products"][0]["tasks"][0]["telemetry"][0]["successCriteria"] = {"op": "in", "value": ["eu", f"u{bad}"]}
    before = database_state()
    errors = _load(tmp_path, json.dumps(data))
    assert [error.location for error in errors] == [
        "products[0].tasks[0].howToDoc[0]",
        "products[0].tasks[0].telemetry[0].successCriteria",
    ]
    assert all(problem in error.message for error in errors)
    assert "the string at value[1]" in errors[1].message
    assert database_state() == before


def test_yaml_escapes_are_refused_as_well(tmp_path):
    text = 'products:\n  - name: "Vault\\0"\n    description: "x\\ud800"\n'
    before = database_state()
    errors = _load(tmp_path, text, "yaml")
    assert [(error.location, error.message) for error in errors] == [
        ("products[0].name", "contains a NUL character (U+0000) at position 5"),
        ("products[0].description", "contains an unpaired surrogate (U+D800) at position 1"),
    ]
    assert database_state() == before


@pytest.mark.parametrize(
    ("location", "length", "maximum"),
    [
        ("products[0].name", 201, 200),
        ("products[0].description", 10_001, 10_000),
        ("products[0].releases[0].name", 101, 100),
        ("products[0].tasks[0].notes", 10_001, 10_000),
    ],
)
def test_over_long_text_in_catalog_files_is_refused(tmp_path, location, length, maximum):
    data = catalog()
    _set(data, location, "x" * length)
    before = database_state()
    errors = _load(tmp_path, json.dumps(data))
    assert [(error.location, error.message) for error in errors] == [
        (location, f"is too long ({length} characters, at most {maximum})")
    ]
    assert database_state() == before
