"""GraphQL types, queries and mutations of the catalog and of adoption plans. Thin resolvers:
authorize with the permissions modules, call services and selectors, load results with the
prefetches their selection needs (config.graphql)."""

import graphene
from graphene.utils.str_converters import to_camel_case

from adoption import catalog
from adoption.graphql_enums import CustomerTaskStatus, LicenseLevel, StatusUpdateSource
from adoption.models import AdoptionPlan, CustomerTask, Outcome, Product, Release, Task, TaskStatusChange
from adoption.permissions import (
    get_customer_task_for_user,
    get_plan_for_user,
    get_product_for_user,
    products_visible_to,
    require_catalog_editor,
)
from adoption.progress import percentage
from adoption.selectors import plan_needs_sync, plan_tasks_in_order, plans_of_customer
from adoption.services import (
    adoption_plan_create,
    adoption_plan_sync,
    adoption_plan_sync_preview,
    customer_task_update_status,
    customer_tasks_bulk_update_status,
)
from config.graphql import (
    JSON,
    MAX_TASK_IDS,
    DeleteResult,
    Relation,
    check_count,
    enum_value,
    fields_renamed,
    find,
    load,
    load_many,
    optimize,
    optional_string,
    page_arguments,
    paginate,
    register_needs,
    register_relation,
    related,
    related_list,
    related_object,
    search_text,
    timestamp,
    user_of,
)
from customers.models import CustomerProduct
from customers.permissions import get_assignment_for_user, get_customer_for_user
from telemetry.models import CustomerTelemetryAttribute, TelemetryAttribute

# ---------------------------------------------------------------------------------------------
# How nested fields load (one query per relation and level, whatever the number of rows)
# ---------------------------------------------------------------------------------------------

register_relation(
    "Product",
    "outcomes",
    Relation(
        "outcomes", "Outcome", lambda: Outcome.objects.filter(is_active=True).order_by("name", "pk"), "gql_outcomes"
    ),
)
register_relation(
    "Product",
    "releases",
    Relation(
        "releases", "Release", lambda: Release.objects.filter(is_active=True).order_by("level", "pk"), "gql_releases"
    ),
)
register_relation(
    "Product",
    "tasks",
    Relation(
        "tasks", "Task", lambda: Task.objects.filter(is_active=True).order_by("sequence_number", "pk"), "gql_tasks"
    ),
)
register_relation(
    "Task",
    "outcomes",
    Relation(
        "outcomes", "Outcome", lambda: Outcome.objects.filter(is_active=True).order_by("name", "pk"), "gql_outcomes"
    ),
)
register_relation(
    "Task",
    "releases",
    Relation(
        "releases", "Release", lambda: Release.objects.filter(is_active=True).order_by("level", "pk"), "gql_releases"
    ),
)
register_relation(
    "Task",
    "telemetryAttributes",
    Relation(
        "telemetry_attributes",
        "TelemetryAttribute",
        lambda: TelemetryAttribute.objects.filter(is_active=True).order_by("order", "pk"),
        "gql_attributes",
    ),
)

register_relation(
    "AdoptionPlan",
    "customerProduct",
    Relation("customer_product", "CustomerProductWithPlan", CustomerProduct.objects.all),
)
register_relation("AdoptionPlan", "product", Relation("product", "Product", Product.objects.all))
register_relation(
    "AdoptionPlan",
    "selectedOutcomes",
    Relation("selected_outcomes", "Outcome", lambda: Outcome.objects.order_by("name", "pk"), "gql_selected_outcomes"),
)
register_relation(
    "AdoptionPlan",
    "selectedReleases",
    Relation("selected_releases", "Release", lambda: Release.objects.order_by("level", "pk"), "gql_selected_releases"),
)
register_relation(
    "AdoptionPlan",
    "tasks",
    Relation(
        "tasks", "CustomerTask", lambda: CustomerTask.objects.visible().order_by("sequence_number", "pk"), "gql_tasks"
    ),
)
register_needs("AdoptionPlan", "tasksByStatus", "tasks", pass_selection=True)
register_needs("AdoptionPlan", "needsSync", "customerProduct", "product")

register_relation("CustomerTask", "adoptionPlan", Relation("adoption_plan", "AdoptionPlan", AdoptionPlan.objects.all))
register_relation(
    "CustomerTask",
    "outcomes",
    Relation("outcomes", "Outcome", lambda: Outcome.objects.order_by("name", "pk"), "gql_outcomes"),
)
register_relation(
    "CustomerTask",
    "releases",
    Relation("releases", "Release", lambda: Release.objects.order_by("level", "pk"), "gql_releases"),
)
register_relation(
    "CustomerTask",
    "telemetryAttributes",
    Relation(
        "telemetry_attributes",
        "CustomerTelemetryAttribute",
        lambda: CustomerTelemetryAttribute.objects.order_by("order", "pk"),
        "gql_attributes",
    ),
)
register_relation(
    "CustomerTask",
    "history",
    Relation(
        "history",
        "TaskStatusChange",
        lambda: TaskStatusChange.objects.order_by("created_at", "pk"),
        "gql_history",
        paginated=True,
    ),
)
register_needs("CustomerTask", "telemetryProgress", "telemetryAttributes")


# ---------------------------------------------------------------------------------------------
# Catalog types
# ---------------------------------------------------------------------------------------------


class Outcome_(graphene.ObjectType):
    class Meta:
        name = "Outcome"
        description = "A business goal of a product; tasks are tagged with the outcomes they serve."

    id = graphene.ID(required=True, description="The outcome's id (database key, as a string).")
    product_id = graphene.ID(required=True, description="The product this outcome belongs to.")
    name = graphene.String(required=True, description="Unique among the product's active outcomes.")
    description = optional_string("description", description="Free text; null when empty.")


class Release_(graphene.ObjectType):
    class Meta:
        name = "Release"
        description = "A product version: a name and a numeric level such as 7.2."

    id = graphene.ID(required=True, description="The release's id (database key, as a string).")
    product_id = graphene.ID(required=True, description="The product this release belongs to.")
    name = graphene.String(
        required=True, description='The version as people say it, e.g. "7.2"; unique in the product.'
    )
    level = graphene.Float(
        required=True, description="Numeric version used for ordering, 0 to 9999999.999 with at most 3 decimals."
    )
    description = optional_string("description", description="Free text; null when empty.")


class Task_(graphene.ObjectType):
    class Meta:
        name = "Task"
        description = "A catalog task: what adopting a product takes."

    id = graphene.ID(required=True, description="The catalog task's id (database key, as a string).")
    product_id = graphene.ID(required=True, description="The product this task belongs to.")
    name = graphene.String(required=True, description="Unique among the product's active tasks.")
    description = optional_string("description", description="What the task is about; null when empty.")
    est_minutes = graphene.Int(required=True, description="Estimated effort in minutes (0 or more).")
    weight = graphene.Float(
        required=True,
        description="Share of the plan's progress, 0 to 9999.99 with 2 decimals; 0 means not counted.",
    )
    sequence_number = graphene.Int(required=True, description="Position in the product's task order (0 or more).")
    priority = optional_string("priority", description='Free text such as "High"; null when empty.')
    license_level = graphene.Field(
        graphene.NonNull(LicenseLevel), description="The lowest license level whose plans include this task."
    )
    notes = optional_string("notes", description="Notes for the CSM; null when empty.")
    how_to_doc = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Documentation links (http/https URLs)."
    )
    how_to_video = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Video links (http/https URLs)."
    )
    outcomes = related_list(
        "Task", "outcomes", Outcome_, description="Active outcomes this task serves; empty means a general task."
    )
    releases = related_list(
        "Task", "releases", Release_, description="Active releases this task applies to; empty means every release."
    )
    telemetry_attributes = related_list(
        "Task",
        "telemetryAttributes",
        "telemetry.schema.TelemetryAttribute",
        description="Active telemetry definitions of this task, in their order.",
    )
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")


class Product_(graphene.ObjectType):
    class Meta:
        name = "Product"
        description = "A product of the vendor's catalog, with its outcomes, releases and tasks."

    id = graphene.ID(required=True, description="The product's id (database key, as a string).")
    name = graphene.String(required=True, description="Unique among active products.")
    description = optional_string("description", description="Free text; null when empty.")
    outcomes = related_list("Product", "outcomes", Outcome_, description="Active outcomes, by name.")
    releases = related_list("Product", "releases", Release_, description="Active releases, by level.")
    tasks = related_list("Product", "tasks", Task_, description="Active tasks, by sequenceNumber.")
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")


# ---------------------------------------------------------------------------------------------
# Plan types
# ---------------------------------------------------------------------------------------------


class TelemetryProgress(graphene.ObjectType):
    """How far a customer task's telemetry is, over its active attributes. If the task marks no
    attribute as required, all of them count as required."""

    total_attributes = graphene.Int(required=True, description="Active attributes of the task.")
    required_attributes = graphene.Int(required=True, description="Active attributes that count as required.")
    met_attributes = graphene.Int(required=True, description="Active attributes whose criteria are met.")
    met_required_attributes = graphene.Int(required=True, description="Required attributes that are met.")
    completion_percentage = graphene.Float(
        required=True,
        description="metAttributes / totalAttributes x 100, percent rounded half up to 2 decimals; 0 without attributes.",
    )
    all_required_met = graphene.Boolean(
        required=True, description="True when every required attribute is met (false without attributes)."
    )


def telemetry_progress(attributes) -> dict:
    """Over the active attributes; if none is marked required, all count as required."""
    active = [a for a in attributes if a.is_active]
    required = [a for a in active if a.is_required] or active
    met = [a for a in active if a.is_met]
    met_required = [a for a in required if a.is_met]
    return {
        "total_attributes": len(active),
        "required_attributes": len(required),
        "met_attributes": len(met),
        "met_required_attributes": len(met_required),
        "completion_percentage": percentage(len(met), len(active)),
        "all_required_met": bool(active) and len(met_required) == len(required),
    }


class TaskStatusChange_(graphene.ObjectType):
    class Meta:
        name = "TaskStatusChange"
        description = "One immutable entry of a customer task's status history."

    id = graphene.ID(required=True, description="The entry's id (database key, as a string).")
    from_status = graphene.Field(
        CustomerTaskStatus, description="The status before the change; null if none was recorded."
    )
    to_status = graphene.Field(graphene.NonNull(CustomerTaskStatus), description="The status after.")
    source = graphene.Field(graphene.NonNull(StatusUpdateSource), description="Who made the change.")
    actor = graphene.String(required=True, description='Username, "telemetry" or "system".')
    note = optional_string("note", description="The note given with the change; null when none.")
    evidence = graphene.Field(
        graphene.NonNull(JSON),
        description="For telemetry changes: computedStatus and, per attribute, name, value, observedAt, criterion "
        "(in words) and isMet, plus the batchId or trigger; {} for changes by a user.",
    )
    created_at = timestamp("created_at", required=True, description="When the change happened, ISO 8601.")

    @staticmethod
    def resolve_from_status(obj, info):
        return obj.from_status or None


class CustomerTask_(graphene.ObjectType):
    class Meta:
        name = "CustomerTask"
        description = (
            "A task in a customer's adoption plan: a snapshot of a catalog task, with its own status, "
            "history and telemetry."
        )

    id = graphene.ID(required=True, description="The customer task's id (database key, as a string).")
    adoption_plan = related_object(
        "CustomerTask", "adoptionPlan", "adoption.schema.AdoptionPlan_", description="The plan this task belongs to."
    )
    original_task_id = graphene.ID(required=True, description="The catalog task this is a copy of.")
    name = graphene.String(required=True, description="Copied from the catalog task; refreshed by a sync.")
    description = optional_string("description", description="Copied from the catalog task; null when empty.")
    est_minutes = graphene.Int(required=True, description="Estimated effort in minutes.")
    weight = graphene.Float(
        required=True, description="Share of the plan's progress, 0 to 9999.99 with 2 decimals; 0 means not counted."
    )
    sequence_number = graphene.Int(required=True, description="Position in the plan's task order.")
    priority = optional_string("priority", description='Free text such as "High"; null when empty.')
    how_to_doc = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Documentation links (http/https URLs)."
    )
    how_to_video = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Video links (http/https URLs)."
    )
    notes = optional_string("notes", description="Notes copied from the catalog task; null when empty.")
    license_level = graphene.Field(
        graphene.NonNull(LicenseLevel), description="The catalog task's license level when it was copied."
    )
    status = graphene.Field(graphene.NonNull(CustomerTaskStatus), description="The task's current status.")
    status_updated_at = timestamp(
        "status_updated_at", description="When the status was last set, ISO 8601; null if it never changed."
    )
    status_updated_by = optional_string("status_updated_by", description='Username, or "telemetry".')
    status_notes = optional_string("status_notes", description="The note given with the last status change.")
    status_update_source = graphene.Field(
        graphene.NonNull(StatusUpdateSource), description="Who set the current status; MANUAL means a user owns it."
    )
    is_complete = graphene.Boolean(required=True, description="True exactly when the status is DONE.")
    completed_at = timestamp("completed_at", description="When the task became DONE, ISO 8601; null unless DONE.")
    completed_by = optional_string("completed_by", description='Who made it DONE (username or "telemetry").')
    telemetry_attributes = related_list(
        "CustomerTask",
        "telemetryAttributes",
        "telemetry.schema.CustomerTelemetryAttribute_",
        description="The task's telemetry attributes, inactive ones (removed from the catalog) included.",
    )
    outcomes = related_list("CustomerTask", "outcomes", Outcome_, description="Outcomes the task serves.")
    releases = related_list("CustomerTask", "releases", Release_, description="Releases the task applies to.")
    telemetry_progress = graphene.Field(
        graphene.NonNull(TelemetryProgress), description="How many of the task's active attributes are met."
    )
    telemetry_disagrees = graphene.Boolean(
        required=True, description="A user owns the status and it differs from what telemetry computes."
    )
    history = related_list(
        "CustomerTask",
        "history",
        TaskStatusChange_,
        page_of="entries",
        description="Every status change, oldest first (then by id); never edited.",
    )
    created_at = timestamp("created_at", required=True, description="When the task was copied into the plan.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")

    @staticmethod
    def resolve_telemetry_progress(obj, info):
        return telemetry_progress(related(obj, info, "CustomerTask", "telemetryAttributes"))


class AdoptionPlan_(graphene.ObjectType):
    class Meta:
        name = "AdoptionPlan"
        description = (
            "A customer's own snapshot of a product's eligible tasks, with their statuses and weighted progress. "
            "Totals leave out NOT_APPLICABLE and archived tasks."
        )

    id = graphene.ID(required=True, description="The plan's id (database key, as a string).")
    customer_product = related_object(
        "AdoptionPlan",
        "customerProduct",
        "customers.schema.CustomerProductWithPlan",
        description="The assignment this plan belongs to.",
    )
    product_id = graphene.ID(required=True, description="The product the plan was made from.")
    product_name = graphene.String(required=True, description="The product's name when the plan was made or synced.")
    license_level = graphene.Field(graphene.NonNull(LicenseLevel), description="The license level the plan reflects.")
    selected_outcomes = related_list(
        "AdoptionPlan", "selectedOutcomes", Outcome_, description="Outcomes the plan reflects; empty means all."
    )
    selected_releases = related_list(
        "AdoptionPlan", "selectedReleases", Release_, description="Releases the plan reflects; empty means all."
    )
    total_tasks = graphene.Int(required=True, description="Applicable tasks: not NOT_APPLICABLE, not archived.")
    completed_tasks = graphene.Int(required=True, description="Applicable tasks that are DONE.")
    total_weight = graphene.Float(required=True, description="Sum of the weights of the applicable tasks.")
    completed_weight = graphene.Float(required=True, description="Sum of the weights of the DONE tasks.")
    progress_percentage = graphene.Float(
        required=True,
        description="completedWeight / totalWeight x 100, percent rounded half up to 2 decimals; 0 when "
        "totalWeight is 0.",
    )
    tasks = related_list(
        "AdoptionPlan",
        "tasks",
        CustomerTask_,
        description="The plan's tasks by sequenceNumber, NOT_APPLICABLE ones included, archived ones left out.",
    )
    tasks_by_status = graphene.List(
        graphene.NonNull(CustomerTask_),
        required=True,
        status=graphene.Argument(CustomerTaskStatus, description="Only tasks in this status; left out: all tasks."),
        description="The plan's (non-archived) tasks in one status, by sequenceNumber.",
    )
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")
    last_synced_at = timestamp("last_synced_at", description="When the plan was created or last synced, ISO 8601.")
    needs_sync = graphene.Boolean(
        required=True, description="The assignment's entitlements or the product's catalog changed after lastSyncedAt."
    )

    @staticmethod
    def resolve_tasks_by_status(obj, info, status=None):
        tasks = related(obj, info, "AdoptionPlan", "tasks")
        if status is None:
            return tasks
        wanted = enum_value(status)
        return [task for task in tasks if task.status == wanted]

    @staticmethod
    def resolve_needs_sync(obj, info):
        return plan_needs_sync(obj)


class SyncAttributeChange(graphene.ObjectType):
    """A telemetry attribute of a kept task that a sync would add, restore, change or deactivate."""

    kind = graphene.String(required=True, description="added, restored, changed or removed")
    name = graphene.String(required=True, description="The attribute's name.")
    changed_fields = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="For changed: the fields that differ from the catalog (camelCase), e.g. successCriteria.",
    )


class SyncTaskToAdd(graphene.ObjectType):
    """A catalog task that became eligible and a sync would add (or bring back from the archive)."""

    original_task_id = graphene.ID(required=True, description="The catalog task's id.")
    name = graphene.String(required=True, description="The catalog task's name.")
    license_level = graphene.Field(graphene.NonNull(LicenseLevel), description="The catalog task's license level.")
    weight = graphene.Float(required=True, description="The catalog task's weight.")
    restored_customer_task_id = graphene.ID(
        description="Set when an archived copy returns with its status, history and values."
    )


class SyncTaskToRemove(graphene.ObjectType):
    """A customer task that is no longer eligible (or whose catalog task is gone): a sync would archive it,
    keeping its status, history and values for a later return."""

    customer_task_id = graphene.ID(required=True, description="The customer task that would be archived.")
    original_task_id = graphene.ID(required=True, description="The catalog task it was copied from.")
    name = graphene.String(required=True, description="The customer task's name.")
    status = graphene.Field(graphene.NonNull(CustomerTaskStatus), description="Its current status.")
    has_progress = graphene.Boolean(
        required=True, description="A status other than NOT_STARTED or any telemetry value: progress leaves the plan."
    )


class SyncTaskToUpdate(graphene.ObjectType):
    """A kept customer task whose catalog task or telemetry attributes changed since it was copied."""

    customer_task_id = graphene.ID(required=True, description="The customer task a sync would refresh.")
    original_task_id = graphene.ID(required=True, description="The catalog task it was copied from.")
    name = graphene.String(required=True, description="The customer task's current name.")
    changed_fields = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Snapshot fields that differ from the catalog (camelCase), e.g. weight, outcomes.",
    )
    attribute_changes = graphene.List(
        graphene.NonNull(SyncAttributeChange), required=True, description="Its telemetry attributes that would change."
    )


class SyncPreview_(graphene.ObjectType):
    class Meta:
        name = "SyncPreview"
        description = "What syncAdoptionPlan would do, computed without changing anything."

    adoption_plan_id = graphene.ID(required=True, description="The plan previewed.")
    is_empty = graphene.Boolean(required=True, description="True when a sync would change no task.")
    tasks_to_add = graphene.List(
        graphene.NonNull(SyncTaskToAdd), required=True, description="Newly eligible catalog tasks."
    )
    tasks_to_remove = graphene.List(
        graphene.NonNull(SyncTaskToRemove), required=True, description="Tasks that would be archived."
    )
    tasks_to_update = graphene.List(
        graphene.NonNull(SyncTaskToUpdate), required=True, description="Kept tasks whose catalog copy changed."
    )


def _camel(names) -> list[str]:
    return [to_camel_case(name) for name in names]


def sync_preview_data(plan, preview) -> dict:
    restored = {task.original_task_id: task.pk for task in preview.to_restore}
    return {
        "adoption_plan_id": plan.pk,
        "is_empty": preview.is_empty,
        "tasks_to_add": [
            {
                "original_task_id": task.pk,
                "name": task.name,
                "license_level": task.license_level,
                "weight": task.weight,
                "restored_customer_task_id": restored.get(task.pk),
            }
            for task in preview.to_add
        ],
        "tasks_to_remove": [
            {
                "customer_task_id": removal.customer_task.pk,
                "original_task_id": removal.customer_task.original_task_id,
                "name": removal.customer_task.name,
                "status": removal.customer_task.status,
                "has_progress": removal.has_progress,
            }
            for removal in preview.to_remove
        ],
        "tasks_to_update": [
            {
                "customer_task_id": update.customer_task.pk,
                "original_task_id": update.customer_task.original_task_id,
                "name": update.customer_task.name,
                "changed_fields": _camel(update.changed_fields),
                "attribute_changes": [
                    {"kind": change.kind, "name": change.name, "changed_fields": _camel(change.changed_fields)}
                    for change in update.attribute_changes
                ],
            }
            for update in preview.to_update
        ],
    }


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def _visible_tasks_of(plan, status=None, search=""):
    return plan_tasks_in_order(plan, None if status is None else enum_value(status), search)


class AdoptionQuery(graphene.ObjectType):
    products = graphene.List(
        graphene.NonNull(Product_), required=True, description="Active products of the catalog, by name."
    )
    product = graphene.Field(
        Product_,
        id=graphene.ID(required=True, description="The product's id."),
        description="One active product; NOT_FOUND if unknown or deleted.",
    )
    adoption_plan = graphene.Field(
        AdoptionPlan_,
        id=graphene.ID(required=True, description="The plan's id."),
        description="One plan of a customer you may see; NOT_FOUND otherwise.",
    )
    adoption_plans_for_customer = graphene.List(
        graphene.NonNull(AdoptionPlan_),
        required=True,
        customer_id=graphene.ID(required=True, description="The customer's id."),
        **page_arguments("plans", search="Only plans whose product name contains this text."),
        description="The plans of one customer, by product name (then id).",
    )
    customer_task = graphene.Field(
        CustomerTask_,
        id=graphene.ID(required=True, description="The customer task's id."),
        description="One customer task (archived ones too) of a customer you may see; NOT_FOUND otherwise.",
    )
    customer_tasks_for_plan = graphene.List(
        graphene.NonNull(CustomerTask_),
        required=True,
        adoption_plan_id=graphene.ID(required=True, description="The plan's id."),
        status=graphene.Argument(CustomerTaskStatus, description="Only tasks in this status; left out: all."),
        **page_arguments("tasks", search="Only tasks whose name contains this text."),
        description="A plan's tasks by sequenceNumber (then id), archived ones left out.",
    )
    sync_preview = graphene.Field(
        graphene.NonNull(SyncPreview_),
        adoption_plan_id=graphene.ID(required=True, description="The plan's id."),
        description="What syncAdoptionPlan would add, archive and refresh, computed without changing anything.",
    )

    @staticmethod
    def resolve_products(root, info):
        products = products_visible_to(user_of(info)).order_by("name", "pk")
        return optimize(products, info, "Product")

    @staticmethod
    def resolve_product(root, info, id):
        product = find(get_product_for_user, user_of(info), id, field="id")
        return load(Product, product.pk, info, "Product")

    @staticmethod
    def resolve_adoption_plan(root, info, id):
        plan = find(get_plan_for_user, user_of(info), id, field="id")
        return load(AdoptionPlan, plan.pk, info, "AdoptionPlan")

    @staticmethod
    def resolve_adoption_plans_for_customer(root, info, customer_id, first=None, offset=None, search=None):
        customer = find(get_customer_for_user, user_of(info), customer_id, field="customerId")
        plans = plans_of_customer(customer, search_text(search))
        return optimize(paginate(plans, first, offset), info, "AdoptionPlan")

    @staticmethod
    def resolve_customer_task(root, info, id):
        task = find(get_customer_task_for_user, user_of(info), id, field="id")
        return load(CustomerTask, task.pk, info, "CustomerTask")

    @staticmethod
    def resolve_customer_tasks_for_plan(
        root, info, adoption_plan_id, status=None, first=None, offset=None, search=None
    ):
        plan = find(get_plan_for_user, user_of(info), adoption_plan_id, field="adoptionPlanId")
        tasks = _visible_tasks_of(plan, status, search_text(search))
        return optimize(paginate(tasks, first, offset), info, "CustomerTask")

    @staticmethod
    def resolve_sync_preview(root, info, adoption_plan_id):
        plan = find(get_plan_for_user, user_of(info), adoption_plan_id, field="adoptionPlanId")
        return sync_preview_data(plan, adoption_plan_sync_preview(plan=plan))


# ---------------------------------------------------------------------------------------------
# Mutations: plans and statuses
# ---------------------------------------------------------------------------------------------


class UpdateTaskStatusInput(graphene.InputObjectType):
    """A user's status for one customer task."""

    customer_task_id = graphene.ID(required=True, description="The customer task (not archived).")
    status = graphene.InputField(graphene.NonNull(CustomerTaskStatus), description="The new status.")
    notes = graphene.String(description="Why, for the history (stored as statusNotes); left out means none.")


class AdoptionMutation(graphene.ObjectType):
    create_adoption_plan = graphene.Field(
        graphene.NonNull(AdoptionPlan_),
        customer_product_id=graphene.ID(required=True, description="An assignment that has no plan yet."),
        description="Snapshot the eligible catalog tasks into a new plan for an assignment without one.",
    )
    sync_adoption_plan = graphene.Field(
        graphene.NonNull(AdoptionPlan_),
        adoption_plan_id=graphene.ID(required=True, description="The plan's id."),
        description="Bring the plan up to date with its assignment and the catalog: add newly eligible tasks, "
        "archive ineligible ones (keeping status, history and values), refresh the others, recompute totals.",
    )
    update_customer_task_status = graphene.Field(
        graphene.NonNull(CustomerTask_),
        input=graphene.Argument(graphene.NonNull(UpdateTaskStatusInput), description="Task, status and note."),
        description="Set a task's status by hand: the user takes ownership, so telemetry no longer changes it.",
    )
    bulk_update_customer_task_status = graphene.List(
        graphene.NonNull(CustomerTask_),
        required=True,
        adoption_plan_id=graphene.ID(required=True, description="The plan every task must belong to."),
        task_ids=graphene.Argument(
            graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID))),
            description=f"Customer tasks of that plan, 1 to {MAX_TASK_IDS}.",
        ),
        status=graphene.Argument(graphene.NonNull(CustomerTaskStatus), description="The status for all of them."),
        notes=graphene.String(description="Why, for every history entry; left out means none."),
        description="Set one status on many tasks of one plan by hand, all or nothing: one id that is not a "
        "(non-archived) task of the plan refuses the whole call.",
    )

    @staticmethod
    def resolve_create_adoption_plan(root, info, customer_product_id):
        user = user_of(info)
        assignment = find(get_assignment_for_user, user, customer_product_id, write=True, field="customerProductId")
        plan = adoption_plan_create(actor=user, customer_product=assignment)
        return load(AdoptionPlan, plan.pk, info, "AdoptionPlan")

    @staticmethod
    def resolve_sync_adoption_plan(root, info, adoption_plan_id):
        user = user_of(info)
        plan = find(get_plan_for_user, user, adoption_plan_id, write=True, field="adoptionPlanId")
        plan = adoption_plan_sync(actor=user, plan=plan)
        return load(AdoptionPlan, plan.pk, info, "AdoptionPlan")

    @staticmethod
    def resolve_update_customer_task_status(root, info, input):
        user = user_of(info)
        task = find(get_customer_task_for_user, user, input.customer_task_id, write=True, field="customerTaskId")
        task = customer_task_update_status(
            actor=user, task=task, status=enum_value(input.status), notes=input.notes or ""
        )
        return load(CustomerTask, task.pk, info, "CustomerTask")

    @staticmethod
    def resolve_bulk_update_customer_task_status(root, info, adoption_plan_id, task_ids, status, notes=None):
        user = user_of(info)
        check_count(task_ids, limit=MAX_TASK_IDS, field="taskIds")
        plan = find(get_plan_for_user, user, adoption_plan_id, write=True, field="adoptionPlanId")
        with fields_renamed({"customerTaskIds": "taskIds"}):
            tasks = customer_tasks_bulk_update_status(
                actor=user, plan=plan, task_ids=task_ids, status=enum_value(status), notes=notes or ""
            )
        return load_many(CustomerTask.objects.all(), [task.pk for task in tasks], info, "CustomerTask")


# ---------------------------------------------------------------------------------------------
# Mutations: the catalog (ADMIN and CATALOG_EDITOR)
# ---------------------------------------------------------------------------------------------


UNCHANGED = " Left out means unchanged."


class ProductInput(graphene.InputObjectType):
    """A new catalog product."""

    name = graphene.String(required=True, description="Unique among active products, at most 200 characters.")
    description = graphene.String(description="Free text.")


class ProductUpdateInput(graphene.InputObjectType):
    """Changes to a catalog product."""

    name = graphene.String(description="Unique among active products, at most 200 characters." + UNCHANGED)
    description = graphene.String(description="Free text." + UNCHANGED)


class OutcomeInput(graphene.InputObjectType):
    """A new outcome of a product."""

    product_id = graphene.ID(required=True, description="The active product it belongs to.")
    name = graphene.String(required=True, description="Unique among the product's outcomes, at most 200 characters.")
    description = graphene.String(description="Free text.")


class OutcomeUpdateInput(graphene.InputObjectType):
    """Changes to an outcome."""

    name = graphene.String(description="Unique among the product's outcomes, at most 200 characters." + UNCHANGED)
    description = graphene.String(description="Free text." + UNCHANGED)


class ReleaseInput(graphene.InputObjectType):
    """A new release of a product."""

    product_id = graphene.ID(required=True, description="The active product it belongs to.")
    name = graphene.String(
        required=True, description='The version as people say it, e.g. "7.2"; at most 100 characters.'
    )
    level = graphene.Float(required=True, description="Numeric version, 0 to 9999999.999 with at most 3 decimals.")
    description = graphene.String(description="Free text.")


class ReleaseUpdateInput(graphene.InputObjectType):
    """Changes to a release."""

    name = graphene.String(description="At most 100 characters." + UNCHANGED)
    level = graphene.Float(description="Numeric version, 0 to 9999999.999 with at most 3 decimals." + UNCHANGED)
    description = graphene.String(description="Free text." + UNCHANGED)


def _task_fields(required: bool) -> dict:
    def maybe_required(field_type):
        return graphene.NonNull(field_type) if required else field_type

    def text(description: str, create_default: str) -> str:
        return description + (f" Left out: {create_default}." if required else UNCHANGED)

    ids = graphene.List(graphene.NonNull(graphene.ID))
    urls = graphene.List(graphene.NonNull(graphene.String))
    return {
        "name": graphene.InputField(
            maybe_required(graphene.String),
            description="Unique among the product's active tasks, at most 200 characters."
            + ("" if required else UNCHANGED),
        ),
        "description": graphene.String(description=text("Free text.", "empty")),
        "est_minutes": graphene.InputField(
            maybe_required(graphene.Int),
            description="Estimated effort in minutes, 0 or more." + ("" if required else UNCHANGED),
        ),
        "weight": graphene.InputField(
            maybe_required(graphene.Float),
            description="0 to 9999.99 with at most 2 decimals; 0 means not counted in progress."
            + ("" if required else UNCHANGED),
        ),
        "sequence_number": graphene.Int(
            description=text("Position in the product's task order, 0 or more.", "after the product's last task")
        ),
        "license_level": graphene.InputField(
            LicenseLevel, description=text("The lowest license level whose plans include the task.", "ESSENTIAL")
        ),
        "notes": graphene.String(description=text("Notes for the CSM.", "empty")),
        "how_to_doc": graphene.InputField(
            urls, description=text("Documentation links, http/https URLs, at most 50.", "none")
        ),
        "how_to_video": graphene.InputField(
            urls, description=text("Video links, http/https URLs, at most 50.", "none")
        ),
        "outcome_ids": graphene.InputField(
            ids,
            description=text("Active outcomes of the same product; [] means a general task (no outcomes).", "none"),
        ),
        "release_ids": graphene.InputField(
            ids, description=text("Active releases of the same product; [] means every release.", "none")
        ),
    }


TaskCreateInput = type(
    "TaskCreateInput",
    (graphene.InputObjectType,),
    {
        "__doc__": "A new catalog task.",
        "product_id": graphene.ID(required=True, description="The active product it belongs to."),
        **_task_fields(required=True),
    },
)
TaskUpdateInput = type(
    "TaskUpdateInput",
    (graphene.InputObjectType,),
    {"__doc__": "Changes to a catalog task.", **_task_fields(required=False)},
)

_TASK_ARGS = (
    "name",
    "description",
    "est_minutes",
    "weight",
    "sequence_number",
    "notes",
    "how_to_doc",
    "how_to_video",
    "outcome_ids",
    "release_ids",
)


def _task_kwargs(input) -> dict:
    kwargs = {name: input.get(name) for name in _TASK_ARGS}
    if input.get("license_level") is not None:
        kwargs["license_level"] = enum_value(input.license_level)
    return kwargs


def _editor(info):
    user = user_of(info)
    require_catalog_editor(user)
    return user


SOFT_DELETE = (
    " The delete is soft: the item leaves the catalog and new plans; existing plans keep their copies until "
    "they are synced. ADMIN and CATALOG_EDITOR only."
)


def _catalog_id(kind: str) -> graphene.ID:
    return graphene.ID(required=True, description=f"The active {kind}'s id.")


def _catalog_input(input_type, what: str) -> graphene.Argument:
    return graphene.Argument(graphene.NonNull(input_type), description=what)


class CatalogMutation(graphene.ObjectType):
    create_product = graphene.Field(
        graphene.NonNull(Product_),
        input=_catalog_input(ProductInput, "The new product."),
        description="Add a product to the catalog. ADMIN and CATALOG_EDITOR only.",
    )
    update_product = graphene.Field(
        graphene.NonNull(Product_),
        id=_catalog_id("product"),
        input=_catalog_input(ProductUpdateInput, "The fields to change."),
        description="Change a product. ADMIN and CATALOG_EDITOR only.",
    )
    delete_product = graphene.Field(
        graphene.NonNull(DeleteResult), id=_catalog_id("product"), description="Delete a product." + SOFT_DELETE
    )
    create_outcome = graphene.Field(
        graphene.NonNull(Outcome_),
        input=_catalog_input(OutcomeInput, "The new outcome."),
        description="Add an outcome to a product. ADMIN and CATALOG_EDITOR only.",
    )
    update_outcome = graphene.Field(
        graphene.NonNull(Outcome_),
        id=_catalog_id("outcome"),
        input=_catalog_input(OutcomeUpdateInput, "The fields to change."),
        description="Change an outcome. ADMIN and CATALOG_EDITOR only.",
    )
    delete_outcome = graphene.Field(
        graphene.NonNull(DeleteResult), id=_catalog_id("outcome"), description="Delete an outcome." + SOFT_DELETE
    )
    create_release = graphene.Field(
        graphene.NonNull(Release_),
        input=_catalog_input(ReleaseInput, "The new release."),
        description="Add a release to a product. ADMIN and CATALOG_EDITOR only.",
    )
    update_release = graphene.Field(
        graphene.NonNull(Release_),
        id=_catalog_id("release"),
        input=_catalog_input(ReleaseUpdateInput, "The fields to change."),
        description="Change a release. ADMIN and CATALOG_EDITOR only.",
    )
    delete_release = graphene.Field(
        graphene.NonNull(DeleteResult), id=_catalog_id("release"), description="Delete a release." + SOFT_DELETE
    )
    create_task = graphene.Field(
        graphene.NonNull(Task_),
        input=_catalog_input(TaskCreateInput, "The new task."),
        description="Add a task to a product. ADMIN and CATALOG_EDITOR only.",
    )
    update_task = graphene.Field(
        graphene.NonNull(Task_),
        id=_catalog_id("task"),
        input=_catalog_input(TaskUpdateInput, "The fields to change."),
        description="Change a catalog task; plans pick the change up when synced. ADMIN and CATALOG_EDITOR only.",
    )
    delete_task = graphene.Field(
        graphene.NonNull(DeleteResult), id=_catalog_id("task"), description="Delete a catalog task." + SOFT_DELETE
    )

    @staticmethod
    def resolve_create_product(root, info, input):
        product = catalog.product_create(actor=_editor(info), name=input.name, description=input.description)
        return load(Product, product.pk, info, "Product")

    @staticmethod
    def resolve_update_product(root, info, id, input):
        user = _editor(info)
        product = find(catalog.catalog_product_get, id, field="id")
        catalog.product_update(actor=user, product=product, name=input.name, description=input.description)
        return load(Product, product.pk, info, "Product")

    @staticmethod
    def resolve_delete_product(root, info, id):
        user = _editor(info)
        return catalog.product_delete(actor=user, product=find(catalog.catalog_product_get, id, field="id"))

    @staticmethod
    def resolve_create_outcome(root, info, input):
        user = _editor(info)
        product = find(catalog.catalog_product_get, input.product_id, field="productId")
        outcome = catalog.outcome_create(actor=user, product=product, name=input.name, description=input.description)
        return outcome

    @staticmethod
    def resolve_update_outcome(root, info, id, input):
        user = _editor(info)
        outcome = find(catalog.catalog_outcome_get, id, field="id")
        return catalog.outcome_update(actor=user, outcome=outcome, name=input.name, description=input.description)

    @staticmethod
    def resolve_delete_outcome(root, info, id):
        user = _editor(info)
        return catalog.outcome_delete(actor=user, outcome=find(catalog.catalog_outcome_get, id, field="id"))

    @staticmethod
    def resolve_create_release(root, info, input):
        user = _editor(info)
        product = find(catalog.catalog_product_get, input.product_id, field="productId")
        return catalog.release_create(
            actor=user, product=product, name=input.name, level=input.level, description=input.description
        )

    @staticmethod
    def resolve_update_release(root, info, id, input):
        user = _editor(info)
        release = find(catalog.catalog_release_get, id, field="id")
        return catalog.release_update(
            actor=user, release=release, name=input.name, level=input.level, description=input.description
        )

    @staticmethod
    def resolve_delete_release(root, info, id):
        user = _editor(info)
        return catalog.release_delete(actor=user, release=find(catalog.catalog_release_get, id, field="id"))

    @staticmethod
    def resolve_create_task(root, info, input):
        user = _editor(info)
        product = find(catalog.catalog_product_get, input.product_id, field="productId")
        task = catalog.task_create(actor=user, product=product, **_task_kwargs(input))
        return load(Task, task.pk, info, "Task")

    @staticmethod
    def resolve_update_task(root, info, id, input):
        user = _editor(info)
        task = find(catalog.catalog_task_get, id, field="id")
        catalog.task_update(actor=user, task=task, **_task_kwargs(input))
        return load(Task, task.pk, info, "Task")

    @staticmethod
    def resolve_delete_task(root, info, id):
        user = _editor(info)
        return catalog.task_delete(actor=user, task=find(catalog.catalog_task_get, id, field="id"))
