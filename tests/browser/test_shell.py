"""Signing in and out through the app's own pages, and the shell every page shares."""

from django.db import connection

from customers.models import Role


def test_sign_in_shows_name_and_role_and_sign_out(page, make_user, login, check_a11y, screenshot):
    # given a CSM
    casey = make_user("casey", Role.CSM, first_name="Casey", last_name="Morgan")
    # when they open a page unauthenticated, they land on the app's sign-in page
    page.goto("/")
    assert "/login/" in page.url
    check_a11y(page, "login")
    screenshot(page, "login")
    # and a wrong password is refused in words
    page.get_by_label("Username").fill("casey")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert "correct username and password" in page.locator("#login-errors").inner_text()
    # when they sign in
    login(casey)
    # then the shell shows their name and role, and no admin link (not staff)
    assert page.get_by_test_id("user-name").inner_text() == "Casey Morgan"
    assert page.get_by_test_id("user-role").inner_text() == "Customer success manager"
    page.locator("#user-menu").click()
    assert page.get_by_role("link", name="Admin").count() == 0
    # and signing out returns to the sign-in page
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    assert "You are signed out" in page.content()


def test_admin_sees_admin_link(page, make_user, login):
    boss = make_user("boss", Role.ADMIN)
    login(boss)
    page.locator("#user-menu").click()
    assert page.get_by_role("link", name="Admin").is_visible()


def test_no_database_connection_is_left_idle_behind_the_browser(browser, transactional_db):
    """While Chromium runs, the only open session on the test database is this test's own: no
    connection opened before Playwright started is left behind (it would keep the test database
    from being dropped at the end of the run). Pages are not open here, so the live server holds none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, left(query, 60) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        others = cursor.fetchall()
    assert others == []
