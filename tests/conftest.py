import os

import pytest
from django.db import connection

from customers.models import Role
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


postgres_only = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in ("postgres", "postgresql", "postgis"),
    reason="needs PostgreSQL (row locks, constant bulk-insert query counts); CI runs it with DATABASE_URL",
)


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
