"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

They run on PostgreSQL (CI) when a chromium binary exists; elsewhere they are skipped with the reason
printed. Never downloads a browser. UPDATE_SCREENSHOTS=1 writes the page screenshots under
docs/screenshots/ (make screenshots).
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connection, connections

from customers.models import Role
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password-1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BROWSER_DIR = Path(__file__).resolve().parent


def _skip_reason() -> str | None:
    if not CHROMIUM:
        return "browser tests need Debian's chromium (apt-get install chromium); none found on PATH"
    if os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in ("postgres", "postgresql"):
        return "browser tests run on PostgreSQL only (set DATABASE_URL); CI runs them there"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - requirements-dev installs it
        return "playwright is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if BROWSER_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    """Chromium for the whole run.

    Django keeps its database connections per context (asgiref's Local), and Playwright's sync API
    runs the tests in a context of its own: while it runs, the tests open a second connection and
    the one opened before (by the database set-up) is left idle where nobody reaches it. Closed
    here on the way in, and the tests' own on the way out, neither holds the test database when the
    run ends ("database ... is being accessed by other users" when it is dropped)."""
    from playwright.sync_api import sync_playwright

    connections.close_all()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()
            connections.close_all()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # generous: CI machines can be busy, and a timeout here is a failure, never a speed-up
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def make_user(transactional_db):
    def _make(username: str, role: Role | None = Role.CSM, **extra):
        if role == Role.ADMIN:
            extra.setdefault("is_superuser", True)
            extra.setdefault("is_staff", True)
            role = None
        user = UserFactory(username=username, role=role, first_name=extra.pop("first_name", username.title()), **extra)
        user.set_password(PASSWORD)
        user.save()
        return user

    return _make


@pytest.fixture
def login(page):
    def _login(user):
        page.goto("/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return _login


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def check_a11y(axe):
    """Zero serious or critical axe-core violations on the page as it is now."""

    def _check(page, name: str = ""):
        results = axe.run(page)
        bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        detail = "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}" for v in bad
        )
        assert not bad, f"accessibility violations on {name or page.url}:\n{detail}"

    return _check


@pytest.fixture
def screenshot():
    def _shot(page, name: str):
        if os.environ.get("UPDATE_SCREENSHOTS"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return _shot


def vendor_is_postgres() -> bool:
    return connection.vendor == "postgresql"
