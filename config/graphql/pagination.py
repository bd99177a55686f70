"""Pages of lists that grow with the portfolio: optional ``first`` / ``offset`` (and ``search`` where a
list has a name to search) on fields that stay plain lists.

Left out, ``first`` is the maximum page size, so a portfolio that fits in one page is answered exactly as
before the arguments existed; a bigger one is answered in pages. Offsets count rows of the list's fixed
order (every paginated list orders by a unique key last), so consecutive pages neither skip nor repeat
rows while the data stays the same.
"""

import graphene
from django.db.models import QuerySet

from config.errors import ValidationFailed

MAX_PAGE_SIZE = 500
MAX_OFFSET = 1_000_000
MAX_SEARCH_LENGTH = 200


def page_arguments(what: str, *, search: str | None = None) -> dict:
    """The ``first`` / ``offset`` (and, given its description, ``search``) arguments of a list field."""
    arguments = {
        "first": graphene.Int(
            description=f"At most this many {what}, 1 to {MAX_PAGE_SIZE}; left out: {MAX_PAGE_SIZE}. "
            "Ask for the next page with offset."
        ),
        "offset": graphene.Int(
            description=f"Skip this many {what} of the list's order first, 0 to {MAX_OFFSET:,}; left out: 0."
        ),
    }
    if search is not None:
        arguments["search"] = graphene.String(
            description=f"{search} Case-insensitive, at most {MAX_SEARCH_LENGTH} characters; "
            "left out or blank: no filter."
        )
    return arguments


def page_bounds(first=None, offset=None) -> tuple[int, int]:
    """(offset, limit) of a page, refusing values outside the documented ranges with the argument named."""
    limit = MAX_PAGE_SIZE if first is None else first
    start = 0 if offset is None else offset
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}, got {limit}", field="first")
    if not 0 <= start <= MAX_OFFSET:
        raise ValidationFailed(f"offset must be between 0 and {MAX_OFFSET:,}, got {start}", field="offset")
    return start, limit


def paginate(queryset: QuerySet, first=None, offset=None) -> QuerySet:
    """One page of an ordered queryset (still a queryset: prefetches can be added)."""
    start, limit = page_bounds(first, offset)
    return queryset[start : start + limit]


def search_text(value) -> str:
    """The text to search for: trimmed, "" for none; refuses what no name can contain, naming ``search``."""
    if value is None:
        return ""
    text = value.strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise ValidationFailed(
            f"search is {len(text)} characters long; at most {MAX_SEARCH_LENGTH} are allowed", field="search"
        )
    if "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text):
        raise ValidationFailed("search must not contain NUL characters or unpaired surrogates", field="search")
    return text
