# The foreign keys' own indexes go where another index begins with the same column: the attribute's
# task (unique_customer_attribute_name) and the value's attribute (value_attr_observed, which finds
# an attribute's latest value). They answered nothing the longer ones do not, and every insert paid
# for them: the values table is the largest of all.

import django.db.models.deletion
from django.db import migrations, models

from config.search import DropColumnIndex


class Migration(migrations.Migration):
    dependencies = [
        ("adoption", "0007_status_changes_heap_only"),
        ("telemetry", "0006_attribute_fillfactor"),
    ]

    operations = [
        DropColumnIndex(
            model_name="customertelemetryattribute",
            name="customer_task",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="telemetry_attributes",
                to="adoption.customertask",
            ),
        ),
        DropColumnIndex(
            model_name="customertelemetryvalue",
            name="customer_attribute",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="values",
                to="telemetry.customertelemetryattribute",
            ),
        ),
    ]
