"""The whole state of the domain tables, to assert that a refused or failed action changed nothing."""

from django.apps import apps

APPS = ("customers", "adoption", "telemetry", "audit")


def database_state(*, ignore: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    """Every row of every model of the domain apps and the audit log, ordered by primary key
    (many-to-many link tables included, as their auto-created through models). ``ignore`` names
    columns that may move on a refused request, as ``"telemetry.ApiKey.last_used_at"``."""
    state = {}
    for app_label in APPS:
        for model in apps.get_app_config(app_label).get_models(include_auto_created=True):
            label = model._meta.label
            skip = {name.rsplit(".", 1)[1] for name in ignore if name.rsplit(".", 1)[0] == label}
            rows = model.objects.order_by("pk").values()
            state[label] = [{k: v for k, v in row.items() if k not in skip} for row in rows]
    return state
