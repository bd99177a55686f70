"""Every write to customers and their assignees. Pages, GraphQL and commands call these.

Conventions: `<noun>_<verb>(*, ...)`, keyword-only arguments, atomic, DomainError on refusal (a refused
call changes nothing). Permissions are checked by the callers (customers.permissions).
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from adoption.selectors import assignment_contents_counts
from adoption.status import assignments_lock_for_delete
from config.audit.services import audit_record
from config.errors import ValidationFailed
from config.text import DESCRIPTION_MAX, NAME_MAX, character_problem
from customers.models import Customer, CustomerProduct, PersonalAccessToken, Role, UserProfile
from customers.tokens import generate_token

NAME_MAX_LENGTH = NAME_MAX
DESCRIPTION_MAX_LENGTH = DESCRIPTION_MAX


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("customer name must not be blank", field="name")
    name = name.strip()
    if problem := character_problem(name):
        raise ValidationFailed(f"customer name {problem}", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"customer name is {len(name)} characters long; at most {NAME_MAX_LENGTH} are allowed", field="name"
        )
    return name


def customer_name_check(name, *, exclude_pk=None) -> str:
    """The trimmed name, if it is valid and no other customer has it, compared case-insensitively;
    else VALIDATION_ERROR on ``name`` naming the customer that has it. The admin form calls this to
    show the error next to the field; the create and update services call it too."""
    name = _clean_name(name)
    existing = (
        Customer.objects.alias(key=Lower(Trim("name")))
        .filter(key=Lower(Trim(Value(name))))
        .exclude(pk=exclude_pk)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        raise ValidationFailed(
            f"customer {existing.name!r} (id {existing.pk}) already has this name; customer names are unique "
            "regardless of case",
            field="name",
            details={"existingCustomerId": str(existing.pk), "existingCustomerName": existing.name},
        )
    return name


def _save_named(customer: Customer, **kwargs) -> None:
    """Save in a savepoint: a concurrent save of the same name hits the database's unique index
    (unique_customer_name_ci) and is answered like the check above, not as a server error."""
    try:
        with transaction.atomic():
            customer.save(**kwargs)
    except IntegrityError:
        customer_name_check(customer.name, exclude_pk=customer.pk)
        raise


def _clean_description(description) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise ValidationFailed("customer description must be text", field="description")
    description = description.strip()
    if problem := character_problem(description):
        raise ValidationFailed(f"customer description {problem}", field="description")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed(
            f"customer description is {len(description)} characters long; at most {DESCRIPTION_MAX_LENGTH} are allowed",
            field="description",
        )
    return description


@transaction.atomic
def customer_create(*, actor, name: str, description: str = "") -> Customer:
    """Create a customer with a non-blank name (trimmed, at most 200 characters) that no other
    customer has, compared case-insensitively."""
    customer = Customer(name=customer_name_check(name), description=_clean_description(description))
    _save_named(customer, force_insert=True)
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
    new_name = customer.name if name is None else customer_name_check(name, exclude_pk=customer.pk)
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
    _save_named(customer, update_fields=["name", "description", "updated_at"])
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
    # Lock order: the cascade deletes attribute rows before task rows, so first lock the assignments,
    # their tasks, attributes and plans in the order every writer uses; the customer row comes after
    # them, since ingestion takes its share of it (storing a batch) only after tasks and attributes.
    assignments = CustomerProduct.objects.filter(customer_id=customer.pk)
    locked = set(assignments.values_list("pk", flat=True))
    assignments_lock_for_delete(locked)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    # With the customer locked no assignment can be added; one added just before is locked now.
    assignments_lock_for_delete(set(assignments.values_list("pk", flat=True)) - locked)
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


# ---------------------------------------------------------------------------------------------
# Personal access tokens and roles: the admin and the create_token command call these, so every
# path records the same audit action.
# ---------------------------------------------------------------------------------------------

TOKEN_NAME_MAX_LENGTH = PersonalAccessToken._meta.get_field("name").max_length


@transaction.atomic
def personal_token_issue(*, actor, user, name: str = "") -> tuple[PersonalAccessToken, str]:
    """A new personal access token for an active user, as (token, raw). Show `raw` once: only its
    SHA-256 digest is stored (the audit entry holds the prefix, never the token)."""
    if user is None or not user.is_active:
        raise ValidationFailed("tokens are issued only to active users", field="user")
    name = (name or "").strip()
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"token name is {len(name)} characters long; at most {TOKEN_NAME_MAX_LENGTH} are allowed", field="name"
        )
    if problem := character_problem(name):
        raise ValidationFailed(f"token name {problem}", field="name")
    raw, prefix, digest = generate_token()
    token = PersonalAccessToken.objects.create(user=user, name=name, prefix=prefix, token_hash=digest)
    audit_record(
        actor=actor,
        action="personal_token.issue",
        obj=token,
        object_type="personal_access_token",
        summary=f"Personal access token {prefix}… issued for {user.get_username()}",
        details={"user": user.get_username(), "name": name, "prefix": prefix},
    )
    return token, raw


@transaction.atomic
def personal_token_revoke(*, actor, token: PersonalAccessToken) -> PersonalAccessToken:
    """Revoke a token from now on. Revoking a revoked token changes nothing and records nothing."""
    token = PersonalAccessToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="personal_token.revoke",
        obj=token,
        object_type="personal_access_token",
        summary=f"Personal access token {token.prefix}… of {token.user.get_username()} revoked",
        details={"user": token.user.get_username(), "name": token.name, "prefix": token.prefix},
    )
    return token


@transaction.atomic
def user_role_set(*, actor, user, role) -> UserProfile:
    """Give a user one of the roles (stored on their profile). Setting the role they have records
    nothing; an unknown role is VALIDATION_ERROR on ``role``."""
    value = getattr(role, "value", role)
    if value not in Role.values:
        raise ValidationFailed(f"unknown role {role!r}; expected one of {', '.join(Role.values)}", field="role")
    profile = UserProfile.objects.select_for_update().filter(user=user).first()
    before = profile.role if profile else None
    if before == value:
        return profile
    if profile is None:
        profile = UserProfile.objects.create(user=user, role=value)
    else:
        profile.role = value
        profile.save(update_fields=["role"])
    # customers.permissions.role_of caches the role on the user object: let it see the new one.
    user.__dict__.pop("_cached_profile_role", None)
    user.profile = profile
    audit_record(
        actor=actor,
        action="user.role_change",
        obj=user,
        object_type="user",
        summary=f"Role of {user.get_username()}: {Role(before).label if before else 'none'} → {Role(value).label}",
        details={"username": user.get_username(), "from": before, "to": value},
    )
    return profile
