"""`make dev`'s world: up, described in settings.env, usable with only those settings, and gone on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from facetrain.sources import read_env_file
from localdev.world import REPO_ROOT, free_port

pytestmark = pytest.mark.world  # each test starts `make dev`

REQUIRED = {"FACE_ENDPOINT", "FACE_API_KEY", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AzureWebJobsStorage",
            "REQUESTS_CA_BUNDLE", "FACE_EMULATOR_CONTROL", "FUNCTIONS_URL", "FUNCTIONS_KEY",
            "TRAINING_REQUESTS_QUEUE", "TRAINING_EVENTS_QUEUE"}

# A client that knows nothing but the environment: requests finds the emulator's CA through REQUESTS_CA_BUNDLE,
# azure-identity finds the identity endpoint, and the storage SDK finds Azurite.
CLIENT = """
import os, requests
from azure.identity import ManagedIdentityCredential
from azure.storage.queue import QueueServiceClient
token = ManagedIdentityCredential().get_token("https://cognitiveservices.azure.com/.default").token
answer = requests.get(os.environ["FACE_ENDPOINT"] + "/face/v1.2/largefacelists",
                      headers={"Authorization": "Bearer " + token}, timeout=10)
assert answer.status_code == 200, answer.text
QueueServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"]).create_queue("dev-world-check")

# The app runs on the dev host: a request for a real list comes back as an event.
import json, time
from azure.storage.queue import QueueClient
from facetrain.enqueue import enqueue
face = os.environ["FACE_ENDPOINT"] + "/face/v1.2/largefacelists/dev-world"
key = {"Ocp-Apim-Subscription-Key": os.environ["FACE_API_KEY"]}
requests.put(face, json={"name": "dev world"}, headers=key, timeout=10).raise_for_status()
requests.post(os.environ["FACE_EMULATOR_CONTROL"] + "/largefacelists/dev-world/faces", json={"count": 10}, timeout=10)
enqueue(QueueClient.from_connection_string(os.environ["AzureWebJobsStorage"], os.environ["TRAINING_REQUESTS_QUEUE"]),
        "dev-world", request_id="from-dev-world")
events = QueueClient.from_connection_string(os.environ["AzureWebJobsStorage"], os.environ["TRAINING_EVENTS_QUEUE"])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        found = [json.loads(m.content) for m in events.peek_messages(max_messages=32)]
    except Exception:
        found = []
    if found:
        break
    time.sleep(0.5)
assert found and found[0]["type"] == "Face.LargeFaceList.TrainingSucceeded", found
# The event is sent before the list's state is stored idle (a crash between them repeats the event, never loses
# it), so the status endpoint may still say "training" for a moment.
deadline = time.monotonic() + 10
while True:
    status = requests.get(os.environ["FUNCTIONS_URL"] + "/trainings/dev-world",
                          headers={"x-functions-key": os.environ["FUNCTIONS_KEY"]}, timeout=10)
    if status.json()["phase"] == "idle" or time.monotonic() > deadline:
        break
    time.sleep(0.2)
assert status.json()["phase"] == "idle", status.text
print("client ok")
"""


def test_make_dev_runs_the_app_on_the_world_and_stops_cleanly(tmp_path: Path) -> None:
    state_dir = tmp_path / ".localdev"
    settings_file = state_dir / "settings.env"
    host_port = free_port()
    dev = subprocess.Popen([sys.executable, "-m", "localdev.dev", "--free-ports", "--state-dir", str(state_dir),
                            "--host-port", str(host_port)],
                           cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not settings_file.exists() and dev.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert settings_file.exists(), dev.stdout.read() if dev.poll() is not None else "no settings.env in 60 s"
        settings = read_env_file(settings_file)
        assert REQUIRED <= settings.keys()
        assert settings["FACE_ENDPOINT"].startswith("https://localhost:")

        client = subprocess.run([sys.executable, "-c", CLIENT], cwd=REPO_ROOT, capture_output=True, text=True,
                                env={**os.environ, **settings}, timeout=120)
        logs = "".join(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}"
                       for log in sorted(state_dir.glob("*.log")))
        assert client.returncode == 0, client.stderr + logs
        # The CLI in a second terminal, in the folder `make dev` runs in, with no set-up: settings.env is found.
        bare = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
        cli = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "facetrain"), "-v", "status", "dev-world"],
                             cwd=tmp_path, env=bare, capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert f"settings from {settings_file} (a running `make dev`)" in cli.stderr and "idle" in cli.stdout
        # The bundle still trusts what the machine trusted before, so other HTTPS hosts keep working.
        bundle = Path(settings["REQUESTS_CA_BUNDLE"]).read_text()
        assert bundle.count("BEGIN CERTIFICATE") > 1
        control = requests.get(f"{settings['FACE_EMULATOR_CONTROL']}/health", timeout=5)
        assert control.json() == {"status": "ok"}

        children = subprocess.run(["pgrep", "-P", str(dev.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 4  # identity endpoint, Face emulator, Azurite, the dev host with our app
        dev.send_signal(signal.SIGTERM)
        output, _ = dev.communicate(timeout=30)
        assert dev.returncode == 0, output
        assert "Local Azure world stopped." in output
        assert not settings_file.exists()
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if dev.poll() is None:
            # SIGTERM first: the launcher stops its world; a bare SIGKILL would orphan the services.
            dev.send_signal(signal.SIGTERM)
            try:
                dev.wait(30)
            except subprocess.TimeoutExpired:
                dev.kill()


def test_secrets_that_start_with_a_dash_reach_the_services(tmp_path: Path) -> None:
    from localdev.world import LocalWorld

    with LocalWorld(tmp_path, identity_header="-starts-with-a-dash", face_key="-also-a-dash") as world:
        world.start(azurite=False)
        token = requests.get(world.identity_endpoint, headers={"X-IDENTITY-HEADER": "-starts-with-a-dash"},
                             params={"api-version": "2019-08-01", "resource": "https://cognitiveservices.azure.com"},
                             timeout=5)
        assert token.status_code == 200
        lists = requests.get(f"{world.face_http_endpoint}/face/v1.2/largefacelists",
                             headers={"Ocp-Apim-Subscription-Key": "-also-a-dash"}, timeout=5)
        assert lists.status_code == 200


def test_a_killed_launcher_takes_its_world_with_it(tmp_path: Path) -> None:
    dev = subprocess.Popen([sys.executable, "-m", "localdev.dev", "--free-ports", "--no-host", "--state-dir",
                            str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (tmp_path / "settings.env").exists():
        assert dev.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    children = subprocess.run(["pgrep", "-P", str(dev.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 3
    dev.kill()  # no chance to clean up
    dev.wait()
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def readme_block(after: str) -> str:
    """The first fenced block of README.md after the line that starts with `after`."""
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(after))
    opening = next(number for number in range(start, len(lines)) if lines[number].startswith("```"))
    closing = next(number for number in range(opening + 1, len(lines)) if lines[number].startswith("```"))
    return "\n".join(lines[opening + 1:closing])


def test_the_readme_s_try_it_block_works_pasted_into_bash(tmp_path: Path) -> None:
    """The README's "Try it with `make dev`" block, as written, in bash, in a folder laid out as the clone is
    (`.localdev` of a running `make dev`, `.venv`): the list is made, trained, and its event arrives. Before, its
    first line broke the shell (a connection string cut at ';', a schedule's '*' run as a command) and facetrain
    died on the cut string with a traceback."""
    state_dir = tmp_path / ".localdev"
    (tmp_path / ".venv").symlink_to(REPO_ROOT / ".venv")
    dev = subprocess.Popen([sys.executable, "-m", "localdev.dev", "--free-ports", "--state-dir", str(state_dir),
                            "--host-port", str(free_port()), "--time-scale", "50"],
                           cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    block, errors = None, ""
    try:
        deadline = time.monotonic() + 60
        while not (state_dir / "settings.env").exists():
            assert dev.poll() is None and time.monotonic() < deadline, "make dev did not write settings.env"
            time.sleep(0.1)
        block = subprocess.Popen(["bash", "-c", readme_block("**Try it with `make dev`.**")], cwd=tmp_path,
                                 env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
        seen, deadline = [], time.monotonic() + 90
        while not any("TrainingSucceeded largefacelists/celebrities" in line for line in seen):
            assert block.poll() is None and time.monotonic() < deadline, "".join(seen) + block.stderr.read()
            seen.append(block.stdout.readline())
        output = "".join(seen)
        assert "queued celebrities" in output and "celebrities" in output.split("queued", 1)[1]
    finally:
        if block is not None:
            os.killpg(block.pid, signal.SIGTERM)  # `events --follow` runs until stopped, as in a terminal
            _, errors = block.communicate(timeout=30)
        dev.send_signal(signal.SIGTERM)
        dev.wait(30)
    assert errors == "", errors
