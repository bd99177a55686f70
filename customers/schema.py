"""GraphQL types, queries and mutations of customers and their product assignments.
Thin resolvers over customers.permissions, customers.services and adoption.services."""

import re

import graphene

from adoption.graphql_enums import LicenseLevel
from adoption.models import AdoptionPlan, Outcome, Product, Release
from adoption.permissions import get_product_for_user
from adoption.services import customer_product_assign, customer_product_remove, customer_product_update
from config.graphql import (
    MAX_LINK_IDS,
    DeleteResult,
    Relation,
    check_count,
    enum_value,
    find,
    load,
    optimize,
    optional_string,
    page_arguments,
    paginate,
    register_relation,
    related_list,
    related_object,
    search_text,
    timestamp,
    user_of,
)
from customers.models import Customer as CustomerModel
from customers.models import CustomerProduct
from customers.permissions import (
    customers_visible_to,
    get_assignment_for_user,
    get_customer_for_user,
    require_authenticated,
    require_create_customer,
    require_delete_customer,
)
from customers.selectors import customers_matching
from customers.services import customer_create, customer_delete, customer_update

register_relation(
    "Customer",
    "products",
    Relation(
        "products",
        "CustomerProductWithPlan",
        lambda: CustomerProduct.objects.order_by("product__name", "pk"),
        "gql_products",
    ),
)
register_relation("CustomerProductWithPlan", "customer", Relation("customer", "Customer", CustomerModel.objects.all))
register_relation("CustomerProductWithPlan", "product", Relation("product", "Product", Product.objects.all))
register_relation(
    "CustomerProductWithPlan",
    "selectedOutcomes",
    Relation("selected_outcomes", "Outcome", lambda: Outcome.objects.order_by("name", "pk"), "gql_selected_outcomes"),
)
register_relation(
    "CustomerProductWithPlan",
    "selectedReleases",
    Relation("selected_releases", "Release", lambda: Release.objects.order_by("level", "pk"), "gql_selected_releases"),
)
register_relation(
    "CustomerProductWithPlan", "adoptionPlan", Relation("adoption_plan", "AdoptionPlan", AdoptionPlan.objects.all)
)


class Customer(graphene.ObjectType):
    """A customer of the vendor, with the products it owns (its assignments)."""

    id = graphene.ID(required=True, description="The customer's id (database key, as a string).")
    name = graphene.String(required=True, description="The customer's name, trimmed.")
    description = optional_string("description", description="Free text; null when empty.")
    products = related_list(
        "Customer",
        "products",
        "customers.schema.CustomerProductWithPlan",
        description="The customer's assignments, by product name.",
    )
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")


class CustomerProductWithPlan(graphene.ObjectType):
    class Meta:
        description = "An assignment: the customer owns a product at a license level with chosen outcomes and releases."

    id = graphene.ID(required=True, description="The assignment's id (database key, as a string).")
    customer = related_object("CustomerProductWithPlan", "customer", Customer, description="Who owns the product.")
    product = related_object(
        "CustomerProductWithPlan", "product", "adoption.schema.Product_", description="The catalog product owned."
    )
    license_level = graphene.Field(graphene.NonNull(LicenseLevel), description="The license tier bought.")
    selected_outcomes = related_list(
        "CustomerProductWithPlan",
        "selectedOutcomes",
        "adoption.schema.Outcome_",
        description="Empty means all outcomes.",
    )
    selected_releases = related_list(
        "CustomerProductWithPlan",
        "selectedReleases",
        "adoption.schema.Release_",
        description="Empty means all releases.",
    )
    adoption_plan = related_object(
        "CustomerProductWithPlan",
        "adoptionPlan",
        "adoption.schema.AdoptionPlan_",
        required=False,
        description="The plan made for this assignment; null until one is created.",
    )
    purchased_at = timestamp("purchased_at", required=True, description="When the product was bought, ISO 8601.")
    created_at = timestamp("created_at", required=True, description="ISO 8601 date-time with time zone.")
    updated_at = timestamp("updated_at", required=True, description="ISO 8601 date-time with time zone.")


class CustomerQuery(graphene.ObjectType):
    customer = graphene.Field(
        Customer,
        id=graphene.ID(required=True, description="The customer's id."),
        description="One customer you may see; NOT_FOUND otherwise.",
    )
    customers = graphene.List(
        graphene.NonNull(Customer),
        required=True,
        **page_arguments(
            "customers", search="Only customers whose name or description contains this text (like the customer list)."
        ),
        description="The customers you may see, by name (then id): all for ADMIN, the assigned ones for CSM and "
        "VIEWER. Large portfolios are read in pages with first and offset.",
    )

    @staticmethod
    def resolve_customer(root, info, id):
        customer = find(get_customer_for_user, user_of(info), id, field="id")
        return load(CustomerModel, customer.pk, info, "Customer")

    @staticmethod
    def resolve_customers(root, info, first=None, offset=None, search=None):
        user = user_of(info)
        require_authenticated(user)
        customers = customers_matching(customers_visible_to(user), search_text(search)).order_by("name", "pk")
        return optimize(paginate(customers, first, offset), info, "Customer")


class CreateCustomerInput(graphene.InputObjectType):
    """A new customer."""

    name = graphene.String(
        required=True, description="Not blank, at most 200 characters; surrounding spaces are trimmed."
    )
    description = graphene.String(description="Free text, at most 10,000 characters.")


class UpdateCustomerInput(graphene.InputObjectType):
    """Changes to a customer."""

    name = graphene.String(
        description="Not blank, at most 200 characters; surrounding spaces are trimmed. Left out means unchanged."
    )
    description = graphene.String(description="Free text, at most 10,000 characters. Left out means unchanged.")


class AssignProductInput(graphene.InputObjectType):
    """A product for a customer: creates the assignment and its adoption plan in one step."""

    customer_id = graphene.ID(required=True, description="The customer.")
    product_id = graphene.ID(required=True, description="An active product the customer does not have yet.")
    license_level = graphene.InputField(graphene.NonNull(LicenseLevel), description="The license tier bought.")
    selected_outcome_ids = graphene.List(graphene.NonNull(graphene.ID), required=True, description="[] means all.")
    selected_release_ids = graphene.List(graphene.NonNull(graphene.ID), description="Left out or [] means all.")


class UpdateCustomerProductInput(graphene.InputObjectType):
    """New entitlements for an assignment. The plan is marked as needing sync; its tasks change on sync."""

    license_level = graphene.InputField(LicenseLevel, description="The new license tier. Left out means unchanged.")
    selected_outcome_ids = graphene.List(graphene.NonNull(graphene.ID), description="Left out: unchanged; []: all.")
    selected_release_ids = graphene.List(graphene.NonNull(graphene.ID), description="Left out: unchanged; []: all.")


def _check_links(input) -> None:
    check_count(input.selected_outcome_ids, limit=MAX_LINK_IDS, field="selectedOutcomeIds")
    check_count(input.selected_release_ids, limit=MAX_LINK_IDS, field="selectedReleaseIds")


_CAPITAL = re.compile(r"([A-Z])")


def _summary(deleted: dict) -> str:
    """{"customerTasks": 5, ...} -> "5 customer tasks, ..." for DeleteResult.message."""
    words = {name: _CAPITAL.sub(r" \1", name).lower() for name in deleted}
    return ", ".join(f"{count} {words[name]}" for name, count in deleted.items())


class CustomerMutation(graphene.ObjectType):
    create_customer = graphene.Field(
        graphene.NonNull(Customer),
        input=graphene.Argument(graphene.NonNull(CreateCustomerInput), description="The new customer."),
        description="Create a customer. ADMIN only.",
    )
    update_customer = graphene.Field(
        graphene.NonNull(Customer),
        id=graphene.ID(required=True, description="The customer's id."),
        input=graphene.Argument(graphene.NonNull(UpdateCustomerInput), description="The fields to change."),
        description="Change a customer's name or description. ADMIN, or a CSM assigned to the customer.",
    )
    delete_customer = graphene.Field(
        graphene.NonNull(DeleteResult),
        id=graphene.ID(required=True, description="The customer's id."),
        description="Delete a customer with its assignments, plans, tasks, history, telemetry and API keys. "
        "ADMIN only; the audit log keeps a summary.",
    )
    assign_product_to_customer = graphene.Field(
        graphene.NonNull(CustomerProductWithPlan),
        input=graphene.Argument(graphene.NonNull(AssignProductInput), description="Customer, product, entitlements."),
        description="Assign a product to a customer and snapshot its eligible tasks into a new adoption plan. "
        "CONFLICT if the customer already has the product.",
    )
    update_customer_product = graphene.Field(
        graphene.NonNull(CustomerProductWithPlan),
        id=graphene.ID(required=True, description="The assignment's id."),
        input=graphene.Argument(
            graphene.NonNull(UpdateCustomerProductInput), description="The entitlements to change."
        ),
        description="Change an assignment's license level, outcomes or releases; the plan then needs a sync.",
    )
    remove_product_from_customer = graphene.Field(
        graphene.NonNull(DeleteResult),
        id=graphene.ID(required=True, description="The assignment's id."),
        description="Remove a product from a customer, with its plan, tasks, history and telemetry values.",
    )

    @staticmethod
    def resolve_create_customer(root, info, input):
        user = user_of(info)
        require_create_customer(user)
        customer = customer_create(actor=user, name=input.name, description=input.description or "")
        return load(CustomerModel, customer.pk, info, "Customer")

    @staticmethod
    def resolve_update_customer(root, info, id, input):
        user = user_of(info)
        customer = find(get_customer_for_user, user, id, write=True, field="id")
        customer_update(actor=user, customer=customer, name=input.name, description=input.description)
        return load(CustomerModel, customer.pk, info, "Customer")

    @staticmethod
    def resolve_delete_customer(root, info, id):
        user = user_of(info)
        customer = find(get_customer_for_user, user, id, field="id")
        require_delete_customer(user, customer)
        summary = customer_delete(actor=user, customer=customer)
        return {"success": True, "message": f"customer {summary['name']!r} deleted with {_summary(summary['deleted'])}"}

    @staticmethod
    def resolve_assign_product_to_customer(root, info, input):
        user = user_of(info)
        _check_links(input)
        customer = find(get_customer_for_user, user, input.customer_id, write=True, field="customerId")
        product = find(get_product_for_user, user, input.product_id, field="productId")
        assignment = customer_product_assign(
            actor=user,
            customer=customer,
            product=product,
            license_level=enum_value(input.license_level),
            outcome_ids=input.selected_outcome_ids,
            release_ids=input.selected_release_ids,
        )
        return load(CustomerProduct, assignment.pk, info, "CustomerProductWithPlan")

    @staticmethod
    def resolve_update_customer_product(root, info, id, input):
        user = user_of(info)
        _check_links(input)
        assignment = find(get_assignment_for_user, user, id, write=True, field="id")
        customer_product_update(
            actor=user,
            customer_product=assignment,
            license_level=enum_value(input.license_level) if input.license_level is not None else None,
            outcome_ids=input.selected_outcome_ids,
            release_ids=input.selected_release_ids,
        )
        return load(CustomerProduct, assignment.pk, info, "CustomerProductWithPlan")

    @staticmethod
    def resolve_remove_product_from_customer(root, info, id):
        user = user_of(info)
        assignment = find(get_assignment_for_user, user, id, write=True, field="id")
        summary = customer_product_remove(actor=user, customer_product=assignment)
        return {
            "success": True,
            "message": f"{summary['productName']} removed from {summary['customerName']} "
            f"with {_summary(summary['deleted'])}",
        }
