"""Reads behind the customer pages: customers with their products, progress, last activity and what
needs attention. Each function takes a queryset the caller is already allowed to see
(customers.permissions) and runs a fixed number of queries however many customers, plans or tasks.

"Needs attention" means a plan of the customer
- needs a sync (its entitlements or the product's catalog changed after the last sync),
- has tasks whose status a user set while their telemetry computes another status, or
- has stale required telemetry (a required attribute without a value, or whose latest value is older
  than telemetry.selectors.STALE_AFTER).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from adoption.models import AdoptionPlan
from adoption.progress import percentage, to_decimal
from adoption.selectors import (
    NEEDS_SYNC,
    assignment_contents_counts,
    disagreeing_tasks,
    plan_disagreeing_task_count,
    plan_last_activity,
    plans_with_last_activity,
    plans_with_needs_sync,
)
from config.search import contains
from customers.models import Customer, CustomerProduct, Role
from telemetry.selectors import plan_has_stale_telemetry, plans_stalest_required_attributes

ATTENTION_SYNC = "sync"
ATTENTION_DISAGREES = "disagrees"
ATTENTION_STALE = "stale"
ATTENTION_ANY = "any"
ATTENTION_CHOICES = [
    (ATTENTION_ANY, "For any reason"),
    (ATTENTION_SYNC, "Plans needing sync"),
    (ATTENTION_DISAGREES, "Telemetry disagrees"),
    (ATTENTION_STALE, "Stale required telemetry"),
]


def _annotated_plans(plans: QuerySet[AdoptionPlan], *, now: datetime) -> QuerySet[AdoptionPlan]:
    plans = plans_with_last_activity(plans_with_needs_sync(plans))
    return plans.annotate(
        disagreeing_tasks=plan_disagreeing_task_count(), has_stale_telemetry=plan_has_stale_telemetry(now=now)
    )


def _attention_filter(kind: str, *, now: datetime) -> Q:
    """A condition on AdoptionPlan rows for one reason for attention (or any of them)."""
    sync = NEEDS_SYNC
    disagrees = Exists(disagreeing_tasks().filter(adoption_plan_id=OuterRef("pk")))
    stale = plan_has_stale_telemetry(now=now)
    if kind == ATTENTION_SYNC:
        return sync
    if kind == ATTENTION_DISAGREES:
        return Q(disagrees)
    if kind == ATTENTION_STALE:
        return Q(stale)
    return sync | Q(disagrees) | Q(stale)


def customers_matching(customers: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Customers whose name or description contains ``text``, ignoring case: the search of the customer
    list, GraphQL and the admin, answered from the trigram indexes on PostgreSQL. Blank text: all."""
    text = text.strip()
    return customers.filter(contains(text, "name", "description")) if text else customers


def plans_needing_attention(plans: QuerySet[AdoptionPlan], kind: str = ATTENTION_ANY, *, now=None):
    return plans.filter(_attention_filter(kind, now=now or timezone.now()))


def customers_needing_attention(customers: QuerySet[Customer], kind: str = ATTENTION_ANY, *, now=None):
    """The customers with at least one plan needing attention for that reason."""
    plans = plans_needing_attention(
        AdoptionPlan.objects.filter(customer_product__customer_id=OuterRef("pk")), kind, now=now
    )
    return customers.filter(Exists(plans))


def attention_counts(customers: QuerySet[Customer], *, now=None) -> dict[str, int]:
    """Over these customers' plans: plans needing sync, tasks telemetry disagrees with, plans with
    stale required telemetry. One query."""
    now = now or timezone.now()
    plans = _annotated_plans(
        AdoptionPlan.objects.filter(customer_product__customer__in=customers.values("pk")), now=now
    )
    totals = plans.aggregate(
        sync=Count("pk", filter=Q(needs_sync=True)),
        disagrees=Sum("disagreeing_tasks"),
        stale=Count("pk", filter=Q(has_stale_telemetry=True)),
    )
    return {key: int(value or 0) for key, value in totals.items()}


@dataclass
class ProductSummary:
    """One assignment of a customer with its plan (None if it has none yet) and what needs attention."""

    assignment: CustomerProduct
    plan: AdoptionPlan | None
    needs_sync: bool = False
    disagreeing_tasks: int = 0
    stale_telemetry: bool = False
    last_activity: datetime | None = None
    stalest_attribute: object | None = None  # filled in by customer_detail only

    @property
    def product_name(self) -> str:
        return self.assignment.product.name

    @property
    def progress(self) -> Decimal:
        return self.plan.progress_percentage if self.plan else Decimal("0")

    @property
    def needs_attention(self) -> bool:
        return self.needs_sync or self.disagreeing_tasks > 0 or self.stale_telemetry


@dataclass
class CustomerSummary:
    customer: Customer
    products: list[ProductSummary] = field(default_factory=list)

    @property
    def overall_progress(self) -> Decimal:
        """Sum of completed weight / sum of total weight over the customer's plans."""
        plans = [p.plan for p in self.products if p.plan is not None]
        completed = sum((to_decimal(plan.completed_weight) for plan in plans), Decimal("0"))
        total = sum((to_decimal(plan.total_weight) for plan in plans), Decimal("0"))
        return percentage(completed, total)

    @property
    def last_activity(self) -> datetime | None:
        moments = [p.last_activity for p in self.products if p.last_activity is not None]
        return max(moments) if moments else None

    @property
    def plans_needing_sync(self) -> int:
        return sum(1 for p in self.products if p.needs_sync)

    @property
    def disagreeing_tasks(self) -> int:
        return sum(p.disagreeing_tasks for p in self.products)

    @property
    def plans_with_stale_telemetry(self) -> int:
        return sum(1 for p in self.products if p.stale_telemetry)

    @property
    def attention_reasons(self) -> int:
        return bool(self.plans_needing_sync) + bool(self.disagreeing_tasks) + bool(self.plans_with_stale_telemetry)

    @property
    def needs_attention(self) -> bool:
        return self.attention_reasons > 0


def customer_summaries(customers, *, now=None, with_selections: bool = False) -> list[CustomerSummary]:
    """Summaries of these customers (a list or queryset, kept in its order): their assignments with
    product, plan progress, needs sync, disagreeing tasks, stale telemetry and last activity.

    Three queries after the customers themselves (assignments, plans, assignees), plus two for the
    selected outcomes and releases when asked.
    """
    now = now or timezone.now()
    customers = list(customers)
    if not customers:
        return []
    ids = [customer.pk for customer in customers]
    assignments = CustomerProduct.objects.filter(customer_id__in=ids).select_related("product")
    if with_selections:
        assignments = assignments.prefetch_related("selected_outcomes", "selected_releases")
    assignments = assignments.order_by("product__name", "pk")
    plans = {
        plan.customer_product_id: plan
        for plan in _annotated_plans(AdoptionPlan.objects.filter(customer_product__customer_id__in=ids), now=now)
    }
    summaries = {customer.pk: CustomerSummary(customer) for customer in customers}
    for assignment in assignments:
        plan = plans.get(assignment.pk)
        summaries[assignment.customer_id].products.append(
            ProductSummary(
                assignment=assignment,
                plan=plan,
                needs_sync=bool(plan.needs_sync) if plan else False,
                disagreeing_tasks=int(plan.disagreeing_tasks) if plan else 0,
                stale_telemetry=bool(plan.has_stale_telemetry) if plan else False,
                last_activity=plan_last_activity(plan) if plan else None,
            )
        )
    return [summaries[pk] for pk in ids]


def sort_by_attention(summaries: list[CustomerSummary]) -> list[CustomerSummary]:
    """Most reasons for attention first, then most recent activity (none last), then name."""

    def key(summary: CustomerSummary):
        last = summary.last_activity
        return (-summary.attention_reasons, -(last.timestamp() if last else float("-inf")), summary.customer.name)

    return sorted(summaries, key=key)


def with_assignees(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Customers with the people assigned to them (and their roles) prefetched."""
    users = get_user_model().objects.select_related("profile").order_by("first_name", "last_name", "username")
    return customers.prefetch_related(Prefetch("assigned_users", queryset=users))


def customer_detail(customer: Customer, *, now=None) -> CustomerSummary:
    """One customer's page: every assignment with outcomes, releases, plan and, for plans with stale
    required telemetry, the stalest required attribute (to say which value is missing or old)."""
    summary = customer_summaries([customer], now=now, with_selections=True)[0]
    stale_plan_ids = [p.plan.pk for p in summary.products if p.plan is not None and p.stale_telemetry]
    stalest = plans_stalest_required_attributes(stale_plan_ids)
    for product in summary.products:
        if product.plan is not None:
            product.stalest_attribute = stalest.get(product.plan.pk)
    return summary


def csm_choices(customers: QuerySet[Customer]):
    """CSMs assigned to at least one of these customers, for the list's CSM filter."""
    return (
        get_user_model()
        .objects.filter(is_active=True, profile__role=Role.CSM, assigned_customers__in=customers.values("pk"))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def customer_contents_counts(customer: Customer) -> dict[str, int]:
    """What deleting the customer takes with it, by the same counts the delete's audit entry records."""
    assignments = CustomerProduct.objects.filter(customer_id=customer.pk)
    return {
        "customerProducts": assignments.count(),
        **assignment_contents_counts(assignments),
        "apiKeys": customer.api_keys.count(),
        "telemetryBatches": customer.telemetry_batches.count(),
    }
