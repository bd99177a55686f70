"""The Celery app: broker REDIS_URL, settings from Django's CELERY_* names, tasks from each app's
tasks.py. Run a worker with `make worker` (celery -A config worker) and beat with `make beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("adoption_planner")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
