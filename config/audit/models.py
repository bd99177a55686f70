from django.conf import settings
from django.db import models

from config.search import trigram_index


class AuditLog(models.Model):
    """Append-only record of every write that matters. Rows are never updated or deleted by the
    application; the customer reference is a plain id so entries outlive the customer.

    The table keeps the name it had when the customers app owned the model.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Username, 'telemetry', 'api-key:<prefix>' or 'system'.")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    # Long enough for a telemetry batchId (at most 100 characters), the object of an ingestion entry.
    object_id = models.CharField(max_length=100, blank=True, default="")
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    summary = models.CharField(max_length=300, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "customers_auditlog"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="customers_a_object__f301ee_idx"),
            models.Index(fields=["action"], name="customers_a_action_0e0827_idx"),
            # The admin's actor filter reads its choices along this index (config.changelists).
            models.Index(fields=["actor_label"], name="audit_actor_label"),
            # The admin's search on PostgreSQL: every searched field has its trigram index.
            trigram_index("summary", name="audit_summary_trgm"),
            trigram_index("actor_label", name="audit_actor_label_trgm"),
            trigram_index("action", name="audit_action_trgm"),
            trigram_index("object_id", name="audit_object_id_trgm"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("audit log entries are append-only")
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
