"""The audit log's one write: every service records who did what through `audit_record`."""

from config.audit.models import AuditLog


def actor_label_of(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "get_username", lambda: str(actor))()


def audit_entry(
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
    """The unsaved entry `audit_record` writes (bulk writers save many at once)."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog(
        actor=user,
        actor_label=actor_label_of(actor)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        customer_id=customer_id,
        summary=summary[:300],
        details=details or {},
    )


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
    entry = audit_entry(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        customer_id=customer_id,
        summary=summary,
        details=details,
    )
    entry.save(force_insert=True)
    return entry
