"""Personal access tokens for GraphQL clients: random strings stored only as a SHA-256 hex digest
(SPEC 9), checked on every request, hence no slow password hasher."""

import hashlib
import secrets

TOKEN_PREFIX = "pat_"
# Characters of the raw token kept in clear (PersonalAccessToken.prefix, max 12).
PREFIX_LENGTH = 12


def hash_token(raw: str) -> str:
    """SHA-256 hex digest of a raw token: what PersonalAccessToken.token_hash stores."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def generate_token() -> tuple[str, str, str]:
    """A new token as (raw, prefix, digest). Show `raw` once; store only `prefix` and `digest`."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:PREFIX_LENGTH], hash_token(raw)
