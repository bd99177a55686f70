"""Who may read and write a customer's telemetry. Builds on customers.permissions."""

from django.db.models import QuerySet

from config.errors import Forbidden, NotFound, parse_id
from customers.permissions import can_write_customer, customer_ids_visible_to, require_authenticated
from telemetry.models import ApiKey, CustomerTelemetryAttribute


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
        raise Forbidden("you may not add telemetry for this customer")
    return attribute


def api_keys_visible_to(user) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(customer__in=customer_ids_visible_to(user))
