import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection
from psycopg import errors as pg

from customers.models import Role
from tests.factories import UserFactory
from tests.security.report import REPORT

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    """The factories give every user a password; MD5 instead of PBKDF2 saves about 0.3 s per user.
    Test runs only: production keeps Django's default hashers."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_sessionstart(session):
    if hasattr(session.config, "workeroutput"):
        _CONFIG["workeroutput"] = True


def pytest_sessionfinish(session):
    """Under xdist each worker counts what its security tests checked: hand the counts to the controller."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["security_report"] = dict(REPORT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Controller side (xdist): add up the counts of every worker."""
    for name, counts in getattr(node, "workeroutput", {}).get("security_report", {}).items():
        REPORT.add(name, **counts)


def pytest_runtest_logreport(report):
    """Bad-input cases: every case of the text-input tests sends a NUL, a lone surrogate or over-long text
    through one entry point and asserts 400 / VALIDATION_ERROR naming the field, with nothing stored.
    Counted where the reports meet (the controller under xdist), so each case counts once."""
    if report.when != "call" or "test_text_input.py" not in report.nodeid or _is_xdist_worker():
        return
    entry_point = report.nodeid.split("/")[1]  # tests/<entry point>/test_text_input.py::...
    REPORT.add(
        "Bad input (NUL, lone surrogate, over-long text)",
        cases=1,
        passed=int(report.passed),
        failed=int(report.failed),
    )
    REPORT.add(f"  bad input through {entry_point}", cases=1)


_CONFIG = {}


def _is_xdist_worker() -> bool:
    return "workeroutput" in _CONFIG


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The matrix size and the fuzz and bad-input case counts, whatever -q/-s/-n say."""
    if not REPORT or hasattr(config, "workeroutput"):
        return
    terminalreporter.section("security matrix and fuzzing")
    for line in REPORT.lines():
        terminalreporter.write_line(line)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def raised_by_django(driver_error: Exception) -> OperationalError:
    """The error Django raises when PostgreSQL aborts a statement (a deadlock, say): its
    OperationalError, raised from the driver's error, as a real one is."""
    try:
        try:
            raise driver_error
        except pg.Error as error:
            raise OperationalError(*error.args) from error
    except OperationalError as wrapped:
        return wrapped


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
