# Indexes the admin changelists read along: the batch list newest first and its channel filter (choices
# from the index, not a DISTINCT over the table); the customer attribute search by name on PostgreSQL.
from django.db import migrations, models

from config.search import AddIndexOnPostgreSQL, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_trigram_search_indexes"),  # pg_trgm
        ("customers", "0004_customer_search_indexes"),
        ("telemetry", "0004_unique_customer_attribute_original"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="telemetrybatch",
            index=models.Index(fields=["created_at"], name="batch_created"),
        ),
        migrations.AddIndex(
            model_name="telemetrybatch",
            index=models.Index(fields=["channel"], name="batch_channel"),
        ),
        AddIndexOnPostgreSQL(
            model_name="customertelemetryattribute", index=trigram_index("name", name="ctattr_name_trgm")
        ),
    ]
