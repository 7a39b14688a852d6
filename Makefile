# Client Billing — every target bootstraps what it needs (see README.md).
#   make run    set everything up and serve the app (embedded mode: SQLite, no external services)
#   make dev    the same with hot reload of billing_app/ (frontend :3000, backend :8000)
#   make test   lint + the whole suite (unit, services on SQLite and PostgreSQL, SMTP, browser)
#   make bench  print the benchmark figures
#   make soak   the renewal engine killed at random 20 times over 1,000 subscriptions (docs/testing.md)
#   make mutation  mutation testing of the domain and the invoicing services (docs/testing.md)
#   make i18n   extract the strings to translate and update every language's catalog (README)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := $(CURDIR)/.tools
BUN_VERSION := 1.4.5
BUN := $(TOOLS)/node_modules/.bin/bun
AXE_VERSION := 4.14.1
AXE := $(TOOLS)/node_modules/axe-core/axe.min.js
# Lighthouse 13 needs Node >= 22.19; 12.8.2 is the newest that runs on Node 20.
LIGHTHOUSE_VERSION := 12.8.2
LIGHTHOUSE := $(TOOLS)/node_modules/lighthouse/package.json
CHROMIUM := /usr/lib/chromium/chromium

export PATH := $(TOOLS)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_DIR := $(TOOLS)/reflex
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export PYTHONPATH := $(CURDIR)

.PHONY: run dev test lint typecheck unit bench soak mutation migrate setup setup-dev chromium clean \
	catalogs i18n i18n-add

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

# axe-core, the accessibility checker the browser journeys inject into pages (tests/e2e/axe.py).
$(AXE):
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error --save-exact axe-core@$(AXE_VERSION)

# Lighthouse, for the page-quality bench (bench/bench_lighthouse.py); it drives Debian's Chromium.
$(LIGHTHOUSE):
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error --save-exact lighthouse@$(LIGHTHOUSE_VERSION)

setup: $(VENV)/.runtime $(BUN) catalogs

setup-dev: $(VENV)/.dev $(BUN) catalogs

migrate: $(VENV)/.runtime
	$(VENV)/bin/alembic upgrade head

# --- languages (README, "Languages") ------------------------------------------------------
# The .po catalogs are written by people and committed; the .mo the app reads are compiled
# from them here (git-ignored), before anything runs or tests. `make i18n` after adding or
# changing a string; `make i18n-add LANGUAGE=de` to start a language.

LOCALE_DIR := billing_app/locale
POT := $(LOCALE_DIR)/messages.pot
PO_FILES := $(wildcard $(LOCALE_DIR)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
PYBABEL := $(VENV)/bin/pybabel

catalogs: $(MO_FILES)

$(LOCALE_DIR)/%/LC_MESSAGES/messages.mo: $(LOCALE_DIR)/%/LC_MESSAGES/messages.po | $(VENV)/.runtime
	$(PYBABEL) -q compile -l $* -i $< -o $@.tmp && mv $@.tmp $@

i18n: $(VENV)/.runtime
	$(PYBABEL) -q extract -F babel.cfg -c TRANSLATORS: --add-location=file --sort-by-file \
		--project "Client Billing" --copyright-holder "Client Billing" -o $(POT) .
	$(PYBABEL) -q update -i $(POT) -d $(LOCALE_DIR) -D messages
	@$(MAKE) --no-print-directory catalogs

# The new catalog's header is not left fuzzy (a fuzzy catalog is not compiled).
i18n-add: $(VENV)/.runtime
	@test -n "$(LANGUAGE)" || { echo "usage: make i18n-add LANGUAGE=de"; exit 2; }
	$(PYBABEL) -q init -i $(POT) -d $(LOCALE_DIR) -D messages -l $(LANGUAGE)
	sed -i '0,/^#, fuzzy$$/{/^#, fuzzy$$/d}' $(LOCALE_DIR)/$(LANGUAGE)/LC_MESSAGES/messages.po
	@$(MAKE) --no-print-directory catalogs

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

test: setup-dev chromium $(AXE) lint
	$(VENV)/bin/pytest -q

bench: setup-dev chromium $(LIGHTHOUSE)
	$(PY) bench/bench_domain.py
	$(PY) bench/bench_pdf.py
	$(PY) bench/bench_clients.py
	$(PY) bench/bench_event_loop.py
	$(PY) bench/bench_portal.py
	$(PY) bench/bench_lighthouse.py
	$(PY) bench/bench_webhooks.py
	$(PY) bench/bench_webhooks.py --postgres
	$(PY) bench/bench_event_job.py
	$(PY) bench/bench_event_job.py --postgres
	$(PY) bench/bench_billing_run.py
	$(PY) bench/bench_billing_run.py --postgres
	$(PY) bench/bench_reports.py
	$(PY) bench/bench_reports.py --postgres
	$(PY) bench/bench_charges.py
	$(PY) bench/bench_charges.py --postgres

# The renewal engine SIGKILLed at random moments of a 1,000-subscription run and re-run, 20
# times, then two runs at once on SQLite and PostgreSQL (tests/faults, docs/testing.md).
SOAK_SUBSCRIPTIONS ?= 1000
SOAK_ITERATIONS ?= 20

soak: setup-dev
	FAULTS_SUBSCRIPTIONS=$(SOAK_SUBSCRIPTIONS) FAULTS_ITERATIONS=$(SOAK_ITERATIONS) \
	FAULTS_AT_ONCE_SUBSCRIPTIONS=$(SOAK_SUBSCRIPTIONS) \
		$(VENV)/bin/pytest tests/faults -q -s -p no:cacheprovider

# Mutation testing (docs/testing.md): plant small bugs and check that a test fails for each, in
# two sets with their own mutmut configuration in pyproject.toml: "domain" ([tool.mutmut]:
# billing_app/domain, in mutants/) and "services" ([tool.mutmut-services]: the use cases that
# move money - invoicing, payments, subscriptions - on SQLite, in mutants/services/).
# scripts/mutation_run.py runs each set afresh, then prints its score per file and the mutants no
# test caught; it fails when a set scores below its minimum (MUTATION_MIN for the domain,
# MUTATION_SERVICES_MIN for the services). About 35 to 50 minutes on 2 cores (domain 3, services
# 32 to 49). One set: `make mutation MUTATION_SETS=services`.
MUTATION_MIN ?= 90
MUTATION_SERVICES_MIN ?= 80
MUTATION_SETS ?= domain services
MUTATION_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

mutation: setup-dev
	env -u PYTHONPATH $(PY) scripts/mutation_run.py --jobs $(MUTATION_JOBS) \
		--fail-under domain=$(MUTATION_MIN) --fail-under services=$(MUTATION_SERVICES_MIN) \
		$(MUTATION_SETS)

clean:
	rm -rf .web .states $(VENV) $(TOOLS)
	rm -f $(MO_FILES)
