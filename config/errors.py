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


# SQLSTATEs of a transaction PostgreSQL rolled back because of a concurrent one; sending the same
# request again is safe and normally succeeds. The writers take their row locks in one order so that
# deadlocks do not happen; should one happen anyway, the client gets CONFLICT, never a server error.
RETRYABLE_SQLSTATES = {"40001": "serialization failure", "40P01": "deadlock detected"}
RETRY_MESSAGE = "a concurrent change to the same data got in the way; nothing was changed: send the request again"


def conflict_from_database_error(error: BaseException | None) -> Conflict | None:
    """CONFLICT for a deadlock or serialization failure (Django's wrapper or the driver's own error,
    also when it is the cause of another exception), None for any other error."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return Conflict(RETRY_MESSAGE, details={"retryable": True, "reason": RETRYABLE_SQLSTATES[sqlstate]})
        error = error.__cause__ or error.__context__
    return None


def parse_id(value, *, label: str = "object") -> int:
    """Ids are database keys as strings; anything malformed is NOT_FOUND, like an unknown id."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise NotFound(f"{label} {value!r} not found") from None
    if number <= 0 or number > 2**63 - 1:
        raise NotFound(f"{label} {value!r} not found")
    return number
