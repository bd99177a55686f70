"""Customer API keys: high-entropy random strings, stored only as a SHA-256 hex digest.

The slow password hasher is deliberately not used: keys are checked on every request, and a
256-bit random key cannot be brute-forced from its digest anyway.
"""

import hashlib
import secrets

KEY_PREFIX = "cak_"
# Characters of the raw key kept in clear (ApiKey.prefix, max 12) so people can tell keys apart.
PREFIX_LENGTH = 12


def hash_key(raw: str) -> str:
    """SHA-256 hex digest of a raw key: what ApiKey.key_hash stores and what lookups compare."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def generate_api_key() -> tuple[str, str, str]:
    """A new key as (raw, prefix, digest). Show `raw` once; store only `prefix` and `digest`."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:PREFIX_LENGTH], hash_key(raw)
