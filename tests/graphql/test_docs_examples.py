"""Every GraphQL example of docs/graphql.md runs, as written, against freshly seeded demo data.

The page's ```graphql blocks are parsed in order; a ```json block right after one holds its
variables, written with the ids of a fresh demo database. Here the variables are resolved from the
demo data by name (the ids differ between databases), and where the database is fresh the page's
ids are checked against them too. Each example runs in a savepoint that is rolled back, so each
sees the demo as seeded."""

import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from graphql import OperationDefinitionNode, parse

from adoption.models import AdoptionPlan, CustomerTask, Outcome, Product, Task
from customers.models import Customer, CustomerProduct
from telemetry.models import CustomerTelemetryAttribute
from tests.graphql.conftest import post

DOC = Path(settings.BASE_DIR) / "docs" / "graphql.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

NORTHWIND, IDENTITY = "Northwind Logistics", "Identity Guard"
MFA_TASK = "Roll out MFA to all users"


def examples() -> list[tuple[str, str, dict | None]]:
    """(operation name, document, variables shown on the page) for every ```graphql block."""
    blocks = FENCE.findall(DOC.read_text(encoding="utf-8"))
    found = []
    for index, (language, text) in enumerate(blocks):
        if language != "graphql":
            continue
        operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1 and operations[0].name, f"one named operation per block:\n{text}"
        variables = None
        if index + 1 < len(blocks) and blocks[index + 1][0] == "json":
            variables = json.loads(blocks[index + 1][1])
        found.append((operations[0].name.value, text, variables))
    return found


def _plan():
    return AdoptionPlan.objects.get(customer_product__customer__name=NORTHWIND, product_name=IDENTITY)


def _task(name):
    return CustomerTask.objects.get(adoption_plan=_plan(), name=name)


def _attribute(task_name, name):
    return CustomerTelemetryAttribute.objects.get(customer_task=_task(task_name), name=name)


def _id(obj) -> str:
    return str(obj.pk)


# The demo objects each example's variables stand for.
VARIABLES = {
    "Customers": lambda: None,
    "Plan": lambda: {"planId": _id(_plan())},
    "InProgress": lambda: {"planId": _id(_plan())},
    "TaskHistory": lambda: {"taskId": _id(_task(MFA_TASK))},
    "CustomerPlans": lambda: {"customerId": _id(Customer.objects.get(name=NORTHWIND))},
    "Catalog": lambda: None,
    "SyncPreview": lambda: {"planId": _id(_plan())},
    "CreateCustomer": lambda: None,
    "AssignProduct": lambda: {
        "customerId": _id(Customer.objects.get(name="Fabrikam Retail")),
        "productId": _id(Product.objects.get(name=IDENTITY)),
        "outcomeIds": [
            _id(Outcome.objects.get(product__name=IDENTITY, name=name))
            for name in ("Zero-trust access", "Phishing-resistant authentication")
        ],
    },
    "Downgrade": lambda: {
        "assignmentId": _id(CustomerProduct.objects.get(customer__name=NORTHWIND, product__name=IDENTITY)),
        "planId": _id(_plan()),
    },
    "SetStatus": lambda: {"taskId": _id(_task(MFA_TASK))},
    "BulkStatus": lambda: {
        "planId": _id(_plan()),
        "taskIds": [_id(_task("Join the customer community")), _id(_task("Enable impossible-travel detection"))],
    },
    "ResetToTelemetry": lambda: {"taskId": _id(_task(MFA_TASK))},
    "AddValue": lambda: {"attributeId": _id(_attribute(MFA_TASK, "mfa_enrolled_pct"))},
    "AddValues": lambda: {
        "values": [
            {
                "customerAttributeId": _id(_attribute("Go passwordless for the workforce", "passwordless_pct")),
                "value": 64,
                "batchId": "idp-2026-11-30",
                "source": "idp-connector",
            },
            {
                "customerAttributeId": _id(_attribute("Go passwordless for the workforce", "password_signins_7d")),
                "value": 12,
                "batchId": "idp-2026-11-30",
                "source": "idp-connector",
            },
        ]
    },
    "Evaluate": lambda: {"taskId": _id(_task(MFA_TASK)), "planId": _id(_plan())},
    "CatalogItems": lambda: {"productId": _id(Product.objects.get(name=IDENTITY))},
    "NewProduct": lambda: None,
    "CustomersPage": lambda: None,
    "DefineTelemetry": lambda: {"taskId": _id(Task.objects.get(product__name=IDENTITY, name=MFA_TASK))},
    "RetireTask": lambda: {"taskId": _id(Task.objects.get(product__name=IDENTITY, name=MFA_TASK))},
}


@pytest.fixture
def demo(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())


def _fresh_ids() -> bool:
    """Did the demo get the first ids of every table the page's variables name (a fresh database)?"""
    models = (Customer, CustomerProduct, Product, Outcome, Task, AdoptionPlan, CustomerTask, CustomerTelemetryAttribute)
    return all(model.objects.order_by("pk").values_list("pk", flat=True).first() == 1 for model in models)


def test_the_page_has_examples_for_every_operation_listed_here():
    names = [name for name, _, _ in examples()]

    assert len(names) == len(set(names)), "operation names must be unique on the page"
    assert sorted(names) == sorted(VARIABLES)


def test_every_graphql_example_of_the_docs_runs_without_errors(demo, admin_user):
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    fresh = _fresh_ids()
    for name, document, shown in examples():
        variables = VARIABLES[name]()
        assert (shown is None) == (variables is None), f"{name}: variables shown on the page and needed differ"
        if shown is not None:
            assert shown.keys() == variables.keys(), f"{name}: the page shows other variables"
            if fresh:
                assert shown == variables, f"{name}: the page's ids are not those of a fresh demo"
        with transaction.atomic():
            status, body = post(client, document, variables)
            transaction.set_rollback(True)

        assert status == 200, (name, body)
        assert "errors" not in body, (name, body["errors"])
        assert body["data"] and all(value is not None for value in body["data"].values()), (name, body)
