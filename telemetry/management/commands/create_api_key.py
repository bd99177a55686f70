"""Issue an API key for a customer system. The raw key is printed once, alone on the last line."""

from django.core.management.base import BaseCommand, CommandError

from config.errors import DomainError
from customers.models import Customer
from telemetry.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for POST /api/v1/telemetry. The key alone is printed on the last line; store it now."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="customer id")
        parser.add_argument("--name", default="", help="what the key is for, e.g. 'nightly export'")

    def handle(self, *args, customer, name="", **options):
        try:
            customer_obj = Customer.objects.get(pk=int(str(customer).strip()))
        except (ValueError, Customer.DoesNotExist):
            raise CommandError(f"customer {customer!r} not found") from None
        try:
            api_key, raw = api_key_create(actor="cli:create_api_key", customer=customer_obj, name=name)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"API key {api_key.prefix}… created for customer {customer_obj.pk} ({customer_obj.name})"
            + (f", name {api_key.name!r}" if api_key.name else "")
            + ". It is shown only this once; send it as 'Authorization: Bearer <key>'."
        )
        self.stdout.write(raw)
