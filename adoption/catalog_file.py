"""Catalog files: read and write YAML or JSON, and validate a parsed file.

File format (keys in camelCase, like the GraphQL API)::


    products:
      - name: ...                    # required, unique in the file
        description: ...
        outcomes: [{name, description}]
        releases: [{name, level, description}]          # level: a number such as 7.2
        tasks:
          - name: ...                # required, unique within the product
            description: ...
            estMinutes: 30           # required, integer >= 0
            weight: 2.5              # required, 0 .. 9999.99, at most 2 decimals
            licenseLevel: ESSENTIAL  # required: ESSENTIAL | ADVANTAGE | SIGNATURE
            sequenceNumber: 10       # integer >= 0
            priority: High
            howToDoc: [url, ...]
            howToVideo: [url, ...]
            notes: ...
            outcomes: [outcome name, ...]   # names from this product's outcomes
            releases: [release name, ...]   # names from this product's releases
            telemetry:
              - {name, description, dataType, isRequired, successCriteria, order}

Validation reports every problem with its location
(``products[1].tasks[7].telemetry[0].successCriteria.all[1].value``) and the names of the product,
task and attribute it sits in; the field rules are the catalog's own (adoption.catalog_rules). Loading
and dumping live in adoption.catalog_io.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from adoption import catalog_rules as rules

# Keys of each entry: required ones first. Anything else is an "unknown key" error.
TOP_KEYS = {"products"}
PRODUCT_KEYS = ("name", "description", "outcomes", "releases", "tasks")
OUTCOME_KEYS = ("name", "description")
RELEASE_KEYS = ("name", "level", "description")
TASK_KEYS = (
    "name", "description", "estMinutes", "weight", "sequenceNumber", "priority", "licenseLevel",
    "howToDoc", "howToVideo", "notes", "outcomes", "releases", "telemetry",
)  # fmt: skip
TASK_REQUIRED = ("name", "estMinutes", "weight", "licenseLevel")
ATTRIBUTE_KEYS = ("name", "description", "dataType", "isRequired", "successCriteria", "order")
ATTRIBUTE_REQUIRED = ("name", "dataType")


class CatalogFileError(Exception):
    """The file cannot be read or parsed at all (missing, not YAML/JSON, unknown extension)."""


@dataclass(frozen=True)
class CatalogError:
    location: str  # e.g. products[1].tasks[7].telemetry[0].successCriteria.all[1].value
    message: str
    context: str = ""  # e.g. product "Identity Guard" > task "Enforce MFA"

    def __str__(self) -> str:
        where = self.location or "(file)"
        if self.context:
            where += f" [{self.context}]"
        return f"{where}: {self.message}"


class CatalogValidationError(Exception):
    def __init__(self, errors: list[CatalogError]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in the catalog file")


# ---------------------------------------------------------------------------------------------
# Reading and writing files
# ---------------------------------------------------------------------------------------------


class _CatalogYamlLoader(yaml.SafeLoader):
    """Safe loader that keeps dates and times as strings: criteria values and telemetry timestamps
    are ISO strings in JSON, and a YAML date object could not be stored in a JSON field."""


_CatalogYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise CatalogFileError(f"{path}: unknown file type {suffix or '(none)'!r}; use .yaml, .yml or .json")


def parse_catalog_text(text: str, fmt: str) -> Any:
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_CatalogYamlLoader)  # noqa: S506 (a SafeLoader subclass)
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogFileError(f"not valid YAML: {exc}") from None


def read_catalog_file(path: str | Path) -> Any:
    fmt = _format_of(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CatalogFileError(f"{path}: the file is not UTF-8 text") from None
    return parse_catalog_text(text, fmt)


def render_catalog(data: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def write_catalog_file(data: dict, path: str | Path) -> None:
    Path(path).write_text(render_catalog(data, _format_of(path)), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Validation: every problem, with its location; the result is a normalized catalog ready to load
# ---------------------------------------------------------------------------------------------


def _nested(parent: str, label: str) -> str:
    return f"{parent} > {label}" if parent else label


@dataclass
class _Validator:
    errors: list[CatalogError] = field(default_factory=list)

    def error(self, location: str, message: str, context: str = "") -> None:
        self.errors.append(CatalogError(location, message, context))

    # -- small typed readers: they record an error and return None when the value does not fit --

    def mapping(self, value, loc, ctx, allowed, required=()) -> dict | None:
        if not isinstance(value, dict):
            self.error(loc, f"must be an object, got {rules.describe(value)}", ctx)
            return None
        for key in value:
            if key not in allowed:
                self.error(f"{loc}.{key}", f"unknown key; expected one of: {', '.join(allowed)}", ctx)
        for key in required:
            if key not in value:
                self.error(f"{loc}.{key}", "is required", ctx)
        return value

    def list_of(self, value, loc, ctx) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(loc, f"must be a list, got {rules.describe(value)}", ctx)
            return []
        return value

    def check(self, rule, value, loc, ctx, **options):
        """Apply a catalog rule (adoption.catalog_rules); record each of its problems at its location."""
        try:
            return rule(value, **options)
        except rules.RuleViolation as exc:
            for path, message in exc.problems:
                self.error(rules.joined(loc, path), message, ctx)
            return None

    def text(self, data, key, loc, ctx, *, required=False, max_length=rules.TEXT_MAX, default="") -> str | None:
        if key not in data:
            return None if required else default
        value = data[key]
        if required:
            return self.check(rules.name, value, f"{loc}.{key}", ctx, max_length=max_length)
        if value is None:
            return default
        return self.check(rules.text, value, f"{loc}.{key}", ctx, max_length=max_length)

    def integer(self, data, key, loc, ctx, *, default=0, rule=rules.integer) -> int | None:
        if key not in data:
            return default
        return self.check(rule, data[key], f"{loc}.{key}", ctx)

    def boolean(self, data, key, loc, ctx, *, default=False) -> bool | None:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, bool):
            self.error(f"{loc}.{key}", f"must be true or false, got {rules.describe(value)}", ctx)
            return None
        return value

    def number(self, data, key, loc, ctx, rule) -> Decimal | None:
        if key not in data:
            return None  # "is required" was reported by mapping()
        return self.check(rule, data[key], f"{loc}.{key}", ctx)

    def urls(self, data, key, loc, ctx) -> list[str]:
        return self.check(rules.urls, data.get(key), f"{loc}.{key}", ctx) or []

    def names(self, data, key, loc, ctx, known: set[str], kind: str) -> list[str]:
        items = self.list_of(data.get(key), f"{loc}.{key}", ctx)
        result: list[str] = []
        for i, name in enumerate(items):
            where = f"{loc}.{key}[{i}]"
            name = name.strip() if isinstance(name, str) else name  # names are stored without blanks
            if not isinstance(name, str):
                self.error(where, f"must be the name of one of the product's {kind}s, got {rules.describe(name)}", ctx)
            elif name not in known:
                choices = ", ".join(sorted(known)) or "none defined"
                self.error(where, f"unknown {kind} {name!r}; the product's {kind}s are: {choices}", ctx)
            elif name in result:
                self.error(where, f"{kind} {name!r} is listed twice", ctx)
            else:
                result.append(name)
        return result

    def unique(self, seen: dict, name, loc, ctx, kind: str) -> None:
        if name is None:
            return
        if name in seen:
            self.error(f"{loc}.name", f"duplicate {kind} name {name!r} (first at {seen[name]})", ctx)
        else:
            seen[name] = loc

    # -- the catalog ------------------------------------------------------------------------------

    def catalog(self, data) -> list[dict]:
        if not isinstance(data, dict):
            self.error("", f'the file must hold an object with a "products" list, got {rules.describe(data)}')
            return []
        for key in data:
            if key not in TOP_KEYS:
                self.error(str(key), 'unknown key; expected "products"')
        if "products" not in data:
            self.error("products", "is required")
        products = self.list_of(data.get("products"), "products", "")
        seen: dict[str, str] = {}
        result = []
        for i, product in enumerate(products):
            loc = f"products[{i}]"
            item = self.product(product, loc)
            if item is not None:
                self.unique(seen, item["name"], loc, f'product "{item["name"]}"', "product")
                result.append(item)
        return result

    def product(self, data, loc) -> dict | None:
        name = data.get("name") if isinstance(data, dict) else None
        ctx = f'product "{name}"' if isinstance(name, str) else ""
        if self.mapping(data, loc, ctx, PRODUCT_KEYS, required=("name",)) is None:
            return None
        item = {
            "name": self.text(data, "name", loc, ctx, required=True, max_length=rules.NAME_MAX),
            "description": self.text(data, "description", loc, ctx),
            "outcomes": [],
            "releases": [],
            "tasks": [],
        }
        seen: dict[str, str] = {}
        for i, outcome in enumerate(self.list_of(data.get("outcomes"), f"{loc}.outcomes", ctx)):
            where = f"{loc}.outcomes[{i}]"
            if self.mapping(outcome, where, ctx, OUTCOME_KEYS, required=("name",)) is None:
                continue
            entry = {
                "name": self.text(outcome, "name", where, ctx, required=True, max_length=rules.NAME_MAX),
                "description": self.text(outcome, "description", where, ctx),
            }
            self.unique(seen, entry["name"], where, ctx, "outcome")
            item["outcomes"].append(entry)
        seen = {}
        for i, release in enumerate(self.list_of(data.get("releases"), f"{loc}.releases", ctx)):
            where = f"{loc}.releases[{i}]"
            if self.mapping(release, where, ctx, RELEASE_KEYS, required=("name", "level")) is None:
                continue
            entry = {
                "name": self.text(release, "name", where, ctx, required=True, max_length=rules.SHORT_NAME_MAX),
                "level": self.number(release, "level", where, ctx, rules.release_level),
                "description": self.text(release, "description", where, ctx),
            }
            self.unique(seen, entry["name"], where, ctx, "release")
            item["releases"].append(entry)
        outcome_names = {o["name"] for o in item["outcomes"] if o["name"]}
        release_names = {r["name"] for r in item["releases"] if r["name"]}
        seen = {}
        for i, task in enumerate(self.list_of(data.get("tasks"), f"{loc}.tasks", ctx)):
            where = f"{loc}.tasks[{i}]"
            entry = self.task(task, where, ctx, outcome_names, release_names)
            if entry is not None:
                self.unique(seen, entry["name"], where, _nested(ctx, f'task "{entry["name"]}"'), "task")
                item["tasks"].append(entry)
        return item

    def task(self, data, loc, product_ctx, outcome_names, release_names) -> dict | None:
        name = data.get("name") if isinstance(data, dict) else None
        ctx = _nested(product_ctx, f'task "{name}"') if isinstance(name, str) else product_ctx
        if self.mapping(data, loc, ctx, TASK_KEYS, required=TASK_REQUIRED) is None:
            return None
        level = None
        if "licenseLevel" in data:
            level = self.check(rules.license_level, data["licenseLevel"], f"{loc}.licenseLevel", ctx)
        est_minutes = None
        if "estMinutes" in data:
            est_minutes = self.integer(data, "estMinutes", loc, ctx)
        item = {
            "name": self.text(data, "name", loc, ctx, required=True, max_length=rules.NAME_MAX),
            "description": self.text(data, "description", loc, ctx),
            "est_minutes": est_minutes,
            "weight": self.number(data, "weight", loc, ctx, rules.weight),
            "sequence_number": self.integer(data, "sequenceNumber", loc, ctx),
            "priority": self.text(data, "priority", loc, ctx, max_length=rules.PRIORITY_MAX),
            "license_level": level,
            "how_to_doc": self.urls(data, "howToDoc", loc, ctx),
            "how_to_video": self.urls(data, "howToVideo", loc, ctx),
            "notes": self.text(data, "notes", loc, ctx),
            "outcomes": self.names(data, "outcomes", loc, ctx, outcome_names, "outcome"),
            "releases": self.names(data, "releases", loc, ctx, release_names, "release"),
            "telemetry": [],
        }
        seen: dict[str, str] = {}
        for i, attribute in enumerate(self.list_of(data.get("telemetry"), f"{loc}.telemetry", ctx)):
            where = f"{loc}.telemetry[{i}]"
            entry = self.attribute(attribute, where, ctx)
            if entry is not None:
                label = _nested(ctx, f'telemetry "{entry["name"]}"')
                self.unique(seen, entry["name"], where, label, "telemetry attribute")
                item["telemetry"].append(entry)
        return item

    def attribute(self, data, loc, task_ctx) -> dict | None:
        name = data.get("name") if isinstance(data, dict) else None
        ctx = _nested(task_ctx, f'telemetry "{name}"') if isinstance(name, str) else task_ctx
        if self.mapping(data, loc, ctx, ATTRIBUTE_KEYS, required=ATTRIBUTE_REQUIRED) is None:
            return None
        data_type = None
        if "dataType" in data:
            data_type = self.check(rules.data_type, data["dataType"], f"{loc}.dataType", ctx)
        criteria = data.get("successCriteria")
        if data_type is not None:
            criteria = self.check(
                rules.success_criteria, criteria, f"{loc}.successCriteria", ctx, data_type_value=data_type
            )
        elif criteria is not None and not isinstance(criteria, dict):
            self.error(f"{loc}.successCriteria", f"must be an object or null, got {rules.describe(criteria)}", ctx)
            criteria = None
        return {
            "name": self.text(data, "name", loc, ctx, required=True, max_length=rules.SHORT_NAME_MAX),
            "description": self.text(data, "description", loc, ctx),
            "data_type": data_type,
            "is_required": self.boolean(data, "isRequired", loc, ctx),
            "success_criteria": criteria if isinstance(criteria, dict) else {},
            "order": self.integer(data, "order", loc, ctx, rule=rules.order),
        }


def validate_catalog(data: Any) -> tuple[list[dict], list[CatalogError]]:
    """Check a parsed catalog file. Returns (normalized products, errors); load only when errors == []."""
    validator = _Validator()
    products = validator.catalog(data)
    return products, validator.errors
