"""python manage.py seed_demo: the demo catalog, users of every role, customers with plans and progress.

Idempotent: everything is looked up by name first, so a second run changes nothing (and also
leaves alone whatever was changed by hand in the demo since). Refuses in production mode: it
creates users with published passwords. Uses the same loader and services as everything else:
load_catalog for the catalog, customer_create / customer_set_assignees / customer_product_assign /
customer_task_update_status for the customers, so the demo has real plans, history and audit, and
telemetry_ingest for telemetry values, so that some tasks are moved by telemetry (with evidence in their
history), one task set DONE by hand disagrees with its telemetry, and some required values are stale.
"""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from adoption.catalog_io import CatalogValidationError, catalog_load_file
from adoption.choices import TaskStatus
from adoption.models import Outcome, Product, Release
from adoption.services import customer_product_assign, customer_task_update_status
from customers.models import Customer, CustomerProduct, Role, UserProfile
from customers.services import customer_create, customer_set_assignees
from telemetry.models import CustomerTelemetryAttribute
from telemetry.services import telemetry_ingest

DEMO_CATALOG = Path(settings.BASE_DIR) / "adoption" / "demo" / "catalog.yaml"

ADMIN_PASSWORD = "demo-admin-password"
USER_PASSWORD = "demo-password"

# (username, first name, last name, role, password). Every demo user is staff, so each can see the
# Django admin with exactly what their role allows.
USERS = [
    ("admin", "Ada", "Admin", Role.ADMIN, ADMIN_PASSWORD),
    ("casey.csm", "Casey", "Morgan", Role.CSM, USER_PASSWORD),
    ("sam.csm", "Sam", "Patel", Role.CSM, USER_PASSWORD),
    ("erin.editor", "Erin", "Lopez", Role.CATALOG_EDITOR, USER_PASSWORD),
    ("vic.viewer", "Vic", "Nakamura", Role.VIEWER, USER_PASSWORD),
]

# Assignments: product, license level, selected outcomes and releases (empty = all), and how far
# the customer has come: `done` tasks of the plan DONE, the next `in_progress` IN_PROGRESS, then
# `not_applicable` NOT_APPLICABLE, all set by the customer's CSM (the first assignee), on the tasks
# named in `by_hand_with_telemetry` first, then on tasks without telemetry in plan order.
CUSTOMERS = [
    {
        "name": "Northwind Logistics",
        "description": (
            "Freight and warehousing group, 4,200 employees at 30 depots. Replacing the site-to-site VPN "
            "with zero-trust access after an audit finding; sponsor is the CISO."
        ),
        "assignees": ["casey.csm", "vic.viewer"],
        "products": [
            {
                "product": "Identity Guard",
                "level": "SIGNATURE",
                "outcomes": ["Zero-trust access", "Phishing-resistant authentication"],
                "releases": [],
                "done": 12,
                "in_progress": 2,
                "not_applicable": 1,
                # Set by hand although telemetry reports on them: the directory (telemetry agrees) and
                # the MFA rollout (telemetry disagrees: the demo's showcase).
                "by_hand_with_telemetry": ["Connect the corporate directory", "Roll out MFA to all users"],
            },
            {
                "product": "Teamspace Collaboration",
                "level": "ADVANTAGE",
                "outcomes": [],
                "releases": [],
                "done": 5,
                "in_progress": 2,
                "not_applicable": 0,
            },
        ],
    },
    {
        "name": "Contoso Health",
        "description": (
            "Regional hospital network with 11 sites. Wants faster incident response for the patient "
            "portal and SLOs agreed with clinical leadership."
        ),
        "assignees": ["sam.csm"],
        "products": [
            {
                "product": "Pulse Observability",
                "level": "ADVANTAGE",
                "outcomes": ["Faster incident response", "Service-level objectives"],
                "releases": ["5.1", "6.0"],
                "done": 4,
                "in_progress": 1,
                "not_applicable": 1,
            },
            {
                "product": "Identity Guard",
                "level": "ESSENTIAL",
                "outcomes": [],
                "releases": ["7.0", "7.2"],
                "done": 2,
                "in_progress": 1,
                "not_applicable": 0,
            },
        ],
    },
    {
        "name": "Fabrikam Retail",
        "description": (
            "Online and high-street retailer; peak season starts in October. Observability first, "
            "collaboration for store managers next."
        ),
        "assignees": ["casey.csm"],
        "products": [
            {
                "product": "Pulse Observability",
                "level": "SIGNATURE",
                "outcomes": [],
                "releases": [],
                "done": 9,
                "in_progress": 5,
                "not_applicable": 2,
            },
            {
                "product": "Teamspace Collaboration",
                "level": "ESSENTIAL",
                "outcomes": [],
                "releases": [],
                "done": 0,
                "in_progress": 0,
                "not_applicable": 0,
            },
        ],
    },
    {
        "name": "Tailspin Aero",
        "description": (
            "Aircraft parts supplier working with many partners under export-control rules; external "
            "collaboration must be governed."
        ),
        "assignees": ["sam.csm", "vic.viewer"],
        "products": [
            {
                "product": "Teamspace Collaboration",
                "level": "SIGNATURE",
                "outcomes": ["Secure external collaboration", "Governance and retention"],
                "releases": [],
                "done": 3,
                "in_progress": 2,
                "not_applicable": 0,
            },
        ],
    },
]


# Telemetry from the customers' systems, sent once a plan is created and its CSM has set the statuses
# above: (customer, product) -> source system and (task, attribute, value, observed days ago). A value
# that is a callable receives the moment of seeding (for TIMESTAMP values relative to it).
DEMO_TELEMETRY = {
    ("Northwind Logistics", "Identity Guard"): {
        "source": "idp-connector",
        "values": [
            # Set DONE by the CSM, and telemetry agrees.
            ("Connect the corporate directory", "directory_connected", True, 2),
            ("Connect the corporate directory", "synced_users", 4150, 1),
            # Set DONE by the CSM on the weekly call, but only 72.5 % are enrolled: telemetry says
            # IN_PROGRESS and the task shows that telemetry disagrees.
            ("Roll out MFA to all users", "mfa_enrolled_pct", 72.5, 1),
            ("Roll out MFA to all users", "mfa_enforced", True, 1),
            # Untouched by the CSM: telemetry moves these (DONE, IN_PROGRESS, DONE).
            ("Configure risk-based step-up authentication", "step_up_risk_level", "medium", 3),
            ("Go passwordless for the workforce", "passwordless_pct", 35, 1),
            ("Go passwordless for the workforce", "password_signins_7d", 80, 1),
            ("Protect SSH and RDP with the access gateway", "gateway_sessions_7d", 14, 1),
            # Required, not met, and last reported more than three weeks ago: stale.
            ("Enable continuous access evaluation", "cae_mode", "disabled", 23),
        ],
    },
    ("Contoso Health", "Identity Guard"): {
        "source": "siem-export",
        "values": [
            # Time-based criteria: viewed within 7 days (DONE); the last audit export is 22 days old,
            # so "within 1 day" is not met and the task stays IN_PROGRESS with a stale required value.
            (
                "Review the security dashboard weekly",
                "dashboard_last_viewed",
                lambda now: (now - timedelta(days=3)).isoformat(),
                3,
            ),
            ("Export the audit log to your SIEM", "siem_destination", "Splunk Cloud", 22),
            (
                "Export the audit log to your SIEM",
                "last_audit_export",
                lambda now: (now - timedelta(days=22)).isoformat(),
                22,
            ),
        ],
    },
    ("Contoso Health", "Pulse Observability"): {
        "source": "pulse-api",
        "values": [
            ("Define the first service-level objective", "slo_count", 2, 1),
            (
                "Define the first service-level objective",
                "slo_summary",
                {"objectives": [{"name": "Patient portal availability", "target": 99.5, "owner": "portal-team"}]},
                1,
            ),
        ],
    },
}


class Command(BaseCommand):
    help = "Load the demo catalog, demo users of every role and demo customers with plans (idempotent)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo creates users with published passwords and refuses to run in production mode (PRODUCTION=1)"
            )
        try:
            with transaction.atomic():
                catalog = catalog_load_file(DEMO_CATALOG)
                users, new_users = self._users()
                new_customers, new_plans, telemetry = self._customers(users)
        except CatalogValidationError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{DEMO_CATALOG}: {len(exc.errors)} error(s); nothing was loaded") from None

        self.stdout.write("Demo catalog:")
        for line in catalog.lines():
            self.stdout.write(line)
        self.stdout.write(
            f"Demo data: {new_users} users, {new_customers} customers and {new_plans} adoption plans created "
            f"(existing ones left as they are)."
        )
        self.stdout.write(
            f"Demo telemetry: {telemetry['values']} values stored, {telemetry['changes']} task status changes."
        )
        self.stdout.write("")
        self.stdout.write("Demo logins (local demo only):")
        for username, _first, _last, role, password in USERS:
            self.stdout.write(f"  {username:<12} {password:<20} {role.label}")

    def _users(self):
        User = get_user_model()
        users, created_count = {}, 0
        for username, first, last, role, password in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.com",
                    is_staff=True,
                    is_superuser=role == Role.ADMIN,
                )
                user.set_password(password)
                user.save()
                created_count += 1
            UserProfile.objects.get_or_create(user=user, defaults={"role": role})
            users[username] = user
        return users, created_count

    def _customers(self, users):
        admin = users["admin"]
        products = {p.name: p for p in Product.objects.active()}
        new_customers = new_plans = 0
        telemetry = {"values": 0, "changes": 0}
        for spec in CUSTOMERS:
            customer = Customer.objects.filter(name=spec["name"]).order_by("pk").first()
            if customer is None:
                customer = customer_create(actor=admin, name=spec["name"], description=spec["description"])
                customer_set_assignees(
                    actor=admin, customer=customer, users=[users[name] for name in spec["assignees"]]
                )
                new_customers += 1
            csm = users[spec["assignees"][0]]
            for entry in spec["products"]:
                product = products[entry["product"]]
                if CustomerProduct.objects.filter(customer=customer, product=product).exists():
                    continue
                outcome_ids = list(
                    Outcome.objects.active()
                    .filter(product=product, name__in=entry["outcomes"])
                    .values_list("pk", flat=True)
                )
                release_ids = list(
                    Release.objects.active()
                    .filter(product=product, name__in=entry["releases"])
                    .values_list("pk", flat=True)
                )
                assignment = customer_product_assign(
                    actor=admin,
                    customer=customer,
                    product=product,
                    license_level=entry["level"],
                    outcome_ids=outcome_ids,
                    release_ids=release_ids,
                )
                self._progress(assignment, entry, csm)
                self._telemetry(assignment, spec["name"], entry["product"], admin, telemetry)
                new_plans += 1
        return new_customers, new_plans, telemetry

    def _progress(self, assignment, entry, csm):
        """The CSM sets statuses on tasks that telemetry does not report on (no active attribute), plus
        the few named in `by_hand_with_telemetry` (first). A status set by hand on a task whose telemetry
        has no value would disagree with it, and a demo where dozens of tasks disagree is not credible."""
        named = entry.get("by_hand_with_telemetry", [])
        visible = assignment.adoption_plan.tasks.visible().order_by("sequence_number", "pk")
        with_telemetry = Exists(CustomerTelemetryAttribute.objects.filter(customer_task=OuterRef("pk"), is_active=True))
        tasks = sorted(visible.filter(name__in=named), key=lambda task: named.index(task.name))
        tasks += list(visible.exclude(name__in=named).exclude(with_telemetry))
        plan = [TaskStatus.DONE] * entry["done"] + [TaskStatus.IN_PROGRESS] * entry["in_progress"]
        plan += [TaskStatus.NOT_APPLICABLE] * entry["not_applicable"]
        notes = {
            TaskStatus.DONE: "Confirmed on the weekly call.",
            TaskStatus.IN_PROGRESS: "Customer team is working on it.",
            TaskStatus.NOT_APPLICABLE: "Not relevant for this customer's environment.",
        }
        for task, status in zip(tasks, plan, strict=False):
            customer_task_update_status(actor=csm, task=task, status=status, notes=notes[status])

    def _telemetry(self, assignment, customer_name, product_name, actor, totals):
        """Only for a plan created in this run (like its statuses), so a second run stores nothing."""
        demo = DEMO_TELEMETRY.get((customer_name, product_name))
        if demo is None:
            return
        now = timezone.now()
        plan = assignment.adoption_plan
        items = [
            {
                "adoptionPlanId": str(plan.pk),
                "taskName": task_name,
                "attributeName": attribute_name,
                "value": value(now) if callable(value) else value,
                "observedAt": (now - timedelta(days=days_ago)).isoformat(),
                "source": demo["source"],
            }
            for task_name, attribute_name, value, days_ago in demo["values"]
        ]
        result = telemetry_ingest(actor=actor, items=items, batch_id=f"demo-plan-{plan.pk}", channel="demo")
        totals["values"] += len(result.value_ids)
        totals["changes"] += len(result.status_changes)
