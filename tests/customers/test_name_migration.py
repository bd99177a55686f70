"""Upgrading a database that already holds customers whose names differ only in case keeps every customer."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("customers", "0002_auditlog_moved_to_config_audit")]
AFTER = [("customers", "0003_customer_name_unique_ci")]


@pytest.mark.django_db(transaction=True)
def test_duplicate_names_are_renamed_not_lost():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("customers", "Customer")
    for name in ("Acme", "acme ", "ACME", "Other"):
        old.objects.create(name=name)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("customers", "Customer")
    assert list(new.objects.order_by("id").values_list("name", flat=True)) == ["Acme", "acme (2)", "ACME (3)", "Other"]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
