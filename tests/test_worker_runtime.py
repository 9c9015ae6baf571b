"""What Microsoft's Python Functions runtime (`azure-functions-runtime`, as Azure runs it on Python 3.13) reports of
our `function_app.py`: the function metadata the real host receives. Each case runs the runtime in a process of
its own, since the runtime keeps one app per process. Invocations through it are the dev host's tests
(tests/test_dev_host.py) and every end-to-end test of the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localdev.host.worker_runtime import PROTOS_WHEEL, PROTOS_WHEEL_SHA256, load_protos
from localdev.world import REPO_ROOT

# What the app checks when it is imported; the runtime reports bindings before any is resolved.
APP_SETTINGS = {"FACE_ENDPOINT": "https://localhost", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def runtime_metadata(app_dir: Path, **settings: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in APP_SETTINGS} | settings
    return subprocess.run([sys.executable, "-m", "localdev.host.worker_runtime", "--app-dir", str(app_dir)],
                          cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60)


@pytest.mark.world
def test_the_runtime_reports_our_three_functions_with_their_bindings_unresolved() -> None:
    run = runtime_metadata(REPO_ROOT, **APP_SETTINGS)
    assert run.returncode == 0, run.stderr[-2000:]
    functions = {f["name"]: f["bindings"] for f in json.loads(run.stdout)}
    assert functions == {
        "train_requests": {"message": {
            "name": "message", "type": "queueTrigger", "direction": "IN",
            "queueName": "%TRAINING_REQUESTS_QUEUE%", "connection": "AzureWebJobsStorage"}},
        "poll_trainings": {"timer": {
            "name": "timer", "type": "timerTrigger", "direction": "IN",
            "schedule": "%POLL_SCHEDULE%", "runOnStartup": False, "useMonitor": False}},
        "training_status": {
            "req": {"name": "req", "type": "httpTrigger", "direction": "IN", "authLevel": "FUNCTION",
                    "route": "trainings/{first?}/{second?}", "methods": ["GET"]},
            "$return": {"name": "$return", "type": "http", "direction": "OUT"}},
    }


@pytest.mark.world
def test_an_app_that_fails_to_load_is_reported_by_the_runtime_with_its_reason() -> None:
    run = runtime_metadata(REPO_ROOT, FACE_ENDPOINT="http://face.example", AzureWebJobsStorage="x")
    assert run.returncode == 2
    assert "the app failed to load" in run.stderr and "FACE_ENDPOINT" in run.stderr and "use https" in run.stderr


def test_the_contract_classes_come_from_the_pinned_wheel(tmp_path: Path) -> None:
    protos = load_protos()
    assert protos.StatusResult.Success != protos.StatusResult.Failure
    assert protos.InvocationRequest(invocation_id="i").invocation_id == "i"
    tampered = tmp_path / PROTOS_WHEEL.name
    tampered.write_bytes(PROTOS_WHEEL.read_bytes() + b"\0")
    with pytest.raises(RuntimeError, match=PROTOS_WHEEL_SHA256):
        load_protos(tampered)

