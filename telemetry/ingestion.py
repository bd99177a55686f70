"""Checking telemetry items before anything is stored.

Every channel (GraphQL, HTTP API, spreadsheet import) goes through telemetry.services.telemetry_ingest,
which uses these helpers; the spreadsheet import uses the reference resolver on its own as well, to
report row-level errors before it builds items.

All lookups are bulk: the number of queries does not depend on the number of items.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.db.models import F, QuerySet

from adoption.models import AdoptionPlan, CustomerTask
from config import text
from config.errors import NotFound, parse_id
from telemetry import criteria
from telemetry.bulk import id_set
from telemetry.models import CustomerTelemetryAttribute

MAX_ITEMS = 5000
MAX_BATCH_ID_LENGTH = text.BATCH_ID_MAX
MAX_SOURCE_LENGTH = text.SOURCE_MAX
MAX_NOTES_LENGTH = text.NOTE_MAX
NAME_LENGTHS = {"taskName": text.NAME_MAX, "attributeName": text.SHORT_NAME_MAX}


# What a resolved reference is read for (its type, names, task and plan; the customer id comes along as
# `resolved_customer_id`): a batch resolves thousands of attributes, and every other column (timestamps
# above all) and every other joined model costs a conversion or an instance per row.
RESOLVED_COLUMNS = (
    "id",
    "name",
    "data_type",
    "customer_task_id",
    "customer_task__name",
    "customer_task__adoption_plan_id",
)
RESOLVED_CUSTOMER = F("customer_task__adoption_plan__customer_product__customer_id")


# An attribute named by plan, task and attribute names as ingestion needs it before it locks
# (parse_attribute_references): the row (attribute id, customer task id, customer id); ingestion reads
# everything else under the row locks.
REF_COLUMNS = ("pk", "customer_task_id", "customer_task__adoption_plan__customer_product__customer_id")


@dataclass
class ItemError:
    index: int
    field: str
    message: str
    # "scope": the attribute is unknown or outside the caller's customers (same answer for both).
    kind: str = "validation"

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


def _short(value, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalize_customer_ids(allowed_customer_ids) -> set[int] | None:
    """None (no restriction), or a set of ids from ids, customers or a values('pk') queryset."""
    if allowed_customer_ids is None:
        return None
    if isinstance(allowed_customer_ids, QuerySet):
        allowed_customer_ids = list(allowed_customer_ids)
    ids = set()
    for item in allowed_customer_ids:
        if isinstance(item, dict):
            item = item.get("pk", item.get("id"))
        ids.add(int(getattr(item, "pk", item)))
    return ids


def customer_id_of(attribute: CustomerTelemetryAttribute) -> int:
    resolved = getattr(attribute, "resolved_customer_id", None)  # read with the attribute when resolved
    if resolved is not None:
        return resolved
    return attribute.customer_task.adoption_plan.customer_product.customer_id


def resolve_attribute_references(
    references: list[dict | None],
    *,
    customer_id: int | None = None,
    allowed_customer_ids: set[int] | None = None,
    id_field: str = "customerAttributeId",
) -> tuple[list[CustomerTelemetryAttribute | None], list[ItemError]]:
    """Find the attribute each reference names, in at most four queries.

    A reference is `{"customerAttributeId": ...}` or `{"adoptionPlanId", "taskName", "attributeName"}`
    (None: the caller already reported the item). `customer_id` (an API key) restricts to that
    customer's attributes, `allowed_customer_ids` (a user) to those customers. An attribute that does
    not exist and one outside the scope get the same error, of kind "scope".
    """
    by_id, by_name, errors = _parse_references(references, id_field)
    found: list[CustomerTelemetryAttribute | None] = [None] * len(references)
    in_scope = _scope_check(customer_id, allowed_customer_ids)
    wanted = {pk for pk in by_id if pk is not None}
    if wanted:
        attributes = {a.pk: a for a in _attributes(pk__in=id_set(wanted))}
        for index, pk in enumerate(by_id):
            if pk is None:
                continue
            attribute = attributes.get(pk)
            if attribute is None or not in_scope(customer_id_of(attribute)):
                errors.append(ItemError(index, id_field, not_found_attribute(pk), "scope"))
            else:
                found[index] = attribute
    if by_name:
        _resolve_by_name(by_name, found, errors, in_scope, light=False)
    errors.sort(key=lambda e: e.index)
    return found, errors


def parse_attribute_references(
    references: list[dict | None],
    *,
    customer_id: int | None = None,
    allowed_customer_ids: set[int] | None = None,
    id_field: str = "customerAttributeId",
) -> tuple[list[int | None], list[tuple | None], list[ItemError]]:
    """resolve_attribute_references for ingestion, which finds attributes named by id itself, in the
    statement that locks their tasks (in its scope, see scope_customer_ids): fewer reads of thousands
    of rows.

    Returns (the attribute id each item names by id, or None; the attribute each item names by plan,
    task and attribute names as (attribute id, customer task id, customer id), or None; errors).
    """
    by_id, by_name, errors = _parse_references(references, id_field)
    found: list[tuple | None] = [None] * len(references)
    if by_name:
        _resolve_by_name(by_name, found, errors, _scope_check(customer_id, allowed_customer_ids), light=True)
    return by_id, found, errors


def scope_customer_ids(customer_id: int | None, allowed_customer_ids: set[int] | None) -> set[int] | None:
    """The customers whose attributes are in scope (None: every customer), as resolve_attribute_references
    applies them: an API key's customer, and a user's visible customers."""
    if customer_id is None:
        return allowed_customer_ids
    if allowed_customer_ids is None or customer_id in allowed_customer_ids:
        return {customer_id}
    return set()


def _scope_check(customer_id: int | None, allowed_customer_ids: set[int] | None):
    def in_scope(cid: int) -> bool:
        if customer_id is not None and cid != customer_id:
            return False
        return allowed_customer_ids is None or cid in allowed_customer_ids

    return in_scope


def _parse_references(
    references: list[dict | None], id_field: str
) -> tuple[list[int | None], list[tuple[int, int, str, str]], list[ItemError]]:
    """Every reference parsed: (the attribute id of each item naming one by id, or None; [(index, plan
    id, task name, attribute name)]; errors). A list of ids rather than a list per id: a batch names
    thousands, and thousands of small lists make the garbage collector scan the whole heap."""
    errors: list[ItemError] = []
    by_id: list[int | None] = [None] * len(references)
    by_name: list[tuple[int, int, str, str]] = []
    for index, ref in enumerate(references):
        if ref is None:
            continue
        raw_id = ref.get("customerAttributeId")
        if raw_id not in (None, ""):
            try:
                by_id[index] = parse_id(raw_id, label="customer telemetry attribute")
            except NotFound:
                errors.append(ItemError(index, id_field, not_found_attribute(raw_id), "scope"))
            continue
        plan_raw, task_name, attr_name = ref.get("adoptionPlanId"), ref.get("taskName"), ref.get("attributeName")
        if plan_raw in (None, "") and task_name in (None, "") and attr_name in (None, ""):
            errors.append(
                ItemError(
                    index,
                    id_field,
                    "name the attribute: customerAttributeId, or adoptionPlanId, taskName and attributeName",
                )
            )
            continue
        missing = [
            key
            for key, v in (("adoptionPlanId", plan_raw), ("taskName", task_name), ("attributeName", attr_name))
            if v in (None, "")
        ]
        if missing:
            for key in missing:
                errors.append(
                    ItemError(
                        index, key, f"{key} is required when the attribute is named by plan, task and attribute names"
                    )
                )
            continue
        bad = [
            (key, text_item_problem(v, name=key, max_length=NAME_LENGTHS[key]))
            for key, v in (("taskName", task_name), ("attributeName", attr_name))
        ]
        if any(problem for _, problem in bad):
            for key, problem in bad:
                if problem:
                    errors.append(ItemError(index, key, problem))
            continue
        try:
            plan_id = parse_id(plan_raw, label="adoption plan")
        except NotFound:
            errors.append(ItemError(index, "adoptionPlanId", f"adoption plan {_short(plan_raw)!r} not found", "scope"))
            continue
        by_name.append((index, plan_id, task_name, attr_name))
    return by_id, by_name, errors


def _attributes(**filters) -> list[CustomerTelemetryAttribute]:
    return list(
        CustomerTelemetryAttribute.objects.filter(**filters)
        .select_related("customer_task")
        .only(*RESOLVED_COLUMNS)
        .annotate(resolved_customer_id=RESOLVED_CUSTOMER)
    )


def not_found_attribute(raw) -> str:
    return f"customer telemetry attribute {_short(raw)!r} not found"


def _resolve_by_name(by_name, found, errors, in_scope, light: bool) -> None:
    plan_ids = {plan_id for _, plan_id, _, _ in by_name}
    plan_customer = dict(
        AdoptionPlan.objects.filter(pk__in=plan_ids).values_list("pk", "customer_product__customer_id")
    )
    visible_plans = {pk for pk, cid in plan_customer.items() if in_scope(cid)}
    wanted = [(i, p, t, a) for i, p, t, a in by_name if p in visible_plans]
    for index, plan_id, _, _ in by_name:
        if plan_id not in visible_plans:
            errors.append(ItemError(index, "adoptionPlanId", f"adoption plan {plan_id} not found", "scope"))
    if not wanted:
        return

    tasks_by_key: dict[tuple[int, str], list[tuple[int, bool]]] = {}
    for pk, plan_id, name, archived in (
        CustomerTask.objects.filter(
            adoption_plan_id__in={p for _, p, _, _ in wanted}, name__in={t for _, _, t, _ in wanted}
        )
        .values_list("pk", "adoption_plan_id", "name", "is_archived")
        .order_by("pk")
    ):
        tasks_by_key.setdefault((plan_id, name), []).append((pk, archived))

    chosen: dict[int, int] = {}  # item index -> task id
    for index, plan_id, task_name, _ in wanted:
        candidates = tasks_by_key.get((plan_id, task_name), [])
        # Archived tasks still take values, but the plan's own tasks come first.
        current = [pk for pk, archived in candidates if not archived] or [pk for pk, _ in candidates]
        if not current:
            errors.append(
                ItemError(
                    index, "taskName", f"task {_short(task_name)!r} not found in adoption plan {plan_id}", "scope"
                )
            )
        elif len(current) > 1:
            ids = ", ".join(str(pk) for pk in current)
            errors.append(
                ItemError(
                    index,
                    "taskName",
                    f"task name {_short(task_name)!r} is not unique in adoption plan "
                    f"{plan_id}: customer tasks {ids}; name the attribute by customerAttributeId instead",
                )
            )
        else:
            chosen[index] = current[0]
    if not chosen:
        return

    names = {a for _, _, _, a in wanted}
    attributes = {}
    filters = {"customer_task_id__in": id_set(set(chosen.values())), "name__in": names}
    if light:
        for row in CustomerTelemetryAttribute.objects.filter(**filters).order_by().values_list(*REF_COLUMNS, "name"):
            attributes[row[1], row[3]] = row[:3]
    else:
        attributes = {(a.customer_task_id, a.name): a for a in _attributes(**filters)}
    for index, _, task_name, attr_name in wanted:
        if index not in chosen:
            continue
        attribute = attributes.get((chosen[index], attr_name))
        if attribute is None:
            errors.append(
                ItemError(
                    index,
                    "attributeName",
                    f"attribute {_short(attr_name)!r} not found on task {_short(task_name)!r}",
                    "scope",
                )
            )
        else:
            found[index] = attribute


def parse_observed_at(raw, *, now: datetime) -> tuple[datetime | None, str | None]:
    """ISO 8601 date-time (a trailing Z is fine; without an offset it is taken as UTC) or a date
    (midnight UTC). Returns (moment, None) or (None, message)."""
    moment = None
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time(), tzinfo=UTC)
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            elif 10 < len(text) <= 40 and text[10] in "Tt ":
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except ValueError:
            moment = None
    if moment is None:
        received = f"{_short(raw)!r}" if isinstance(raw, str) else type(raw).__name__
        return None, f"observedAt must be an ISO 8601 date-time like 2024-05-01T12:00:00Z, got {received}"
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    # A value observed in the future would stay "latest" for ever: allow clock skew, no more (the same
    # tolerance within_days criteria give a timestamp ahead of the clock).
    if moment > now + criteria.CLOCK_SKEW_TOLERANCE:
        return None, f"observedAt {moment.isoformat()} is in the future"
    return moment, None


def text_item_problem(value, *, name: str, max_length: int) -> str | None:
    """The text rules (config.text) for one string of an item: ``source``, ``notes``, ``batchId``,
    ``taskName``, ``attributeName``; the message starts with the name."""
    if not isinstance(value, str) or len(value) > max_length:
        return f"{name} must be a string of at most {max_length} characters"
    problem = text.character_problem(value)
    return f"{name} {problem}" if problem else None


def value_error_message(value, *, data_type: str, attribute_name: str, task_name: str) -> str | None:
    """None, or why the value is refused: the message names the attribute, the expected type and what
    was received; a value of the right type must also pass the text rules (no NUL or surrogates, size and
    depth limits)."""
    kind = type(value)
    if (kind is bool and data_type == "BOOLEAN") or (
        data_type == "NUMBER"
        and ((kind is int and -SAFE_INTEGER <= value <= SAFE_INTEGER) or (kind is float and math.isfinite(value)))
    ):
        return None  # the common values, which pass both checks below, without walking them
    problem = criteria.validate_value(value, data_type) or text.telemetry_value_problem(value)
    if problem is None:
        return None
    return f"attribute {attribute_name!r} of task {task_name!r}: {problem}"


SAFE_INTEGER = 2**53  # an int this small is a finite number and a few bytes of JSON


def content_hash(items: list) -> str:
    """Fingerprint of a request's items for batch replay detection; per-item batchIds do not count."""

    def strip(item):
        if isinstance(item, dict) and "batchId" in item:
            return {k: v for k, v in item.items() if k != "batchId"}
        return item

    text = json.dumps([strip(i) for i in items], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
