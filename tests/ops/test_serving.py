"""Production serving: health check, request ids, JSON log lines, the replica router, static files."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.utils.functional import empty

from adoption.models import Product
from config.observability import JsonFormatter, RequestIdFilter, request_id_from
from config.replica import PIN_COOKIE, ReplicaMiddleware, ReplicaRouter, replica_active, use_primary, use_replica
from customers.models import Customer
from tests.factories import CustomerFactory

BASE_DIR = Path(settings.BASE_DIR)

# --- /healthz -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(REDIS_URL="")
def test_healthz_ok_without_auth_and_with_any_host(client):
    response = client.get("/healthz", HTTP_HOST="10.1.2.3")  # a balancer's probe: an IP, not an allowed host
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_healthz_checks_redis_when_configured(client):
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    with override_settings(REDIS_URL="redis://127.0.0.1:6379/14"):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_healthz_503_names_the_failed_check(client):
    # Nothing listens on port 1: the Redis check fails (connection refused), the database passes.
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "ok", "redis": "failed: ConnectionError"},
    }


@pytest.mark.django_db
@override_settings(REDIS_URL="")
def test_healthz_503_when_the_database_fails(client):
    connection = connections["default"]

    def refuse(execute, sql, params, many, context):
        raise connection.Database.OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "failed: OperationalError"}}


@pytest.mark.django_db
def test_healthz_is_read_only(client):
    assert client.post("/healthz").status_code == 405


# --- request ids ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_request_id_is_echoed_when_sane(client):
    response = client.get("/login/", HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert response["X-Request-ID"] == "lb-7f3a.42"


@pytest.mark.django_db
def test_request_id_is_generated_when_missing_or_unsafe(client):
    first = client.get("/login/")["X-Request-ID"]
    second = client.get("/login/")["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second
    forged = client.get("/login/", HTTP_X_REQUEST_ID='x" level=ERROR')["X-Request-ID"]
    assert forged != 'x" level=ERROR' and len(forged) == 32


def test_request_id_rules():
    assert request_id_from("abc-DEF_1.2:3") == "abc-DEF_1.2:3"
    assert len(request_id_from("a" * 129)) == 32
    assert len(request_id_from("")) == 32
    assert len(request_id_from("line\nbreak")) == 32


# --- JSON log lines -----------------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines():
    capture = _Capture()
    logger = logging.getLogger("config.request")
    level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    yield capture.lines
    logger.removeHandler(capture)
    logger.setLevel(level)


@pytest.mark.django_db
def test_access_log_line_is_one_json_object_with_the_request_fields(client, admin_user, access_lines):
    client.force_login(admin_user)
    response = client.get("/customers/", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    assert len(access_lines) == 1
    assert "\n" not in access_lines[0]
    entry = json.loads(access_lines[0])
    assert set(entry) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "user_id",
    }
    assert entry["level"] == "INFO"
    assert entry["logger"] == "config.request"
    assert entry["message"] == "GET /customers/ 200"
    assert entry["request_id"] == "req-123"
    assert (entry["method"], entry["path"], entry["status"], entry["user_id"]) == (
        "GET",
        "/customers/",
        200,
        admin_user.pk,
    )
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]


@pytest.mark.django_db
def test_access_log_anonymous_user_and_quiet_health_probes(client, access_lines):
    client.get("/healthz")
    client.get("/login/")
    assert len(access_lines) == 1  # a passing probe is not logged
    entry = json.loads(access_lines[0])
    assert (entry["path"], entry["status"], entry["user_id"]) == ("/login/", 200, None)


def test_json_formatter_outside_requests_and_with_exceptions():
    formatter = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("adoption.jobs", logging.ERROR, __file__, 1, "job %s failed", (7,), sys.exc_info())
    RequestIdFilter().filter(record)
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "job 7 failed"
    assert entry["level"] == "ERROR"
    assert entry["request_id"] is None
    assert "ValueError: boom" in entry["exception"]


# --- the replica router -----------------------------------------------------------------------------


@pytest.fixture
def with_replica(settings):
    """A replica alias pointing at the test database (like TEST MIRROR), so routing can be observed."""
    connections.settings["replica"] = {**connections.settings["default"]}
    settings.REPLICA_DATABASE = "replica"
    yield "replica"
    del connections.settings["replica"]


def test_router_reads_from_the_replica_only_inside_use_replica(with_replica):
    router = ReplicaRouter()
    assert router.db_for_read(Customer) is None
    with use_replica():
        assert router.db_for_read(Customer) == "replica"
        assert router.db_for_read(Product) == "replica"
        # sessions and users always come from the primary
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.models import Session

        assert router.db_for_read(get_user_model()) is None
        assert router.db_for_read(Session) is None
        with use_primary():
            assert router.db_for_read(Customer) is None
        assert router.db_for_write(Customer) == "default"
    assert router.db_for_read(Customer) is None
    assert router.allow_migrate("default", "customers") is True
    assert router.allow_migrate("replica", "customers") is False


def test_router_without_a_replica_sends_everything_to_the_primary(settings):
    settings.REPLICA_DATABASE = None
    with use_replica():
        assert ReplicaRouter().db_for_read(Customer) is None


def _seen_by_view(request_factory, method, path, cookies=None):
    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen["replica"] = replica_active()
        return HttpResponse("ok")

    request = getattr(request_factory, method.lower())(path)
    request.COOKIES.update(cookies or {})
    response = ReplicaMiddleware(view)(request)
    return seen["replica"], response


def test_safe_page_views_read_from_the_replica_and_writes_pin_to_the_primary(with_replica, rf):
    assert _seen_by_view(rf, "GET", "/customers/")[0] is True
    assert _seen_by_view(rf, "HEAD", "/plans/3/")[0] is True
    for path in ("/admin/customers/customer/", "/graphql/", "/api/v1/telemetry", "/jobs/4/", "/healthz"):
        assert _seen_by_view(rf, "GET", path)[0] is False, path
    used_replica, response = _seen_by_view(rf, "POST", "/customers/")
    assert used_replica is False
    assert response.cookies[PIN_COOKIE]["max-age"] == settings.REPLICA_PIN_SECONDS
    # the same browser's next pages read its own writes from the primary
    assert _seen_by_view(rf, "GET", "/customers/", cookies={PIN_COOKIE: "1"})[0] is False


def test_without_a_replica_the_middleware_changes_nothing(settings, rf):
    settings.REPLICA_DATABASE = None
    used_replica, response = _seen_by_view(rf, "POST", "/customers/")
    assert used_replica is False and PIN_COOKIE not in response.cookies
    assert _seen_by_view(rf, "GET", "/customers/")[0] is False


@pytest.mark.django_db
def test_graphql_queries_may_use_the_replica_and_mutations_never(client, admin_user):
    # Observed where the view runs each SQL statement: inside use_replica() for a query operation (the
    # router then sends the domain's reads to the replica, tested above), outside it for a mutation.
    client.force_login(admin_user)
    CustomerFactory(name="Initech")
    observed = []

    def observe(execute, sql, params, many, context):
        observed.append(replica_active())
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(observe):
        response = client.post("/graphql/", {"query": "{ customers { name } }"}, content_type="application/json")
    assert response.json() == {"data": {"customers": [{"name": "Initech"}]}}
    assert True in observed
    observed.clear()
    with connections["default"].execute_wrapper(observe):
        response = client.post(
            "/graphql/",
            {"query": 'mutation { createCustomer(input: {name: "Hooli"}) { name } }'},
            content_type="application/json",
        )
    assert response.json() == {"data": {"createCustomer": {"name": "Hooli"}}}
    assert observed and not any(observed)


# --- settings --------------------------------------------------------------------------------------


def _settings_in_subprocess(env: dict, expression: str):
    code = (
        "import json, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
        f"django.setup(); from django.conf import settings; print(json.dumps({expression}, default=str))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "DB_", "PRODUCTION", "CONN_MAX"))}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )
    return result


def test_pool_is_on_in_production_and_by_db_pool_with_conn_max_age_zero():
    production = {"PRODUCTION": "1", "SECRET_KEY": "k", "ALLOWED_HOSTS": "example.com", "REDIS_URL": "redis://x:6379/0"}
    result = _settings_in_subprocess(
        {**production, "DATABASE_URL": "postgres://u@db:5432/app", "DB_POOL_MAX_SIZE": "20"},
        "[settings.DATABASES['default']['OPTIONS'], settings.DATABASES['default']['CONN_MAX_AGE']]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"pool": {"min_size": 2, "max_size": 20, "timeout": 10}}, 0]

    result = _settings_in_subprocess(
        {"DB_POOL": "1", "DATABASE_URL": "postgres://u@db:5432/app", "CONN_MAX_AGE": "60"}, "1"
    )
    assert result.returncode != 0
    assert "DB_POOL=1 needs CONN_MAX_AGE=0" in result.stderr

    result = _settings_in_subprocess({"DB_POOL": "yes"}, "1")
    assert result.returncode != 0
    assert "DB_POOL=1 needs PostgreSQL" in result.stderr

    result = _settings_in_subprocess(
        {"DATABASE_URL": "postgres://u@db:5432/app"}, "settings.DATABASES['default'].get('OPTIONS', {})"
    )
    assert json.loads(result.stdout) == {}


def test_replica_url_adds_a_mirrored_replica_alias():
    result = _settings_in_subprocess(
        {"DATABASE_URL": "postgres://u@db:5432/app", "DATABASE_REPLICA_URL": "postgres://u@db-ro:5432/app"},
        "[settings.REPLICA_DATABASE, settings.DATABASES['replica']['HOST'], settings.DATABASES['replica']['TEST']['MIRROR']]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["replica", "db-ro", "default"]


# --- static files -------------------------------------------------------------------------------------


def test_collectstatic_with_the_production_storage_keeps_every_vendored_file(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"}}
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    shipped = sorted(
        str(path.relative_to(BASE_DIR / "static")).replace(os.sep, "/")
        for path in (BASE_DIR / "static").rglob("*")
        if path.is_file() and path.suffix in (".css", ".js", ".woff", ".woff2")
    )
    assert any(name.startswith("vendor/bootstrap/") for name in shipped)
    assert any(name.startswith("graphiql/") for name in shipped)
    for name in shipped:
        hashed = manifest.get(name)
        assert hashed and hashed != name, name
        assert (tmp_path / hashed).is_file(), name
        if name.startswith(("vendor/", "graphiql/")) and name.endswith((".css", ".js")):
            # (WhiteNoise skips the gzip copy of a small file that would not get smaller)
            assert (tmp_path / (hashed + ".gz")).is_file(), name
    # CSS references point at the hashed fonts, so browsers may cache both for ever
    icons = (tmp_path / manifest["vendor/bootstrap-icons/bootstrap-icons.min.css"]).read_text()
    assert manifest["vendor/bootstrap-icons/fonts/bootstrap-icons.woff2"].split("/")[-1] in icons


def test_json_lines_keep_credentials_masked_in_tracebacks():
    from config.log_filters import RedactSecretsFilter

    try:
        raise ValueError("upstream refused Authorization: Bearer pat_SuperSecretToken123")
    except ValueError:
        record = logging.LogRecord("config.graphql", logging.ERROR, __file__, 1, "request failed", (), sys.exc_info())
    RedactSecretsFilter().filter(record)
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "SuperSecretToken123" not in line
    assert "ValueError: upstream refused Authorization: [redacted]" in json.loads(line)["exception"]


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, REDIS_URL="")
def test_healthz_answers_plain_http_probes_where_pages_redirect_to_https(client):
    assert client.get("/login/").status_code == 301
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_pages_render_with_plain_asset_names_when_the_manifest_lacks_them(tmp_path, settings, caplog):
    settings.STATIC_ROOT = tmp_path  # collectstatic never ran: no manifest at all
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"}}
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.templatetags.static import static

    staticfiles_storage._wrapped = empty  # the storage is built again from the settings above
    try:
        with caplog.at_level(logging.WARNING, logger="config.storage"):
            assert static("js/theme.js") == "/static/js/theme.js"
        assert caplog.messages == ["static file 'js/theme.js' is not in the manifest: run collectstatic"]
    finally:
        staticfiles_storage._wrapped = empty
