"""Timestamps read from PostgreSQL at the speed of psycopg's C extension.

Django registers its own loader for ``timestamptz`` on every PostgreSQL connection, so that values
come back in the connection's time zone. It derives from psycopg's pure-Python loader (the C one
cannot be subclassed), so even with psycopg's C extension installed every timestamp is parsed by a
regular expression in Python. A whole plan reads about 6,000 timestamps per request; that was
10 ms of it.

The loader below keeps Django's contract (a ``timezone`` class attribute, the value's tzinfo replaced
by it) and lets psycopg's registered loader, the C one when the extension is installed, do the
parsing. It is installed on each new connection (``connection_created``); without the C extension
nothing changes.
"""

from functools import cache


def _psycopg_loader():
    """psycopg's own text loader for timestamptz (the C class when psycopg's C extension is installed),
    or None when it is the pure-Python one (nothing to gain) or psycopg 3 is not in use."""
    try:
        from psycopg import adapters, pq
        from psycopg.types.datetime import TimestamptzLoader
    except ImportError:  # psycopg2: Django parses timestamps differently there
        return None
    loader = adapters.get_loader(adapters.types["timestamptz"].oid, pq.Format.TEXT)
    return None if loader is None or loader is TimestamptzLoader else loader


@cache
def fast_loader(timezone):
    """A loader class for ``timezone`` (Django's contract) that parses with psycopg's C loader."""
    from psycopg.adapt import Loader

    parse_with = _psycopg_loader()

    class FastTimestamptzLoader(Loader):
        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._parse = parse_with(oid, context).load

        def load(self, data):
            return self._parse(data).replace(tzinfo=self.timezone)

    FastTimestamptzLoader.timezone = timezone
    return FastTimestamptzLoader


def install(sender=None, connection=None, **kwargs) -> None:
    """``connection_created`` receiver: replace Django's timestamptz loader on a PostgreSQL connection."""
    if connection is None or connection.vendor != "postgresql" or _psycopg_loader() is None:
        return
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg import pq

    adapters = connection.connection.adapters
    oid = adapters.types["timestamptz"].oid
    current = adapters.get_loader(oid, pq.Format.TEXT)
    # Only Django's own loader is replaced (already replaced: nothing to do).
    if isinstance(current, type) and issubclass(current, BaseTzLoader):
        adapters.register_loader(oid, fast_loader(current.timezone))
