"""python manage.py generate_portfolio --customers N [--per-customer K] [--product NAME ...] [--prefix TEXT]

Creates N customers, each assigned K products of the catalog with their adoption plans, in bulk: the
same rows the services would write (audit entries included), for load tests and demos of large
portfolios. Refuses to run in production mode.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from adoption.models import Product
from adoption.services.portfolio import MAX_CUSTOMERS, portfolio_generate
from config.errors import DomainError


class Command(BaseCommand):
    help = "Create many customers with product assignments and adoption plans at once (not in production)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True, help=f"how many customers, 1 to {MAX_CUSTOMERS:,}")
        parser.add_argument(
            "--per-customer", type=int, default=2, help="products assigned to each customer (default 2)"
        )
        parser.add_argument(
            "--product",
            action="append",
            default=None,
            help="name of an active product to assign (repeatable); default: every active product",
        )
        parser.add_argument("--prefix", default="Portfolio customer", help='customer names: "<prefix> 000001", ...')
        parser.add_argument("--chunk-size", type=int, default=500, help="customers per transaction (default 500)")

    def handle(self, *args, customers, per_customer, product, prefix, chunk_size, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("generate_portfolio writes synthetic customers: it does not run in production mode")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        products = list(Product.objects.active().order_by("name", "pk"))
        if product:
            by_name = {p.name: p for p in products}
            unknown = [name for name in product if name not in by_name]
            if unknown:
                raise CommandError("no active product named: " + ", ".join(unknown))
            products = [by_name[name] for name in dict.fromkeys(product)]

        def progress(done, total):
            self.stderr.write(f"\rgenerating: {done}/{total} customers", ending="")
            self.stderr.flush()

        started = time.perf_counter()
        try:
            counts = portfolio_generate(
                actor="system",
                customers=customers,
                products=products,
                per_customer=per_customer,
                prefix=prefix,
                chunk_size=chunk_size,
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message}; nothing was created") from None
        self.stderr.write("")
        self.stdout.write(
            f"Created {counts.customers} customers, {counts.assignments} assignments with their plans, "
            f"{counts.tasks} customer tasks and {counts.attributes} telemetry attributes "
            f"in {time.perf_counter() - started:.1f} s"
        )
