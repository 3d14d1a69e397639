# Two commands do all set-up on a fresh machine: `make dev` runs the platform on 127.0.0.1,
# `make test` runs every check. Both create .venv and install the exact pins first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
CONFORMANCE := tools/mcp-conformance

.PHONY: dev test lint typecheck unit browser bench plan lock clean

# The stock pip (23.2) spends minutes resolving this set and then fails; uv installs it in seconds.
# Bytecode is compiled at install: without it every start recompiles the kubernetes client (~1 s).
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt
	touch $@

dev: $(VENV)/.installed
	$(PY) -m apps.local

test: lint typecheck unit

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The official MCP conformance suite (Node), pinned by its package-lock.json.
$(CONFORMANCE)/node_modules/.installed: $(CONFORMANCE)/package.json $(CONFORMANCE)/package-lock.json
	cd $(CONFORMANCE) && npm ci --silent --no-audit --no-fund
	touch $@

# The end-to-end tests drive Debian's Chromium through Playwright; Playwright's own browser
# download cannot work here, so the system package is installed when it is missing.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the end-to-end tests" >&2; exit 1; fi; }

unit: $(VENV)/.installed $(CONFORMANCE)/node_modules/.installed browser
	$(PY) -m pytest

# Measurements, not tests: figures are printed for the reader to compare with their budgets.
bench: $(VENV)/.installed
	$(PY) -m benchmarks.services

# The resource tree `pulumi up` would create, from the real program under mocks: no credentials needed.
plan: $(VENV)/.installed
	$(PY) -m infra.plan

# Re-pin after editing requirements.in.
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile --quiet --no-header requirements.in -o requirements.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
