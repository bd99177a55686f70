"""Personal access tokens and roles are written by services, so the admin and the create_token
command leave the same audit trail."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from config.audit.models import AuditLog
from config.errors import ValidationFailed
from customers.models import PersonalAccessToken, Role
from customers.permissions import role_of
from customers.services import personal_token_issue, personal_token_revoke, user_role_set
from tests.admin.helpers import url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_admin_and_create_token_record_the_same_audit_action(admin_client, csm):
    response = admin_client.post(url(PersonalAccessToken, "add"), {"user": csm.pk, "name": "laptop"}, follow=True)
    raw = re.search(r"(pat_[A-Za-z0-9_-]+)", " ".join(str(m) for m in response.context["messages"])).group(1)
    call_command("create_token", "csm_u", "--name", "ci", stdout=io.StringIO())

    entries = list(AuditLog.objects.order_by("pk").values_list("action", "object_type", "actor_label", "details"))

    laptop = PersonalAccessToken.objects.get(name="laptop")
    ci = PersonalAccessToken.objects.get(name="ci")
    assert entries == [
        (
            "personal_token.issue",
            "personal_access_token",
            "admin_u",
            {"user": "csm_u", "name": "laptop", "prefix": laptop.prefix},
        ),
        (
            "personal_token.issue",
            "personal_access_token",
            "system",
            {"user": "csm_u", "name": "ci", "prefix": ci.prefix},
        ),
    ]
    assert raw not in str(entries)


def test_revoking_in_the_admin_goes_through_the_service_once(admin_client, admin_user, csm):
    token, _raw = personal_token_issue(actor=admin_user, user=csm, name="laptop")

    for _ in range(2):
        admin_client.post(url(PersonalAccessToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revoked_at is not None
    revocations = AuditLog.objects.filter(action="personal_token.revoke")
    assert [(e.actor_label, e.object_id) for e in revocations] == [("admin_u", str(token.pk))]
    first = token.revoked_at
    personal_token_revoke(actor=admin_user, token=token)  # already revoked: nothing changes
    token.refresh_from_db()
    assert token.revoked_at == first
    assert revocations.count() == 1


def test_token_issue_refuses_inactive_users_and_long_names(admin_user, csm):
    csm.is_active = False
    csm.save()
    with pytest.raises(ValidationFailed) as inactive:
        personal_token_issue(actor=admin_user, user=csm)
    assert (inactive.value.field, inactive.value.message) == ("user", "tokens are issued only to active users")
    csm.is_active = True
    csm.save()
    with pytest.raises(CommandError, match="name: token name is 101 characters long; at most 100 are allowed"):
        call_command("create_token", "csm_u", "--name", "x" * 101, stdout=io.StringIO())
    assert PersonalAccessToken.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_user_role_set_audits_real_changes_only(admin_user, csm):
    user_role_set(actor=admin_user, user=csm, role=Role.CSM)
    assert AuditLog.objects.count() == 0

    user_role_set(actor=admin_user, user=csm, role="VIEWER")

    assert role_of(csm) == Role.VIEWER
    entry = AuditLog.objects.get()
    assert (entry.action, entry.details) == ("user.role_change", {"username": "csm_u", "from": "CSM", "to": "VIEWER"})
    assert entry.summary == "Role of csm_u: Customer success manager → Viewer"
    with pytest.raises(ValidationFailed) as refused:
        user_role_set(actor=admin_user, user=csm, role="OWNER")
    assert refused.value.field == "role"
    assert refused.value.message == "unknown role 'OWNER'; expected one of ADMIN, CATALOG_EDITOR, CSM, VIEWER"
    csm.profile.refresh_from_db()
    assert csm.profile.role == Role.VIEWER
    assert AuditLog.objects.count() == 1


def test_admin_shows_a_refused_token_issue_next_to_the_user(admin_client, csm):
    csm.is_active = False
    csm.save()

    response = admin_client.post(url(PersonalAccessToken, "add"), {"user": csm.pk, "name": "laptop"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["user"] == ["tokens are issued only to active users"]
    assert PersonalAccessToken.objects.count() == 0
    assert AuditLog.objects.count() == 0
