"""Catalog change tracking: every catalog write, in the admin too, records the product's
catalog_changed_at, which drives AdoptionPlan needsSync."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from adoption.models import Outcome, Product, Release, Task
from telemetry.models import TelemetryAttribute


def touch_product(product_id):
    if product_id:
        Product.objects.filter(pk=product_id).update(catalog_changed_at=timezone.now())


@receiver([post_save, post_delete], sender=Task)
@receiver([post_save, post_delete], sender=Outcome)
@receiver([post_save, post_delete], sender=Release)
def _catalog_item_changed(sender, instance, **kwargs):
    touch_product(instance.product_id)


@receiver([post_save, post_delete], sender=TelemetryAttribute)
def _attribute_changed(sender, instance, **kwargs):
    product_id = Task.objects.filter(pk=instance.task_id).values_list("product_id", flat=True).first()
    touch_product(product_id)


@receiver(m2m_changed, sender=Task.outcomes.through)
@receiver(m2m_changed, sender=Task.releases.through)
def _task_links_changed(sender, instance, action, reverse, **kwargs):
    if not action.startswith("post_"):
        return
    # Task, Outcome and Release all carry product_id, whichever side the change came from.
    touch_product(instance.product_id)
