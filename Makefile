# Two commands do all set-up on a fresh machine: `make dev` runs the platform on 127.0.0.1,
# `make test` runs every check. Both create .venv and install the exact pins first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
CONFORMANCE := tools/mcp-conformance
CHECKOV_VENV := .venv-checkov
EVERYTHING := tools/mcp-everything
MCP_CLIENTS := tools/mcp-clients
MCP_V1_VENV := .venv-mcp-v1

.PHONY: dev test lint typecheck unit soak system-deps bench bench-quick plan render preflight verify docs lock clean

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

# Third-party MCP servers the gateway's tests run against: the reference server-everything (Node) pinned by its
# package-lock.json, and a server on the official Python SDK 1.x, whose pins clash with ours (own virtualenv).
$(EVERYTHING)/node_modules/.installed: $(EVERYTHING)/package.json $(EVERYTHING)/package-lock.json
	cd $(EVERYTHING) && npm ci --silent --no-audit --no-fund
	touch $@

# MCP clients nobody here wrote, driven against the agent core's /api/mcp: the TypeScript SDK and the Inspector CLI.
$(MCP_CLIENTS)/node_modules/.installed: $(MCP_CLIENTS)/package.json $(MCP_CLIENTS)/package-lock.json
	cd $(MCP_CLIENTS) && npm ci --silent --no-audit --no-fund
	touch $@

$(MCP_V1_VENV)/.installed: tools/mcp-python-v1/requirements.txt $(VENV)/.installed
	test -x $(MCP_V1_VENV)/bin/python || $(PYTHON) -m venv $(MCP_V1_VENV)
	$(VENV)/bin/uv pip install --quiet --require-hashes --python $(MCP_V1_VENV)/bin/python -r tools/mcp-python-v1/requirements.txt
	touch $@

# checkov pins an old `packaging`, so it lives in a virtualenv of its own.
$(CHECKOV_VENV)/.installed: requirements/checkov.txt $(VENV)/.installed
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(VENV)/bin/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python -r requirements/checkov.txt
	touch $@

# Debian packages the tests drive: Chromium for the end-to-end tests (Playwright's own browser
# download cannot work here), nginx to check the dashboard's server config, and Prometheus (with promtool)
# and Alertmanager (with amtool), which the tests start on 127.0.0.1 themselves. Their packages would start
# both as services on every interface (:9090, :9093): a policy-rc.d refusing that is in place while they
# install (unless one already is, as in Docker images), and Recommends (node-exporter, smartmontools) are left out.
SYSTEM_PACKAGES := chromium nginx-light prometheus prometheus-alertmanager
system-deps:
	@missing=""; command -v chromium >/dev/null || missing="chromium"; command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "install Debian's $$missing (sudo apt-get install $$missing) for the tests" >&2; exit 1; fi; fi
	@missing=""; command -v promtool >/dev/null || missing="prometheus"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; \
	      chmod 755 /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "install Debian's $$missing (sudo apt-get install --no-install-recommends $$missing) for the tests" >&2; \
	    exit 1; fi; fi

unit: $(VENV)/.installed $(CONFORMANCE)/node_modules/.installed $(CHECKOV_VENV)/.installed system-deps \
	$(EVERYTHING)/node_modules/.installed $(MCP_V1_VENV)/.installed $(MCP_CLIENTS)/node_modules/.installed
	$(PY) -m pytest

# The long part of the reliability suite: many more fuzzed examples, and the load repeated (bounded: ~15 min).
soak: $(VENV)/.installed
	$(PY) -m pytest -m soak -p no:cacheprovider

# The peers `make bench` compares with (FastMCP, IBM's ContextForge), pinned and hashed in tools/bench-peers/<name>/:
# their pins clash with ours, so each gets a virtualenv of its own under var/ (bench only, never `make test`).
BENCH_PEERS := var/bench-peers
$(BENCH_PEERS)/%/.installed: tools/bench-peers/%/requirements.txt $(VENV)/.installed
	test -x $(BENCH_PEERS)/$*/bin/python || $(PYTHON) -m venv $(BENCH_PEERS)/$*
	$(VENV)/bin/uv pip install --quiet --require-hashes --compile-bytecode --python $(BENCH_PEERS)/$*/bin/python -r $<
	touch $@

# Measurements, not tests: every comparison against its baseline in one run (about 5 minutes), written to
# benchmarks/results/ (report.md, latest.json, plots). Goals are reported there, not asserted.
bench: $(VENV)/.installed $(BENCH_PEERS)/fastmcp/.installed $(BENCH_PEERS)/contextforge/.installed
	$(PY) -m benchmarks

# The same harness with a few requests per scenario (under a minute): proves it runs; its figures mean nothing.
bench-quick: $(VENV)/.installed
	$(PY) -m benchmarks --quick --out var/bench-quick

# The resource tree `pulumi up` would create, from the real program under mocks: no credentials needed.
plan: $(VENV)/.installed
	$(PY) -m infra.plan

# The Kubernetes manifests the program would apply, written to rendered/ to read and diff.
render: $(VENV)/.installed
	$(PY) -m infra.render

# Would `pulumi up` work? Local tools, credentials, zones, the Bedrock model, quotas: read-only, exit 1 on a failure.
# STACK=<name> reads Pulumi.<name>.yaml; ARGS=--json for machines.
preflight: $(VENV)/.installed
	$(PY) -m infra.preflight --stack $(or $(STACK),dev) $(ARGS)

# Did `pulumi up` work? The deployed platform end to end (dashboard, API and key, each MCP server with a read-only
# call, Bedrock, approvals, Karpenter, Prometheus, Grafana); URL, key and kubeconfig come from the stack's outputs
# through a pipe, never a command line. Warnings fail (--strict). STACK=<name>; ARGS=--json, --namespace NS, ...
verify: $(VENV)/.installed
	set -o pipefail; pulumi stack output --json --show-secrets $(if $(STACK),--stack $(STACK)) \
	  | $(PY) -m apps.cli verify --strict --expect-reasoner bedrock --stack-outputs - $(ARGS)

# README.md's configuration tables, rewritten from the settings classes' field docstrings (a test fails when stale).
docs: $(VENV)/.installed
	$(PY) -m apps.settings_docs

# Re-pin after editing requirements.in.
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile --quiet --no-header requirements.in -o requirements.txt
	$(VENV)/bin/uv pip compile --quiet --no-header --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --constraint requirements.txt requirements/runtime.in -o requirements/runtime.txt
	$(VENV)/bin/uv pip compile --quiet --no-header --python-version 3.11 requirements/checkov.in -o requirements/checkov.txt
	$(VENV)/bin/uv pip compile --quiet --no-header --generate-hashes --python-version 3.11 \
	  tools/mcp-python-v1/requirements.in -o tools/mcp-python-v1/requirements.txt
	for peer in fastmcp contextforge; do $(VENV)/bin/uv pip compile --quiet --no-header --generate-hashes \
	  --python-version 3.11 tools/bench-peers/$$peer/requirements.in -o tools/bench-peers/$$peer/requirements.txt; done

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(MCP_V1_VENV) var rendered .pytest_cache .mypy_cache .ruff_cache
