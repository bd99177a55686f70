"""Every write to assignments, plans and customer tasks. Pages, GraphQL, telemetry and commands call these.

Conventions: `<noun>_<verb>(*, ...)`, keyword-only arguments, atomic, DomainError on refusal (a refused
call changes nothing). Services do not check permissions: their callers do, with the permissions modules.

The package reads bottom-up: inputs (parsing) -> eligibility -> plans (snapshots) -> assignments;
status_changes (manual status) and sync build on those. The status primitives they share with
telemetry live below them in adoption.status. Import from here: `from adoption.services import X`.

Lock order, so concurrent writers never deadlock: every writer that touches several of assignment,
customer tasks, customer attributes/values and plan rows takes its row locks in this order:
assignment, customer tasks (ordered by id), customer attributes (ordered by id), plan (taken last, by
`plan_recompute_totals`). Telemetry ingestion and evaluation, manual and bulk status changes, sync,
assignment removal and customer deletion (customers.services) all follow it.
"""

from adoption.selectors import assignment_contents_counts  # a read; kept here for existing callers
from adoption.services.assignments import (
    customer_product_assign,
    customer_product_remove,
    customer_product_update,
)
from adoption.services.eligibility import EntitlementsPreview, eligible_catalog_tasks, entitlements_change_preview
from adoption.services.inputs import parse_license_level, parse_task_status
from adoption.services.plans import ATTRIBUTE_SNAPSHOT_FIELDS, TASK_SNAPSHOT_FIELDS, adoption_plan_create
from adoption.services.status_changes import customer_task_update_status, customer_tasks_bulk_update_status
from adoption.services.sync import (
    AttributeChange,
    SyncPreview,
    TaskRemoval,
    TaskUpdate,
    adoption_plan_sync,
    adoption_plan_sync_preview,
)
from adoption.status import STATUS_FIELDS, customer_task_set_status_fields, plan_recompute_totals

__all__ = [
    "ATTRIBUTE_SNAPSHOT_FIELDS",
    "STATUS_FIELDS",
    "TASK_SNAPSHOT_FIELDS",
    "AttributeChange",
    "EntitlementsPreview",
    "SyncPreview",
    "TaskRemoval",
    "TaskUpdate",
    "adoption_plan_create",
    "adoption_plan_sync",
    "adoption_plan_sync_preview",
    "assignment_contents_counts",
    "customer_product_assign",
    "customer_product_remove",
    "customer_product_update",
    "customer_task_set_status_fields",
    "customer_task_update_status",
    "customer_tasks_bulk_update_status",
    "eligible_catalog_tasks",
    "entitlements_change_preview",
    "parse_license_level",
    "parse_task_status",
    "plan_recompute_totals",
]
