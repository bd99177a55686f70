import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from adoption.catalog_file import read_catalog_file, validate_catalog
from adoption.catalog_io import catalog_dump
from adoption.choices import LicenseLevel
from adoption.models import Outcome, Product, Release, Task
from telemetry.models import TelemetryAttribute

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "adoption" / "demo" / "catalog.yaml"

SMALL = """
products:
  - name: Vault
    description: Secrets manager
    outcomes:
      - {name: Secure secrets, description: No secrets in code}
      - {name: Audit}
    releases:
      - {name: "1.0", level: 1.0}
      - {name: "2.0", level: 2.0}
    tasks:
      - name: Install
        estMinutes: 30
        weight: 2.5
        licenseLevel: ESSENTIAL
        sequenceNumber: 10
        outcomes: [Secure secrets, Audit]
        releases: ["1.0"]
        howToDoc: [https://docs.example.com/vault/install]
        telemetry:
          - name: installed_at
            dataType: TIMESTAMP
            isRequired: true
            successCriteria: {op: after, value: 2024-01-01}
          - name: config
            dataType: JSON
            successCriteria:
              all:
                - {op: gte, path: seals.count, value: 1}
                - not: {op: eq, path: mode, value: dev}
      - name: Rotate keys
        estMinutes: 0
        weight: 0
        licenseLevel: signature
"""


def write(tmp_path, text, name="catalog.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("load_catalog", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def catalog_counts():
    return {
        "products": Product.objects.count(),
        "outcomes": Outcome.objects.count(),
        "releases": Release.objects.count(),
        "tasks": Task.objects.count(),
        "attributes": TelemetryAttribute.objects.count(),
        "outcome_links": Task.outcomes.through.objects.count(),
        "release_links": Task.releases.through.objects.count(),
    }


def test_load_creates_the_catalog_with_links_and_attributes(tmp_path):
    out, _ = load(write(tmp_path, SMALL))

    assert "products:   1 created, 0 updated, 0 unchanged" in out
    assert "tasks:      2 created, 0 updated, 0 unchanged" in out
    product = Product.objects.get()
    assert product.catalog_changed_at is not None
    install = Task.objects.get(name="Install")
    assert install.product == product
    assert install.weight == Decimal("2.50")
    assert install.est_minutes == 30
    assert install.license_level == LicenseLevel.ESSENTIAL
    assert install.how_to_doc == ["https://docs.example.com/vault/install"]
    assert sorted(install.outcomes.values_list("name", flat=True)) == ["Audit", "Secure secrets"]
    assert list(install.releases.values_list("name", flat=True)) == ["1.0"]
    rotate = Task.objects.get(name="Rotate keys")
    assert rotate.license_level == LicenseLevel.SIGNATURE
    assert rotate.weight == Decimal("0")
    assert rotate.outcomes.count() == 0
    attrs = {a.name: a for a in TelemetryAttribute.objects.filter(task=install)}
    # YAML dates stay strings: criteria are JSON.
    assert attrs["installed_at"].success_criteria == {"op": "after", "value": "2024-01-01"}
    assert attrs["config"].success_criteria == {
        "all": [{"op": "gte", "path": "seals.count", "value": 1}, {"not": {"op": "eq", "path": "mode", "value": "dev"}}]
    }
    assert attrs["config"].is_required is False
    assert Release.objects.get(name="2.0").level == Decimal("2.000")


BROKEN = """
products:
  - name: Vault
    outcomes:
      - {name: Audit}
      - {name: Audit}
    releases:
      - {name: "1.0", level: 1.0}
    tasks:
      - name: Install
        estMinutes: 30
        weight: 1
        licenseLevel: ESSENTIAL
        telemetry:
          - name: users
            dataType: NUMBER
            successCriteria:
              all:
                - {op: gte, value: 10}
                - {op: gt, value: many}
          - name: mood
            dataType: FEELING
      - name: Upgrade
        estMinutes: -5
        weight: 10000
        licenseLevel: PLATINUM
        outcomes: [Nope]
        releases: ["1.0", "9.9"]
      - name: Install
        estMinutes: 10
        weight: 1.234
        licenseLevel: ADVANTAGE
        colour: blue
        howToDoc: [not a url]
  - description: no name here
    releases:
      - {name: "2.0", level: two}
    tasks:
      - name: Orphan
        weight: 1
        licenseLevel: ESSENTIAL
"""


def test_broken_file_names_every_broken_entry_and_loads_nothing(tmp_path):
    load(write(tmp_path, SMALL, "good.yaml"))
    before = catalog_counts()
    changed_at = Product.objects.get().catalog_changed_at

    with pytest.raises(CommandError) as excinfo:
        load(write(tmp_path, BROKEN))

    assert "15 error(s); nothing was loaded" in str(excinfo.value)
    _, errors = validate_catalog(yaml.safe_load(BROKEN))
    assert [e.location for e in errors] == [
        "products[0].outcomes[1].name",
        "products[0].tasks[0].telemetry[0].successCriteria.all[1].value",
        "products[0].tasks[0].telemetry[1].dataType",
        "products[0].tasks[1].licenseLevel",
        "products[0].tasks[1].estMinutes",
        "products[0].tasks[1].weight",
        "products[0].tasks[1].outcomes[0]",
        "products[0].tasks[1].releases[1]",
        "products[0].tasks[2].colour",
        "products[0].tasks[2].weight",
        "products[0].tasks[2].howToDoc[0]",
        "products[0].tasks[2].name",
        "products[1].name",
        "products[1].releases[0].level",
        "products[1].tasks[0].estMinutes",
    ]
    by_location = {e.location: e for e in errors}
    criterion = by_location["products[0].tasks[0].telemetry[0].successCriteria.all[1].value"]
    assert criterion.context == 'product "Vault" > task "Install" > telemetry "users"'
    assert "finite number" in criterion.message
    assert by_location["products[0].tasks[2].name"].message == (
        "duplicate task name 'Install' (first at products[0].tasks[0])"
    )
    assert "PLATINUM" in by_location["products[0].tasks[1].licenseLevel"].message
    assert by_location["products[0].tasks[1].outcomes[0]"].message == (
        "unknown outcome 'Nope'; the product's outcomes are: Audit"
    )
    assert by_location["products[0].tasks[1].weight"].message == "must be between 0 and 9999.99, got 10000"
    assert by_location["products[0].tasks[2].weight"].message == "has more than 2 decimal places: 1.234"
    assert by_location["products[1].name"].message == "is required"
    assert by_location["products[1].tasks[0].estMinutes"].context == 'task "Orphan"'
    assert catalog_counts() == before
    assert Product.objects.get().catalog_changed_at == changed_at


def test_command_prints_every_error_with_location_and_names(tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_catalog", str(write(tmp_path, BROKEN)), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 15
    assert lines[1] == (
        "products[0].tasks[0].telemetry[0].successCriteria.all[1].value "
        '[product "Vault" > task "Install" > telemetry "users"]: must be a finite number, got string \'many\''
    )
    assert catalog_counts() == dict.fromkeys(catalog_counts(), 0)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(CommandError, match="unknown file type '.txt'"):
        load(write(tmp_path, SMALL, "catalog.txt"))
    with pytest.raises(CommandError, match="not valid YAML"):
        load(write(tmp_path, "products: [unclosed", "bad.yaml"))
    with pytest.raises(CommandError, match="not valid JSON"):
        load(write(tmp_path, "{", "bad.json"))
    with pytest.raises(CommandError, match="cannot read the file"):
        load(tmp_path / "missing.yaml")
    _, errors = validate_catalog(["not", "an", "object"])
    assert [(e.location, e.message) for e in errors] == [
        ("", 'the file must hold an object with a "products" list, got a list')
    ]
    _, errors = validate_catalog({"product": []})
    assert [(e.location, e.message) for e in errors] == [
        ("product", 'unknown key; expected "products"'),
        ("products", "is required"),
    ]
    assert catalog_counts()["products"] == 0


def test_dry_run_changes_nothing_but_reports(tmp_path):
    out, _ = load(write(tmp_path, SMALL), "--dry-run")

    assert "nothing was saved" in out
    assert "tasks:      2 created" in out
    assert catalog_counts() == dict.fromkeys(catalog_counts(), 0)


def test_reload_is_idempotent_and_updates_in_place(tmp_path):
    path = write(tmp_path, SMALL)
    load(path)
    ids = sorted(Task.objects.values_list("pk", flat=True))
    counts = catalog_counts()
    Product.objects.update(catalog_changed_at=None)

    out, _ = load(path)

    assert "tasks:      0 created, 0 updated, 2 unchanged" in out
    assert "attributes: 0 created, 0 updated, 2 unchanged" in out
    assert catalog_counts() == counts
    assert sorted(Task.objects.values_list("pk", flat=True)) == ids
    assert Product.objects.get().catalog_changed_at is None  # nothing changed: needsSync stays off

    edited = SMALL.replace("weight: 2.5", "weight: 3").replace("outcomes: [Secure secrets, Audit]", "outcomes: [Audit]")
    out, _ = load(write(tmp_path, edited, "edited.yaml"))

    assert "tasks:      0 created, 1 updated, 1 unchanged" in out
    install = Task.objects.get(name="Install")
    assert install.weight == Decimal("3.00")
    assert list(install.outcomes.values_list("name", flat=True)) == ["Audit"]
    assert sorted(Task.objects.values_list("pk", flat=True)) == ids
    assert Product.objects.get().catalog_changed_at is not None


def test_link_change_alone_counts_as_task_update(tmp_path):
    load(write(tmp_path, SMALL))
    Product.objects.update(catalog_changed_at=None)
    edited = SMALL.replace('releases: ["1.0"]', 'releases: ["1.0", "2.0"]')

    out, _ = load(write(tmp_path, edited, "edited.yaml"))

    assert "tasks:      0 created, 1 updated, 1 unchanged" in out
    assert sorted(Task.objects.get(name="Install").releases.values_list("name", flat=True)) == ["1.0", "2.0"]
    assert Product.objects.get().catalog_changed_at is not None


def test_missing_items_are_kept_unless_prune(tmp_path):
    load(write(tmp_path, SMALL))
    without_rotate = SMALL.split("      - name: Rotate keys")[0]
    path = write(tmp_path, without_rotate, "smaller.yaml")

    load(path)
    assert Task.objects.get(name="Rotate keys").is_active is True

    out, _ = load(path, "--prune")
    assert "tasks:      0 created, 0 updated, 1 unchanged, 1 deactivated" in out
    rotate = Task.objects.get(name="Rotate keys")  # soft: still there
    assert rotate.is_active is False

    # Loading the full file again brings the same row back.
    out, _ = load(write(tmp_path, SMALL, "full.yaml"))
    assert "tasks:      0 created, 1 updated, 1 unchanged" in out
    assert Task.objects.get(pk=rotate.pk).is_active is True


def test_dump_round_trips_yaml_and_json(tmp_path):
    load(DEMO)
    first = catalog_dump()
    yaml_path, json_path = tmp_path / "dump.yaml", tmp_path / "dump.json"
    call_command("dump_catalog", str(yaml_path), stdout=io.StringIO())
    call_command("dump_catalog", str(json_path), stdout=io.StringIO())
    assert json.loads(json_path.read_text()) == first

    # Reloading the dump into the same database changes nothing.
    out, _ = load(yaml_path)
    assert "tasks:      0 created, 0 updated, 126 unchanged" in out

    # Into an empty catalog, it rebuilds the same catalog.
    Product.objects.all().delete()
    load(json_path)
    assert catalog_dump() == first
    names = [p["name"] for p in first["products"]]
    assert names == ["Identity Guard", "Pulse Observability", "Teamspace Collaboration"]


def test_dump_to_stdout_is_the_file_format():
    stdout = io.StringIO()
    call_command("dump_catalog", stdout=stdout)
    assert yaml.safe_load(stdout.getvalue()) == {"products": []}


def test_demo_catalog_meets_the_demo_requirements():
    products, errors = validate_catalog(read_catalog_file(DEMO))
    assert errors == []
    assert len(products) >= 3
    data_types = set()
    criteria_text = json.dumps([a["success_criteria"] for p in products for t in p["tasks"] for a in t["telemetry"]])
    for product in products:
        assert len(product["tasks"]) >= 40
        assert len(product["outcomes"]) >= 4
        assert len(product["releases"]) >= 3
        assert {t["license_level"] for t in product["tasks"]} == set(LicenseLevel)
        assert any(not t["outcomes"] for t in product["tasks"])
        assert any(len(t["outcomes"]) > 1 for t in product["tasks"])
        assert any(t["weight"] == 0 for t in product["tasks"])
        data_types |= {a["data_type"] for t in product["tasks"] for a in t["telemetry"]}
    assert data_types == {"BOOLEAN", "NUMBER", "STRING", "TIMESTAMP", "JSON"}
    for marker in ('"all"', '"any"', '"not"', '"path"'):
        assert marker in criteria_text
