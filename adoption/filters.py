"""django-filter FilterSets over plans' tasks, shared by the pages (and open to GraphQL)."""

import django_filters
from django import forms

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from adoption.models import CustomerTask, Outcome, Release
from adoption.selectors import disagreeing_tasks

SOURCE_CHOICES = [
    (StatusSource.MANUAL.value, "Manual (a person)"),
    (StatusSource.TELEMETRY.value, "Telemetry"),
    (StatusSource.SYNC.value, "Sync"),
    (StatusSource.SYSTEM.value, "Not yet changed"),
    (StatusSource.IMPORT.value, "Import"),
]
LICENSE_CHOICES = [(level.name, level.label) for level in LicenseLevel]


class PlanTaskFilter(django_filters.FilterSet):
    """Filters of a plan's task list, kept in the URL (?status=DONE&outcome=3&license=ADVANTAGE ...).

    Outcome and release choices are the plan's product's; an unknown value is a form error that the
    page shows next to the filter, and that filter is then ignored.
    """

    status = django_filters.ChoiceFilter(choices=TaskStatus.choices, empty_label="Any status", label="Status")
    outcome = django_filters.ModelChoiceFilter(
        field_name="outcomes", queryset=Outcome.objects.none(), empty_label="Any outcome", label="Outcome"
    )
    release = django_filters.ModelChoiceFilter(
        field_name="releases", queryset=Release.objects.none(), empty_label="Any release", label="Release"
    )
    license = django_filters.ChoiceFilter(
        choices=LICENSE_CHOICES, method="filter_license", empty_label="Any license", label="License"
    )
    source = django_filters.ChoiceFilter(
        field_name="status_update_source", choices=SOURCE_CHOICES, empty_label="Any source", label="Set by"
    )
    disagrees = django_filters.BooleanFilter(
        method="filter_disagrees",
        label="Telemetry disagrees",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = CustomerTask
        fields = ["status", "outcome", "release", "license", "source", "disagrees"]

    def __init__(self, data=None, queryset=None, *, plan, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.filters["outcome"].queryset = Outcome.objects.filter(product_id=plan.product_id).order_by("name", "pk")
        self.filters["release"].queryset = Release.objects.filter(product_id=plan.product_id).order_by("level", "pk")
        for name, field in self.form.fields.items():
            css = "form-check-input" if name == "disagrees" else "form-select form-select-sm"
            field.widget.attrs["class"] = css

    def filter_license(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(license_level=LicenseLevel[value].value)

    def filter_disagrees(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(pk__in=disagreeing_tasks().values("pk"))

    @property
    def active_count(self) -> int:
        """How many filters are in use (valid and not empty)."""
        if not self.is_bound or not hasattr(self.form, "cleaned_data"):
            self.form.is_valid()
        return sum(1 for value in getattr(self.form, "cleaned_data", {}).values() if value not in (None, "", False))
