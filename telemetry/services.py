"""Every telemetry write: ingestion (one service for every channel), reset to telemetry, API keys.

Conventions: `<noun>_<verb>(*, ...)`, keyword-only arguments, atomic, DomainError on refusal, and a
refused call changes nothing.

Lock order, shared with adoption.services so that concurrent writers never deadlock: every writer that
touches several of assignment, customer tasks, customer attributes/values and plan rows takes its row
locks in this order: assignment, customer tasks (ordered by id), customer attributes (ordered by id),
plan. Ingestion locks the tasks it will evaluate, then their attributes, before it stores a value or
touches an attribute row; evaluation then recomputes the plan totals, which locks the plan last.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.db import connection, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from adoption.choices import TaskStatus
from adoption.models import CustomerTask
from config.audit.services import actor_label_of, audit_record
from config.errors import Conflict, Forbidden, NotFound, ValidationFailed
from config.text import character_problem
from customers.models import Customer
from telemetry.bulk import insert_row_unless_exists, insert_rows
from telemetry.evaluation import StatusChange, evaluate_customer_tasks, lock_tasks_and_attributes
from telemetry.ingestion import (
    MAX_BATCH_ID_LENGTH,
    MAX_ITEMS,
    MAX_NOTES_LENGTH,
    MAX_SOURCE_LENGTH,
    ItemError,
    content_hash,
    normalize_customer_ids,
    not_found_attribute,
    parse_attribute_references,
    parse_observed_at,
    scope_customer_ids,
    text_item_problem,
    value_error_message,
)
from telemetry.keys import KEY_PREFIX, generate_api_key, hash_key
from telemetry.models import ApiKey, CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch


def telemetry_actor_label(actor) -> str:
    """'alice', 'api-key:cak_AbCdEfGh' or 'system' for audit and batch records."""
    if isinstance(actor, ApiKey):
        return f"api-key:{actor.prefix}"
    return actor_label_of(actor)


def value_as_dict(value: CustomerTelemetryValue) -> dict:
    return {
        "id": str(value.pk),
        "customerAttributeId": str(value.customer_attribute_id),
        "value": value.value,
        "observedAt": value.observed_at.isoformat(),
        "source": value.source,
        "notes": value.notes,
        "batchId": value.batch_id or None,
    }


@dataclass
class IngestResult:
    """What an ingestion stored and which tasks changed status. A replay answers as the first time.

    The answer (`response`: batchId, stored, values, statusChanges) and the stored values as model
    instances (`values`, in item order) are built on first use from what was stored: the HTTP API
    answers with the first, GraphQL and the imports need neither (`value_ids`, `status_changes`),
    and a 5,000-value batch need not pay for 5,000 of either that nobody reads.
    """

    batch_id: str | None
    value_ids: list[int]
    status_changes: list[StatusChange]
    replayed: bool = False
    answer: dict | Callable[[], dict] = field(default_factory=dict, repr=False, compare=False)
    stored_values: Callable[[], list[CustomerTelemetryValue]] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def response(self) -> dict:
        return self.answer() if callable(self.answer) else self.answer

    @cached_property
    def values(self) -> list[CustomerTelemetryValue]:
        return self.stored_values() if self.stored_values is not None else []

    def as_dict(self) -> dict:
        return {**self.response, "replayed": self.replayed}


def _raise_for(errors: list[ItemError], *, total: int, api_key: bool) -> None:
    if not errors:
        return
    details = [e.as_dict() for e in errors]
    scope = [e for e in errors if e.kind == "scope"]
    if scope:
        first = scope[0]
        message = f"item {first.index}: {first.message}; nothing was stored"
        # The HTTP API answers 403 for an unknown or foreign attribute; for users an
        # unknown id and an invisible one are NOT_FOUND, like everywhere else.
        raise (Forbidden if api_key else NotFound)(message, field="values", details=details)
    bad_items = len({e.index for e in errors})
    first = errors[0]
    raise ValidationFailed(
        f"{bad_items} of {total} values rejected (item {first.index}: {first.message}); nothing was stored",
        field="values",
        details=details,
    )


@transaction.atomic
def telemetry_ingest(
    *,
    actor,
    items: list,
    batch_id: str | None = None,
    customer: Customer | None = None,
    allowed_customer_ids=None,
    channel: str = "api",
    content_key: str | None = None,
) -> IngestResult:
    """Store telemetry values and evaluate the tasks they touch, all or nothing.

    `customer` (an API key's) limits the items to that customer's attributes; `allowed_customer_ids`
    (a user's visible customers) to those customers. Idempotent by (customer, batchId): the same
    content again is a replay that stores nothing and answers as the first time; other content is
    a CONFLICT. `content_key` replaces the fingerprint of the items for that comparison (the
    spreadsheet import uses the file's, since its items depend on what is already stored).
    The number of queries does not grow with the number of items.

    Order of work: the request is validated in full (a batchId that items disagree on included) before
    the replay lookup, so a replay never hides an invalid request; values are checked against the
    attributes as read under their row locks, so a concurrent sync cannot change a data type between
    the check and the insert.
    """
    now = timezone.now()
    label = telemetry_actor_label(actor)
    if not isinstance(items, list):
        raise ValidationFailed("values must be a list of telemetry values", field="values")
    if not items:
        raise ValidationFailed("values is empty: send at least one telemetry value", field="values")
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(f"too many values in one request: {len(items)}, at most {MAX_ITEMS}", field="values")

    errors: list[ItemError] = []
    batch_id = _effective_batch_id(batch_id, items, errors)

    references: list[dict | None] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(ItemError(index, "", f"each value must be an object, got {type(item).__name__}"))
            references.append(None)
        else:
            references.append(item)
    allowed = normalize_customer_ids(allowed_customer_ids)
    customer_id = customer.pk if customer is not None else None
    scope = scope_customer_ids(customer_id, allowed)  # None: every customer
    # Attributes named by id are found in the statement that locks their tasks, in the caller's scope.
    by_id, named, ref_errors = parse_attribute_references(
        references, customer_id=customer_id, allowed_customer_ids=allowed
    )
    errors.extend(ref_errors)

    # Lock order: the tasks these values will make us evaluate, then their attributes, before anything
    # is written; the plan is locked last, by the evaluation. Everything about the attributes is read
    # under the lock: a sync may have changed one (its data type, say) since it was named.
    locked = lock_tasks_and_attributes(
        {ref[1] for ref in named if ref is not None},
        of_attributes={pk for pk in by_id if pk is not None},
        customer_ids=scope,
    )
    customer_of_task = {task[0]: task[8] for task in locked.tasks}
    task_names = {task[0]: task[2] for task in locked.tasks}
    fresh = {
        attribute[0]: attribute
        for attribute in locked.attributes
        if scope is None or customer_of_task[attribute[1]] in scope  # the lock is limited to it already
    }
    attributes: list[tuple | None] = [None] * len(items)  # the locked attribute row of each item
    for index, (pk, ref) in enumerate(zip(by_id, named, strict=True)):
        if ref is not None:
            pk = ref[0]  # named by plan, task and attribute names
        if pk is not None:
            # Absent: unknown, or outside the scope (the same answer); or, named by names, removed
            # (with its assignment) since.
            current = attributes[index] = fresh.get(pk)
            if current is None:
                errors.append(ItemError(index, "customerAttributeId", not_found_attribute(pk), "scope"))
    if any(e.kind == "scope" for e in errors):
        _raise_for(sorted(errors, key=lambda e: e.index), total=len(items), api_key=customer is not None)

    customer_ids = {customer_of_task[a[1]] for a in attributes if a is not None}
    if customer is not None:
        customer_ids = {customer.pk}
    batch_customer_id = None
    if batch_id is not None:
        if len(customer_ids) > 1:
            errors.append(
                ItemError(
                    0,
                    "batchId",
                    "a batch belongs to one customer; these values belong to customers "
                    + ", ".join(str(c) for c in sorted(customer_ids)),
                )
            )
        elif customer_ids:
            batch_customer_id = next(iter(customer_ids))

    rows, moments, newest, as_sent = _checked_rows(items, attributes, task_names, errors, now=now, channel=channel)
    _raise_for(sorted(errors, key=lambda e: e.index), total=len(items), api_key=customer is not None)

    # Only a valid request can be a replay: the content fingerprint leaves per-item batchIds out, so
    # looking the batch up earlier would answer "replayed" to items that disagree on their batchId.
    # The batch row is written first: the same batch sent concurrently waits for this transaction,
    # then answers as it did (or, should it roll back, is stored itself).
    batch_pk = None
    if batch_customer_id is not None:
        digest = content_key or content_hash(items)
        batch_pk = insert_row_unless_exists(
            TelemetryBatch,
            {
                "customer_id": batch_customer_id,
                "batch_id": batch_id,
                "content_hash": digest,
                "channel": channel[:30],
                "actor_label": label[:150],
                "value_count": len(rows),
                "response": {},
                "created_at": now,
            },
            unique=("customer_id", "batch_id"),
        )
        if batch_pk is None:
            existing = TelemetryBatch.objects.get(customer_id=batch_customer_id, batch_id=batch_id)
            return _replay_or_conflict(existing, digest, batch_id)

    # One multi-row INSERT; each id comes back with the value as the database stores it, so the
    # evaluation below uses the new values without reading them back.
    stored = insert_rows(
        CustomerTelemetryValue,
        VALUE_FIELDS,
        rows,
        constants={"batch_id": batch_id or "", "created_at": now},
        stored_json="value",
    )
    ids = [pk for pk, _ in stored]
    new_values: dict[int, tuple] = {}  # attribute id -> (observedAt, id, value) of its newest new value
    last_seen: dict[int, str] = {}
    for attribute_id, position in newest.items():
        value, observed_iso = rows[position][1], rows[position][4]
        if type(value) not in (bool, int, str):  # others (floats, JSON) as the database gives them back
            value = json.loads(stored[position][1])
        new_values[attribute_id] = (moments[position], ids[position], value)
        # Freshness: last_seen_at is the observedAt of the latest value; an older late arrival leaves it.
        # The maximum is taken in the database, so a concurrent ingestion's later value is never undone;
        # evaluation writes it in the same statement as isMet, so each attribute row is written once.
        last_seen[attribute_id] = observed_iso

    extra = {"batchId": batch_id, "channel": channel} if batch_id else {"channel": channel}
    # The tasks and attributes locked above are the ones to evaluate: no second read of thousands of rows.
    changes = evaluate_customer_tasks(
        task_ids=[task[0] for task in locked.tasks],
        now=now,
        evidence_extra=extra,
        locked=locked,
        last_seen=last_seen,
        new_values=new_values,
    )

    status_changes = [c.as_dict() for c in changes]
    if batch_pk is not None:
        # The answer for replays, without its values: those are the batch's rows in the values table,
        # read back on a replay (see _first_answer), so thousands of them are not written twice.
        stored_answer = {"batchId": batch_id, "stored": len(ids), "statusChanges": status_changes}
        if as_sent:
            stored_answer[OBSERVED_AS_SENT] = {str(position): iso for position, iso in as_sent.items()}
        TelemetryBatch.objects.filter(pk=batch_pk).update(response=stored_answer)
    audit_record(
        actor=label if isinstance(actor, ApiKey) else actor,
        action="telemetry.ingest",
        object_type="telemetry_batch",
        object_id=batch_id or "",
        customer_id=next(iter(customer_ids)) if len(customer_ids) == 1 else None,
        summary=f"{len(ids)} telemetry values via {channel}; {len(changes)} task status changes",
        details={
            "channel": channel,
            "batchId": batch_id,
            "values": len(ids),
            "customerIds": sorted(customer_ids),
            "statusChanges": status_changes[:200],
        },
    )

    def answer() -> dict:
        answered_batch = batch_id or None
        return {
            "batchId": batch_id,
            "stored": len(ids),
            # What value_as_dict gives for each stored value, built from the rows themselves.
            "values": [
                {
                    "id": str(pk),
                    "customerAttributeId": str(attribute_id),
                    "value": value,
                    "observedAt": observed_iso,
                    "source": source,
                    "notes": notes,
                    "batchId": answered_batch,
                }
                for pk, (attribute_id, value, source, notes, observed_iso) in zip(ids, rows, strict=True)
            ],
            "statusChanges": status_changes,
        }

    def stored_values() -> list[CustomerTelemetryValue]:
        # Positional arguments in field order (id first): the cheapest way to build the instances.
        return [
            CustomerTelemetryValue(pk, attribute_id, value, source, batch_id or "", notes, moment, now)
            for pk, (attribute_id, value, source, notes, _), moment in zip(ids, rows, moments, strict=True)
        ]

    return IngestResult(
        batch_id=batch_id, value_ids=ids, status_changes=changes, answer=answer, stored_values=stored_values
    )


VALUE_FIELDS = ("customer_attribute_id", "value", "source", "notes", "observed_at")


def _checked_rows(items, attributes, task_names, errors: list[ItemError], *, now, channel: str):
    """Check every item against its attribute (as locked) and build the rows to store.

    Returns (rows, moments, newest, as_sent): rows (attribute id, value, source, notes, observedAt as
    ISO 8601, with the offset it was sent with) in item order, the observedAt of each row, for each
    attribute the position of its newest row (the greatest observedAt, then the last item, which gets
    the greatest id), and {position: observedAt} for the rows whose observedAt reads back in another
    form (sent with an offset other than the database's). Problems go to `errors`. Checks of a text or
    a timestamp are made once per distinct text: a batch repeats its sources and timestamps thousands
    of times.
    """
    rows: list[tuple] = []
    moments: list = []
    newest: dict[int, int] = {}
    as_sent: dict[int, str] = {}
    zone = connection.timezone
    now_iso = now.isoformat()
    parsed: dict[str, tuple] = {}
    texts: dict[tuple[str, str], str | None] = {}

    def text_problem(value, name: str, max_length: int) -> str | None:
        if not isinstance(value, str):
            return text_item_problem(value, name=name, max_length=max_length)
        key = (name, value)
        if key not in texts:
            texts[key] = text_item_problem(value, name=name, max_length=max_length)
        return texts[key]

    for index, (item, attribute) in enumerate(zip(items, attributes, strict=True)):
        if attribute is None:
            continue
        pk, task_id, name, data_type = attribute[:4]
        row_errors_before = len(errors)
        if "value" not in item:
            errors.append(ItemError(index, "value", "value is required"))
        else:
            problem = value_error_message(
                item["value"], data_type=data_type, attribute_name=name, task_name=task_names[task_id]
            )
            if problem:
                errors.append(ItemError(index, "value", problem))
        observed_at, observed_iso, differs = now, now_iso, False
        raw = item.get("observedAt")
        if raw not in (None, ""):
            known = parsed.get(raw) if isinstance(raw, str) else None
            if known is None:
                moment, problem = parse_observed_at(raw, now=now)
                iso = moment.isoformat() if moment is not None else None
                known = (moment, problem, iso, moment is not None and moment.astimezone(zone).isoformat() != iso)
                if isinstance(raw, str):
                    parsed[raw] = known
            observed_at, problem, observed_iso, differs = known
            if problem:
                errors.append(ItemError(index, "observedAt", problem))
        source = item.get("source")
        if source in (None, ""):
            source = channel
        elif problem := text_problem(source, "source", MAX_SOURCE_LENGTH):
            errors.append(ItemError(index, "source", problem))
        notes = item.get("notes")
        if notes is None:
            notes = ""
        elif problem := text_problem(notes, "notes", MAX_NOTES_LENGTH):
            errors.append(ItemError(index, "notes", problem))
        if len(errors) == row_errors_before:
            position = len(rows)
            rows.append((pk, item["value"], source, notes, observed_iso))
            moments.append(observed_at)
            if differs:
                as_sent[position] = observed_iso
            best = newest.get(pk)
            if best is None or observed_at >= moments[best]:
                newest[pk] = position
    return rows, moments, newest, as_sent


def _effective_batch_id(batch_id, items: list, errors: list[ItemError]) -> str | None:
    """The request's batchId; items may repeat it but must not disagree."""
    if batch_id in (None, ""):
        batch_id = None
    elif problem := text_item_problem(batch_id, name="batchId", max_length=MAX_BATCH_ID_LENGTH):
        raise ValidationFailed(problem, field="batchId")
    item_ids = [
        (i, item.get("batchId"))
        for i, item in enumerate(items)
        if isinstance(item, dict) and item.get("batchId") not in (None, "")
    ]
    if batch_id is None and item_ids:
        candidate = item_ids[0][1]
        if problem := text_item_problem(candidate, name="batchId", max_length=MAX_BATCH_ID_LENGTH):
            errors.append(ItemError(item_ids[0][0], "batchId", problem))
            return None
        batch_id = candidate
    for index, item_batch in item_ids:
        if item_batch != batch_id:
            errors.append(
                ItemError(
                    index,
                    "batchId",
                    f"batchId {str(item_batch)[:60]!r} differs from the request's batchId "
                    f"{batch_id!r}: all values of a request carry the same batchId",
                )
            )
    return batch_id


def telemetry_batch_replay(*, customer_id: int, batch_id: str, content_key: str) -> IngestResult | None:
    """The stored answer if this customer already sent this batch with this content; CONFLICT if
    with other content; None if the batch is new."""
    existing = TelemetryBatch.objects.filter(customer_id=customer_id, batch_id=batch_id).first()
    return None if existing is None else _replay_or_conflict(existing, content_key, batch_id)


def _replay_or_conflict(batch: TelemetryBatch, digest: str, batch_id: str) -> IngestResult:
    if batch.content_hash != digest:
        raise Conflict(
            f"batchId {batch_id!r} was already used for different values; use a new batchId",
            field="batchId",
        )
    values = list(
        CustomerTelemetryValue.objects.filter(
            batch_id=batch_id,
            customer_attribute__customer_task__adoption_plan__customer_product__customer_id=batch.customer_id,
        ).order_by("pk")
    )
    response = _first_answer(batch.response or {}, values)
    changes = [StatusChange.from_dict(d) for d in response.get("statusChanges", [])]
    return IngestResult(
        batch_id=batch_id,
        value_ids=[value.pk for value in values],
        status_changes=changes,
        replayed=True,
        answer=response,
        stored_values=lambda: values,
    )


# Key of the stored answer: {position: observedAt} of the values whose observedAt was answered in
# another form than the one read back (sent with another offset).
OBSERVED_AS_SENT = "observedAtAsSent"


def _first_answer(stored: dict, values: list[CustomerTelemetryValue]) -> dict:
    """The first answer to a batch, from its stored answer and its values (in id order, the item order).

    The stored answer holds everything but the values (older batches may hold them too, then it is
    the answer as it is); each value is answered as value_as_dict gives it, with observedAt as it was
    first answered.
    """
    if "values" in stored:
        return stored
    as_sent = stored.get(OBSERVED_AS_SENT, {})
    answered = []
    for position, value in enumerate(values):
        row = value_as_dict(value)
        if str(position) in as_sent:
            row["observedAt"] = as_sent[str(position)]
        answered.append(row)
    return {
        "batchId": stored.get("batchId"),
        "stored": stored.get("stored", len(answered)),
        "values": answered,
        "statusChanges": stored.get("statusChanges", []),
    }


# --- reset to telemetry ------------------------------------------------------------------------


@transaction.atomic
def customer_task_reset_to_telemetry(*, actor, task: CustomerTask) -> CustomerTask:
    """Hand a task back to telemetry and apply the computed status at once.

    A history entry is written even when the status stays (the owner changes). A task without
    active attributes has nothing to hand back to: VALIDATION_ERROR.
    """
    if not CustomerTelemetryAttribute.objects.filter(customer_task=task, is_active=True).exists():
        raise ValidationFailed(
            f"task {task.name!r} has no active telemetry attributes: there is no telemetry status to reset to",
            field="customerTaskId",
        )
    label = actor_label_of(actor)
    changes = evaluate_customer_tasks(
        task_ids=[task.pk],
        take_back=True,
        evidence_extra={"resetBy": label},
        note=f"Handed back to telemetry by {label}",
    )
    task.refresh_from_db()
    customer_id = task.adoption_plan.customer_product.customer_id
    audit_record(
        actor=actor,
        action="task.reset_to_telemetry",
        obj=task,
        object_type="customer_task",
        customer_id=customer_id,
        summary=f"Reset task {task.name!r} to telemetry: {TaskStatus(task.status).label}",
        details={"statusChanges": [c.as_dict() for c in changes], "status": task.status},
    )
    return task


# --- API keys ----------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, actor, customer: Customer, name: str = "") -> tuple[ApiKey, str]:
    """Issue a key for a customer system. The raw key is returned once and never stored."""
    name = (name or "").strip()
    if len(name) > 100:
        raise ValidationFailed("name must be at most 100 characters", field="name")
    if problem := character_problem(name):
        raise ValidationFailed(f"name {problem}", field="name")
    raw, prefix, digest = generate_api_key()
    api_key = ApiKey.objects.create(
        customer=customer,
        name=name,
        prefix=prefix,
        key_hash=digest,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="api_key.create",
        obj=api_key,
        object_type="api_key",
        customer_id=customer.pk,
        summary=f"API key {prefix}… issued for {customer.name}",
        details={"name": name, "prefix": prefix},
    )
    return api_key, raw


@transaction.atomic
def api_key_revoke(*, actor, api_key: ApiKey) -> ApiKey:
    """Revoke a key; it authenticates nothing from now on. Revoking a revoked key changes nothing."""
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_key.revoke",
        obj=api_key,
        object_type="api_key",
        customer_id=api_key.customer_id,
        summary=f"API key {api_key.prefix}… revoked",
        details={"name": api_key.name, "prefix": api_key.prefix},
    )
    return api_key


API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@sensitive_variables("raw")
def api_key_authenticate(raw) -> ApiKey | None:
    """The active key with this raw value (and its customer), recording its use; None otherwise.

    The key is found by its SHA-256 digest (what an index lookup reveals is about the digest, never
    the key) and the digest is compared again in constant time. Revocation is read from the row on
    every request, so it takes effect at once. Use is recorded at most once a minute per key, so a
    busy collector costs one UPDATE a minute, not one per request.
    """
    if not isinstance(raw, str) or not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    digest = hash_key(raw)
    api_key = ApiKey.objects.select_related("customer").filter(key_hash=digest, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash.encode(), digest.encode()):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= API_KEY_TOUCH_INTERVAL:
        api_key.last_used_at = now
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key
