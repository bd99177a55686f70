"""The pages' shell: own sign-in, login required everywhere, refusals in words."""

import pytest
from django.urls import reverse

from customers.models import Role
from tests.factories import UserFactory


@pytest.mark.django_db
def test_pages_require_login(client):
    for name in ("home", "customer-list"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_login_page_is_the_apps_own_and_signs_in(client):
    UserFactory(username="casey", role=Role.CSM)
    page = client.get("/login/")
    assert page.status_code == 200
    assert b"Sign in" in page.content and b"csrfmiddlewaretoken" in page.content
    response = client.post("/login/", {"username": "casey", "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b'data-testid="user-role">Customer success manager<' in home.content


@pytest.mark.django_db
def test_logout_is_post_only_and_ends_the_session(client):
    user = UserFactory(username="casey", role=Role.CSM)
    client.force_login(user)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_admin_and_graphiql_links_follow_the_role(client, settings):
    settings.DEBUG = True  # GraphiQL offered
    csm = UserFactory(username="casey", role=Role.CSM)
    client.force_login(csm)
    content = client.get("/").content.decode()
    assert 'href="/admin/"' not in content
    assert 'href="/graphql/"' in content
    staff = UserFactory(username="boss", is_superuser=True, is_staff=True)
    client.force_login(staff)
    assert 'href="/admin/"' in client.get("/").content.decode()
