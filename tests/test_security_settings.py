"""Security settings: the Content-Security-Policy and clickjacking headers in every mode, and
production mode (PRODUCTION=1) that passes `check --deploy`, insists on HTTPS and refuses DEBUG.

Production mode is read from the environment when the settings load, so it is exercised in a fresh
interpreter, exactly as a deployment starts."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def parse_policy(header: str) -> dict[str, str]:
    directives = [part.strip() for part in header.split(";") if part.strip()]
    return {name: value for name, _, value in (d.partition(" ") for d in directives)}


def production_env(**overrides) -> dict[str, str]:
    # The test run's own switches (the async-safety override the tests need, a local DEBUG) stay out.
    ignored = {
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_PRELOAD",
        "SECURE_HSTS_SECONDS",
    }
    env = {k: v for k, v in os.environ.items() if k not in ignored}
    env.update(
        PRODUCTION="1",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="planner.example.com",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    env.update(overrides)
    return env


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


# A request through the whole middleware stack in production mode, without a database or a server.
PRODUCTION_REQUEST = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="planner.example.com")
plain = client.get("/login/")
secure = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "secure": [secure.status_code, dict(secure.headers)],
    "cookies": {name: dict(morsel) for name, morsel in secure.cookies.items()},
}))
"""


def test_check_deploy_in_production_mode_reports_nothing():
    result = run([sys.executable, "manage.py", "check", "--deploy"], production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in result.stderr and result.stderr.strip() == ""


def test_production_mode_refuses_debug():
    result = run([sys.executable, "manage.py", "check"], production_env(DEBUG="1"))

    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG must be off in production mode (PRODUCTION=1)" in result.stderr


def test_production_mode_redirects_http_and_sends_hsts_and_secure_cookies():
    result = run([sys.executable, "-c", PRODUCTION_REQUEST], production_env(DJANGO_SETTINGS_MODULE="config.settings"))

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["plain"] == [301, "https://planner.example.com/login/"]
    status, headers = answer["secure"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert parse_policy(headers["Content-Security-Policy"]) == EXPECTED_POLICY
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert answer["cookies"]["csrftoken"]["secure"] is True


def test_hsts_preload_can_be_left_out():
    env = production_env(SECURE_HSTS_PRELOAD="0", DJANGO_SETTINGS_MODULE="config.settings")
    result = run([sys.executable, "-c", PRODUCTION_REQUEST], env)

    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout)["secure"][1]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_every_page_carries_the_content_security_policy_and_refuses_framing(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert parse_policy(response["Content-Security-Policy"]) == EXPECTED_POLICY
    assert response["X-Frame-Options"] == "DENY"
