"""The documentation says what REDIS_URL is for, as the settings wire it: Django's cache (which holds
the rate-limit counters) and the Celery broker. Nothing promises a Channels layer the app does not have."""

import re
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)
DOCS = [BASE / "README.md", *sorted((BASE / "docs").glob("*.md"))]
REDIS_ROW = re.compile(r"^\|\s*`REDIS_URL`\s*\|.*$", re.M)


def channels_is_wired() -> bool:
    return "channels" in settings.INSTALLED_APPS or hasattr(settings, "CHANNEL_LAYERS")


def test_the_app_has_no_channel_layer():
    """What the documentation below describes: plain Django over ASGI, no Channels."""
    assert not channels_is_wired()
    assert "channels" not in (BASE / "config" / "asgi.py").read_text(encoding="utf-8")


def test_no_document_promises_a_channel_layer():
    mentions = [
        (path.name, line.strip())
        for path in DOCS
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"channel layer|django channels|\bchannels\b\s*(\||$)", line, re.I)
    ]
    assert mentions == []


def test_every_redis_url_row_names_the_cache_rate_limits_and_the_celery_broker():
    rows = [(path.name, row) for path in DOCS for row in REDIS_ROW.findall(path.read_text(encoding="utf-8"))]
    assert {name for name, _ in rows} >= {"deployment.md", "operations.md"}
    for name, row in rows:
        meaning = row.split("|")[3].lower()
        assert "cache" in meaning and "rate-limit" in meaning and "celery" in meaning, (name, row)
        assert "channel" not in meaning, (name, row)
