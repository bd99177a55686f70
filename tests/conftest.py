import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from customers.models import Role
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    """The factories give every user a password; MD5 instead of PBKDF2 saves about 0.3 s per user.
    Test runs only: production keeps Django's default hashers."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


postgres_only = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in ("postgres", "postgresql", "postgis"),
    reason="needs PostgreSQL (row locks, constant bulk-insert query counts); CI runs it with DATABASE_URL",
)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counts live in the cache, keyed by database ids that a later test can reuse within
    the same minute: every test starts with an empty cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin_u", is_superuser=True, is_staff=True)


@pytest.fixture
def editor(db):
    return UserFactory(username="editor_u", role=Role.CATALOG_EDITOR)


@pytest.fixture
def csm(db):
    return UserFactory(username="csm_u", role=Role.CSM)


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer_u", role=Role.VIEWER)
