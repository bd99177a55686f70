"""GraphQL enums of the adoption choices, shared by every app's schema (one GraphQL type per enum)."""

import graphene

from adoption import choices

LicenseLevel = graphene.Enum(
    "LicenseLevel",
    [(level.name, level.value) for level in choices.LicenseLevel],
    description="License tiers, ordered ESSENTIAL < ADVANTAGE < SIGNATURE.",
)
CustomerTaskStatus = graphene.Enum(
    "CustomerTaskStatus",
    [(s.name, s.value) for s in choices.TaskStatus],
    description="A customer task's status; NOT_APPLICABLE tasks are left out of progress.",
)
TelemetryDataType = graphene.Enum(
    "TelemetryDataType",
    [(t.name, t.value) for t in choices.DataType],
    description="What a telemetry value is: a JSON boolean, number, string, ISO 8601 timestamp or any JSON.",
)
StatusUpdateSource = graphene.Enum(
    "StatusUpdateSource",
    [(s.name, s.value) for s in choices.StatusSource],
    description="Who set a task's status: a user (MANUAL), telemetry evaluation, sync, the system or an import.",
)
