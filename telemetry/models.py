import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from adoption.choices import DataType
from adoption.models import CatalogQuerySet
from config.search import trigram_index
from telemetry.criteria import validate_criterion


class TelemetryAttribute(models.Model):
    """Catalog definition: what to measure on a task and when it counts as met."""

    task = models.ForeignKey("adoption.Task", on_delete=models.CASCADE, related_name="telemetry_attributes")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    data_type = models.CharField(max_length=10, choices=DataType.choices)
    is_required = models.BooleanField(default=False)
    success_criteria = models.JSONField(default=dict, blank=True)
    order = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["task_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "name"],
                condition=Q(is_active=True),
                name="unique_active_attribute_name",
                violation_error_message="An active telemetry attribute of this task already has this name.",
            ),
            models.CheckConstraint(condition=Q(data_type__in=DataType.values), name="attribute_data_type_valid"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = validate_criterion(self.success_criteria, self.data_type)
        if errors:
            raise ValidationError({"success_criteria": [f"{e.path or '(root)'}: {e.message}" for e in errors]})


class CustomerTelemetryAttribute(models.Model):
    """Snapshot of a catalog attribute on a customer task, with the customer's own values."""

    # No index of its own: unique_customer_attribute_name begins with the task.
    customer_task = models.ForeignKey(
        "adoption.CustomerTask", on_delete=models.CASCADE, related_name="telemetry_attributes", db_index=False
    )
    original_attribute = models.ForeignKey(
        TelemetryAttribute, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer_attributes"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    data_type = models.CharField(max_length=10, choices=DataType.choices)
    is_required = models.BooleanField(default=False)
    success_criteria = models.JSONField(default=dict, blank=True)
    order = models.IntegerField(default=0)

    is_active = models.BooleanField(default=True)
    is_met = models.BooleanField(default=False)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="observedAt of the latest value: how fresh this attribute is."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_task_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer_task", "name"], name="unique_customer_attribute_name"),
            # One copy per catalog attribute in a task: sync matches copies to their original by this.
            models.UniqueConstraint(
                fields=["customer_task", "original_attribute"],
                condition=Q(original_attribute__isnull=False),
                name="unique_customer_attribute_original",
            ),
        ]
        indexes = [trigram_index("name", name="ctattr_name_trgm")]  # the admin's search on PostgreSQL

    def __str__(self):
        return self.name


class CustomerTelemetryValue(models.Model):
    """One observed value. "Latest" = greatest observed_at, then greatest id."""

    # No index of its own: value_attr_observed begins with the attribute.
    customer_attribute = models.ForeignKey(
        CustomerTelemetryAttribute, on_delete=models.CASCADE, related_name="values", db_index=False
    )
    value = models.JSONField()
    source = models.CharField(max_length=100, blank=True, default="")
    batch_id = models.CharField(max_length=100, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    observed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer_attribute_id", "observed_at", "id"]
        indexes = [
            models.Index(fields=["customer_attribute", "observed_at", "id"], name="value_attr_observed"),
            models.Index(fields=["batch_id"], name="value_batch"),
        ]
        # Nothing reads values by created_at (the admin lists them newest first along the primary
        # key): no index for it, one fewer entry for every value stored.

    def __str__(self):
        value = json.dumps(self.value, ensure_ascii=False)
        if len(value) > 60:
            value = value[:59] + "…"
        return f"{self.customer_attribute.name} = {value} ({self.observed_at:%Y-%m-%d %H:%M})"


class TelemetryBatch(models.Model):
    """One ingestion request of one customer, for idempotency by batchId."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="telemetry_batches")
    batch_id = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=30, default="api")
    actor_label = models.CharField(max_length=150, blank=True, default="")
    value_count = models.PositiveIntegerField(default=0)
    response = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["customer", "batch_id"], name="unique_customer_batch")]
        # The admin's list: newest first along created_at, its channel filter along channel.
        indexes = [
            models.Index(fields=["created_at"], name="batch_created"),
            models.Index(fields=["channel"], name="batch_channel"),
        ]
        verbose_name = "telemetry batch"
        verbose_name_plural = "telemetry batches"

    def __str__(self):
        return f"Batch {self.batch_id} of {self.customer}"


class ApiKey(models.Model):
    """A customer system's key for POST /api/v1/telemetry. Only the SHA-256 digest is kept."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.customer} {self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
