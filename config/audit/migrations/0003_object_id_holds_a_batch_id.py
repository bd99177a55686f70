# object_id holds a whole telemetry batchId (100 characters). SQLite never enforces a varchar length,
# and altering the column there would rebuild the table with the PostgreSQL-only trigram indexes the
# migration state holds, so only PostgreSQL changes the column; the state changes everywhere.
from django.db import migrations, models


class AlterFieldOnPostgreSQL(migrations.AlterField):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_trigram_search_indexes"),
    ]

    operations = [
        AlterFieldOnPostgreSQL(
            model_name="auditlog",
            name="object_id",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
    ]
