"""FilterSets for customer lists: search, product, CSM and "needs attention", all kept in the URL."""

import django_filters
from django import forms

from adoption.permissions import products_visible_to
from customers.models import Customer
from customers.permissions import customers_visible_to
from customers.selectors import ATTENTION_CHOICES, csm_choices, customers_matching, customers_needing_attention

SEARCH_MAX_LENGTH = 200


def _products(request):
    return products_visible_to(request.user) if request is not None else products_visible_to(None)


def _csms(request):
    return csm_choices(customers_visible_to(request.user if request is not None else None))


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or description", "autocomplete": "off"}),
    )
    product = django_filters.ModelChoiceFilter(
        queryset=_products, method="with_product", label="Product", empty_label="All products"
    )
    csm = django_filters.ModelChoiceFilter(
        queryset=_csms, field_name="assigned_users", label="CSM", empty_label="Every CSM"
    )
    attention = django_filters.ChoiceFilter(
        choices=ATTENTION_CHOICES, method="needing_attention", label="Needs attention", empty_label="Every customer"
    )

    class Meta:
        model = Customer
        fields = ["q", "product", "csm", "attention"]

    @property
    def form(self):
        form = super().form
        form.fields["csm"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        return form

    def search(self, queryset, name, value):
        return customers_matching(queryset, value)

    def with_product(self, queryset, name, value):
        return queryset.filter(products__product=value)

    def needing_attention(self, queryset, name, value):
        return customers_needing_attention(queryset, value)
