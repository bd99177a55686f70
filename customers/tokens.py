"""Personal access tokens for GraphQL clients: random strings stored only as a SHA-256 hex digest,
checked on every request, hence no slow password hasher."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from customers.models import PersonalAccessToken

TOKEN_PREFIX = "pat_"
# Characters of the raw token kept in clear (PersonalAccessToken.prefix, max 12).
PREFIX_LENGTH = 12
# last_used_at is written at most this often per token, not on every request.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    """SHA-256 hex digest of a raw token: what PersonalAccessToken.token_hash stores."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def generate_token() -> tuple[str, str, str]:
    """A new token as (raw, prefix, digest). Show `raw` once; store only `prefix` and `digest`."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:PREFIX_LENGTH], hash_token(raw)


def user_for_token(raw: str):
    """The active user of a valid, unrevoked personal access token, or None."""
    token = (
        PersonalAccessToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
