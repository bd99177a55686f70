"""Who may see and do what with customers, assignments and roles. The only place that decides it.

Roles: ADMIN everything; CATALOG_EDITOR the catalog, no customer data; CSM the
customers assigned to them (read/write plans, statuses, telemetry, assignments, edit the customer;
no create/delete of customers); VIEWER read-only on the customers assigned to them.
A customer the user may not see answers exactly like a missing one (NOT_FOUND).
"""

from django.db.models import QuerySet

from config.errors import Forbidden, NotFound, Unauthenticated, parse_id
from config.graphql import graphiql_enabled
from customers.models import Customer, CustomerProduct, Role


def role_of(user) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "_cached_profile_role", None)
    if profile is None:
        try:
            profile = user.profile.role
        except Exception:  # no profile row: a user without a role sees nothing
            profile = ""
        user._cached_profile_role = profile
    return Role(profile) if profile else None


def is_admin(user) -> bool:
    return role_of(user) == Role.ADMIN


# Roles that work with customers at all (CATALOG_EDITOR does not).
CUSTOMER_ROLES = (Role.ADMIN, Role.CSM, Role.VIEWER)
# Roles that may change customer data (each customer still decided by can_write_customer).
CUSTOMER_WRITER_ROLES = (Role.ADMIN, Role.CSM)


def can_view_customer_data(user) -> bool:
    """May see customers and what belongs to them (assigned ones only, unless admin)."""
    return role_of(user) in CUSTOMER_ROLES


def can_change_customer_data(user) -> bool:
    """May change some customers' data: assignments, plans, statuses, telemetry, API keys. Which
    customers: can_write_customer."""
    return role_of(user) in CUSTOMER_WRITER_ROLES


def sees_every_customer(user) -> bool:
    return is_admin(user)


def restrict_to_visible_customers(queryset: QuerySet, user, customer_path: str) -> QuerySet:
    """`queryset` limited to rows of the customers `user` may see; `customer_path` leads from the
    model to its Customer ("" for Customer itself)."""
    if sees_every_customer(user):
        return queryset
    key = f"{customer_path}__in" if customer_path else "pk__in"
    return queryset.filter(**{key: customer_ids_visible_to(user)})


def can_use_admin(user) -> bool:
    """The Django admin is for staff accounts (data fixes); the pages are for everyone with a role."""
    return role_of(user) is not None and bool(user.is_staff)


def can_use_graphiql(user) -> bool:
    """GraphiQL is offered to signed-in users where it is switched on (DEBUG or GRAPHIQL_ENABLED)."""
    return role_of(user) is not None and graphiql_enabled()


def require_authenticated(user):
    if role_of(user) is None:
        raise Unauthenticated("authentication required")


# --- customers --------------------------------------------------------------------------------


def customers_visible_to(user) -> QuerySet[Customer]:
    role = role_of(user)
    if role == Role.ADMIN:
        return Customer.objects.all()
    if role in (Role.CSM, Role.VIEWER):
        return Customer.objects.filter(assigned_users=user)
    return Customer.objects.none()


def customer_ids_visible_to(user) -> QuerySet:
    return customers_visible_to(user).values("pk")


def can_view_customer(user, customer: Customer) -> bool:
    return customers_visible_to(user).filter(pk=customer.pk).exists()


def can_create_customer(user) -> bool:
    return role_of(user) == Role.ADMIN


def can_delete_customer(user, customer: Customer | None = None) -> bool:
    return role_of(user) == Role.ADMIN


def can_write_customer(user, customer: Customer) -> bool:
    """Edit the customer and everything of theirs: assignments, plans, statuses, telemetry."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role == Role.CSM:
        return customer.assigned_users.filter(pk=user.pk).exists()
    return False


def can_manage_assignees(user) -> bool:
    return role_of(user) == Role.ADMIN


def can_assign_products(user) -> bool:
    """May open the assignment form; the customer chosen must pass can_write_customer."""
    return can_change_customer_data(user)


def can_remove_assignment(user, assignment: CustomerProduct | None = None) -> bool:
    if not can_change_customer_data(user):
        return False
    return assignment is None or can_write_customer(user, assignment.customer)


def can_manage_users(user) -> bool:
    """Users, their roles, personal access tokens and the audit log: admins only."""
    return is_admin(user)


def can_manage_api_keys(user, customer: Customer) -> bool:
    return can_write_customer(user, customer)


def get_customer_for_user(user, customer_id, *, write: bool = False) -> Customer:
    require_authenticated(user)
    pk = parse_id(customer_id, label="customer")
    customer = customers_visible_to(user).filter(pk=pk).first()
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    if write and not can_write_customer(user, customer):
        raise Forbidden("You may not change this customer.")
    return customer


def require_create_customer(user):
    require_authenticated(user)
    if not can_create_customer(user):
        raise Forbidden("Only admins may create customers.")


def require_delete_customer(user, customer: Customer):
    if not can_delete_customer(user, customer):
        raise Forbidden("Only admins may delete customers.")


# --- assignments --------------------------------------------------------------------------------


def assignments_visible_to(user) -> QuerySet[CustomerProduct]:
    return CustomerProduct.objects.filter(customer__in=customer_ids_visible_to(user))


def get_assignment_for_user(user, assignment_id, *, write: bool = False) -> CustomerProduct:
    require_authenticated(user)
    pk = parse_id(assignment_id, label="customer product")
    assignment = assignments_visible_to(user).select_related("customer", "product").filter(pk=pk).first()
    if assignment is None:
        raise NotFound(f"customer product {assignment_id} not found")
    if write and not can_write_customer(user, assignment.customer):
        raise Forbidden("You may not change this customer's products.")
    return assignment
