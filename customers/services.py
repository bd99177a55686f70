"""Every write to customers and their assignees. Pages, GraphQL and commands call these.

Conventions: `<noun>_<verb>(*, ...)`, keyword-only arguments, atomic, DomainError on refusal (a refused
call changes nothing). Permissions are checked by the callers (customers.permissions).
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from adoption.selectors import assignment_contents_counts
from config.audit.services import audit_record
from config.errors import ValidationFailed
from customers.models import Customer, CustomerProduct

NAME_MAX_LENGTH = Customer._meta.get_field("name").max_length
DESCRIPTION_MAX_LENGTH = 10_000


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("customer name must not be blank", field="name")
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"customer name is {len(name)} characters long; at most {NAME_MAX_LENGTH} are allowed", field="name"
        )
    return name


def _clean_description(description) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise ValidationFailed("customer description must be text", field="description")
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed(
            f"customer description is {len(description)} characters long; at most {DESCRIPTION_MAX_LENGTH} are allowed",
            field="description",
        )
    return description


@transaction.atomic
def customer_create(*, actor, name: str, description: str = "") -> Customer:
    """Create a customer with a non-blank name (trimmed, at most 200 characters)."""
    customer = Customer.objects.create(name=_clean_name(name), description=_clean_description(description))
    audit_record(
        actor=actor,
        action="customer.create",
        obj=customer,
        customer_id=customer.pk,
        summary=f"Created customer {customer.name}",
        details={"name": customer.name, "description": customer.description},
    )
    return customer


@transaction.atomic
def customer_update(*, actor, customer: Customer, name: str | None = None, description: str | None = None) -> Customer:
    """Change a customer's name and/or description (None = unchanged). A call that changes nothing
    writes nothing, not even an audit entry."""
    new_name = customer.name if name is None else _clean_name(name)
    new_description = customer.description if description is None else _clean_description(description)
    changes = {}
    if new_name != customer.name:
        changes["name"] = {"from": customer.name, "to": new_name}
    if new_description != customer.description:
        changes["description"] = {"from": customer.description, "to": new_description}
    if not changes:
        return customer
    customer.name = new_name
    customer.description = new_description
    customer.save(update_fields=["name", "description", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.update",
        obj=customer,
        customer_id=customer.pk,
        summary=f"Changed {', '.join(changes)} of customer {customer.name}",
        details={"changes": changes},
    )
    return customer


@transaction.atomic
def customer_delete(*, actor, customer: Customer) -> dict:
    """Delete a customer and everything of theirs: assignments, plans, customer tasks, status history,
    telemetry attributes and values, API keys and ingestion batches (cascade). The audit entry
    survives (it holds the customer id as a plain number) and keeps a summary with the counts."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    assignments = CustomerProduct.objects.filter(customer_id=customer.pk)
    product_names = list(assignments.order_by("product__name").values_list("product__name", flat=True))
    counts = {
        "customerProducts": len(product_names),
        **assignment_contents_counts(assignments),
        "apiKeys": customer.api_keys.count(),
        "telemetryBatches": customer.telemetry_batches.count(),
    }
    summary = {"customerId": customer.pk, "name": customer.name, "products": product_names, "deleted": counts}
    customer_pk = customer.pk
    customer.delete()
    audit_record(
        actor=actor,
        action="customer.delete",
        object_type="customer",
        object_id=customer_pk,
        customer_id=customer_pk,
        summary=(
            f"Deleted customer {summary['name']} with {counts['customerProducts']} products, "
            f"{counts['customerTasks']} tasks, {counts['statusHistoryEntries']} history entries, "
            f"{counts['telemetryValues']} telemetry values"
        ),
        details=summary,
    )
    return summary


@transaction.atomic
def customer_set_assignees(*, actor, customer: Customer, users) -> Customer:
    """Make exactly these users (user objects or ids) the people assigned to the customer.

    Unknown or inactive users are refused with VALIDATION_ERROR on userIds, naming them.
    """
    User = get_user_model()
    ids, bad = [], []
    for user in users or []:
        raw = getattr(user, "pk", user)
        try:
            pk = int(str(raw).strip())
        except (TypeError, ValueError):
            bad.append(str(raw))
            continue
        if pk not in ids:
            ids.append(pk)
    found = dict(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", "username"))
    bad += [str(pk) for pk in ids if pk not in found]
    if bad:
        raise ValidationFailed(
            f"users {', '.join(bad)} do not exist or are inactive", field="userIds", details={"invalidIds": bad}
        )
    before = dict(customer.assigned_users.values_list("pk", "username"))
    added = sorted(found[pk] for pk in ids if pk not in before)
    removed = sorted(name for pk, name in before.items() if pk not in found)
    if added or removed:
        customer.assigned_users.set(ids)
        audit_record(
            actor=actor,
            action="customer.set_assignees",
            obj=customer,
            customer_id=customer.pk,
            summary=f"Assignees of {customer.name}: +{len(added)} -{len(removed)}",
            details={"added": added, "removed": removed, "assignees": sorted(found.values())},
        )
    return customer
