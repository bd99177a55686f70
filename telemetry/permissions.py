"""Who may read and write a customer's telemetry. Builds on customers.permissions."""

from django.db.models import QuerySet

from config.errors import Forbidden, NotFound, parse_id
from customers.models import Customer
from customers.permissions import (
    can_change_customer_data,
    can_write_customer,
    customer_ids_visible_to,
    require_authenticated,
)
from telemetry.models import ApiKey, CustomerTelemetryAttribute, CustomerTelemetryValue, TelemetryBatch


def customer_attributes_visible_to(user) -> QuerySet[CustomerTelemetryAttribute]:
    return CustomerTelemetryAttribute.objects.filter(
        customer_task__adoption_plan__customer_product__customer__in=customer_ids_visible_to(user)
    )


def get_customer_attribute_for_user(user, attribute_id, *, write: bool = False) -> CustomerTelemetryAttribute:
    require_authenticated(user)
    pk = parse_id(attribute_id, label="customer telemetry attribute")
    attribute = (
        customer_attributes_visible_to(user)
        .select_related("customer_task__adoption_plan__customer_product__customer")
        .filter(pk=pk)
        .first()
    )
    if attribute is None:
        raise NotFound(f"customer telemetry attribute {attribute_id} not found")
    if write and not can_write_customer(user, attribute.customer_task.adoption_plan.customer_product.customer):
        raise Forbidden("You may not add telemetry for this customer.")
    return attribute


def telemetry_write_scope(user, attribute_ids, *, field: str) -> set[int]:
    """Who may add values to these customer attributes: the ids of the customers the user may see,
    which the ingestion service limits itself to (attributes of other customers are NOT_FOUND there).

    FORBIDDEN (on ``field``) when any referenced attribute belongs to a customer the user may only
    read. Malformed ids are left to the ingestion service, which answers NOT_FOUND for them.
    """
    require_authenticated(user)
    visible = set(customer_ids_visible_to(user).values_list("pk", flat=True))
    ids = []
    for raw in set(attribute_ids):
        try:
            ids.append(int(str(raw).strip()))
        except (TypeError, ValueError):
            continue
    customer_ids = set(
        customer_attributes_visible_to(user)
        .filter(pk__in=ids)
        .values_list("customer_task__adoption_plan__customer_product__customer_id", flat=True)
    )
    for customer in Customer.objects.filter(pk__in=customer_ids).order_by("pk"):
        if not can_write_customer(user, customer):
            raise Forbidden(f"You may not add telemetry for customer {customer.pk}.", field=field)
    return visible


def api_keys_visible_to(user) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(customer__in=customer_ids_visible_to(user))


def telemetry_values_visible_to(user) -> QuerySet[CustomerTelemetryValue]:
    return CustomerTelemetryValue.objects.filter(
        customer_attribute__customer_task__adoption_plan__customer_product__customer__in=customer_ids_visible_to(user)
    )


def telemetry_batches_visible_to(user) -> QuerySet[TelemetryBatch]:
    return TelemetryBatch.objects.filter(customer__in=customer_ids_visible_to(user))


def can_issue_api_keys(user) -> bool:
    """May open the API key form; the customer chosen must pass can_manage_api_keys."""
    return can_change_customer_data(user)
