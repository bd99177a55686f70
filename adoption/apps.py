from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    name = "adoption"
    verbose_name = "Catalog and adoption plans"

    def ready(self):
        from adoption import (
            signals,  # noqa: F401  (catalog change tracking)
            tasks,  # noqa: F401  (registers the job task with the Celery app in every process)
        )
