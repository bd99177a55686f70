from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim

from adoption.choices import LicenseLevel
from config.search import trigram_index


class Role(models.TextChoices):
    ADMIN = "ADMIN", "Admin"
    CATALOG_EDITOR = "CATALOG_EDITOR", "Catalog editor"
    CSM = "CSM", "Customer success manager"
    VIEWER = "VIEWER", "Viewer"


class UserProfile(models.Model):
    """The one place a user's role is stored. A superuser is ADMIN whatever this says."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class Customer(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    assigned_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_customers",
        help_text="CSMs and viewers who work with this customer.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name"]),
            # Search by name or description (pages, GraphQL, admin) on PostgreSQL.
            trigram_index("name", name="customer_name_trgm"),
            trigram_index("description", name="customer_description_trgm"),
        ]
        constraints = [
            # Names are unique regardless of case and surrounding spaces; customers.services checks
            # first and names the customer that has the name, this index holds under concurrency.
            models.UniqueConstraint(
                Lower(Trim("name")),
                name="unique_customer_name_ci",
                violation_error_message="A customer with this name already exists (names are unique regardless of case).",
            )
        ]

    def __str__(self):
        return self.name


class CustomerProduct(models.Model):
    """An assignment: the customer owns a product at a license level with chosen outcomes and releases.

    Empty outcome / release selections mean "all".
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey("adoption.Product", on_delete=models.PROTECT, related_name="assignments")
    license_level = models.PositiveSmallIntegerField(choices=LicenseLevel.choices, default=LicenseLevel.ESSENTIAL)
    selected_outcomes = models.ManyToManyField("adoption.Outcome", blank=True, related_name="+")
    selected_releases = models.ManyToManyField("adoption.Release", blank=True, related_name="+")
    purchased_at = models.DateTimeField()
    entitlements_changed_at = models.DateTimeField(
        help_text="Last change of license level, outcomes or releases; drives needsSync."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "product"], name="unique_customer_product"),
            models.CheckConstraint(condition=Q(license_level__in=[1, 2, 3]), name="customer_product_license_valid"),
        ]

    def __str__(self):
        return f"{self.customer} / {self.product} ({self.get_license_level_display()})"


class PersonalAccessToken(models.Model):
    """Bearer token for GraphQL clients. Only the SHA-256 digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, help_text="First characters of the token, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} {self.prefix}…"
