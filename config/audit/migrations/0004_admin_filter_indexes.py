# An index the admin changelist reads along: its filter offers choices from the index, not a DISTINCT over the table.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_object_id_holds_a_batch_id"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditlog",
            index=models.Index(fields=["actor_label"], name="audit_actor_label"),
        ),
    ]
