# Two commands do all the set-up on a fresh clone: `make test` and (later) `make demo`.
# Each installs what it needs: .venv from the pinned requirements, Azurite from package-lock.json.
SHELL := /bin/bash
# Python 3.13: Azure Functions supports it until October 2029, and its worker runtime is a PyPI package
# (azure-functions-runtime). `python3.13` if it runs, else pyenv's newest 3.13 (installed on these machines but
# not selected, so the shim refuses), else `make PYTHON=/path/to/python3.13`.
PYTHON ?= $(shell for candidate in python3.13 \
	"$$(pyenv root 2>/dev/null)/versions/$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.|$$)' | tail -n 1)/bin/python3.13"; do \
	"$$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$candidate"; break; }; done)
NEED_PYTHON = @test -n "$(PYTHON)" || { echo "make: this project needs Python 3.13, and found none: install it \
	(for example: pyenv install 3.13) or name it: make PYTHON=/path/to/python3.13" >&2; exit 1; }
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The host-worker contract's message classes, from a registry wheel (localdev/requirements-protos.txt).
PROTOS_WHEEL := .localdev/wheels/azure_functions_runtime_v1-1.2.0-py3-none-any.whl
# checkov (the Bicep linter run by the infra tests) pins dozens of packages of its own: it gets its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup test test-fast dev demo bench chaos bench-emulator package clean

setup: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) $(PROTOS_WHEEL)

$(PROTOS_WHEEL): localdev/requirements-protos.txt $(PY_STAMP)
	$(BIN)/pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r localdev/requirements-protos.txt -d $(dir $@)
	touch $@

$(PY_STAMP): requirements.txt localdev/requirements-dev.txt localdev/constraints.txt pyproject.toml
	$(NEED_PYTHON)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r localdev/requirements-dev.txt -c localdev/constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --editable .
	touch $@

$(CHECKOV_STAMP): localdev/requirements-checkov.txt localdev/constraints-checkov.txt
	$(NEED_PYTHON)
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r localdev/requirements-checkov.txt -c localdev/constraints-checkov.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup
	$(BIN)/python -m pytest

# The tests that start nothing (no local world, no other process), the import rules among them: seconds, not minutes.
test-fast: setup
	$(BIN)/python -m pytest -m "not world"

dev: setup
	$(BIN)/python -m localdev.dev

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .localdev .pytest_cache

# Ours against the usual alternatives: a table on stdout, bench/results.json, docs/polling.png (docs/performance.md).
bench: setup
	$(BIN)/python -m bench --plot docs/polling.png

# The whole local stack while hosts die, storage restarts, Face misbehaves and tokens fail: chaos/report.json.
chaos: setup
	$(BIN)/python -m chaos

# The emulator's throughput for training-status GETs (figures printed, nothing asserted).
bench-emulator: setup
	$(BIN)/python -m localdev.bench_emulator

# The main job end to end on the local world, with live progress and a summary.
demo: setup
	$(BIN)/python -m localdev.demo

# The deployment zip as azd builds it (this folder minus .funcignore), listed: .localdev/package.zip.
package: setup
	$(BIN)/python -m localdev.package
