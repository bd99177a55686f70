"""Domain errors with codes, raised by services and permission lookups, shown by pages and GraphQL.

A failed write raises one of these inside its transaction, so nothing it began is kept.
"""


class DomainError(Exception):
    code = "VALIDATION_ERROR"

    def __init__(self, message: str, *, field: str | None = None, details=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def as_dict(self) -> dict:
        data = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        if self.details is not None:
            data["details"] = self.details
        return data


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"


class Conflict(DomainError):
    code = "CONFLICT"


def parse_id(value, *, label: str = "object") -> int:
    """Ids are database keys as strings; anything malformed is NOT_FOUND, like an unknown id (SPEC 9)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise NotFound(f"{label} {value!r} not found") from None
    if number <= 0 or number > 2**63 - 1:
        raise NotFound(f"{label} {value!r} not found")
    return number
