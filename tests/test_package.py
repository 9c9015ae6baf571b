"""The deployment package, built as azd and Core Tools build it (the folder minus what `.funcignore` matches):
only the app goes to Azure, and it runs on its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from localdev.package import build_package, package_files
from localdev.world import REPO_ROOT

APP_FILES = {"function_app.py", "host.json", "requirements.txt"} | {
    f"orchestrator/{path.name}" for path in (REPO_ROOT / "orchestrator").glob("*.py")}


def test_the_package_holds_the_app_and_nothing_else(tmp_path: Path) -> None:
    names = build_package(REPO_ROOT, tmp_path / "package.zip")
    print("\n".join(names))  # the listing, for whoever reads the test log
    assert set(names) == APP_FILES
    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        assert sorted(archive.namelist()) == names


@pytest.mark.world
def test_the_packaged_app_imports_on_its_own_with_its_three_functions(tmp_path: Path) -> None:
    build_package(REPO_ROOT, tmp_path / "package.zip")
    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        archive.extractall(tmp_path / "app")
    probe = ("import json, function_app, orchestrator; print(json.dumps({'orchestrator': orchestrator.__file__, "
             "'functions': sorted(f.get_function_name() for f in function_app.app.get_functions())}))")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path / "app", capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path / "app"),
                              "FACE_ENDPOINT": "https://x.cognitiveservices.azure.com",
                              "AzureWebJobsStorage": "UseDevelopmentStorage=true"},
                         timeout=60)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["orchestrator"].startswith(str(tmp_path / "app"))
    assert found["functions"] == ["poll_trainings", "train_requests", "training_status"]


def test_funcignore_leaves_out_local_state_secrets_and_tooling(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / ".funcignore", tmp_path)
    left_out = [".azure/dev/.env", "local.settings.json", "local.settings.json.example", ".localdev/settings.env",
                "orchestrator/__pycache__/worker.cpython-311.pyc", "tests/test_x.py", "localdev/world.py",
                "infra/main.bicep", ".venv/bin/python", ".venv-checkov/bin/checkov", "node_modules/azurite/x.js",
                "__azurite_db_queue__.json", "__blobstorage__/x", "__queuestorage__/x", ".git/HEAD", ".gitignore",
                "docs/polling.png", "bench/results.json", "bench/live.py", "chaos/report.json", "README.md",
                "Makefile", "azure.yaml", "pyproject.toml", "package.json",
                "facetrain.egg-info/PKG-INFO", ".pytest_cache/x", ".ci/run"]
    kept = ["function_app.py", "host.json", "requirements.txt", "orchestrator/worker.py"]
    for name in left_out + kept:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert package_files(tmp_path) == sorted(kept)
