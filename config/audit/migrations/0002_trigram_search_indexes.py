# Search indexes for the admin's audit log search. pg_trgm is created here, the lowest app, for every
# trigram index of the project; on SQLite both operations do nothing.
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from config.search import AddIndexOnPostgreSQL, trigram_index


def trigram(field, name):
    return trigram_index(field, name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        AddIndexOnPostgreSQL(model_name="auditlog", index=trigram("summary", "audit_summary_trgm")),
        AddIndexOnPostgreSQL(model_name="auditlog", index=trigram("actor_label", "audit_actor_label_trgm")),
        AddIndexOnPostgreSQL(model_name="auditlog", index=trigram("action", "audit_action_trgm")),
        AddIndexOnPostgreSQL(model_name="auditlog", index=trigram("object_id", "audit_object_id_trgm")),
    ]
