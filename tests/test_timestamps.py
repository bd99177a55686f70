"""Timestamps from PostgreSQL are parsed by psycopg's C loader (config.timestamps), with exactly the
values Django's own loader gives: same instant, same wall-clock time, same tzinfo object."""

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from config import timestamps
from tests.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db]

TEXTS = [
    "2024-02-29 23:59:59.999999+00",
    "2024-03-31 01:30:00+00",
    "1999-12-31 23:59:59.5+00",
    "2026-11-30 12:00:00.12+00",
    "1900-06-01 00:00:00+00",
]
# Python's first and last years: in UTC only (elsewhere they are out of Python's range either way).
EXTREMES = ["0001-01-01 00:00:00+00", "9999-12-31 23:59:59.000001+00"]


def _select(cursor, texts) -> list:
    cursor.execute("SELECT " + ", ".join(f"'{text}'::timestamptz" for text in texts) + ", NULL::timestamptz")
    return list(cursor.fetchone())


def _loader():
    from psycopg import pq

    adapters = connection.connection.adapters
    return adapters.get_loader(adapters.types["timestamptz"].oid, pq.Format.TEXT)


def test_connections_parse_timestamps_with_psycopgs_c_loader():
    connection.ensure_connection()
    assert timestamps._psycopg_loader() is not None, "psycopg's C extension (psycopg[binary]) is installed"
    assert _loader() is timestamps.fast_loader(connection.timezone)
    assert _loader().timezone is connection.timezone


@pytest.mark.parametrize("session_zone", [None, "Europe/Paris", "America/St_Johns"])
def test_values_are_djangos_own(session_zone):
    with connection.cursor() as cursor:
        if session_zone:
            # Django replaces the tzinfo, keeping the session's wall-clock time: so does the fast loader.
            cursor.execute("SET TIME ZONE %s", [session_zone])
        try:
            texts = TEXTS + ([] if session_zone else EXTREMES)
            fast = _select(cursor, texts)
            register_tzloader(connection.timezone, cursor.cursor)  # Django's loader, on this cursor only
            django = _select(cursor, texts)
        finally:
            if session_zone:
                cursor.execute("SET TIME ZONE %s", [connection.timezone_name])
    assert fast == django and fast[-1] is None
    assert [value.tzinfo for value in fast[:-1]] == [value.tzinfo for value in django[:-1]]
    assert all(value.tzinfo is connection.timezone for value in fast[:-1])
    assert fast[0] == datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=datetime.UTC) or session_zone


def test_a_connection_is_configured_once():
    connection.ensure_connection()
    loader = _loader()
    timestamps.install(connection=connection)
    assert _loader() is loader
