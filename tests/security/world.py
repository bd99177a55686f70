"""The data every security test runs against, built once per module with the real services.

Two customers: Northwind (owned: the assigned CSM and the assigned viewer) and Contoso (foreign:
nobody of the matrix's people is assigned to it). Each has the product "Identity Guard" with a plan,
telemetry values, an API key and a job started by its CSM. Ids are collected per customer so a test
can aim the same request at the owned customer, the foreign one, or at ids that do not exist.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from adoption.choices import DataType, LicenseLevel
from adoption.models import Job
from adoption.services import customer_product_assign
from customers.models import Customer, PersonalAccessToken, Role
from customers.services import customer_create
from customers.tokens import generate_token
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue
from telemetry.services import api_key_create, telemetry_ingest
from tests.factories import (
    OutcomeFactory,
    ProductFactory,
    ReleaseFactory,
    TaskFactory,
    TelemetryAttributeFactory,
    UserFactory,
)

MISSING_ID = "987654321"


@dataclass
class Ids:
    """Database keys (as strings) of one customer's objects and of the catalog they use."""

    customer: str
    assignment: str
    plan: str
    task: str  # a customer task with active attributes
    attribute: str  # a customer telemetry attribute (NUMBER)
    value: str
    api_key: str
    job: str
    product: str
    outcome: str
    release: str
    catalog_task: str
    catalog_attribute: str
    unplanned_assignment: str  # an assignment whose plan was removed: createAdoptionPlan may make one
    free_product: str = ""  # a product the customer does not have yet


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role name -> user
    keys: dict = field(default_factory=dict)  # "own" / "foreign" -> raw API key
    own: Ids | None = None
    foreign: Ids | None = None
    missing: Ids | None = None
    customer_content_type: int = 0


def _customer(admin, name, product, second_product, csm, viewer) -> tuple[Ids, str]:
    customer = customer_create(actor=admin, name=name, description=f"{name} Inc.")
    if csm is not None:
        customer.assigned_users.set([csm, viewer])
    assignment = customer_product_assign(
        actor=admin, customer=customer, product=product, license_level=LicenseLevel.SIGNATURE
    )
    unplanned = customer_product_assign(
        actor=admin, customer=customer, product=second_product, license_level=LicenseLevel.ESSENTIAL
    )
    unplanned.adoption_plan.delete()
    plan = assignment.adoption_plan
    attribute = CustomerTelemetryAttribute.objects.get(customer_task__adoption_plan=plan, name="enrolled_pct")
    telemetry_ingest(
        actor=admin,
        items=[{"customerAttributeId": str(attribute.pk), "value": 95}],
        batch_id=f"{name}-seed",
        customer=customer,
        channel="graphql",
    )
    value = CustomerTelemetryValue.objects.filter(customer_attribute=attribute).latest("pk")
    api_key, raw = api_key_create(actor=admin, customer=customer, name=f"{name} system")
    job = Job.objects.create(
        kind=Job.Kind.PRODUCT_SYNC,
        status=Job.Status.SUCCEEDED,
        started_by=csm or admin,
        done=1,
        total=1,
        params={"product": product.pk},
    )
    ids = Ids(
        customer=str(customer.pk),
        assignment=str(assignment.pk),
        plan=str(plan.pk),
        task=str(attribute.customer_task_id),
        attribute=str(attribute.pk),
        value=str(value.pk),
        api_key=str(api_key.pk),
        job=str(job.pk),
        product="",
        outcome="",
        release="",
        catalog_task="",
        catalog_attribute="",
        unplanned_assignment=str(unplanned.pk),
    )
    return ids, raw


def build_world() -> World:
    world = World()
    User = get_user_model()
    admin = UserFactory(username="sec_admin", is_superuser=True, is_staff=True)
    # Everyone with a role is staff here, so the admin's own scoping is what the matrix checks.
    world.users = {
        "admin": admin,
        "editor": UserFactory(username="sec_editor", role=Role.CATALOG_EDITOR, is_staff=True),
        "csm": UserFactory(username="sec_csm", role=Role.CSM, is_staff=True),
        "csm_other": UserFactory(username="sec_csm_other", role=Role.CSM, is_staff=True),
        "viewer": UserFactory(username="sec_viewer", role=Role.VIEWER, is_staff=True),
    }
    product = ProductFactory(name="Identity Guard", description="Sign-in security")
    second_product = ProductFactory(name="Mail Shield", description="Mail security")
    free_product = ProductFactory(name="Cloud Backup", description="Backups")
    TaskFactory(product=free_product, name="Schedule backups", license_level=LicenseLevel.ESSENTIAL)
    TaskFactory(product=second_product, name="Turn on filtering", license_level=LicenseLevel.ESSENTIAL)
    outcome = OutcomeFactory(product=product, name="Zero-trust access")
    release = ReleaseFactory(product=product, name="7.2", level=Decimal("7.2"))
    mfa = TaskFactory(
        product=product,
        name="Roll out MFA",
        weight=Decimal("5"),
        license_level=LicenseLevel.ESSENTIAL,
        outcomes=[outcome],
        releases=[release],
    )
    TaskFactory(product=product, name="Connect directory", weight=Decimal("3"), license_level=LicenseLevel.ESSENTIAL)
    enrolled = TelemetryAttributeFactory(
        task=mfa,
        name="enrolled_pct",
        data_type=DataType.NUMBER,
        is_required=True,
        order=0,
        success_criteria={"op": "gte", "value": 90},
    )
    TelemetryAttributeFactory(
        task=mfa, name="mfa_on", data_type=DataType.BOOLEAN, is_required=True, order=1, success_criteria={}
    )
    world.own, world.keys["own"] = _customer(
        admin, "Northwind", product, second_product, world.users["csm"], world.users["viewer"]
    )
    world.foreign, world.keys["foreign"] = _customer(admin, "Contoso", product, second_product, None, None)
    for ids in (world.own, world.foreign):
        ids.product, ids.outcome, ids.release = str(product.pk), str(outcome.pk), str(release.pk)
        ids.catalog_task, ids.catalog_attribute = str(mfa.pk), str(enrolled.pk)
        ids.free_product = str(free_product.pk)
    world.missing = Ids(**{name: MISSING_ID for name in Ids.__dataclass_fields__})
    for user in world.users.values():  # rows for the admin's token pages
        _, prefix, digest = generate_token()
        PersonalAccessToken.objects.create(user=user, prefix=prefix, token_hash=digest)
    assert User.objects.filter(username__startswith="sec_").count() == 5
    # One row of every other model the admin shows, so its change/delete/history URLs have a target.
    Group.objects.create(name="Auditors")
    AccessAttempt.objects.create(username="mallory", ip_address="203.0.113.9", failures_since_start=1)
    AccessLog.objects.create(username="sec_csm", ip_address="203.0.113.10")
    AccessFailureLog.objects.create(username="mallory", ip_address="203.0.113.9", locked_out=False)
    world.customer_content_type = ContentType.objects.get_for_model(Customer).pk
    return world
