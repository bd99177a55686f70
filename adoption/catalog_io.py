"""Catalog loading (upsert by name) and dumping; the file format and its validation are in
adoption.catalog_file.

The whole file is validated before anything is written. Loading is all-or-nothing, in one
transaction, and idempotent: items are matched by name (products by name, outcomes/releases/tasks by
product and name, attributes by task and name), so loading the same file twice changes nothing.

Loading uses bulk queries, which fire no signals, so it records Product.catalog_changed_at itself
for every product whose outcomes, releases, tasks, links or attributes changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from adoption.catalog_file import CatalogFileError, CatalogValidationError, read_catalog_file, validate_catalog
from adoption.choices import LicenseLevel
from adoption.models import Outcome, Product, Release, Task
from telemetry.models import TelemetryAttribute

__all__ = [
    "CatalogFileError",
    "CatalogValidationError",
    "LoadSummary",
    "catalog_dump",
    "catalog_load",
    "catalog_load_file",
]

# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


KINDS = ("products", "outcomes", "releases", "tasks", "attributes")


@dataclass
class LoadSummary:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    deactivated: Counter = field(default_factory=Counter)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(sum(c.values()) for c in (self.created, self.updated, self.deactivated))

    def lines(self) -> list[str]:
        lines = []
        for kind in KINDS:
            parts = [
                f"{self.created[kind]} created",
                f"{self.updated[kind]} updated",
                f"{self.unchanged[kind]} unchanged",
            ]
            if self.deactivated[kind]:
                parts.append(f"{self.deactivated[kind]} deactivated")
            lines.append(f"  {kind + ':':<12}" + ", ".join(parts))
        return lines


def _best_by_key(objects, key) -> dict:
    """Index rows by key; where several share a key (soft-deleted duplicates), prefer the active
    one, then the newest."""
    best: dict = {}
    for obj in objects:
        k = key(obj)
        current = best.get(k)
        if current is None or (obj.is_active, obj.pk) > (current.is_active, current.pk):
            best[k] = obj
    return best


class _Upsert:
    """Collects creates and updates of one model, to write them with one bulk query each."""

    def __init__(self, model, fields: list[str], kind: str, summary: LoadSummary, now):
        self.model, self.fields, self.kind, self.summary, self.now = model, fields, kind, summary, now
        self.to_create: list = []
        self.to_update: list = []

    def put(self, existing, values: dict, **parent) -> tuple[Any, bool]:
        """Return (object, changed). New objects get their pk after flush()."""
        if existing is None:
            obj = self.model(**parent, **values, is_active=True)
            self.to_create.append(obj)
            self.summary.created[self.kind] += 1
            return obj, True
        changed = not existing.is_active
        for name, value in values.items():
            if getattr(existing, name) != value:
                setattr(existing, name, value)
                changed = True
        if changed:
            existing.is_active = True
            existing.updated_at = self.now
            self.to_update.append(existing)
        return existing, changed

    def count(self, *, created: bool, changed: bool) -> None:
        if created:
            return
        if changed:
            self.summary.updated[self.kind] += 1
        else:
            self.summary.unchanged[self.kind] += 1

    def flush(self) -> None:
        if self.to_create:
            self.model.objects.bulk_create(self.to_create)
        if self.to_update:
            self.model.objects.bulk_update(self.to_update, [*self.fields, "is_active", "updated_at"])


def _sync_links(through, owner_field: str, target_field: str, owner_ids, desired: set[tuple[int, int]]) -> set[int]:
    """Make the (owner, target) rows of `through` for these owners equal `desired`; return changed owners."""
    existing = {
        (row[owner_field], row[target_field]): row["pk"]
        for row in through.objects.filter(**{f"{owner_field}__in": owner_ids}).values("pk", owner_field, target_field)
    }
    stale = [pair for pair in existing if pair not in desired]
    fresh = sorted(pair for pair in desired if pair not in existing)
    if stale:
        through.objects.filter(pk__in=[existing[pair] for pair in stale]).delete()
    if fresh:
        through.objects.bulk_create([through(**{owner_field: a, target_field: b}) for a, b in fresh])
    return {a for a, _ in stale} | {a for a, _ in fresh}


@transaction.atomic
def catalog_load(*, products: list[dict], prune: bool = False, dry_run: bool = False) -> LoadSummary:
    """Upsert validated products (from validate_catalog) in one transaction; with dry_run roll it all
    back and only report what would change. With prune, deactivate active catalog items the file
    does not list (products too): the active catalog then equals the file."""
    summary = LoadSummary(dry_run=dry_run)
    now = timezone.now()
    touched: set[int] = set()

    # -- products --
    names = [p["name"] for p in products]
    existing_products = _best_by_key(Product.objects.filter(name__in=names).order_by("pk"), lambda p: p.name)
    product_upsert = _Upsert(Product, ["name", "description"], "products", summary, now)
    product_objs = []
    for data in products:
        existing = existing_products.get(data["name"])
        obj, changed = product_upsert.put(existing, {"name": data["name"], "description": data["description"]})
        product_upsert.count(created=existing is None, changed=changed)
        product_objs.append(obj)
    product_upsert.flush()
    product_ids = [p.pk for p in product_objs]

    # -- outcomes and releases --
    def upsert_children(model, key, fields, kind):
        rows = model.objects.filter(product_id__in=product_ids).order_by("pk")
        current = _best_by_key(rows, lambda o: (o.product_id, o.name))
        upsert = _Upsert(model, fields, kind, summary, now)
        by_product: dict[int, dict[str, Any]] = {}
        for product, data in zip(product_objs, products, strict=True):
            objs = {}
            for entry in data[key]:
                existing = current.get((product.pk, entry["name"]))
                obj, changed = upsert.put(existing, {f: entry[f] for f in fields}, product_id=product.pk)
                upsert.count(created=existing is None, changed=changed)
                if changed:
                    touched.add(product.pk)
                objs[entry["name"]] = obj
            by_product[product.pk] = objs
        upsert.flush()
        kept = {obj.pk for objs in by_product.values() for obj in objs.values()}
        return by_product, kept

    outcomes, kept_outcomes = upsert_children(Outcome, "outcomes", ["name", "description"], "outcomes")
    releases, kept_releases = upsert_children(Release, "releases", ["name", "level", "description"], "releases")

    # -- tasks (and their outcome / release links) --
    task_fields = [
        "name", "description", "est_minutes", "weight", "sequence_number", "priority", "license_level",
        "how_to_doc", "how_to_video", "notes",
    ]  # fmt: skip
    current_tasks = _best_by_key(
        Task.objects.filter(product_id__in=product_ids).order_by("pk"), lambda t: (t.product_id, t.name)
    )
    task_upsert = _Upsert(Task, task_fields, "tasks", summary, now)
    task_rows = []  # (task, data, product_id, created, changed)
    for product, data in zip(product_objs, products, strict=True):
        for entry in data["tasks"]:
            existing = current_tasks.get((product.pk, entry["name"]))
            obj, changed = task_upsert.put(existing, {f: entry[f] for f in task_fields}, product_id=product.pk)
            task_rows.append((obj, entry, product.pk, existing is None, changed))
    task_upsert.flush()
    task_ids = [row[0].pk for row in task_rows]
    outcome_links = {
        (task.pk, outcomes[pid][name].pk) for task, entry, pid, *_ in task_rows for name in entry["outcomes"]
    }
    release_links = {
        (task.pk, releases[pid][name].pk) for task, entry, pid, *_ in task_rows for name in entry["releases"]
    }
    relinked = _sync_links(Task.outcomes.through, "task_id", "outcome_id", task_ids, outcome_links)
    relinked |= _sync_links(Task.releases.through, "task_id", "release_id", task_ids, release_links)
    queued = {t.pk for t in task_upsert.to_update}
    link_only = []
    for task, _entry, pid, created, changed in task_rows:
        if created or changed or task.pk in relinked:
            touched.add(pid)
        if created:
            continue
        if changed or task.pk in relinked:
            summary.updated["tasks"] += 1
            if task.pk not in queued:
                task.updated_at = now
                link_only.append(task)
        else:
            summary.unchanged["tasks"] += 1
    if link_only:
        Task.objects.bulk_update(link_only, ["updated_at"])

    # -- telemetry attributes --
    attribute_fields = ["name", "description", "data_type", "is_required", "success_criteria", "order"]
    current_attributes = _best_by_key(
        TelemetryAttribute.objects.filter(task_id__in=task_ids).order_by("pk"), lambda a: (a.task_id, a.name)
    )
    attribute_upsert = _Upsert(TelemetryAttribute, attribute_fields, "attributes", summary, now)
    kept_attributes = []
    for task, entry, pid, *_ in task_rows:
        for attribute in entry["telemetry"]:
            existing = current_attributes.get((task.pk, attribute["name"]))
            obj, changed = attribute_upsert.put(existing, {f: attribute[f] for f in attribute_fields}, task_id=task.pk)
            attribute_upsert.count(created=existing is None, changed=changed)
            if changed:
                touched.add(pid)
            kept_attributes.append(obj)
    attribute_upsert.flush()

    # -- prune: deactivate what the file does not list --
    if prune:
        kept_task_ids = set(task_ids)
        kept_attribute_ids = {a.pk for a in kept_attributes}

        def deactivate(queryset, kind, product_of):
            rows = list(queryset.values_list("pk", product_of))
            if rows:
                queryset.model.objects.filter(pk__in=[pk for pk, _ in rows]).update(is_active=False, updated_at=now)
                summary.deactivated[kind] += len(rows)
                touched.update(pid for _, pid in rows)

        deactivate(Product.objects.active().exclude(pk__in=product_ids), "products", "pk")
        deactivate(
            Outcome.objects.active().filter(product_id__in=product_ids).exclude(pk__in=kept_outcomes),
            "outcomes",
            "product_id",
        )
        deactivate(
            Release.objects.active().filter(product_id__in=product_ids).exclude(pk__in=kept_releases),
            "releases",
            "product_id",
        )
        deactivate(
            Task.objects.active().filter(product_id__in=product_ids).exclude(pk__in=kept_task_ids),
            "tasks",
            "product_id",
        )
        deactivate(
            TelemetryAttribute.objects.active()
            .filter(task__product_id__in=product_ids)
            .exclude(pk__in=kept_attribute_ids),
            "attributes",
            "task__product_id",
        )

    if touched:
        Product.objects.filter(pk__in=touched).update(catalog_changed_at=now)
    if dry_run:
        transaction.set_rollback(True)
    return summary


def catalog_load_file(path: str | Path, *, prune: bool = False, dry_run: bool = False) -> LoadSummary:
    """Read, validate and load a file; raises CatalogFileError or CatalogValidationError (nothing loaded)."""
    data = read_catalog_file(path)
    products, errors = validate_catalog(data)
    if errors:
        raise CatalogValidationError(errors)
    return catalog_load(products=products, prune=prune, dry_run=dry_run)


# ---------------------------------------------------------------------------------------------
# Dumping
# ---------------------------------------------------------------------------------------------


def _number(value: Decimal) -> float:
    # float() of a Decimal with <= 3 places prints back the same digits (shortest repr).
    return float(value)


def catalog_dump() -> dict:
    """The active catalog in the file format; catalog_load(validate_catalog(catalog_dump())) is a no-op."""
    tasks = (
        Task.objects.active()
        .order_by("sequence_number", "pk")
        .prefetch_related(
            Prefetch("outcomes", queryset=Outcome.objects.active().order_by("pk")),
            Prefetch("releases", queryset=Release.objects.active().order_by("level", "pk")),
            Prefetch("telemetry_attributes", queryset=TelemetryAttribute.objects.active().order_by("order", "pk")),
        )
    )
    products = (
        Product.objects.active()
        .order_by("name", "pk")
        .prefetch_related(
            Prefetch("outcomes", queryset=Outcome.objects.active().order_by("pk")),
            Prefetch("releases", queryset=Release.objects.active().order_by("level", "pk")),
            Prefetch("tasks", queryset=tasks),
        )
    )
    return {
        "products": [
            {
                "name": product.name,
                "description": product.description,
                "outcomes": [{"name": o.name, "description": o.description} for o in product.outcomes.all()],
                "releases": [
                    {"name": r.name, "level": _number(r.level), "description": r.description}
                    for r in product.releases.all()
                ],
                "tasks": [_dump_task(task) for task in product.tasks.all()],
            }
            for product in products
        ]
    }


def _dump_task(task: Task) -> dict:
    return {
        "name": task.name,
        "description": task.description,
        "estMinutes": task.est_minutes,
        "weight": _number(task.weight),
        "sequenceNumber": task.sequence_number,
        "priority": task.priority,
        "licenseLevel": LicenseLevel(task.license_level).name,
        "howToDoc": list(task.how_to_doc or []),
        "howToVideo": list(task.how_to_video or []),
        "notes": task.notes,
        "outcomes": [o.name for o in task.outcomes.all()],
        "releases": [r.name for r in task.releases.all()],
        "telemetry": [
            {
                "name": a.name,
                "description": a.description,
                "dataType": a.data_type,
                "isRequired": a.is_required,
                "successCriteria": a.success_criteria or {},
                "order": a.order,
            }
            for a in task.telemetry_attributes.all()
        ],
    }
