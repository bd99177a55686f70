from django.apps import AppConfig


class KernelConfig(AppConfig):
    """The kernel's start-up: what every process needs before the first request."""

    name = "config"
    label = "kernel"
    verbose_name = "Kernel"

    def ready(self):
        from django.db.backends.signals import connection_created

        from config import timestamps

        connection_created.connect(timestamps.install, dispatch_uid="config.timestamps")
