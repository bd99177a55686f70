# A status change (by hand, in bulk or from telemetry) rewrites the customer task's row. While the
# status was indexed (ctask_status, ctask_plan_status), every such rewrite was a new row version
# elsewhere in the table with a new entry in each of its eight indexes, the task name's trigram index
# among them: 1,250 tasks flipped by a telemetry batch took 27 ms to update. Without an index on the
# status, and with 15% of each page kept free (PostgreSQL's fillfactor), the new version fits beside
# the old one and no index is touched (a heap-only update): 8 ms for the same tasks. Every read by
# status is within a plan, along ctask_plan_seq.
#
# The foreign keys' own indexes go too where another index begins with the same column (the plan:
# unique_plan_original_task, ctask_plan_seq; the history's task: history_task_time): they answered
# nothing the longer ones do not, and every insert paid for them.
#
# The fillfactor is PostgreSQL's only (see config.search.SetFillfactor).

import django.db.models.deletion
from django.db import migrations, models

from config.search import DropColumnIndex, SetFillfactor


class Migration(migrations.Migration):
    dependencies = [
        ("adoption", "0006_admin_filter_indexes"),
    ]

    operations = [
        SetFillfactor(model_name="customertask", fillfactor=85),
        migrations.RemoveIndex(
            model_name="customertask",
            name="ctask_plan_status",
        ),
        migrations.RemoveIndex(
            model_name="customertask",
            name="ctask_status",
        ),
        DropColumnIndex(
            model_name="customertask",
            name="adoption_plan",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tasks",
                to="adoption.adoptionplan",
            ),
        ),
        DropColumnIndex(
            model_name="taskstatuschange",
            name="customer_task",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="history",
                to="adoption.customertask",
            ),
        ),
    ]
