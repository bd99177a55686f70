"""Shared data for the security tests (their summary is printed by tests/conftest.py)."""

import pytest
from django.core.cache import cache
from django.db import transaction

from tests.security.world import build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module inside a transaction that is rolled back when the module is done; every
    request a test sends runs in a savepoint of its own (see `isolated`), so tests see the same data."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)
        cache.clear()
