# Two commands do all set-up: `make run` and `make test`. Everything lands in .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_CONCURRENCY ?= 2

.PHONY: run serve worker beat test lint bench loadtest screenshots install install-dev migrate seed schema clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Local demo on SQLite: install, migrate, load demo data, print the login, serve.
run: seed
	@echo ""
	@echo "  Adoption planner: http://$(HOST):$(PORT)/   (sign in there; the Django admin is at /admin/)"
	@echo "  Demo logins (local SQLite demo only): casey.csm / demo-password (a CSM), admin / demo-admin-password"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

## Production serving: gunicorn with uvicorn workers on the ASGI app, after migrations and collectstatic.
## Settings come from the environment (PRODUCTION=1, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL ...).
serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn config.asgi:application --worker-class uvicorn_worker.UvicornWorker \
		--workers $(WEB_CONCURRENCY) --bind $(HOST):$(PORT) --error-logfile -

## Background jobs: a Celery worker (needs REDIS_URL), and beat for the daily re-evaluation (run ONE beat).
worker: install
	$(VENV)/bin/celery -A config worker --loglevel INFO

beat: install
	$(VENV)/bin/celery -A config beat --loglevel INFO

## Whole suite: lint, migrations, architecture (lint-imports, contracts in pyproject.toml), then pytest on 2 workers (PYTEST_ARGS="-n 0" for one process). PostgreSQL when DATABASE_URL is set, else SQLite.
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || (echo "models and migrations differ: run makemigrations" && exit 1)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Browser tests again, writing the page screenshots under docs/screenshots/ (needs chromium + DATABASE_URL).
screenshots: install-dev
	UPDATE_SCREENSHOTS=1 $(VENV)/bin/pytest tests/browser -q

## Benchmarks in a throwaway database (PostgreSQL when DATABASE_URL or BENCH_DATABASE_URL names one, else SQLite); BENCH_ARGS=--quick for a short run, --only NAME for one scenario, --list for the names. Results also in bench/results.json.
bench: install-dev
	$(PY) bench/run.py $(BENCH_ARGS)

## Load test: make serve with 1 then 2 processes under a mixed locust load on a throwaway PostgreSQL database
## (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432), then the plan totals check. About 4 minutes.
LOADTEST_ARGS ?=
loadtest: install-dev
	$(PY) bench/loadtest.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache .hypothesis
