"""The audit log moves from the customers app to config.audit without touching the database: the
table (customers_auditlog) and its indexes stay; only Django's model state and the content type move."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="customers", new="audit"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="auditlog").exists():
        ContentType.objects.filter(app_label=old, model="auditlog").update(app_label=new)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old="audit", new="customers")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "actor_label",
                            models.CharField(
                                help_text="Username, 'telemetry', 'api-key:<prefix>' or 'system'.", max_length=150
                            ),
                        ),
                        ("action", models.CharField(max_length=60)),
                        ("object_type", models.CharField(max_length=60)),
                        ("object_id", models.CharField(blank=True, default="", max_length=64)),
                        ("customer_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ("summary", models.CharField(blank=True, default="", max_length=300)),
                        ("details", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "customers_auditlog",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["object_type", "object_id"], name="customers_a_object__f301ee_idx"),
                            models.Index(fields=["action"], name="customers_a_action_0e0827_idx"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
