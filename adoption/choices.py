"""Enumerations shared by models, services, forms, pages and GraphQL."""

from django.db import models


class LicenseLevel(models.IntegerChoices):
    # Stored as integers so that "task level <= assignment level" is a plain SQL comparison.
    ESSENTIAL = 1, "Essential"
    ADVANTAGE = 2, "Advantage"
    SIGNATURE = 3, "Signature"

    @classmethod
    def from_name(cls, name: str) -> "LicenseLevel":
        """ESSENTIAL / essential / Essential -> LicenseLevel; raises ValueError naming the choices."""
        if isinstance(name, cls):
            return name
        key = str(name).strip().upper()
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown license level {name!r}; expected one of {', '.join(cls.names)}") from None


class TaskStatus(models.TextChoices):
    NOT_STARTED = "NOT_STARTED", "Not started"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    DONE = "DONE", "Done"
    NOT_APPLICABLE = "NOT_APPLICABLE", "Not applicable"


class StatusSource(models.TextChoices):
    MANUAL = "MANUAL", "Manual"
    TELEMETRY = "TELEMETRY", "Telemetry"
    SYNC = "SYNC", "Sync"
    SYSTEM = "SYSTEM", "System"
    IMPORT = "IMPORT", "Import"


class DataType(models.TextChoices):
    BOOLEAN = "BOOLEAN", "Boolean"
    NUMBER = "NUMBER", "Number"
    STRING = "STRING", "String"
    TIMESTAMP = "TIMESTAMP", "Timestamp"
    JSON = "JSON", "JSON"
