"""GraphQL types, queries and mutations of the catalog and of adoption plans (strategy section 4,
SPEC 9, issue 5 item 3). Thin resolvers: authorize with the permissions modules, call services and
selectors, load results with the prefetches their selection needs (config.graphql)."""

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
from adoption.selectors import plan_needs_sync
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
    register_needs,
    register_relation,
    related,
    related_list,
    related_object,
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
        "history", "TaskStatusChange", lambda: TaskStatusChange.objects.order_by("created_at", "pk"), "gql_history"
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

    id = graphene.ID(required=True)
    product_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = optional_string("description")


class Release_(graphene.ObjectType):
    class Meta:
        name = "Release"
        description = "A product version: a name and a numeric level such as 7.2."

    id = graphene.ID(required=True)
    product_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    level = graphene.Float(required=True)
    description = optional_string("description")


class Task_(graphene.ObjectType):
    class Meta:
        name = "Task"
        description = "A catalog task: what adopting a product takes."

    id = graphene.ID(required=True)
    product_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = optional_string("description")
    est_minutes = graphene.Int(required=True)
    weight = graphene.Float(required=True)
    sequence_number = graphene.Int(required=True)
    priority = optional_string("priority")
    license_level = graphene.Field(graphene.NonNull(LicenseLevel))
    notes = optional_string("notes")
    how_to_doc = graphene.List(graphene.NonNull(graphene.String), required=True)
    how_to_video = graphene.List(graphene.NonNull(graphene.String), required=True)
    outcomes = related_list("Task", "outcomes", Outcome_)
    releases = related_list("Task", "releases", Release_)
    telemetry_attributes = related_list("Task", "telemetryAttributes", "telemetry.schema.TelemetryAttribute")
    created_at = timestamp("created_at", required=True)
    updated_at = timestamp("updated_at", required=True)


class Product_(graphene.ObjectType):
    class Meta:
        name = "Product"

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = optional_string("description")
    outcomes = related_list("Product", "outcomes", Outcome_)
    releases = related_list("Product", "releases", Release_)
    tasks = related_list("Product", "tasks", Task_)
    created_at = timestamp("created_at", required=True)
    updated_at = timestamp("updated_at", required=True)


# ---------------------------------------------------------------------------------------------
# Plan types
# ---------------------------------------------------------------------------------------------


class TelemetryProgress(graphene.ObjectType):
    total_attributes = graphene.Int(required=True)
    required_attributes = graphene.Int(required=True)
    met_attributes = graphene.Int(required=True)
    met_required_attributes = graphene.Int(required=True)
    completion_percentage = graphene.Float(required=True)
    all_required_met = graphene.Boolean(required=True)


def telemetry_progress(attributes) -> dict:
    """Over the active attributes; if none is marked required, all count as required (SPEC 6.3, 10)."""
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

    id = graphene.ID(required=True)
    from_status = graphene.Field(CustomerTaskStatus)
    to_status = graphene.Field(graphene.NonNull(CustomerTaskStatus))
    source = graphene.Field(graphene.NonNull(StatusUpdateSource))
    actor = graphene.String(required=True)
    note = optional_string("note")
    evidence = graphene.Field(graphene.NonNull(JSON))
    created_at = timestamp("created_at", required=True)

    @staticmethod
    def resolve_from_status(obj, info):
        return obj.from_status or None


class CustomerTask_(graphene.ObjectType):
    class Meta:
        name = "CustomerTask"

    id = graphene.ID(required=True)
    adoption_plan = related_object("CustomerTask", "adoptionPlan", "adoption.schema.AdoptionPlan_")
    original_task_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = optional_string("description")
    est_minutes = graphene.Int(required=True)
    weight = graphene.Float(required=True)
    sequence_number = graphene.Int(required=True)
    priority = optional_string("priority")
    how_to_doc = graphene.List(graphene.NonNull(graphene.String), required=True)
    how_to_video = graphene.List(graphene.NonNull(graphene.String), required=True)
    notes = optional_string("notes")
    license_level = graphene.Field(graphene.NonNull(LicenseLevel))
    status = graphene.Field(graphene.NonNull(CustomerTaskStatus))
    status_updated_at = timestamp("status_updated_at")
    status_updated_by = optional_string("status_updated_by", description='Username, or "telemetry".')
    status_notes = optional_string("status_notes")
    status_update_source = graphene.Field(graphene.NonNull(StatusUpdateSource))
    is_complete = graphene.Boolean(required=True)
    completed_at = timestamp("completed_at")
    completed_by = optional_string("completed_by")
    telemetry_attributes = related_list(
        "CustomerTask", "telemetryAttributes", "telemetry.schema.CustomerTelemetryAttribute_"
    )
    outcomes = related_list("CustomerTask", "outcomes", Outcome_)
    releases = related_list("CustomerTask", "releases", Release_)
    telemetry_progress = graphene.Field(graphene.NonNull(TelemetryProgress))
    telemetry_disagrees = graphene.Boolean(
        required=True, description="A user owns the status and it differs from what telemetry computes."
    )
    history = related_list("CustomerTask", "history", TaskStatusChange_)
    created_at = timestamp("created_at", required=True)
    updated_at = timestamp("updated_at", required=True)

    @staticmethod
    def resolve_telemetry_progress(obj, info):
        return telemetry_progress(related(obj, info, "CustomerTask", "telemetryAttributes"))


class AdoptionPlan_(graphene.ObjectType):
    class Meta:
        name = "AdoptionPlan"

    id = graphene.ID(required=True)
    customer_product = related_object("AdoptionPlan", "customerProduct", "customers.schema.CustomerProductWithPlan")
    product_id = graphene.ID(required=True)
    product_name = graphene.String(required=True)
    license_level = graphene.Field(graphene.NonNull(LicenseLevel))
    selected_outcomes = related_list("AdoptionPlan", "selectedOutcomes", Outcome_)
    selected_releases = related_list("AdoptionPlan", "selectedReleases", Release_)
    total_tasks = graphene.Int(required=True)
    completed_tasks = graphene.Int(required=True)
    total_weight = graphene.Float(required=True)
    completed_weight = graphene.Float(required=True)
    progress_percentage = graphene.Float(required=True)
    tasks = related_list("AdoptionPlan", "tasks", CustomerTask_)
    tasks_by_status = graphene.List(
        graphene.NonNull(CustomerTask_), required=True, status=graphene.Argument(CustomerTaskStatus)
    )
    created_at = timestamp("created_at", required=True)
    updated_at = timestamp("updated_at", required=True)
    last_synced_at = timestamp("last_synced_at")
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
    kind = graphene.String(required=True, description="added, restored, changed or removed")
    name = graphene.String(required=True)
    changed_fields = graphene.List(graphene.NonNull(graphene.String), required=True)


class SyncTaskToAdd(graphene.ObjectType):
    original_task_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    license_level = graphene.Field(graphene.NonNull(LicenseLevel))
    weight = graphene.Float(required=True)
    restored_customer_task_id = graphene.ID(
        description="Set when an archived copy returns with its status, history and values."
    )


class SyncTaskToRemove(graphene.ObjectType):
    customer_task_id = graphene.ID(required=True)
    original_task_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    status = graphene.Field(graphene.NonNull(CustomerTaskStatus))
    has_progress = graphene.Boolean(
        required=True, description="A status other than NOT_STARTED or any telemetry value: progress leaves the plan."
    )


class SyncTaskToUpdate(graphene.ObjectType):
    customer_task_id = graphene.ID(required=True)
    original_task_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    changed_fields = graphene.List(graphene.NonNull(graphene.String), required=True)
    attribute_changes = graphene.List(graphene.NonNull(SyncAttributeChange), required=True)


class SyncPreview_(graphene.ObjectType):
    class Meta:
        name = "SyncPreview"
        description = "What syncAdoptionPlan would do, computed without changing anything."

    adoption_plan_id = graphene.ID(required=True)
    is_empty = graphene.Boolean(required=True)
    tasks_to_add = graphene.List(graphene.NonNull(SyncTaskToAdd), required=True)
    tasks_to_remove = graphene.List(graphene.NonNull(SyncTaskToRemove), required=True)
    tasks_to_update = graphene.List(graphene.NonNull(SyncTaskToUpdate), required=True)


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


def _visible_tasks_of(plan, status=None):
    tasks = CustomerTask.objects.visible().filter(adoption_plan_id=plan.pk).order_by("sequence_number", "pk")
    if status is not None:
        tasks = tasks.filter(status=enum_value(status))
    return tasks


class AdoptionQuery(graphene.ObjectType):
    products = graphene.List(graphene.NonNull(Product_), required=True)
    product = graphene.Field(Product_, id=graphene.ID(required=True))
    adoption_plan = graphene.Field(AdoptionPlan_, id=graphene.ID(required=True))
    adoption_plans_for_customer = graphene.List(
        graphene.NonNull(AdoptionPlan_), required=True, customer_id=graphene.ID(required=True)
    )
    customer_task = graphene.Field(CustomerTask_, id=graphene.ID(required=True))
    customer_tasks_for_plan = graphene.List(
        graphene.NonNull(CustomerTask_),
        required=True,
        adoption_plan_id=graphene.ID(required=True),
        status=graphene.Argument(CustomerTaskStatus),
    )
    sync_preview = graphene.Field(graphene.NonNull(SyncPreview_), adoption_plan_id=graphene.ID(required=True))

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
    def resolve_adoption_plans_for_customer(root, info, customer_id):
        customer = find(get_customer_for_user, user_of(info), customer_id, field="customerId")
        plans = AdoptionPlan.objects.filter(customer_product__customer=customer).order_by("product_name", "pk")
        return optimize(plans, info, "AdoptionPlan")

    @staticmethod
    def resolve_customer_task(root, info, id):
        task = find(get_customer_task_for_user, user_of(info), id, field="id")
        return load(CustomerTask, task.pk, info, "CustomerTask")

    @staticmethod
    def resolve_customer_tasks_for_plan(root, info, adoption_plan_id, status=None):
        plan = find(get_plan_for_user, user_of(info), adoption_plan_id, field="adoptionPlanId")
        return optimize(_visible_tasks_of(plan, status), info, "CustomerTask")

    @staticmethod
    def resolve_sync_preview(root, info, adoption_plan_id):
        plan = find(get_plan_for_user, user_of(info), adoption_plan_id, field="adoptionPlanId")
        return sync_preview_data(plan, adoption_plan_sync_preview(plan=plan))


# ---------------------------------------------------------------------------------------------
# Mutations: plans and statuses
# ---------------------------------------------------------------------------------------------


class UpdateTaskStatusInput(graphene.InputObjectType):
    customer_task_id = graphene.ID(required=True)
    status = graphene.InputField(graphene.NonNull(CustomerTaskStatus))
    notes = graphene.String()


class AdoptionMutation(graphene.ObjectType):
    create_adoption_plan = graphene.Field(
        graphene.NonNull(AdoptionPlan_), customer_product_id=graphene.ID(required=True)
    )
    sync_adoption_plan = graphene.Field(graphene.NonNull(AdoptionPlan_), adoption_plan_id=graphene.ID(required=True))
    update_customer_task_status = graphene.Field(
        graphene.NonNull(CustomerTask_), input=graphene.Argument(graphene.NonNull(UpdateTaskStatusInput))
    )
    bulk_update_customer_task_status = graphene.List(
        graphene.NonNull(CustomerTask_),
        required=True,
        adoption_plan_id=graphene.ID(required=True),
        task_ids=graphene.Argument(graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID)))),
        status=graphene.Argument(graphene.NonNull(CustomerTaskStatus)),
        notes=graphene.String(),
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


class ProductInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    description = graphene.String()


class ProductUpdateInput(graphene.InputObjectType):
    name = graphene.String()
    description = graphene.String()


class OutcomeInput(graphene.InputObjectType):
    product_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = graphene.String()


class OutcomeUpdateInput(graphene.InputObjectType):
    name = graphene.String()
    description = graphene.String()


class ReleaseInput(graphene.InputObjectType):
    product_id = graphene.ID(required=True)
    name = graphene.String(required=True)
    level = graphene.Float(required=True)
    description = graphene.String()


class ReleaseUpdateInput(graphene.InputObjectType):
    name = graphene.String()
    level = graphene.Float()
    description = graphene.String()


def _task_fields(required: bool) -> dict:
    def maybe_required(field_type):
        return graphene.NonNull(field_type) if required else field_type

    ids = graphene.List(graphene.NonNull(graphene.ID))
    urls = graphene.List(graphene.NonNull(graphene.String))
    return {
        "name": graphene.InputField(maybe_required(graphene.String)),
        "description": graphene.String(),
        "est_minutes": graphene.InputField(maybe_required(graphene.Int)),
        "weight": graphene.InputField(maybe_required(graphene.Float)),
        "sequence_number": graphene.Int(),
        "license_level": graphene.InputField(LicenseLevel),
        "notes": graphene.String(),
        "how_to_doc": graphene.InputField(urls),
        "how_to_video": graphene.InputField(urls),
        "outcome_ids": graphene.InputField(ids),
        "release_ids": graphene.InputField(ids),
    }


TaskCreateInput = type(
    "TaskCreateInput",
    (graphene.InputObjectType,),
    {
        "product_id": graphene.ID(required=True),
        **_task_fields(required=True),
    },
)
TaskUpdateInput = type("TaskUpdateInput", (graphene.InputObjectType,), _task_fields(required=False))

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


class CatalogMutation(graphene.ObjectType):
    create_product = graphene.Field(graphene.NonNull(Product_), input=graphene.Argument(graphene.NonNull(ProductInput)))
    update_product = graphene.Field(
        graphene.NonNull(Product_),
        id=graphene.ID(required=True),
        input=graphene.Argument(graphene.NonNull(ProductUpdateInput)),
    )
    delete_product = graphene.Field(graphene.NonNull(DeleteResult), id=graphene.ID(required=True))
    create_outcome = graphene.Field(graphene.NonNull(Outcome_), input=graphene.Argument(graphene.NonNull(OutcomeInput)))
    update_outcome = graphene.Field(
        graphene.NonNull(Outcome_),
        id=graphene.ID(required=True),
        input=graphene.Argument(graphene.NonNull(OutcomeUpdateInput)),
    )
    delete_outcome = graphene.Field(graphene.NonNull(DeleteResult), id=graphene.ID(required=True))
    create_release = graphene.Field(graphene.NonNull(Release_), input=graphene.Argument(graphene.NonNull(ReleaseInput)))
    update_release = graphene.Field(
        graphene.NonNull(Release_),
        id=graphene.ID(required=True),
        input=graphene.Argument(graphene.NonNull(ReleaseUpdateInput)),
    )
    delete_release = graphene.Field(graphene.NonNull(DeleteResult), id=graphene.ID(required=True))
    create_task = graphene.Field(graphene.NonNull(Task_), input=graphene.Argument(graphene.NonNull(TaskCreateInput)))
    update_task = graphene.Field(
        graphene.NonNull(Task_),
        id=graphene.ID(required=True),
        input=graphene.Argument(graphene.NonNull(TaskUpdateInput)),
    )
    delete_task = graphene.Field(graphene.NonNull(DeleteResult), id=graphene.ID(required=True))

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
