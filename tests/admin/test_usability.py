"""The admin speaks in words: titles, labels and pickers."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_headers

from adoption.models import AdoptionPlan, CustomerTask, CustomerTaskOutcome, CustomerTaskRelease, TaskStatusChange
from tests.admin.helpers import url
from tests.admin.test_pages import DOMAIN_MODELS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("error::django.core.paginator.UnorderedObjectListWarning"),
]

STATUS_CODES = r"\b(NOT_STARTED|IN_PROGRESS|NOT_APPLICABLE|MANUAL|TELEMETRY|SYSTEM)\b"


def test_no_page_calls_anything_an_object_or_shows_raw_status_codes(admin_client, world):
    failures = []
    for model in DOMAIN_MODELS:
        obj = model.objects.order_by("pk").first()
        for address in (url(model, "changelist"), url(model, "change", obj.pk)):
            html = admin_client.get(address).content.decode()
            html = re.sub(r"<(script|select)\b.*?</\1>|<[^>]+>", " ", html, flags=re.S)  # visible text only
            if " object (" in html:
                failures.append((address, re.findall(r"\w+ object \(\d+\)", html)))
            codes = re.findall(STATUS_CODES, html)
            # Audit summaries too: the services write them in words (the codes stay in the details).
            if codes:
                failures.append((address, sorted(set(codes))))
    assert failures == []


def test_every_model_has_a_title_in_words(world):
    entry = TaskStatusChange.objects.get()
    assert str(entry) == "Task 0: Not started → Done (Manual)"
    assert str(CustomerTaskOutcome.objects.order_by("pk").first()) == "Zero-trust access"
    assert str(CustomerTaskRelease.objects.order_by("pk").first()) == "7.2"
    for model in admin.site._registry:
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            assert " object (" not in str(obj), model


def test_labels_in_words(admin_client, world):
    index = admin_client.get("/admin/").content.decode()
    assert "Telemetry batches" in index
    assert "Telemetry batchs" not in index

    plan = AdoptionPlan.objects.get(customer_product__customer=world["mine"])
    changelist = admin_client.get(url(AdoptionPlan, "changelist")).content.decode()
    assert f'<td class="field-progress">{plan.progress_percentage}%</td>' in changelist
    page = admin_client.get(url(AdoptionPlan, "change", plan.pk)).content.decode()
    assert f"{plan.progress_percentage}%" in page

    tasks = admin_client.get(url(CustomerTask, "changelist")).content.decode()
    assert '<td class="field-status">Done</td>' in tasks
    assert '<td class="field-status_update_source">Manual</td>' in tasks


def test_pickers_and_changelists_paginate_ordered_querysets(admin_client, world):
    pickers = []
    for model, model_admin in admin.site._registry.items():
        assert admin_client.get(url(model, "changelist")).status_code in (200, 403), model
        for field in model_admin.autocomplete_fields:
            response = admin_client.get(
                "/admin/autocomplete/",
                {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field},
            )
            assert response.status_code == 200, (model, field)
            pickers.append((model.__name__, field, len(response.json()["results"]) > 0))
    assert ("CustomerProduct", "customer", True) in pickers
    assert ("Outcome", "product", True) in pickers
    assert ("TelemetryAttribute", "task", True) in pickers


def test_customer_tasks_sort_by_customer(admin_client, world):
    changelist = admin_client.get(url(CustomerTask, "changelist"))
    (customer,) = [h for h in result_headers(changelist.context["cl"]) if "column-customer" in h["class_attrib"]]
    assert (customer["text"], customer["sortable"]) == ("customer", True)

    ordered = admin_client.get(url(CustomerTask, "changelist") + customer["url_primary"]).context["cl"].result_list
    names = [task.adoption_plan.customer_product.customer.name for task in ordered]
    assert names == sorted(names) and set(names) == {"Mine", "Other"}
