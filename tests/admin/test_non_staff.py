"""The Django admin is for staff accounts: a user with a role but without is_staff (the authorization
matrix makes every role user staff, to check the admin's own scoping) gets the admin's sign-in page
for every admin URL, and the pages offer no Admin link."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from customers.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def admin_urls() -> list[str]:
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return urls


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CSM, Role.CATALOG_EDITOR, Role.ADMIN])
def test_a_role_without_staff_gets_the_admin_sign_in_for_every_admin_url(role):
    user = UserFactory(username=f"nostaff_{role.lower()}", role=role, is_staff=False)
    client = Client()
    client.force_login(user)
    urls = admin_urls()
    assert len(urls) > 20
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), (url, response["Location"])
    home = client.get("/")
    assert home.status_code == 200
    assert b'href="/admin/"' not in home.content


def test_the_same_role_with_staff_gets_the_admin_and_its_link():
    user = UserFactory(username="staff_csm", role=Role.CSM, is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    assert b'href="/admin/"' in client.get("/").content
