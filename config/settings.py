"""One settings module, driven by the environment.

Local use needs nothing set: SQLite in the project folder, DEBUG on, a throwaway key.
Production mode is switched on by PRODUCTION=1 only (never by DEBUG alone) and then refuses
to start without SECRET_KEY, ALLOWED_HOSTS and REDIS_URL, or with DEBUG on. It turns on HTTPS
(redirect, HSTS, secure cookies); the Content-Security-Policy, sign-in lockout and rate limits
apply in every mode, so the tests and the demo run under the same rules as production.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION = env_bool("PRODUCTION", False)

if PRODUCTION:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL") if not env_str(name)]
    if missing:
        raise ImproperlyConfigured(
            "Production mode (PRODUCTION=1) needs these environment variables: " + ", ".join(missing)
        )

SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-local-development-key-not-for-production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DEBUG must be off in production mode (PRODUCTION=1): it shows settings and tracebacks to anyone. "
        "Unset DEBUG or set DEBUG=0."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
REDIS_URL = env_str("REDIS_URL") or ""

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # index expressions with operator classes (trigram search indexes)
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "django_filters",
    "graphene_django",
    "config",  # the kernel: fast timestamp loading on PostgreSQL (config.timestamps)
    "config.audit",
    "customers",
    "adoption",
    "telemetry",
]

MIDDLEWARE = [
    "config.middleware.QueryCountMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.DomainErrorPageMiddleware",
    # Last, so it turns a refused sign-in (on any login form) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.context_processors.shell",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server, workers and tests share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Axes first: it refuses a locked-out username + address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves what collectstatic gathered in STATIC_ROOT; locally WhiteNoise reads the apps'
# own static folders, so nothing needs collecting (and no missing folder is warned about).
_static_root = env_str("STATIC_ROOT")
STATIC_ROOT = Path(_static_root) if _static_root else (BASE_DIR / "staticfiles" if PRODUCTION else None)
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after SESSION_IDLE_MINUTES without a request (default 8 hours): every request
# renews the cookie, so only inactivity signs a user out.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 8 * 60) * 60
SESSION_SAVE_EVERY_REQUEST = True

# Sign-in throttling (django-axes) on every login form, the app's and the admin's: after
# LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address, that pair is locked out
# for LOGIN_COOLOFF_MINUTES, even with the right password. Admins unlock in the admin (Axes >
# Access attempts: delete the row) or with `manage.py axes_reset_username <username>`.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "customers.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "customers.lockout.client_ip"
AXES_VERBOSE = False
# How many reverse proxies in front of the app append to X-Forwarded-For (0: use the peer address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Rate limits, counted in the cache (Redis when REDIS_URL is set): requests per window (seconds)
# per telemetry API key and per GraphQL user. 0 switches a limit off.
TELEMETRY_RATE_LIMIT = env_int("TELEMETRY_RATE_LIMIT", 120)
TELEMETRY_RATE_WINDOW = env_int("TELEMETRY_RATE_WINDOW", 60)
GRAPHQL_RATE_LIMIT = env_int("GRAPHQL_RATE_LIMIT", 300)
GRAPHQL_RATE_WINDOW = env_int("GRAPHQL_RATE_WINDOW", 60)

GRAPHENE = {
    "SCHEMA": "config.schema.schema",
    "ATOMIC_MUTATIONS": True,
}

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)

# Content-Security-Policy in every mode: everything the pages use is served by the app, and no
# page has inline scripts or styles, so nothing else is allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    # HTTPS only. The app runs behind a proxy that terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        # Leaving the browsers' preload list out is the operator's deliberate choice here.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# =================================================================================================
# Operations: production serving, logs, database pool and replica, background jobs.
# (One block, apart from the rest, so that other settings changes merge cleanly.)
# =================================================================================================

# Request ids on every response and log line; /healthz answered before host checks and redirects;
# safe page views may read from the replica (config.replica).
MIDDLEWARE = [
    "config.observability.RequestIdMiddleware",
    "config.health.HealthCheckMiddleware",
    *MIDDLEWARE,
    "config.replica.ReplicaMiddleware",
]

# Static files: hashed, compressed and cached for ever in production (collectstatic first; `make serve`
# does it). Locally the plain storage, so nothing needs collecting.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.storage.StaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Logs: one JSON object per line in production (LOG_FORMAT=json|text), with the request id.
LOG_FORMAT = (env_str("LOG_FORMAT") or ("json" if PRODUCTION else "text")).lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}")
LOG_LEVEL = (env_str("LOG_LEVEL") or ("INFO" if PRODUCTION else "WARNING")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Credentials (Authorization values, API keys, access tokens) are masked in every record.
        "redact_secrets": {"()": "config.log_filters.RedactSecretsFilter"},
        "request_id": {"()": "config.observability.RequestIdFilter"},
        "client_error_without_traceback": {"()": "config.log_filters.ClientErrorWithoutTracebackFilter"},
    },
    "formatters": {
        "json": {"()": "config.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["client_error_without_traceback", "redact_secrets", "request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The app writes one access line per request itself (config.observability); the servers' own
        # access lines would repeat it without the request id.
        "uvicorn.access": {"level": "WARNING"},
        "gunicorn.access": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print every django.* line a second time:
        # they reach the root handler anyway.
        "django": {"handlers": [], "level": "INFO"},
    },
}

# PostgreSQL connection pool (psycopg_pool): DB_POOL=1, on by default in production. The pool replaces
# persistent connections, so CONN_MAX_AGE must stay 0.
DB_POOL = env_bool("DB_POOL", PRODUCTION)
_is_postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DB_POOL and _is_postgres:
    if DATABASES["default"].get("CONN_MAX_AGE"):
        raise ImproperlyConfigured("DB_POOL=1 needs CONN_MAX_AGE=0: the pool replaces persistent connections")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 2),
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        "timeout": env_int("DB_POOL_TIMEOUT", 10),
    }
elif DB_POOL and env_str("DB_POOL") is not None:
    raise ImproperlyConfigured("DB_POOL=1 needs PostgreSQL (DATABASE_URL=postgres://...)")

# Read replica (optional): reads inside use_replica() go there (config.replica). In tests it mirrors
# the primary.
_replica_url = env_str("DATABASE_REPLICA_URL")
REPLICA_DATABASE = "replica" if _replica_url else None
if _replica_url:
    DATABASES["replica"] = dj_database_url.parse(_replica_url, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    if "pool" in DATABASES["default"].get("OPTIONS", {}):
        DATABASES["replica"].setdefault("OPTIONS", {})["pool"] = dict(DATABASES["default"]["OPTIONS"]["pool"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
# Pages that must read their own writes (or that have no business on the replica) stay on the primary.
REPLICA_EXCLUDED_PATHS = ["/admin/", "/graphql/", "/api/", "/jobs/", "/healthz", "/login/", "/logout/"]
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 10)

# Background jobs on Celery (adoption.jobs). Without REDIS_URL they run in-process (eager), right after
# the request commits. Results live in the Job rows, not in a result backend.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE") or "adoption"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a job whose worker died is delivered again
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # jobs are long: one at a time per worker process
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("JOB_VISIBILITY_TIMEOUT", 6 * 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON log lines
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "daily-time-based-reevaluation": {
        "task": "adoption.daily_reevaluation",
        "schedule": crontab(hour=env_int("DAILY_REEVALUATION_HOUR", 3), minute=0),
    },
}
JOB_IMPORT_CHUNK_ROWS = env_int("JOB_IMPORT_CHUNK_ROWS", 1000)
JOB_EVALUATION_CHUNK_TASKS = env_int("JOB_EVALUATION_CHUNK_TASKS", 500)
