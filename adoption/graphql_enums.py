"""GraphQL enums of the adoption choices, shared by every app's schema (one GraphQL type per enum)."""

import graphene

from adoption import choices


def described(type_description: str, value_descriptions: dict[str, str]):
    """An enum's description callable: graphene asks it for the type (None) and for each value."""

    def describe(value) -> str:
        return type_description if value is None else value_descriptions[value.name]

    return describe


LicenseLevel = graphene.Enum(
    "LicenseLevel",
    [(level.name, level.value) for level in choices.LicenseLevel],
    description=described(
        "License tiers, ordered ESSENTIAL < ADVANTAGE < SIGNATURE. A task is eligible for an assignment "
        "whose level is the task's level or higher.",
        {
            "ESSENTIAL": "The base tier: tasks at this level are in every plan.",
            "ADVANTAGE": "The middle tier: includes the ESSENTIAL tasks.",
            "SIGNATURE": "The top tier: includes the ESSENTIAL and ADVANTAGE tasks.",
        },
    ),
)
CustomerTaskStatus = graphene.Enum(
    "CustomerTaskStatus",
    [(s.name, s.value) for s in choices.TaskStatus],
    description=described(
        "A customer task's status; NOT_APPLICABLE tasks are left out of progress.",
        {
            "NOT_STARTED": "Nothing done yet; where every new task starts.",
            "IN_PROGRESS": "Begun: set by a user, or by telemetry when some but not all required attributes are met.",
            "DONE": "Complete: counts its weight into completedWeight; telemetry sets it when all required "
            "attributes are met.",
            "NOT_APPLICABLE": "Does not apply to this customer: left out of every total. Only a user sets it.",
        },
    ),
)
TelemetryDataType = graphene.Enum(
    "TelemetryDataType",
    [(t.name, t.value) for t in choices.DataType],
    description=described(
        "What a telemetry value is; a value of another type is refused.",
        {
            "BOOLEAN": "JSON true or false. Criteria: eq.",
            "NUMBER": "A JSON number. Criteria: eq, ne, gt, gte, lt, lte, between.",
            "STRING": "A JSON string. Criteria: eq, ne, contains, regex, in (optionally case-insensitive).",
            "TIMESTAMP": "An ISO 8601 date-time with time zone, or a date. Criteria: before, after, within_days.",
            "JSON": "Any JSON value except null. Criteria apply to the value at a dotted path.",
        },
    ),
)
StatusUpdateSource = graphene.Enum(
    "StatusUpdateSource",
    [(s.name, s.value) for s in choices.StatusSource],
    description=described(
        "Who set a task's status. Only MANUAL means a user owns it; telemetry moves every other task.",
        {
            "MANUAL": "A user set it (also to the status it already had): telemetry no longer changes it.",
            "TELEMETRY": "Evaluation of the task's telemetry set it, or a reset handed the task back to telemetry.",
            "SYNC": "Reserved for a status set by a plan sync; a sync keeps statuses as they are today.",
            "SYSTEM": "The system set it: new tasks start NOT_STARTED with this source.",
            "IMPORT": "Reserved for statuses imported directly; statuses that follow from imported telemetry "
            "values are TELEMETRY.",
        },
    ),
)
