# kubeweft — the two commands of the quick start are `make run` and `make test`.
# Both set up everything they need on a brand-new machine: Debian packages, the
# virtualenv, the local control plane (built from Go modules, cached outside git).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-without-cluster lint unit integration e2e manifests system-deps browser-deps venv localcluster bench bench-deps clean

# The dashboard it prints (/ui) and the API act as the development identity for requests
# without credentials (refused in production mode).
run: venv localcluster
	$(BIN)/kubeweft run --dev-user developer

# The unit tests need no control plane, database or browser: `test-without-cluster` runs
# them as soon as the virtualenv is there, beside apt and the Go build (.ci/run's jobs).
# The rest waits for everything; so do the few unit tests that run the control plane's
# kubectl (marked localcluster).
test: system-deps venv localcluster browser-deps lint test-without-cluster
	$(BIN)/python -m pytest -p no:cacheprovider tests examples/tenant/tests examples/backup/tests \
	  --ignore=tests/unit
	$(BIN)/python -m pytest -p no:cacheprovider -m localcluster tests/unit

test-without-cluster: venv
	$(BIN)/python -m pytest -p no:cacheprovider -m "not localcluster" tests/unit

lint: venv
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/mypy examples/tenant/src
	$(BIN)/mypy examples/backup/src
	$(BIN)/lint-imports

unit: venv
	$(BIN)/python -m pytest tests/unit

integration: system-deps venv localcluster
	$(BIN)/python -m pytest tests/integration

e2e: system-deps browser-deps venv localcluster
	$(BIN)/python -m pytest tests/e2e

# Debian packages the tests need: PostgreSQL (started per test session in a temp dir)
# and Go (the local control plane's build). hack/system-deps.sh is the script
# `kubeweft init` writes.
system-deps:
	@bash hack/system-deps.sh

# Headless Chromium with its driver (the dashboard's browser tests), a second apt run
# after the first: only the Go build waits for system-deps, so with jobs Chromium's
# download and install happen beside the build instead of before it.
browser-deps: system-deps
	@bash hack/system-deps.sh chromium chromium-driver:chromedriver

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# Builds (or reuses from ~/.cache/kubeweft) etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl and kwok; Go comes from system-deps. Named as a prerequisite,
# so that `make -j` (.ci/run) builds only once Go is there, beside the lint.
localcluster: venv system-deps
	$(BIN)/kubeweft cluster build

manifests: venv
	$(BIN)/kubeweft manifests

bench: venv localcluster bench-deps
	@ls bench/*.py

# The load generator of bench/rest_throughput.py (Debian's wrk); only benchmarks need it.
bench-deps:
	@command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null; }

clean:
	rm -rf $(VENV) .kubeweft build *.egg-info
