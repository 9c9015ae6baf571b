"""The deployable part stays what the Functions platform expects: a v2 app, pinned runtime deps, no stand-ins."""

from __future__ import annotations

import re

import azure.functions as func

from localdev.world import REPO_ROOT

RUNTIME_PACKAGES = {"azure-functions", "azure-storage-queue", "azure-data-tables", "azure-identity", "requests"}


def test_function_app_is_a_v2_app() -> None:
    import function_app

    assert isinstance(function_app.app, func.FunctionApp)


def test_runtime_requirements_are_the_runtime_packages_pinned_exactly() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()]
    pins = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.]*)", line).groups()
                for line in lines if line and not line.startswith("#"))
    assert set(pins) == RUNTIME_PACKAGES


def test_funcignore_keeps_local_stand_ins_and_tooling_out_of_the_package() -> None:
    ignored = set((REPO_ROOT / ".funcignore").read_text().split())
    assert {"localdev/", "tests/", ".venv/", "node_modules/", ".localdev/", "__azurite_db*__.json"} <= ignored
