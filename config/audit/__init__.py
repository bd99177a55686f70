"""The append-only audit log: a small app below the domain apps (it imports none of them)."""
