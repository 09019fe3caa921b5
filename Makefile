# Every target bootstraps what it needs: a fresh machine with Python 3.11 and make is enough.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH if there is one, else the uv module that `bootstrap` installs for this Python.
UV := $(or $(shell command -v uv 2>/dev/null),$(PYTHON) -m uv)
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: bootstrap install prepare dbt-sources chromium postgres test test-fast test-soak test-deploy demo bench dev lint clean

bootstrap:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv

install: bootstrap
	$(UV) sync --frozen
	@# $(DAGSTER_HOME)/dagster.yaml, as for a real store: telemetry off, the centra_api pool, the run cap
	@$(RUN) centra-assets init >/dev/null

# dbt's manifest must exist before Dagster imports the dbt assets. A full parse (4 s more than a partial one): after a
# macro changes, dbt's partial parse drops the singular tests' descriptions from the manifest, so their asset checks
# would go without one.
# The project's own modules byte-compiled too (uv compiles only what it installs, and PYTHONDONTWRITEBYTECODE=1 on
# these machines keeps Python from caching them): every Dagster process (each run, its code server) imports them.
prepare: install
	cd dbt_models && DBT_PROFILES_DIR=. $(abspath $(VENV))/bin/dbt parse --quiet --no-partial-parse
	$(VENV)/bin/python -m compileall -q centra_assets

# The dbt sources and staging models are generated from the entity specs; run after changing a spec.
dbt-sources: install
	$(RUN) python -c "from centra_assets.defs.marts.dbt_sources import main; main()"

# The browser test drives Debian's Chromium (Playwright cannot download browsers here): install it when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The ingestion and real-time suites also run against a throwaway PostgreSQL server (Debian's package), which
# the tests start on 127.0.0.1 and stop by PID. Install it when missing, without letting the package start a
# server of its own (policy-rc.d says no while it installs).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		$(SUDO) sh -c 'test -e /usr/sbin/policy-rc.d || { printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; \
			chmod +x /usr/sbin/policy-rc.d; touch /tmp/.centra-assets-policy-rc; }' && \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
		status=$$?; \
		$(SUDO) sh -c 'test ! -e /tmp/.centra-assets-policy-rc || rm -f /usr/sbin/policy-rc.d /tmp/.centra-assets-policy-rc'; \
		exit $$status; }

test: prepare chromium postgres
	$(RUN) pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=40

# The tests that need no server (no simulator, PostgreSQL, S3, Dagster daemon, dbt build or Chromium): under a
# minute. tests/conftest.py marks the rest `slow`, and fails a test here that starts a server after all.
test-fast: prepare
	$(RUN) pytest -m "not slow" -n 0 --durations=10

# The soak test (tests/soak): several simulated days of continuous operation through the Dagster daemon (`dagster dev`:
# webhooks, the event queue, the sweep, the daily schedules and the marts' automation), then the instance's runs and
# metadata, and the marts against a full rebuild and the ground truth. Not part of `make test`; `.ci/run` runs it
# after test-deploy. Its figures land in test-artifacts/soak.json. Time: 9 minutes at load 3-5, 16-17 under load 5-12 on 2 cores
# (a week synced first, 4 minutes of it; then 3 simulated days, the runs they cause settling, a full rebuild).
test-soak: prepare
	@status=0; $(RUN) pytest -m soak -n 0 -p no:cacheprovider tests/soak || status=$$?; \
		cat $${CENTRA_TEST_ARTIFACTS:-test-artifacts}/soak.json 2>/dev/null; exit $$status

# The Docker deployment (deploy/docker), run for real: a Docker engine of its own (Debian's docker.io, started
# as root by the test on a private socket, no bridge, stopped by PID), a base image from debootstrap, the
# project's image, then PostgreSQL, moto's S3 and two simulated stores on 127.0.0.1 (deploy/tests). Installs
# docker.io, debootstrap and docker-compose when missing, without letting the packages start a daemon.
DEPLOY_PACKAGES := docker.io debootstrap docker-compose
test-deploy: prepare postgres
	@{ command -v dockerd && command -v debootstrap && command -v docker-compose; } >/dev/null 2>&1 || { \
		$(SUDO) sh -c 'test -e /usr/sbin/policy-rc.d || { printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; \
			chmod +x /usr/sbin/policy-rc.d; touch /tmp/.centra-assets-policy-rc; }' && \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPLOY_PACKAGES); \
		status=$$?; \
		$(SUDO) sh -c 'test ! -e /tmp/.centra-assets-policy-rc || rm -f /usr/sbin/policy-rc.d /tmp/.centra-assets-policy-rc'; \
		exit $$status; }
	$(RUN) python -m pytest -p no:cacheprovider -x -v deploy/tests

demo: prepare
	$(RUN) python -m centra_assets.demo

bench: prepare
	$(RUN) python -m bench

# Dagster UI and daemon on http://127.0.0.1:3000 against a live simulator; Ctrl-C stops everything.
dev: prepare
	$(RUN) python -m centra_assets.dev

lint: install
	$(RUN) ruff check centra_assets centra_sim tests bench deploy
	$(RUN) ruff format --check centra_assets centra_sim tests bench deploy

clean:
	rm -rf $(VENV) warehouse .dagster_home dbt_models/target dbt_models/logs
