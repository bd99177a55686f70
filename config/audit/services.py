"""The audit log's one write: every service records who did what through `audit_record`."""

from config.audit.models import AuditLog


def actor_label_of(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "get_username", lambda: str(actor))()


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id="",
    customer_id=None,
    summary: str = "",
    details: dict | None = None,
) -> AuditLog:
    """Record who did what. `actor` is a user, a label ('telemetry', 'api-key:ab12') or None."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=user,
        actor_label=actor_label_of(actor)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        customer_id=customer_id,
        summary=summary[:300],
        details=details or {},
    )
