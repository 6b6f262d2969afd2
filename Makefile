# twinverse — `make demo` runs the demo twin, `make test` the whole suite.
# Every target creates or updates .venv as needed (re-installs when pyproject.toml changes).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench install web clean help

help:
	@echo "make demo   - install, then run the demo factory twin at http://127.0.0.1:8000"
	@echo "make test   - install, then run the whole test suite"
	@echo "make lint   - ruff, mypy (strict) and the import contract (lint-imports)"
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

test: $(STAMP) web
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check twinverse tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP) web
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data/demo web/node_modules twinverse/api/static/viewer
