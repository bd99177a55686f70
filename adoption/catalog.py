"""Catalog writes one item at a time (GraphQL and pages): products, outcomes, releases, tasks and
their telemetry attributes. Bulk loading from a file lives in adoption.catalog_io.

Conventions as in adoption.services: `<noun>_<verb>(*, ...)`, keyword-only, atomic, DomainError on
refusal (nothing changes). Callers authorize (adoption.permissions.require_catalog_editor).

Rules:
- deletes are soft (``is_active=False``): the item leaves the catalog and new plans; existing plans
  keep their snapshots and a sync archives their copies;
- names are unique among the active siblings (CONFLICT on ``name``);
- weight 0..9999.99 with at most 2 decimals, estMinutes and sequenceNumber >= 0, a known license level;
- a task's outcomes and releases are active items of its own product;
- success criteria are validated for the attribute's data type, the error naming the path inside
  the criterion (``successCriteria.all[1].value``);
- every write records the product's ``catalog_changed_at`` (adoption.signals does it on save and on
  link changes; product edits do it here) and an audit entry;
- a task stays in the product it was created in (VALIDATION_ERROR on ``product``);
- reactivating a soft-deleted item is refused (CONFLICT on ``name``) while an active sibling has
  its name.

The Django admin writes through these functions too, so a change made there marks plans as
needing a sync and leaves the same audit trail as GraphQL.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from adoption import catalog_rules as rules
from adoption.choices import LicenseLevel
from adoption.jobs import criteria_reevaluation_enqueue
from adoption.models import Outcome, Product, Release, Task
from config.audit.services import audit_record
from config.errors import Conflict, NotFound, ValidationFailed, parse_id
from telemetry.models import TelemetryAttribute

# ---------------------------------------------------------------------------------------------
# Lookups: active catalog items by id; a malformed, unknown or deleted id is NOT_FOUND.
# ---------------------------------------------------------------------------------------------


def _get_active(queryset, item_id, label: str):
    pk = parse_id(item_id, label=label)
    item = queryset.filter(pk=pk, is_active=True).first()
    if item is None:
        raise NotFound(f"{label} {item_id} not found")
    return item


def catalog_product_get(product_id) -> Product:
    return _get_active(Product.objects.all(), product_id, "product")


def catalog_outcome_get(outcome_id) -> Outcome:
    return _get_active(Outcome.objects.filter(product__is_active=True), outcome_id, "outcome")


def catalog_release_get(release_id) -> Release:
    return _get_active(Release.objects.filter(product__is_active=True), release_id, "release")


def catalog_task_get(task_id) -> Task:
    return _get_active(Task.objects.filter(product__is_active=True).select_related("product"), task_id, "task")


def catalog_attribute_get(attribute_id) -> TelemetryAttribute:
    return _get_active(
        TelemetryAttribute.objects.filter(task__is_active=True, task__product__is_active=True),
        attribute_id,
        "telemetry attribute",
    )


# ---------------------------------------------------------------------------------------------
# Field validation
# ---------------------------------------------------------------------------------------------


def _checked(rule, value, *, field: str, **options):
    """Apply a catalog rule; its first problem becomes VALIDATION_ERROR on the field (with the path)."""
    try:
        return rule(value, **options)
    except rules.RuleViolation as exc:
        raise ValidationFailed(exc.message, field=rules.joined(field, exc.path)) from None


def _name(value, *, max_length: int, field: str = "name") -> str:
    return _checked(rules.name, value, field=field, max_length=max_length)


def _text(value, *, field: str) -> str:
    return _checked(rules.text, value, field=field)


def _integer(value, *, field: str) -> int:
    return _checked(rules.integer, value, field=field)


def _weight(value) -> Decimal:
    return _checked(rules.weight, value, field="weight", text_ok=True)


def _release_level(value) -> Decimal:
    return _checked(rules.release_level, value, field="level", text_ok=True)


def _license_level(value) -> LicenseLevel:
    return _checked(rules.license_level, value, field="licenseLevel")


def _urls(values, *, field: str) -> list[str]:
    return _checked(rules.urls, values, field=field)


def _links(model, values, *, product: Product, field: str, label: str) -> list:
    """Active outcomes/releases of ``product`` by id; anything else is VALIDATION_ERROR on ``field``."""
    if values is None:
        return []
    if len(values) > 500:
        raise ValidationFailed(f"at most 500 {label}s, got {len(values)}", field=field)
    ids, bad = [], []
    for value in values:
        try:
            pk = parse_id(value, label=label)
        except NotFound:
            bad.append(str(value))
            continue
        if pk not in ids:
            ids.append(pk)
    found = {item.pk: item for item in model.objects.filter(pk__in=ids, product=product, is_active=True)}
    bad += [str(pk) for pk in ids if pk not in found]
    if bad:
        raise ValidationFailed(
            f"{label}s {', '.join(bad)} are not active {label}s of product {product.name!r}",
            field=field,
            details={"invalidIds": bad},
        )
    return [found[pk] for pk in ids]


def _data_type(value) -> str:
    return _checked(rules.data_type, value, field="dataType")


def _criteria(criteria, data_type: str) -> dict:
    """Every problem of the criterion in ``details.errors``; the message lists them all."""
    try:
        return rules.success_criteria(criteria, data_type)
    except rules.RuleViolation as exc:
        errors = [
            {"field": rules.joined("successCriteria", path), "message": message} for path, message in exc.problems
        ]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise ValidationFailed(message, field=errors[0]["field"], details={"errors": errors}) from None


def _unique(queryset, name: str, *, kind: str, exclude_pk=None) -> None:
    clash = queryset.filter(name=name, is_active=True)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict(f"an active {kind} named {name!r} already exists", field="name")


def _save(obj, *, kind: str) -> None:
    """Save in a savepoint: a concurrent insert of the same name is CONFLICT, not a server error."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(f"an active {kind} named {obj.name!r} already exists", field="name") from None


def _audit(actor, action: str, obj, summary: str, details: dict | None = None) -> None:
    audit_record(actor=actor, action=action, obj=obj, summary=summary, details=details or {})


def _deleted(kind: str, name: str) -> dict:
    return {"success": True, "message": f"{kind} {name!r} deleted (existing plans keep their copies until synced)"}


# ---------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def product_create(*, actor, name, description=None) -> Product:
    name = _name(name, max_length=200)
    _unique(Product.objects.all(), name, kind="product")
    product = Product(name=name, description=_text(description, field="description"), catalog_changed_at=timezone.now())
    _save(product, kind="product")
    _audit(actor, "catalog.product.create", product, f"product {name!r} created")
    return product


@transaction.atomic
def product_update(*, actor, product: Product, name=None, description=None) -> Product:
    changes = {}
    if name is not None:
        name = _name(name, max_length=200)
        _unique(Product.objects.all(), name, kind="product", exclude_pk=product.pk)
        changes["name"] = name
    if description is not None:
        changes["description"] = _text(description, field="description")
    for key, value in changes.items():
        setattr(product, key, value)
    product.catalog_changed_at = timezone.now()
    _save(product, kind="product")
    _audit(actor, "catalog.product.update", product, f"product {product.name!r} updated", {"changed": sorted(changes)})
    return product


@transaction.atomic
def product_delete(*, actor, product: Product) -> dict:
    product.is_active = False
    product.catalog_changed_at = timezone.now()
    product.save(update_fields=["is_active", "catalog_changed_at", "updated_at"])
    _audit(actor, "catalog.product.delete", product, f"product {product.name!r} deleted (soft)")
    return _deleted("product", product.name)


@transaction.atomic
def product_reactivate(*, actor, product: Product) -> Product:
    """Bring a soft-deleted product back into the catalog (its plans see it on their next sync)."""
    _unique(Product.objects.all(), product.name, kind="product", exclude_pk=product.pk)
    product.is_active = True
    product.catalog_changed_at = timezone.now()
    _save(product, kind="product")
    _audit(actor, "catalog.product.reactivate", product, f"product {product.name!r} reactivated")
    return product


def _reactivate(obj, *, actor, siblings, kind: str, action: str) -> None:
    """Shared by the catalog items below the product: the save fires adoption.signals, which records
    the product's catalog_changed_at."""
    _unique(siblings, obj.name, kind=kind, exclude_pk=obj.pk)
    obj.is_active = True
    _save(obj, kind=kind)
    _audit(actor, action, obj, f"{kind} {obj.name!r} reactivated")


# ---------------------------------------------------------------------------------------------
# Outcomes and releases
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def outcome_create(*, actor, product: Product, name, description=None) -> Outcome:
    name = _name(name, max_length=200)
    _unique(product.outcomes.all(), name, kind="outcome")
    outcome = Outcome(product=product, name=name, description=_text(description, field="description"))
    _save(outcome, kind="outcome")
    _audit(actor, "catalog.outcome.create", outcome, f"outcome {name!r} of {product.name!r} created")
    return outcome


@transaction.atomic
def outcome_update(*, actor, outcome: Outcome, name=None, description=None) -> Outcome:
    changed = []
    if name is not None:
        outcome.name = _name(name, max_length=200)
        _unique(
            Outcome.objects.filter(product_id=outcome.product_id), outcome.name, kind="outcome", exclude_pk=outcome.pk
        )
        changed.append("name")
    if description is not None:
        outcome.description = _text(description, field="description")
        changed.append("description")
    _save(outcome, kind="outcome")
    _audit(actor, "catalog.outcome.update", outcome, f"outcome {outcome.name!r} updated", {"changed": changed})
    return outcome


@transaction.atomic
def outcome_delete(*, actor, outcome: Outcome) -> dict:
    outcome.is_active = False
    outcome.save(update_fields=["is_active", "updated_at"])
    _audit(actor, "catalog.outcome.delete", outcome, f"outcome {outcome.name!r} deleted (soft)")
    return _deleted("outcome", outcome.name)


@transaction.atomic
def outcome_reactivate(*, actor, outcome: Outcome) -> Outcome:
    siblings = Outcome.objects.filter(product_id=outcome.product_id)
    _reactivate(outcome, actor=actor, siblings=siblings, kind="outcome", action="catalog.outcome.reactivate")
    return outcome


@transaction.atomic
def release_create(*, actor, product: Product, name, level, description=None) -> Release:
    name = _name(name, max_length=100)
    level = _release_level(level)
    _unique(product.releases.all(), name, kind="release")
    release = Release(product=product, name=name, level=level, description=_text(description, field="description"))
    _save(release, kind="release")
    _audit(actor, "catalog.release.create", release, f"release {name!r} of {product.name!r} created")
    return release


@transaction.atomic
def release_update(*, actor, release: Release, name=None, level=None, description=None) -> Release:
    changed = []
    if name is not None:
        release.name = _name(name, max_length=100)
        _unique(
            Release.objects.filter(product_id=release.product_id), release.name, kind="release", exclude_pk=release.pk
        )
        changed.append("name")
    if level is not None:
        release.level = _release_level(level)
        changed.append("level")
    if description is not None:
        release.description = _text(description, field="description")
        changed.append("description")
    _save(release, kind="release")
    _audit(actor, "catalog.release.update", release, f"release {release.name!r} updated", {"changed": changed})
    return release


@transaction.atomic
def release_delete(*, actor, release: Release) -> dict:
    release.is_active = False
    release.save(update_fields=["is_active", "updated_at"])
    _audit(actor, "catalog.release.delete", release, f"release {release.name!r} deleted (soft)")
    return _deleted("release", release.name)


@transaction.atomic
def release_reactivate(*, actor, release: Release) -> Release:
    siblings = Release.objects.filter(product_id=release.product_id)
    _reactivate(release, actor=actor, siblings=siblings, kind="release", action="catalog.release.reactivate")
    return release


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------

_UNSET = object()


def _priority(value) -> str:
    return _checked(rules.text, value, field="priority", max_length=rules.PRIORITY_MAX).strip()


@transaction.atomic
def task_create(
    *,
    actor,
    product: Product,
    name,
    est_minutes,
    weight,
    license_level=LicenseLevel.ESSENTIAL,
    description=None,
    sequence_number=None,
    priority=None,
    notes=None,
    how_to_doc=None,
    how_to_video=None,
    outcome_ids=None,
    release_ids=None,
) -> Task:
    name = _name(name, max_length=200)
    task = Task(
        product=product,
        name=name,
        description=_text(description, field="description"),
        est_minutes=_integer(est_minutes, field="estMinutes"),
        weight=_weight(weight),
        license_level=_license_level(license_level),
        priority=_priority(priority),
        notes=_text(notes, field="notes"),
        how_to_doc=_urls(how_to_doc, field="howToDoc"),
        how_to_video=_urls(how_to_video, field="howToVideo"),
    )
    if sequence_number is None:
        last = Task.objects.filter(product=product, is_active=True).order_by("-sequence_number").first()
        task.sequence_number = (last.sequence_number + 1) if last else 1
    else:
        task.sequence_number = _integer(sequence_number, field="sequenceNumber")
    outcomes = _links(Outcome, outcome_ids, product=product, field="outcomeIds", label="outcome")
    releases = _links(Release, release_ids, product=product, field="releaseIds", label="release")
    _unique(product.tasks.all(), name, kind="task")
    _save(task, kind="task")
    if outcomes:
        task.outcomes.set(outcomes)
    if releases:
        task.releases.set(releases)
    _audit(
        actor,
        "catalog.task.create",
        task,
        f"task {name!r} of {product.name!r} created",
        {"outcomeIds": [o.pk for o in outcomes], "releaseIds": [r.pk for r in releases]},
    )
    return task


@transaction.atomic
def task_update(
    *,
    actor,
    task: Task,
    product: Product | None = None,
    name=None,
    description=None,
    est_minutes=None,
    weight=None,
    sequence_number=None,
    priority=None,
    license_level=None,
    notes=None,
    how_to_doc=None,
    how_to_video=None,
    outcome_ids=None,
    release_ids=None,
) -> Task:
    """None leaves a field unchanged; ``outcome_ids=[]`` / ``release_ids=[]`` remove every link.

    ``product`` may only repeat the task's own product: plans' snapshots, outcome and release links
    and the needsSync bookkeeping all hang on it, so a task never moves to another product."""
    if product is not None and getattr(product, "pk", product) != task.product_id:
        raise ValidationFailed(
            f"task {task.name!r} belongs to product {task.product.name!r} and cannot be moved to another "
            "product; create it in the other product instead",
            field="product",
        )
    changed = []
    if name is not None:
        task.name = _name(name, max_length=200)
        _unique(Task.objects.filter(product_id=task.product_id), task.name, kind="task", exclude_pk=task.pk)
        changed.append("name")
    simple = {
        "description": (description, lambda v: _text(v, field="description")),
        "est_minutes": (est_minutes, lambda v: _integer(v, field="estMinutes")),
        "weight": (weight, _weight),
        "sequence_number": (sequence_number, lambda v: _integer(v, field="sequenceNumber")),
        "priority": (priority, _priority),
        "license_level": (license_level, _license_level),
        "notes": (notes, lambda v: _text(v, field="notes")),
        "how_to_doc": (how_to_doc, lambda v: _urls(v, field="howToDoc")),
        "how_to_video": (how_to_video, lambda v: _urls(v, field="howToVideo")),
    }
    for attr, (value, clean) in simple.items():
        if value is not None:
            setattr(task, attr, clean(value))
            changed.append(attr)
    product = task.product
    outcomes = (
        None
        if outcome_ids is None
        else _links(Outcome, outcome_ids, product=product, field="outcomeIds", label="outcome")
    )
    releases = (
        None
        if release_ids is None
        else _links(Release, release_ids, product=product, field="releaseIds", label="release")
    )
    _save(task, kind="task")
    if outcomes is not None:
        task.outcomes.set(outcomes)
        changed.append("outcomes")
    if releases is not None:
        task.releases.set(releases)
        changed.append("releases")
    _audit(actor, "catalog.task.update", task, f"task {task.name!r} updated", {"changed": changed})
    return task


@transaction.atomic
def task_delete(*, actor, task: Task) -> dict:
    task.is_active = False
    task.save(update_fields=["is_active", "updated_at"])
    _audit(actor, "catalog.task.delete", task, f"task {task.name!r} deleted (soft)")
    return _deleted("task", task.name)


@transaction.atomic
def task_reactivate(*, actor, task: Task) -> Task:
    siblings = Task.objects.filter(product_id=task.product_id)
    _reactivate(task, actor=actor, siblings=siblings, kind="task", action="catalog.task.reactivate")
    return task


# ---------------------------------------------------------------------------------------------
# Telemetry attributes
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def telemetry_attribute_create(
    *,
    actor,
    task: Task,
    name,
    data_type,
    description=None,
    is_required=False,
    success_criteria=None,
    order=0,
) -> TelemetryAttribute:
    name = _name(name, max_length=100)
    data_type = _data_type(data_type)
    attribute = TelemetryAttribute(
        task=task,
        name=name,
        description=_text(description, field="description"),
        data_type=data_type,
        is_required=bool(is_required),
        success_criteria=_criteria(success_criteria, data_type),
        order=_order(order),
    )
    _unique(task.telemetry_attributes.all(), name, kind="telemetry attribute")
    _save(attribute, kind="telemetry attribute")
    _audit(actor, "catalog.attribute.create", attribute, f"telemetry attribute {name!r} of task {task.name!r} created")
    return attribute


def _order(value) -> int:
    return 0 if value is None else _checked(rules.order, value, field="order")


@transaction.atomic
def telemetry_attribute_update(
    *,
    actor,
    attribute: TelemetryAttribute,
    name=None,
    data_type=None,
    description=None,
    is_required=None,
    success_criteria=_UNSET,
    order=None,
) -> TelemetryAttribute:
    """None leaves a field unchanged; for ``success_criteria`` None (like ``{}``) means "no criteria"
    and leaving the argument out keeps the stored one. A new data type re-validates the criterion.

    When what decides "met" changes (criterion, data type, required flag), plans holding a copy of the
    attribute are synced and re-evaluated by a background job once this commits (adoption.jobs)."""
    evaluated_before = (attribute.success_criteria, attribute.data_type, attribute.is_required)
    changed = []
    if name is not None:
        attribute.name = _name(name, max_length=100)
        _unique(
            TelemetryAttribute.objects.filter(task_id=attribute.task_id),
            attribute.name,
            kind="telemetry attribute",
            exclude_pk=attribute.pk,
        )
        changed.append("name")
    if data_type is not None:
        attribute.data_type = _data_type(data_type)
        changed.append("data_type")
    if description is not None:
        attribute.description = _text(description, field="description")
        changed.append("description")
    if is_required is not None:
        attribute.is_required = bool(is_required)
        changed.append("is_required")
    if order is not None:
        attribute.order = _order(order)
        changed.append("order")
    if success_criteria is not _UNSET:
        attribute.success_criteria = success_criteria
        changed.append("success_criteria")
    attribute.success_criteria = _criteria(attribute.success_criteria, attribute.data_type)
    _save(attribute, kind="telemetry attribute")
    _audit(
        actor,
        "catalog.attribute.update",
        attribute,
        f"telemetry attribute {attribute.name!r} updated",
        {"changed": changed},
    )
    if (attribute.success_criteria, attribute.data_type, attribute.is_required) != evaluated_before:
        criteria_reevaluation_enqueue(actor=actor, attribute=attribute)
    return attribute


@transaction.atomic
def telemetry_attribute_delete(*, actor, attribute: TelemetryAttribute) -> dict:
    attribute.is_active = False
    attribute.save(update_fields=["is_active", "updated_at"])
    _audit(actor, "catalog.attribute.delete", attribute, f"telemetry attribute {attribute.name!r} deleted (soft)")
    return _deleted("telemetry attribute", attribute.name)


@transaction.atomic
def telemetry_attribute_reactivate(*, actor, attribute: TelemetryAttribute) -> TelemetryAttribute:
    siblings = TelemetryAttribute.objects.filter(task_id=attribute.task_id)
    _reactivate(
        attribute, actor=actor, siblings=siblings, kind="telemetry attribute", action="catalog.attribute.reactivate"
    )
    return attribute
