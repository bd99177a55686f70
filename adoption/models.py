from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from adoption.choices import LicenseLevel, StatusSource, TaskStatus
from config.search import trigram_index

WEIGHT_MAX = Decimal("9999.99")


def _empty_list():
    return []


class CatalogQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


# ---------------------------------------------------------------------------------------------
# Catalog. Deletes are soft (is_active=False): existing plans keep their snapshots, and a sync
# archives their copies. Every catalog write bumps Product.catalog_changed_at (adoption.signals).
# ---------------------------------------------------------------------------------------------


class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    catalog_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last change of this product's tasks, attributes or links."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(is_active=True),
                name="unique_active_product_name",
                violation_error_message="An active product already has this name.",
            )
        ]

    def __str__(self):
        return self.name


class Outcome(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="outcomes")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "name"],
                condition=Q(is_active=True),
                name="unique_active_outcome_name",
                violation_error_message="An active outcome of this product already has this name.",
            )
        ]

    def __str__(self):
        return self.name


class Release(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="releases")
    name = models.CharField(max_length=100)
    level = models.DecimalField(max_digits=10, decimal_places=3, help_text="Numeric version, e.g. 7.2")
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "level", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "name"],
                condition=Q(is_active=True),
                name="unique_active_release_name",
                violation_error_message="An active release of this product already has this name.",
            )
        ]

    def __str__(self):
        return self.name


class Task(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    est_minutes = models.PositiveIntegerField(default=0)
    weight = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(WEIGHT_MAX)],
    )
    sequence_number = models.PositiveIntegerField(default=0)
    priority = models.CharField(max_length=30, blank=True, default="")
    how_to_doc = models.JSONField(default=_empty_list, blank=True, help_text="List of URLs")
    how_to_video = models.JSONField(default=_empty_list, blank=True, help_text="List of URLs")
    notes = models.TextField(blank=True, default="")
    license_level = models.PositiveSmallIntegerField(choices=LicenseLevel.choices, default=LicenseLevel.ESSENTIAL)
    outcomes = models.ManyToManyField(Outcome, blank=True, related_name="tasks")
    releases = models.ManyToManyField(Release, blank=True, related_name="tasks")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "sequence_number", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0) & Q(weight__lte=WEIGHT_MAX), name="task_weight_range"),
            models.CheckConstraint(condition=Q(license_level__in=[1, 2, 3]), name="task_license_valid"),
        ]
        indexes = [models.Index(fields=["product", "is_active", "license_level"])]

    def __str__(self):
        return self.name


# ---------------------------------------------------------------------------------------------
# Plans: the customer's own snapshot of the eligible tasks.
# ---------------------------------------------------------------------------------------------


class AdoptionPlan(models.Model):
    customer_product = models.OneToOneField(
        "customers.CustomerProduct", on_delete=models.CASCADE, related_name="adoption_plan"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="adoption_plans")
    product_name = models.CharField(max_length=200)
    license_level = models.PositiveSmallIntegerField(choices=LicenseLevel.choices)
    selected_outcomes = models.ManyToManyField(Outcome, blank=True, related_name="+")
    selected_releases = models.ManyToManyField(Release, blank=True, related_name="+")

    total_tasks = models.PositiveIntegerField(default=0)
    completed_tasks = models.PositiveIntegerField(default=0)
    total_weight = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    completed_weight = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    progress_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))

    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_percentage__gte=0) & Q(progress_percentage__lte=100), name="plan_progress_range"
            ),
            # The totals are sums over the plan's tasks, whose weights are never negative, and the DONE
            # tasks are some of the applicable ones: progress is computed from these.
            models.CheckConstraint(
                condition=Q(total_weight__gte=0) & Q(completed_weight__gte=0), name="plan_weights_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(completed_weight__lte=F("total_weight")) & Q(completed_tasks__lte=F("total_tasks")),
                name="plan_completed_within_total",
            ),
        ]

    def __str__(self):
        return f"Plan {self.pk}: {self.product_name}"


class CustomerTaskQuerySet(models.QuerySet):
    def visible(self):
        """Tasks a plan shows: archived ones are left out of every list."""
        return self.filter(is_archived=False)


class CustomerTask(models.Model):
    # No index of its own: unique_plan_original_task and ctask_plan_seq begin with the plan.
    adoption_plan = models.ForeignKey(AdoptionPlan, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    original_task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="customer_tasks")

    # Snapshot of the catalog task.
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    est_minutes = models.PositiveIntegerField(default=0)
    weight = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1.00"))
    sequence_number = models.PositiveIntegerField(default=0)
    priority = models.CharField(max_length=30, blank=True, default="")
    how_to_doc = models.JSONField(default=_empty_list, blank=True)
    how_to_video = models.JSONField(default=_empty_list, blank=True)
    notes = models.TextField(blank=True, default="")
    license_level = models.PositiveSmallIntegerField(choices=LicenseLevel.choices)
    outcomes = models.ManyToManyField(Outcome, blank=True, related_name="+", through="CustomerTaskOutcome")
    releases = models.ManyToManyField(Release, blank=True, related_name="+", through="CustomerTaskRelease")

    # The customer's own status.
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    status_updated_by = models.CharField(max_length=150, blank=True, default="")
    status_update_source = models.CharField(max_length=20, choices=StatusSource.choices, default=StatusSource.SYSTEM)
    status_notes = models.TextField(blank=True, default="")
    telemetry_status = models.CharField(
        max_length=20,
        choices=TaskStatus.choices,
        blank=True,
        default="",
        help_text="Status the telemetry computed at the last evaluation; empty without active attributes.",
    )
    is_complete = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.CharField(max_length=150, blank=True, default="")

    # Archived tasks left the plan on a sync; they keep status, history and values.
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerTaskQuerySet.as_manager()

    class Meta:
        ordering = ["adoption_plan_id", "sequence_number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["adoption_plan", "original_task"], name="unique_plan_original_task"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="customer_task_weight_nonnegative"),
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="customer_task_status_valid"),
            models.CheckConstraint(
                condition=(Q(status="DONE", is_complete=True) | (~Q(status="DONE") & Q(is_complete=False))),
                name="customer_task_complete_iff_done",
            ),
        ]
        indexes = [
            models.Index(fields=["adoption_plan", "is_archived", "sequence_number"], name="ctask_plan_seq"),
            trigram_index("name", name="ctask_name_trgm"),  # search by task name on PostgreSQL
        ]
        # The status is not indexed on purpose: a status change (by hand, in bulk, from telemetry)
        # then touches no indexed column, so PostgreSQL writes the row's new version beside the old
        # one and none of the table's indexes (see migration 0007, fillfactor). Every read by status
        # is a plan's, along ctask_plan_seq; the admin's status filter pages along the primary key.

    def __str__(self):
        return self.name

    @property
    def is_user_owned(self) -> bool:
        return self.status_update_source == StatusSource.MANUAL

    @property
    def telemetry_disagrees(self) -> bool:
        return bool(self.is_user_owned and self.telemetry_status and self.telemetry_status != self.status)


class CustomerTaskOutcome(models.Model):
    customer_task = models.ForeignKey(CustomerTask, on_delete=models.CASCADE)
    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer_task", "outcome"], name="unique_ctask_outcome")]

    def __str__(self):
        return str(self.outcome)


class CustomerTaskRelease(models.Model):
    customer_task = models.ForeignKey(CustomerTask, on_delete=models.CASCADE)
    release = models.ForeignKey(Release, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer_task", "release"], name="unique_ctask_release")]

    def __str__(self):
        return str(self.release)


class TaskStatusChange(models.Model):
    """Immutable history of a customer task's status. Never edited, never lost on sync."""

    # No index of its own: history_task_time begins with the task.
    customer_task = models.ForeignKey(CustomerTask, on_delete=models.CASCADE, related_name="history", db_index=False)
    from_status = models.CharField(max_length=20, choices=TaskStatus.choices, blank=True, default="")
    to_status = models.CharField(max_length=20, choices=TaskStatus.choices)
    source = models.CharField(max_length=20, choices=StatusSource.choices)
    actor = models.CharField(max_length=150)
    note = models.TextField(blank=True, default="")
    evidence = models.JSONField(default=dict, blank=True)
    # Not indexed on its own: a task's history is read along history_task_time, and the admin's list
    # pages newest first along the primary key (its date ranges are recent rows, read first).
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["customer_task", "created_at"], name="history_task_time"),
            models.Index(fields=["actor"], name="history_actor"),  # the admin's actor filter reads along it
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("status history is append-only")
        super().save(*args, **kwargs)

    def __str__(self):
        before = self.get_from_status_display() or "(new)"
        return f"{self.customer_task.name}: {before} → {self.get_to_status_display()} ({self.get_source_display()})"


# ---------------------------------------------------------------------------------------------
# Background jobs (adoption.jobs): one row per job, whatever runs it (a Celery worker, or the
# request itself when no broker is configured). Progress is written as the job goes, in short
# transactions of its own, so the page and the API that watch it see it move.
# ---------------------------------------------------------------------------------------------


class Job(models.Model):
    class Kind(models.TextChoices):
        TELEMETRY_IMPORT = "TELEMETRY_IMPORT", "Telemetry spreadsheet import"
        PRODUCT_SYNC = "PRODUCT_SYNC", "Sync every plan of a product"
        CRITERIA_REEVALUATION = "CRITERIA_REEVALUATION", "Sync and re-evaluate plans after a criterion change"
        DAILY_REEVALUATION = "DAILY_REEVALUATION", "Daily re-evaluation of time-based criteria"

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="0 while the amount of work is not known yet.")
    message = models.CharField(max_length=300, blank=True, default="")
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # An uploaded file waiting for its import (kept in the database, so any worker can read it);
    # emptied when the job has finished.
    input_file = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["started_by", "-created_at"], name="job_started_by_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]), name="job_status_valid"
            ),
        ]

    def __str__(self):
        return f"Job {self.pk}: {self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percentage(self) -> int | None:
        """Whole percent done, or None while the total is unknown."""
        if not self.total:
            return 100 if self.status == self.Status.SUCCEEDED else None
        return min(100, self.done * 100 // self.total)
