# twinverse — `make demo` runs the demo twin, `make test` the whole suite.
# Every target creates or updates .venv as needed (re-installs when pyproject.toml changes).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench bench-tools install web browser peers oracle opcua-peer clean help

help:
	@echo "make demo   - install, then run the demo factory twin at http://127.0.0.1:8000"
	@echo "make test   - install, then run the whole test suite"
	@echo "make lint   - ruff, mypy (strict), the import contract (lint-imports), tsc --checkJs on the viewer"
	@echo "make bench  - run the benchmarks (figures with their baselines)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

# The 3D viewer: npm ci + esbuild into twinverse/api/static/viewer/ (quick when up to date).
web:
	bash web/build.sh

demo: $(STAMP) web
	$(VENV)/bin/twinverse demo

# The browser tests drive Debian's chromium (a browser download cannot work offline).
# Installed here when we can (root with apt-get, as .ci/run does); otherwise a clear hint,
# and those tests skip with the reason.
CHROMIUM ?= $(or $(TWINVERSE_CHROMIUM),/usr/bin/chromium)
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests (apt-get install chromium)"; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)) || \
	  echo "could not install chromium: the browser tests will be skipped"; \
	else \
	  echo "note: $(CHROMIUM) is missing, so the 10+ browser tests will be skipped;" \
	       "install it with 'sudo apt-get install chromium' (or set TWINVERSE_CHROMIUM=/path/to/chromium)"; \
	fi

# Independent peers with pins of their own (schemathesis; pysparkplug, which pins paho-mqtt < 2)
# live in their own virtualenv.
PEERS := .venv-peers
$(PEERS)/.installed: Makefile
	@test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q --disable-pip-version-check 'schemathesis>=4.0,<5' 'pysparkplug==0.6.1'
	@touch $@

# Independent Sparkplug B edge nodes in JavaScript: Eclipse Tahu's sparkplug-client (npm), used by
# tests/ingest/test_sparkplug_peers.py; pinned by tests/peers/package-lock.json.
NODE_PEERS := tests/peers/node_modules/.installed
$(NODE_PEERS): tests/peers/package-lock.json
	@if command -v npm >/dev/null; then \
	  (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error) && touch $@; \
	else echo "note: npm is missing, so the Sparkplug peer tests with Tahu's client will be skipped"; fi

peers: $(PEERS)/.installed $(NODE_PEERS)

# The DTDL oracle: DTDLParser compiled to WebAssembly (npm @digicatapult/dtdl-parser, run by node),
# used by tests/interop/test_dtdl_oracle.py; pinned by tests/oracle/package-lock.json.
ORACLE := tests/oracle/node_modules/.installed
$(ORACLE): tests/oracle/package-lock.json
	@if command -v npm >/dev/null; then \
	  (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error) && touch $@; \
	else echo "note: npm is missing, so the DTDL oracle tests will be skipped"; fi

oracle: $(ORACLE)

# The independent OPC UA peer: a node-opcua server (npm), used by tests/ingest/test_opcua_peer.py;
# pinned by tests/peers/opcua/package-lock.json.
OPCUA_PEER := tests/peers/opcua/node_modules/.installed
$(OPCUA_PEER): tests/peers/opcua/package-lock.json
	@if command -v npm >/dev/null; then \
	  (cd tests/peers/opcua && npm ci --no-audit --no-fund --loglevel=error) && touch $@; \
	else echo "note: npm is missing, so the node-opcua peer tests will be skipped"; fi

opcua-peer: $(OPCUA_PEER)

test: $(STAMP) web browser peers oracle opcua-peer
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) web
	$(VENV)/bin/ruff check twinverse tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	cd web && npx --no-install tsc -p .  # type-check the viewer's JavaScript (checkJs)

# Load generators written in C (a Python one measures itself): Debian's wrk for bench_small.
bench-tools:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's wrk for the benchmarks (apt-get install wrk)"; \
	    apt-get install -y -qq wrk >/dev/null 2>&1 || \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) || \
	    echo "could not install wrk: bench_small cannot run"; \
	  else echo "note: wrk is missing (sudo apt-get install wrk); bench_small cannot run"; fi; }

bench: $(STAMP) web bench-tools
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data/demo web/node_modules tests/oracle/node_modules tests/peers/opcua/node_modules tests/peers/node_modules twinverse/api/static/viewer
