"""The deployable part stays what the Functions platform expects: a v2 app, pinned runtime deps, no stand-ins."""

from __future__ import annotations

import re

import azure.functions as func
import pytest

from localdev.world import REPO_ROOT
from tests.orchestrator_world import settings_read

# azure-functions-runtime is the Python 3.13 worker's runtime: pinning it fixes the version Azure runs the app with.
RUNTIME_PACKAGES = {"azure-functions", "azure-functions-runtime", "azure-storage-queue", "azure-data-tables",
                    "azure-identity", "requests", "azure-monitor-opentelemetry"}


def test_function_app_is_a_v2_app() -> None:
    # Through the helper that gives the app's import-time settings check placeholders: imported bare, this test
    # passed only when another module had imported the app first.
    from tests.orchestrator_world import function_app

    assert isinstance(function_app.app, func.FunctionApp)


def test_runtime_requirements_are_the_runtime_packages_pinned_exactly() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()]
    pins = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.]*)", line).groups()
                for line in lines if line and not line.startswith("#"))
    assert set(pins) == RUNTIME_PACKAGES



def test_every_setting_the_code_reads_is_in_the_example_the_readme_and_the_settings_page_with_its_default() -> None:
    import json

    from orchestrator.settings import DEFAULTS

    names = settings_read()
    assert {"FACE_ENDPOINT", "FACE_API_KEY", "AZURE_CLIENT_ID", *DEFAULTS} <= names
    example = json.loads((REPO_ROOT / "local.settings.json.example").read_text())["Values"]
    # The identity-based storage settings (AzureWebJobsStorage__*) are for Azure; locally a connection string serves.
    assert {n for n in names if "__" not in n} <= set(example)
    for page in ("README.md", "docs/settings.md"):
        text = (REPO_ROOT / page).read_text()
        for name in names:
            assert f"`{name}`" in text, f"{name} is not in {page}"
        for name, default in DEFAULTS.items():
            assert re.search(rf"`{name}` \\| `{re.escape(default)}`", text), f"{name}'s default is not in {page}"
    for name, default in DEFAULTS.items():
        assert example[name] == default, name


def test_the_readme_is_the_map_every_page_linked_and_every_link_found() -> None:
    """The README grew back to 27.7 KB of reference; it is the map, and the reference lives in docs/."""
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 16 * 1024
    pages = {path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "docs").glob("*.md")}
    assert pages <= set(re.findall(r"\]\((docs/[^)#]+\.md)", readme))
    for document in [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to {target}, which is not there"


@pytest.mark.parametrize("path, description", [
    ("orchestrator/__init__.py", lambda text: text.split('"""')[1]),
    ("infra/main.bicep", lambda text: text.split("\ntargetScope")[0]),
    ("infra/modules/face-access.bicep", lambda text: re.search(r"description: '([^']*)'", text)[1]),
    ("pyproject.toml", lambda text: re.search(r'description = "([^"]*)"', text)[1]),
])
def test_what_the_product_says_of_itself_names_every_kind_it_trains(path: str, description) -> None:
    """They still said "the Large Face List training orchestrator" two kinds after the second."""
    said = description((REPO_ROOT / path).read_text())
    assert all(kind in said for kind in ("Large Face Lists", "Large Person Groups", "Person Groups")), said
