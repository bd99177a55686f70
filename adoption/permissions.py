"""Who may see and edit the catalog, plans and customer tasks. Builds on customers.permissions."""

from django.db.models import QuerySet

from adoption.models import AdoptionPlan, CustomerTask, Job, Product, TaskStatusChange
from config.errors import Forbidden, NotFound, parse_id
from customers.models import Role
from customers.permissions import (
    can_change_customer_data,
    can_write_customer,
    customer_ids_visible_to,
    require_authenticated,
    role_of,
)

# --- catalog ----------------------------------------------------------------------------------


def can_view_catalog(user) -> bool:
    return role_of(user) is not None


def can_edit_catalog(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.CATALOG_EDITOR)


def products_visible_to(user) -> QuerySet[Product]:
    if not can_view_catalog(user):
        return Product.objects.none()
    return Product.objects.active()


def require_catalog_editor(user):
    require_authenticated(user)
    if not can_edit_catalog(user):
        raise Forbidden("Only admins and catalog editors may change the catalog.")


def get_product_for_user(user, product_id) -> Product:
    require_authenticated(user)
    pk = parse_id(product_id, label="product")
    product = products_visible_to(user).filter(pk=pk).first()
    if product is None:
        raise NotFound(f"product {product_id} not found")
    return product


# --- plans and tasks ------------------------------------------------------------------------------


def can_sync_plans(user) -> bool:
    """May sync plans (of the customers can_write_customer allows)."""
    return can_change_customer_data(user)


def plans_visible_to(user) -> QuerySet[AdoptionPlan]:
    return AdoptionPlan.objects.filter(customer_product__customer__in=customer_ids_visible_to(user))


def customer_tasks_visible_to(user) -> QuerySet[CustomerTask]:
    return CustomerTask.objects.filter(adoption_plan__customer_product__customer__in=customer_ids_visible_to(user))


def status_history_visible_to(user) -> QuerySet[TaskStatusChange]:
    return TaskStatusChange.objects.filter(
        customer_task__adoption_plan__customer_product__customer__in=customer_ids_visible_to(user)
    )


def get_plan_for_user(user, plan_id, *, write: bool = False) -> AdoptionPlan:
    require_authenticated(user)
    pk = parse_id(plan_id, label="adoption plan")
    plan = plans_visible_to(user).select_related("customer_product__customer").filter(pk=pk).first()
    if plan is None:
        raise NotFound(f"adoption plan {plan_id} not found")
    if write and not can_write_customer(user, plan.customer_product.customer):
        raise Forbidden("You may not change this adoption plan.")
    return plan


def get_customer_task_for_user(user, task_id, *, write: bool = False) -> CustomerTask:
    require_authenticated(user)
    pk = parse_id(task_id, label="customer task")
    task = (
        customer_tasks_visible_to(user)
        .select_related("adoption_plan__customer_product__customer")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise NotFound(f"customer task {task_id} not found")
    if write and not can_write_customer(user, task.adoption_plan.customer_product.customer):
        raise Forbidden("You may not change this task.")
    return task


# --- background jobs ------------------------------------------------------------------------------


def jobs_visible_to(user) -> QuerySet[Job]:
    """Admins see every job; everyone else the jobs they started."""
    role = role_of(user)
    if role is None:
        return Job.objects.none()
    if role == Role.ADMIN:
        return Job.objects.all()
    return Job.objects.filter(started_by=user)


def can_view_jobs(user) -> bool:
    """Anyone with a role may watch jobs; which ones is decided by jobs_visible_to."""
    return role_of(user) is not None


def get_job_for_user(user, job_id) -> Job:
    require_authenticated(user)
    pk = parse_id(job_id, label="job")
    job = jobs_visible_to(user).select_related("started_by").filter(pk=pk).first()
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def can_sync_product_plans(user) -> bool:
    """Syncing every plan of a product follows catalog changes: admins and catalog editors."""
    return role_of(user) in (Role.ADMIN, Role.CATALOG_EDITOR)


def require_product_plans_sync(user):
    require_authenticated(user)
    if not can_sync_product_plans(user):
        raise Forbidden("Only admins and catalog editors may sync every plan of a product.")
