"""Input validation for the plan pages. The services decide; these forms check shape and types and
map a service's DomainError(field=...) back onto the field that was wrong."""

import json
from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.formats import date_format

from adoption.choices import DataType, TaskStatus
from config.errors import DomainError

NOTE_MAX_LENGTH = 4000
# The service's field names (as GraphQL spells them) -> the form field that shows the error.
SERVICE_FIELDS = {
    "status": "status",
    "notes": "note",
    "customerTaskIds": "task",
    "value": "value",
    "values": "value",
    "observedAt": "observed_at",
}


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    name = SERVICE_FIELDS.get(error.field or "")
    form.add_error(name if name in form.fields else None, error.message)


class TaskStatusForm(forms.Form):
    status = forms.ChoiceField(choices=TaskStatus.choices, label="Status")
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        label="Note",
        help_text="Optional: why, or what was agreed with the customer.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class BulkStatusForm(forms.Form):
    task = forms.TypedMultipleChoiceField(
        coerce=int,
        label="Tasks",
        error_messages={"required": "Tick at least one task.", "invalid_choice": "%(value)s is not a task id."},
    )
    status = forms.ChoiceField(
        choices=[("", "Set status…"), *TaskStatus.choices],
        label="Set status",
        error_messages={"required": "Choose the status to set."},
    )
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note")

    def __init__(self, *args, task_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer is accepted here; the service refuses ids that are not tasks of the plan,
        # all or nothing, with a message that names them.
        self.fields["task"].choices = []
        self.fields["task"].valid_value = lambda value: str(value).strip().isdigit()


class TelemetryValueForm(forms.Form):
    """A value for one customer telemetry attribute, typed by its data type. The ingestion service
    (the same one GraphQL and the HTTP API use) checks it again and decides."""

    observed_at = forms.DateTimeField(
        required=False,
        label="Observed at",
        help_text="When it was true at the customer; empty means now.",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    notes = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note")

    def __init__(self, *args, attribute, **kwargs):
        kwargs.setdefault("auto_id", f"id_attr{attribute.pk}_%s")  # several cards on one page
        super().__init__(*args, **kwargs)
        self.attribute = attribute
        self.fields = {"value": self._value_field(attribute.data_type), **self.fields}
        for field in self.fields.values():
            is_checkbox = isinstance(field.widget, forms.CheckboxInput)
            css = "form-check-input" if is_checkbox else "form-control form-control-sm"
            field.widget.attrs["class"] = f"{css} {field.widget.attrs.get('class', '')}".strip()

    @staticmethod
    def _value_field(data_type: str) -> forms.Field:
        label = "Value"
        if data_type == DataType.BOOLEAN:
            return forms.BooleanField(required=False, label="True (ticked) or false (not ticked)")
        if data_type == DataType.NUMBER:
            return forms.DecimalField(
                label=label, max_digits=30, decimal_places=10, widget=forms.NumberInput(attrs={"step": "any"})
            )
        if data_type == DataType.STRING:
            return forms.CharField(label=label, max_length=10_000, strip=False)
        if data_type == DataType.TIMESTAMP:
            return forms.DateTimeField(
                label=label,
                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            )
        return forms.CharField(
            label="Value (JSON)",
            help_text='Any JSON value except null, e.g. {"enrolled": 93} or ["a", "b"].',
            widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
        )

    def clean_value(self):
        value = self.cleaned_data.get("value")
        data_type = self.attribute.data_type
        if data_type == DataType.NUMBER and value is not None:
            return int(value) if value == value.to_integral_value() else float(value)
        if data_type == DataType.TIMESTAMP and isinstance(value, datetime):
            return _aware(value).isoformat()
        if data_type == DataType.JSON:
            try:
                return json.loads(value)
            except ValueError as exc:
                raise forms.ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        return value

    def clean_observed_at(self):
        value = self.cleaned_data.get("observed_at")
        return _aware(value).isoformat() if value else None

    def add_ingestion_error(self, field: str | None, message: str) -> None:
        """Show one of the ingestion service's item errors under the field it names, in the page's words:
        the service speaks to API clients ("observedAt … is in the future"), the page to a person."""
        name = {"value": "value", "observedAt": "observed_at", "notes": "notes"}.get(field or "")
        if name == "observed_at":
            entered = self.cleaned_data.get("observed_at")
            moment = datetime.fromisoformat(entered) if entered else None
            if moment is not None and moment > timezone.now():
                shown = date_format(timezone.localtime(moment), "j M Y, H:i")
                message = f"{self.fields['observed_at'].label} can't be in the future (you entered {shown})."
        self.add_error(name if name in self.fields else None, message)

    def ingestion_item(self) -> dict:
        """The item the ingestion service takes, as GraphQL's addTelemetryValue builds it."""
        return {
            "customerAttributeId": str(self.attribute.pk),
            "value": self.cleaned_data["value"],
            "observedAt": self.cleaned_data.get("observed_at"),
            "notes": self.cleaned_data.get("notes") or None,
            "source": "manual entry",
        }


def _aware(value: datetime) -> datetime:
    """A datetime-local input is the user's wall clock in the site's time zone."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_current_timezone())
    return value
