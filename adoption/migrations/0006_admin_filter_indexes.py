# An index the admin changelist reads along: its filter offers choices from the index, not a DISTINCT over the table.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("adoption", "0005_plan_totals_constraints"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="taskstatuschange",
            index=models.Index(fields=["actor"], name="history_actor"),
        ),
    ]
