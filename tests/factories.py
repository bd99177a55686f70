"""factory-boy factories for every model. Plans are best built with the real services;
these give raw rows for tests of single rules."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from adoption.choices import DataType, LicenseLevel, StatusSource, TaskStatus
from adoption.models import AdoptionPlan, CustomerTask, Outcome, Product, Release, Task, TaskStatusChange
from config.audit.models import AuditLog
from customers.models import Customer, CustomerProduct, PersonalAccessToken, Role, UserProfile
from telemetry.models import (
    ApiKey,
    CustomerTelemetryAttribute,
    CustomerTelemetryValue,
    TelemetryAttribute,
    TelemetryBatch,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            UserProfile.objects.update_or_create(user=self, defaults={"role": extracted})
        if create:
            self.save()


class UserProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserProfile

    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A product"


class OutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outcome

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Outcome {n}")


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"{n}.0")
    level = factory.Sequence(lambda n: Decimal(n))


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Task {n}")
    est_minutes = 30
    weight = Decimal("1.00")
    sequence_number = factory.Sequence(lambda n: n)
    license_level = LicenseLevel.ESSENTIAL

    @factory.post_generation
    def outcomes(self, create, extracted, **kwargs):
        if create and extracted:
            self.outcomes.set(extracted)

    @factory.post_generation
    def releases(self, create, extracted, **kwargs):
        if create and extracted:
            self.releases.set(extracted)


class TelemetryAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TelemetryAttribute

    task = factory.SubFactory(TaskFactory)
    name = factory.Sequence(lambda n: f"attr_{n}")
    data_type = DataType.BOOLEAN
    is_required = True
    success_criteria = factory.LazyAttribute(lambda a: {"op": "eq", "value": True})


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Customer {n}")
    description = "A customer"

    @factory.post_generation
    def assigned_users(self, create, extracted, **kwargs):
        if create and extracted:
            self.assigned_users.set(extracted)


class CustomerProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProduct

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    license_level = LicenseLevel.ESSENTIAL
    purchased_at = factory.LazyFunction(timezone.now)
    entitlements_changed_at = factory.LazyFunction(timezone.now)


class AdoptionPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdoptionPlan

    customer_product = factory.SubFactory(CustomerProductFactory)
    product = factory.LazyAttribute(lambda p: p.customer_product.product)
    product_name = factory.LazyAttribute(lambda p: p.customer_product.product.name)
    license_level = factory.LazyAttribute(lambda p: p.customer_product.license_level)
    last_synced_at = factory.LazyFunction(timezone.now)


class CustomerTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTask

    adoption_plan = factory.SubFactory(AdoptionPlanFactory)
    original_task = factory.SubFactory(TaskFactory, product=factory.SelfAttribute("..adoption_plan.product"))
    name = factory.LazyAttribute(lambda t: t.original_task.name)
    weight = factory.LazyAttribute(lambda t: t.original_task.weight)
    sequence_number = factory.LazyAttribute(lambda t: t.original_task.sequence_number)
    license_level = factory.LazyAttribute(lambda t: t.original_task.license_level)
    status = TaskStatus.NOT_STARTED
    status_update_source = StatusSource.SYSTEM


class TaskStatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaskStatusChange

    customer_task = factory.SubFactory(CustomerTaskFactory)
    from_status = TaskStatus.NOT_STARTED
    to_status = TaskStatus.IN_PROGRESS
    source = StatusSource.MANUAL
    actor = "someone"
    created_at = factory.LazyFunction(timezone.now)


class CustomerTelemetryAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTelemetryAttribute

    customer_task = factory.SubFactory(CustomerTaskFactory)
    name = factory.Sequence(lambda n: f"cattr_{n}")
    data_type = DataType.BOOLEAN
    is_required = True
    success_criteria = factory.LazyAttribute(lambda a: {"op": "eq", "value": True})


class CustomerTelemetryValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTelemetryValue

    customer_attribute = factory.SubFactory(CustomerTelemetryAttributeFactory)
    value = True
    source = "test"
    observed_at = factory.LazyFunction(timezone.now)


class TelemetryBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TelemetryBatch

    customer = factory.SubFactory(CustomerFactory)
    batch_id = factory.Sequence(lambda n: f"batch-{n}")
    content_hash = "0" * 64


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    customer = factory.SubFactory(CustomerFactory)
    prefix = factory.Sequence(lambda n: f"k{n:05d}")
    key_hash = factory.Sequence(lambda n: f"{n:064x}")


class PersonalAccessTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonalAccessToken

    user = factory.SubFactory(UserFactory)
    prefix = factory.Sequence(lambda n: f"t{n:05d}")
    token_hash = factory.Sequence(lambda n: f"{n + 10**6:064x}")


class AuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLog

    actor_label = "system"
    action = "test"
    object_type = "customer"
