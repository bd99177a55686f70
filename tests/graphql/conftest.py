"""Helpers for the GraphQL tests: every test goes through the HTTP endpoint with the test client."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from adoption.choices import DataType, LicenseLevel
from adoption.services import customer_product_assign
from customers.models import PersonalAccessToken
from customers.services import customer_create
from customers.tokens import generate_token
from tests.factories import OutcomeFactory, ProductFactory, ReleaseFactory, TaskFactory, TelemetryAttributeFactory

URL = "/graphql/"


def post(client, query, variables=None, **headers):
    """POST a document; returns (status code, decoded JSON body)."""
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post(URL, data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def data_of(client, query, variables=None, **headers) -> dict:
    """The data of a document that must succeed."""
    status, body = post(client, query, variables, **headers)
    assert "errors" not in body, body
    assert status == 200
    return body["data"]


def error_of(client, query, variables=None, **headers) -> dict:
    """The single error of a document that must fail."""
    _, body = post(client, query, variables, **headers)
    assert len(body.get("errors", [])) == 1, body
    return body["errors"][0]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_for(user) -> str:
    raw, prefix, digest = generate_token()
    PersonalAccessToken.objects.create(user=user, prefix=prefix, token_hash=digest)
    return raw


@pytest.fixture
def as_admin(admin_user):
    return client_for(admin_user)


@pytest.fixture
def as_editor(editor):
    return client_for(editor)


@pytest.fixture
def as_csm(csm):
    return client_for(csm)


@pytest.fixture
def as_viewer(viewer):
    return client_for(viewer)


@pytest.fixture
def retail(db):
    """A small product: 3 outcomes (C tags no task), 2 releases, 6 tasks over the three license levels.

    ESSENTIAL: Install (w 2, outcome A), Configure (w 3, untagged), Invite users (w 1, outcome B)
    ADVANTAGE: Integrate (w 4, outcome A), Automate (w 5, outcome B, release 2.0)
    SIGNATURE: Optimize (w 5, untagged)
    Install has a required BOOLEAN attribute sso_enabled; Integrate a JSON attribute integration
    ({"all": [enabled is true, count >= 100]}); Configure a NUMBER attribute users (>= 10) that is
    not required, next to a required BOOLEAN configured.
    """
    product = ProductFactory(name="Retail App", description="Point of sale")
    outcome_a = OutcomeFactory(product=product, name="Faster checkout")
    outcome_b = OutcomeFactory(product=product, name="Happier staff")
    outcome_c = OutcomeFactory(product=product, name="Lower costs")
    release_1 = ReleaseFactory(product=product, name="1.0", level=Decimal("1.0"))
    release_2 = ReleaseFactory(product=product, name="2.0", level=Decimal("2.0"))
    E, A, S = LicenseLevel.ESSENTIAL, LicenseLevel.ADVANTAGE, LicenseLevel.SIGNATURE
    tasks = {
        "Install": TaskFactory(
            product=product,
            name="Install",
            weight=Decimal("2"),
            sequence_number=1,
            license_level=E,
            outcomes=[outcome_a],
        ),
        "Configure": TaskFactory(
            product=product, name="Configure", weight=Decimal("3"), sequence_number=2, license_level=E
        ),
        "Invite users": TaskFactory(
            product=product,
            name="Invite users",
            weight=Decimal("1"),
            sequence_number=3,
            license_level=E,
            outcomes=[outcome_b],
        ),
        "Integrate": TaskFactory(
            product=product,
            name="Integrate",
            weight=Decimal("4"),
            sequence_number=4,
            license_level=A,
            outcomes=[outcome_a],
        ),
        "Automate": TaskFactory(
            product=product,
            name="Automate",
            weight=Decimal("5"),
            sequence_number=5,
            license_level=A,
            outcomes=[outcome_b],
            releases=[release_2],
        ),
        "Optimize": TaskFactory(
            product=product, name="Optimize", weight=Decimal("5"), sequence_number=6, license_level=S
        ),
    }
    TelemetryAttributeFactory(
        task=tasks["Install"],
        name="sso_enabled",
        data_type=DataType.BOOLEAN,
        is_required=True,
        success_criteria={"op": "eq", "value": True},
    )
    TelemetryAttributeFactory(
        task=tasks["Integrate"],
        name="integration",
        data_type=DataType.JSON,
        is_required=True,
        success_criteria={
            "all": [{"op": "eq", "path": "enabled", "value": True}, {"op": "gte", "path": "count", "value": 100}]
        },
    )
    TelemetryAttributeFactory(
        task=tasks["Configure"],
        name="configured",
        data_type=DataType.BOOLEAN,
        is_required=True,
        order=0,
        success_criteria={"op": "eq", "value": True},
    )
    TelemetryAttributeFactory(
        task=tasks["Configure"],
        name="users",
        data_type=DataType.NUMBER,
        is_required=False,
        order=1,
        success_criteria={"op": "gte", "value": 10},
    )
    return {
        "product": product,
        "outcomes": {"A": outcome_a, "B": outcome_b, "C": outcome_c},
        "releases": {"1.0": release_1, "2.0": release_2},
        "tasks": tasks,
    }


@pytest.fixture
def acme(retail, admin_user, csm, viewer):
    """Customer Acme (CSM and viewer assigned) with Retail App at ADVANTAGE, all outcomes and releases:
    a plan of Install, Configure, Invite users, Integrate, Automate (total weight 15)."""

    customer = customer_create(actor=admin_user, name="Acme Corporation", description="Large retail company")
    customer.assigned_users.set([csm, viewer])
    assignment = customer_product_assign(
        actor=admin_user, customer=customer, product=retail["product"], license_level=LicenseLevel.ADVANTAGE
    )
    plan = assignment.adoption_plan
    tasks = {task.name: task for task in plan.tasks.all()}
    return {"customer": customer, "assignment": assignment, "plan": plan, "tasks": tasks}
