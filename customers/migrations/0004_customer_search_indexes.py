# Customer search by name or description on PostgreSQL (pg_trgm comes from the audit migration).
from django.db import migrations

from config.search import AddIndexOnPostgreSQL, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_trigram_search_indexes"),
        ("customers", "0003_customer_name_unique_ci"),
    ]

    operations = [
        AddIndexOnPostgreSQL(model_name="customer", index=trigram_index("name", name="customer_name_trgm")),
        AddIndexOnPostgreSQL(
            model_name="customer", index=trigram_index("description", name="customer_description_trgm")
        ),
    ]
