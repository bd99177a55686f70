"""Plans created before plan creation recorded the computed telemetry status left it empty on tasks
with active attributes until their first evaluation, so `telemetryDisagrees` answered false where it
should have been true. Fill it in from the stored isMet of the active attributes, exactly as an
evaluation computes it (required attributes met: DONE; some attribute met: IN_PROGRESS; else
NOT_STARTED; no attribute marked required: all count as required)."""

from collections import defaultdict

from django.db import migrations


def backfill(apps, schema_editor):
    CustomerTask = apps.get_model("adoption", "CustomerTask")
    CustomerTelemetryAttribute = apps.get_model("telemetry", "CustomerTelemetryAttribute")
    stale = CustomerTask.objects.filter(telemetry_status="")
    by_task = defaultdict(list)
    rows = CustomerTelemetryAttribute.objects.filter(is_active=True, customer_task__in=stale).values_list(
        "customer_task_id", "is_required", "is_met"
    )
    for task_id, is_required, is_met in rows.iterator(chunk_size=2000):
        by_task[task_id].append((is_required, is_met))
    by_status = defaultdict(list)
    for task_id, attributes in by_task.items():
        required = [met for is_required, met in attributes if is_required] or [met for _, met in attributes]
        if all(required):
            status = "DONE"
        elif any(met for _, met in attributes):
            status = "IN_PROGRESS"
        else:
            status = "NOT_STARTED"
        by_status[status].append(task_id)
    for status, ids in by_status.items():
        for start in range(0, len(ids), 2000):
            CustomerTask.objects.filter(pk__in=ids[start : start + 2000]).update(telemetry_status=status)


class Migration(migrations.Migration):
    dependencies = [
        ("adoption", "0002_initial"),
        ("telemetry", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
