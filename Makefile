# Two commands do all the set-up on a fresh clone: `make test` and (later) `make demo`.
# Each installs what it needs: .venv from the pinned requirements, Azurite from package-lock.json.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup test dev demo bench-emulator clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt localdev/requirements-dev.txt localdev/constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r localdev/requirements-dev.txt -c localdev/constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --editable .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup
	$(BIN)/python -m pytest

dev: setup
	$(BIN)/python -m localdev.dev

clean:
	rm -rf $(VENV) node_modules .localdev .pytest_cache

# The emulator's throughput for training-status GETs (figures printed, nothing asserted).
bench-emulator: setup
	$(BIN)/python -m localdev.bench_emulator

# The main job end to end on the local world, with live progress and a summary.
demo: setup
	$(BIN)/python -m localdev.demo
