# Customer task search by name on PostgreSQL (pg_trgm comes from the audit migration).
from django.db import migrations

from config.search import AddIndexOnPostgreSQL, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_trigram_search_indexes"),
        ("adoption", "0003_job"),
    ]

    operations = [
        AddIndexOnPostgreSQL(model_name="customertask", index=trigram_index("name", name="ctask_name_trgm")),
    ]
