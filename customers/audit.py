"""Moved to config.audit.services; kept only for callers not yet updated (the customers admin)."""

from config.audit.services import actor_label_of, audit_record

__all__ = ["actor_label_of", "audit_record"]
