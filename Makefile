# Client Billing — every target bootstraps what it needs (see README.md).
#   make run    set everything up and serve the app (embedded mode: SQLite, no external services)
#   make dev    the same with hot reload of billing_app/ (frontend :3000, backend :8000)
#   make test   lint + the whole suite (unit, services on SQLite and PostgreSQL, SMTP, browser)
#   make bench  print the benchmark figures
#   make mutation  mutation testing of billing_app/domain and its score per file (docs/testing.md)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := $(CURDIR)/.tools
BUN_VERSION := 1.4.5
BUN := $(TOOLS)/node_modules/.bin/bun
CHROMIUM := /usr/lib/chromium/chromium

export PATH := $(TOOLS)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_DIR := $(TOOLS)/reflex
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export PYTHONPATH := $(CURDIR)

.PHONY: run dev test lint typecheck unit bench mutation migrate setup setup-dev chromium clean

# --- setup ---------------------------------------------------------------------------------

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# bun comes from the npm registry (its own installer downloads from elsewhere, which fails here).
$(BUN):
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error bun@$(BUN_VERSION)
	@$(BUN) --version >/dev/null

setup: $(VENV)/.runtime $(BUN)

setup-dev: $(VENV)/.dev $(BUN)

migrate: $(VENV)/.runtime
	$(VENV)/bin/alembic upgrade head

# --- run -----------------------------------------------------------------------------------

run: setup migrate
	@$(PY) -m billing_app banner
	$(VENV)/bin/reflex run --env prod --single-port

dev: setup migrate
	@$(PY) -m billing_app banner --dev
	REFLEX_HOT_RELOAD_OVERRIDE_PATHS=$(CURDIR)/billing_app $(VENV)/bin/reflex run --env dev

# --- test ----------------------------------------------------------------------------------

# Debian's Chromium for the browser journeys (Playwright cannot download its own here), and
# poppler-utils to render test PDFs to PNG for looking at them (test-artifacts/pdf/).
chromium:
	@if [ ! -x $(CHROMIUM) ] || ! command -v pdftoppm >/dev/null; then \
		echo "Installing Debian's Chromium and poppler-utils..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium poppler-utils >/dev/null; \
	fi

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup-dev chromium lint
	$(VENV)/bin/pytest -q

bench: setup-dev
	$(PY) bench/bench_domain.py
	$(PY) bench/bench_pdf.py
	$(PY) bench/bench_clients.py
	$(PY) bench/bench_event_loop.py

# Mutation testing (docs/testing.md): plant small bugs in billing_app/domain (pyproject.toml
# [tool.mutmut] says which files and which tests) and check that a test fails for each. Always a
# fresh run (mutants/ is mutmut's scratch copy of the project), then the score per file and the
# mutants no test caught; fails below MUTATION_MIN percent. About 4 minutes on 2 cores.
MUTATION_MIN ?= 90
MUTATION_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

mutation: setup-dev
	rm -rf mutants
	env -u PYTHONPATH $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS)
	$(PY) scripts/mutation_report.py --survivors --fail-under $(MUTATION_MIN)

clean:
	rm -rf .web .states $(VENV) $(TOOLS)
