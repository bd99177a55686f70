"""Sign-in throttling: 5 failures for one username from one address lock that pair out for the
cool-off, on the app's login page and the admin's; admins unlock in the admin or with a command."""

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse

from customers.lockout import duration_in_words
from customers.models import Role
from tests.factories import UserFactory

LOCKOUT_TEXT = "Too many failed sign-ins for this account. Try again in 15 minutes or ask an admin to unlock it."


@pytest.fixture
def casey(db):
    return UserFactory(username="casey", role=Role.CSM)  # password "pw"


def sign_in(client, password, username="casey", path="/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def fail(client, times, username="casey", path="/login/", **extra):
    return [sign_in(client, "wrong", username, path, **extra).status_code for _ in range(times)]


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_four_failures_still_let_the_right_password_in(client, casey):
    assert fail(client, 4) == [200, 200, 200, 200]

    response = sign_in(client, "pw")

    assert response.status_code == 302 and response["Location"] == "/"
    assert is_signed_in(client)
    # A successful sign-in forgets the failures.
    assert AccessAttempt.objects.filter(username="casey").count() == 0


def test_fifth_failure_locks_out_and_the_right_password_is_then_refused(client, casey):
    statuses = fail(client, 5)

    assert statuses == [200, 200, 200, 200, 429]
    response = sign_in(client, "pw")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert not is_signed_in(client)
    content = response.content.decode()
    assert LOCKOUT_TEXT in content
    assert 'id="login-lockout"' in content
    # The sign-in page itself, with the username kept, not Axes' bare text page.
    assert 'name="username"' in content and 'value="casey"' in content and "csrfmiddlewaretoken" in content
    attempt = AccessAttempt.objects.get(username="casey")
    assert attempt.ip_address == "127.0.0.1"
    assert attempt.failures_since_start >= 5


def test_lockout_is_keyed_by_username_and_address(client, casey):
    UserFactory(username="dana", role=Role.CSM)
    fail(client, 5)

    # Another user from the same address, and the same user from another address, sign in.
    assert sign_in(client, "pw", username="dana").status_code == 302
    client.logout()
    assert sign_in(client, "pw", REMOTE_ADDR="10.0.0.8").status_code == 302
    client.logout()
    # The locked pair stays locked.
    assert sign_in(client, "pw").status_code == 429
    assert not is_signed_in(client)


def test_admin_login_is_throttled_too(client, db):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")

    statuses = fail(client, 5, username="boss", path=admin_login)
    response = sign_in(client, "pw", username="boss", path=admin_login)

    assert statuses == [200, 200, 200, 200, 429]
    assert response.status_code == 429
    assert LOCKOUT_TEXT in response.content.decode()
    assert not is_signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302


def test_cool_off_ends_the_lockout(client, casey):
    fail(client, 5)
    AccessAttempt.objects.filter(username="casey").update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    response = sign_in(client, "pw")

    assert response.status_code == 302
    assert is_signed_in(client)


def test_admin_unlocks_by_deleting_the_access_attempt(client, admin_client, casey):
    fail(client, 5)
    attempt = AccessAttempt.objects.get(username="casey")
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "casey" in admin_client.get(changelist).content.decode()

    response = admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "pw").status_code == 302
    assert is_signed_in(client)


def test_axes_reset_username_command_unlocks(client, casey):
    UserFactory(username="dana", role=Role.CSM)
    fail(client, 5)
    fail(client, 5, username="dana")
    out = StringIO()

    call_command("axes_reset_username", "casey", stdout=out)

    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["dana"]
    assert sign_in(client, "pw").status_code == 302
    client.logout()
    assert sign_in(client, "pw", username="dana").status_code == 429


def test_non_staff_cannot_see_or_delete_access_attempts(client, casey):
    fail(client, 5)
    client.force_login(UserFactory(username="viewer", role=Role.VIEWER))

    response = client.get(reverse("admin:axes_accessattempt_changelist"))

    assert response.status_code == 302
    assert AccessAttempt.objects.filter(username="casey").count() == 1


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(1, "1 minute"), (15, "15 minutes"), (60, "1 hour"), (90, "1 hour 30 minutes"), (120, "2 hours")],
)
def test_cool_off_in_words(minutes, words):
    assert duration_in_words(timedelta(minutes=minutes)) == words


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_key(client, casey, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client forges a left-hand entry; the proxy appends the address it saw.
    fail(client, 5, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")

    assert AccessAttempt.objects.get(username="casey").ip_address == "203.0.113.9"
    assert sign_in(client, "pw", HTTP_X_FORWARDED_FOR="5.6.7.8, 203.0.113.9").status_code == 429
    assert sign_in(client, "pw", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 302


def test_sessions_end_after_eight_idle_hours_and_each_request_renews_them(client, casey):
    client.force_login(casey)

    first = client.get("/")
    second = client.get("/")

    for response in (first, second):
        assert response.status_code == 200
        assert response.cookies["sessionid"]["max-age"] == 8 * 3600
