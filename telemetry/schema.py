"""GraphQL types and mutations of telemetry: catalog attribute definitions, customer attributes and
values, ingestion, evaluation and reset to telemetry."""

import graphene
from django.db.models import OuterRef, Subquery

from adoption import catalog
from adoption.graphql_enums import TelemetryDataType
from adoption.models import AdoptionPlan, CustomerTask
from adoption.permissions import get_customer_task_for_user, get_plan_for_user, require_catalog_editor
from config.audit.services import actor_label_of
from config.graphql import (
    JSON,
    MAX_TELEMETRY_VALUES,
    DeleteResult,
    Relation,
    check_count,
    enum_value,
    fields_renamed,
    find,
    load,
    load_many,
    optional_string,
    register_relation,
    related,
    related_list,
    related_object,
    timestamp,
    user_of,
)
from telemetry.evaluation import adoption_plan_evaluate, evaluate_customer_tasks
from telemetry.models import CustomerTelemetryAttribute, CustomerTelemetryValue
from telemetry.permissions import telemetry_write_scope
from telemetry.services import customer_task_reset_to_telemetry, telemetry_ingest


def _latest_values():
    """Each attribute's latest value ("latest" = greatest observedAt, then greatest id)."""
    latest = (
        CustomerTelemetryValue.objects.filter(customer_attribute_id=OuterRef("customer_attribute_id"))
        .order_by("-observed_at", "-pk")
        .values("pk")[:1]
    )
    return CustomerTelemetryValue.objects.filter(pk=Subquery(latest))


register_relation(
    "CustomerTelemetryAttribute", "customerTask", Relation("customer_task", "CustomerTask", CustomerTask.objects.all)
)
register_relation(
    "CustomerTelemetryAttribute",
    "values",
    Relation(
        "values",
        "CustomerTelemetryValue",
        lambda: CustomerTelemetryValue.objects.order_by("observed_at", "pk"),
        "gql_values",
        paginated=True,
    ),
)
register_relation(
    "CustomerTelemetryAttribute",
    "latestValue",
    Relation("values", "CustomerTelemetryValue", _latest_values, "gql_latest_values"),
)
register_relation(
    "CustomerTelemetryValue",
    "customerAttribute",
    Relation("customer_attribute", "CustomerTelemetryAttribute", CustomerTelemetryAttribute.objects.all),
)


class TelemetryAttribute(graphene.ObjectType):
    class Meta:
        description = "A catalog definition: what to measure on a task and when it counts as met."

    id = graphene.ID(required=True, description="The definition's id (database key, as a string).")
    task_id = graphene.ID(required=True, description="The catalog task it belongs to.")
    name = graphene.String(required=True, description="Unique among the task's active attributes, e.g. active_users.")
    description = optional_string("description", description="Free text; null when empty.")
    data_type = graphene.Field(graphene.NonNull(TelemetryDataType), description="The type every value must have.")
    is_required = graphene.Boolean(
        required=True, description="Must be met for DONE. If a task marks none as required, all count as required."
    )
    success_criteria = graphene.Field(
        graphene.NonNull(JSON),
        description='When a value counts as met, e.g. {"op": "gte", "value": 90}; {} means any value.',
    )
    order = graphene.Int(required=True, description="Position among the task's attributes.")
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")


class CustomerTelemetryValue_(graphene.ObjectType):
    class Meta:
        name = "CustomerTelemetryValue"
        description = "One measurement of a customer telemetry attribute; values are never edited."

    id = graphene.ID(required=True, description="The value's id (database key, as a string).")
    customer_attribute = related_object(
        "CustomerTelemetryValue",
        "customerAttribute",
        "telemetry.schema.CustomerTelemetryAttribute_",
        description="The attribute measured.",
    )
    value = graphene.Field(graphene.NonNull(JSON), description="The value as sent, of the attribute's data type.")
    source = optional_string(
        "source", description='The sending system; when it named none, the channel: "graphql", "api" or "import".'
    )
    batch_id = optional_string("batch_id", description="The ingestion request's batchId; null when none was given.")
    notes = optional_string("notes", description="Free text sent with the value; null when empty.")
    observed_at = timestamp(
        "observed_at", required=True, description="When the value was true at the source, ISO 8601."
    )
    created_at = timestamp("created_at", required=True, description="When the value was received, ISO 8601.")


class CustomerTelemetryAttribute_(graphene.ObjectType):
    class Meta:
        name = "CustomerTelemetryAttribute"
        description = "A customer task's copy of a catalog telemetry attribute, with its values and isMet."

    id = graphene.ID(required=True, description="The customer attribute's id: what telemetry values name.")
    customer_task = related_object(
        "CustomerTelemetryAttribute",
        "customerTask",
        "adoption.schema.CustomerTask_",
        description="The customer task it belongs to.",
    )
    original_attribute_id = graphene.ID(description="The catalog definition it was copied from.")
    name = graphene.String(required=True, description="Copied from the catalog definition.")
    description = optional_string("description", description="Copied from the catalog definition; null when empty.")
    data_type = graphene.Field(graphene.NonNull(TelemetryDataType), description="The type every value must have.")
    is_required = graphene.Boolean(required=True, description="Must be met for the task to be DONE by telemetry.")
    success_criteria = graphene.Field(
        graphene.NonNull(JSON), description="When the latest value counts as met; {}: any value."
    )
    order = graphene.Int(required=True, description="Position among the task's attributes.")
    is_active = graphene.Boolean(
        required=True, description="False once a sync found the definition gone from the catalog; values are kept."
    )
    is_met = graphene.Boolean(
        required=True, description="Whether the latest value met the criteria at the last evaluation."
    )
    last_checked_at = timestamp("last_checked_at", description="When it was last evaluated, ISO 8601; null if never.")
    values = related_list(
        "CustomerTelemetryAttribute",
        "values",
        CustomerTelemetryValue_,
        page_of="values",
        description="Every value, oldest observedAt first (then by id); the newest is latestValue.",
    )
    latest_value = graphene.Field(
        CustomerTelemetryValue_,
        description="The value with the greatest observedAt (then the greatest id); null without values.",
    )
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")

    @staticmethod
    def resolve_latest_value(obj, info):
        latest = related(obj, info, "CustomerTelemetryAttribute", "latestValue")
        return latest[0] if latest else None


# ---------------------------------------------------------------------------------------------
# Mutations: values, evaluation, reset
# ---------------------------------------------------------------------------------------------


class AddTelemetryValueInput(graphene.InputObjectType):
    """One telemetry value for a customer telemetry attribute."""

    customer_attribute_id = graphene.ID(required=True, description="The customer telemetry attribute's id.")
    value = graphene.InputField(
        graphene.NonNull(JSON), description="A JSON value of the attribute's data type; null is refused."
    )
    source = graphene.String(description='The sending system, at most 100 characters; left out: "graphql".')
    batch_id = graphene.String(
        description="Idempotency key, at most 100 characters, the same on every value of a call: "
        "resending it with the same values stores nothing, with other values is a CONFLICT."
    )
    notes = graphene.String(description="Free text, at most 4,000 characters.")
    observed_at = graphene.String(description="ISO 8601; default: when the value is received.")


def _items(inputs) -> list[dict]:
    return [
        {
            "customerAttributeId": item.customer_attribute_id,
            "value": item.value,
            "source": item.source,
            "batchId": item.batch_id,
            "notes": item.notes,
            "observedAt": item.observed_at,
        }
        for item in inputs
    ]


def _ingest(info, inputs, *, field: str) -> list:
    """Store values as the user: attributes of customers they cannot see are NOT_FOUND (from the
    ingestion service), those of customers they may only read are FORBIDDEN; all or nothing."""
    user = user_of(info)
    visible = telemetry_write_scope(user, [item.customer_attribute_id for item in inputs], field=field)
    with fields_renamed({"values": field}):
        result = telemetry_ingest(actor=user, items=_items(inputs), allowed_customer_ids=visible, channel="graphql")
    return result.value_ids


class TelemetryMutation(graphene.ObjectType):
    add_customer_telemetry_value = graphene.Field(
        graphene.NonNull(CustomerTelemetryValue_),
        input=graphene.Argument(graphene.NonNull(AddTelemetryValueInput), description="The value."),
        description="Store one value and evaluate its task at once (telemetry moves the task unless a user owns it).",
    )
    bulk_add_customer_telemetry_values = graphene.List(
        graphene.NonNull(CustomerTelemetryValue_),
        required=True,
        inputs=graphene.Argument(
            graphene.NonNull(graphene.List(graphene.NonNull(AddTelemetryValueInput))),
            description="The values, in the order they are answered.",
        ),
        description=f"At most {MAX_TELEMETRY_VALUES} values per call; all or nothing.",
    )
    evaluate_task_telemetry = graphene.Field(
        graphene.NonNull("adoption.schema.CustomerTask_"),
        customer_task_id=graphene.ID(required=True, description="The customer task's id."),
        description="Re-check one task against its latest values now (time-based criteria move with the clock).",
    )
    evaluate_all_tasks_telemetry = graphene.Field(
        graphene.NonNull("adoption.schema.AdoptionPlan_"),
        adoption_plan_id=graphene.ID(required=True, description="The plan's id."),
        description="Re-check every (non-archived) task of a plan against its latest values now.",
    )
    reset_customer_task_to_telemetry = graphene.Field(
        graphene.NonNull("adoption.schema.CustomerTask_"),
        customer_task_id=graphene.ID(required=True, description="A customer task with active telemetry attributes."),
        description="Hand the task back to telemetry and apply the status its telemetry computes.",
    )

    @staticmethod
    def resolve_add_customer_telemetry_value(root, info, input):
        ids = _ingest(info, [input], field="input")
        return load(CustomerTelemetryValue, ids[0], info, "CustomerTelemetryValue")

    @staticmethod
    def resolve_bulk_add_customer_telemetry_values(root, info, inputs):
        check_count(inputs, limit=MAX_TELEMETRY_VALUES, field="inputs")
        ids = _ingest(info, inputs, field="inputs")
        return load_many(CustomerTelemetryValue.objects.all(), ids, info, "CustomerTelemetryValue")

    @staticmethod
    def resolve_evaluate_task_telemetry(root, info, customer_task_id):
        user = user_of(info)
        task = find(get_customer_task_for_user, user, customer_task_id, write=True, field="customerTaskId")
        evaluate_customer_tasks(
            task_ids=[task.pk], evidence_extra={"trigger": "task-evaluation", "requestedBy": actor_label_of(user)}
        )
        return load(CustomerTask, task.pk, info, "CustomerTask")

    @staticmethod
    def resolve_evaluate_all_tasks_telemetry(root, info, adoption_plan_id):
        user = user_of(info)
        plan = find(get_plan_for_user, user, adoption_plan_id, write=True, field="adoptionPlanId")
        adoption_plan_evaluate(actor=user, plan=plan)
        return load(AdoptionPlan, plan.pk, info, "AdoptionPlan")

    @staticmethod
    def resolve_reset_customer_task_to_telemetry(root, info, customer_task_id):
        user = user_of(info)
        task = find(get_customer_task_for_user, user, customer_task_id, write=True, field="customerTaskId")
        customer_task_reset_to_telemetry(actor=user, task=task)
        return load(CustomerTask, task.pk, info, "CustomerTask")


# ---------------------------------------------------------------------------------------------
# Mutations: catalog attribute definitions (ADMIN and CATALOG_EDITOR)
# ---------------------------------------------------------------------------------------------


class TelemetryAttributeInput(graphene.InputObjectType):
    """A new telemetry definition on a catalog task."""

    task_id = graphene.ID(required=True, description="The active catalog task it belongs to.")
    name = graphene.String(
        required=True, description="Unique among the task's active attributes, at most 100 characters."
    )
    description = graphene.String(description="Free text.")
    data_type = graphene.InputField(graphene.NonNull(TelemetryDataType), description="The type every value must have.")
    is_required = graphene.Boolean(description="Must be met for DONE; left out: false.")
    success_criteria = graphene.InputField(
        JSON,
        description='A criterion such as {"op": "gte", "value": 90}, checked against the data type; null or {} '
        "(or left out) mean any value.",
    )
    order = graphene.Int(description="Position among the task's attributes; left out: 0.")


class TelemetryAttributeUpdateInput(graphene.InputObjectType):
    """Changes to a telemetry definition; plans pick them up when synced."""

    name = graphene.String(description="Unique among the task's active attributes. Left out means unchanged.")
    description = graphene.String(description="Free text. Left out means unchanged.")
    data_type = graphene.InputField(
        TelemetryDataType, description="The criteria must fit the new type. Left out means unchanged."
    )
    is_required = graphene.Boolean(description="Must be met for DONE. Left out means unchanged.")
    success_criteria = graphene.InputField(JSON, description="null or {} mean no criteria; leave out to keep.")
    order = graphene.Int(description="Position among the task's attributes. Left out means unchanged.")


class TelemetryCatalogMutation(graphene.ObjectType):
    create_telemetry_attribute = graphene.Field(
        graphene.NonNull(TelemetryAttribute),
        input=graphene.Argument(graphene.NonNull(TelemetryAttributeInput), description="The new definition."),
        description="Add a telemetry definition to a catalog task. ADMIN and CATALOG_EDITOR only.",
    )
    update_telemetry_attribute = graphene.Field(
        graphene.NonNull(TelemetryAttribute),
        id=graphene.ID(required=True, description="The active definition's id."),
        input=graphene.Argument(graphene.NonNull(TelemetryAttributeUpdateInput), description="The fields to change."),
        description="Change a telemetry definition. ADMIN and CATALOG_EDITOR only.",
    )
    delete_telemetry_attribute = graphene.Field(
        graphene.NonNull(DeleteResult),
        id=graphene.ID(required=True, description="The active definition's id."),
        description="Delete a telemetry definition (soft): plans keep their copies, which become inactive on sync "
        "and keep their values. ADMIN and CATALOG_EDITOR only.",
    )

    @staticmethod
    def resolve_create_telemetry_attribute(root, info, input):
        user = user_of(info)
        require_catalog_editor(user)
        task = find(catalog.catalog_task_get, input.task_id, field="taskId")
        return catalog.telemetry_attribute_create(
            actor=user,
            task=task,
            name=input.name,
            data_type=enum_value(input.data_type),
            description=input.description,
            is_required=bool(input.is_required),
            success_criteria=input.success_criteria,
            order=input.order or 0,
        )

    @staticmethod
    def resolve_update_telemetry_attribute(root, info, id, input):
        user = user_of(info)
        require_catalog_editor(user)
        attribute = find(catalog.catalog_attribute_get, id, field="id")
        changes = {
            "name": input.name,
            "description": input.description,
            "is_required": input.is_required,
            "order": input.order,
            "data_type": enum_value(input.data_type) if input.data_type is not None else None,
        }
        if "success_criteria" in input:
            changes["success_criteria"] = input.success_criteria
        return catalog.telemetry_attribute_update(actor=user, attribute=attribute, **changes)

    @staticmethod
    def resolve_delete_telemetry_attribute(root, info, id):
        user = user_of(info)
        require_catalog_editor(user)
        attribute = find(catalog.catalog_attribute_get, id, field="id")
        return catalog.telemetry_attribute_delete(actor=user, attribute=attribute)
