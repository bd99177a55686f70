"""GraphQL types, queries and mutations of customers and their product assignments (strategy
section 4, SPEC 9). Thin resolvers over customers.permissions, customers.services and adoption.services."""

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
    register_relation,
    related_list,
    related_object,
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
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = optional_string("description")
    products = related_list("Customer", "products", "customers.schema.CustomerProductWithPlan")
    created_at = timestamp("created_at", required=True)
    updated_at = timestamp("updated_at", required=True)


class CustomerProductWithPlan(graphene.ObjectType):
    class Meta:
        description = "An assignment: the customer owns a product at a license level with chosen outcomes and releases."

    id = graphene.ID(required=True)
    customer = related_object("CustomerProductWithPlan", "customer", Customer)
    product = related_object("CustomerProductWithPlan", "product", "adoption.schema.Product_")
    license_level = graphene.Field(graphene.NonNull(LicenseLevel))
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
        "CustomerProductWithPlan", "adoptionPlan", "adoption.schema.AdoptionPlan_", required=False
    )
    purchased_at = timestamp("purchased_at", required=True)
    created_at = timestamp("created_at", required=True)
    updated_at = timestamp("updated_at", required=True)


class CustomerQuery(graphene.ObjectType):
    customer = graphene.Field(Customer, id=graphene.ID(required=True))
    customers = graphene.List(graphene.NonNull(Customer), required=True)

    @staticmethod
    def resolve_customer(root, info, id):
        customer = find(get_customer_for_user, user_of(info), id, field="id")
        return load(CustomerModel, customer.pk, info, "Customer")

    @staticmethod
    def resolve_customers(root, info):
        user = user_of(info)
        require_authenticated(user)
        return optimize(customers_visible_to(user).order_by("name", "pk"), info, "Customer")


class CreateCustomerInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    description = graphene.String()


class UpdateCustomerInput(graphene.InputObjectType):
    name = graphene.String()
    description = graphene.String()


class AssignProductInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True)
    product_id = graphene.ID(required=True)
    license_level = graphene.InputField(graphene.NonNull(LicenseLevel))
    selected_outcome_ids = graphene.List(graphene.NonNull(graphene.ID), required=True, description="[] means all.")
    selected_release_ids = graphene.List(graphene.NonNull(graphene.ID), description="Left out or [] means all.")


class UpdateCustomerProductInput(graphene.InputObjectType):
    license_level = graphene.InputField(LicenseLevel)
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
        graphene.NonNull(Customer), input=graphene.Argument(graphene.NonNull(CreateCustomerInput))
    )
    update_customer = graphene.Field(
        graphene.NonNull(Customer),
        id=graphene.ID(required=True),
        input=graphene.Argument(graphene.NonNull(UpdateCustomerInput)),
    )
    delete_customer = graphene.Field(graphene.NonNull(DeleteResult), id=graphene.ID(required=True))
    assign_product_to_customer = graphene.Field(
        graphene.NonNull(CustomerProductWithPlan), input=graphene.Argument(graphene.NonNull(AssignProductInput))
    )
    update_customer_product = graphene.Field(
        graphene.NonNull(CustomerProductWithPlan),
        id=graphene.ID(required=True),
        input=graphene.Argument(graphene.NonNull(UpdateCustomerProductInput)),
    )
    remove_product_from_customer = graphene.Field(graphene.NonNull(DeleteResult), id=graphene.ID(required=True))

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
