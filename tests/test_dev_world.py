"""`make dev`'s world: up, described in settings.env, usable with only those settings, and gone on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from localdev.world import REPO_ROOT

REQUIRED = {"FACE_ENDPOINT", "FACE_API_KEY", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AzureWebJobsStorage",
            "REQUESTS_CA_BUNDLE", "FACE_EMULATOR_CONTROL"}

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
print("client ok")
"""


def read_settings(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_make_dev_world_serves_clients_and_stops_cleanly(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.env"
    dev = subprocess.Popen([sys.executable, "-m", "localdev.dev", "--free-ports", "--state-dir", str(tmp_path)],
                           cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not settings_file.exists() and dev.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert settings_file.exists(), dev.stdout.read() if dev.poll() is not None else "no settings.env in 60 s"
        settings = read_settings(settings_file)
        assert REQUIRED <= settings.keys()
        assert settings["FACE_ENDPOINT"].startswith("https://localhost:")

        client = subprocess.run([sys.executable, "-c", CLIENT], cwd=REPO_ROOT, capture_output=True, text=True,
                                env={**os.environ, **settings}, timeout=60)
        assert client.returncode == 0, client.stderr
        # The bundle still trusts what the machine trusted before, so other HTTPS hosts keep working.
        bundle = Path(settings["REQUESTS_CA_BUNDLE"]).read_text()
        assert bundle.count("BEGIN CERTIFICATE") > 1
        control = requests.get(f"{settings['FACE_EMULATOR_CONTROL']}/health", timeout=5)
        assert control.json() == {"status": "ok"}

        children = subprocess.run(["pgrep", "-P", str(dev.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 3  # identity endpoint, Face emulator, Azurite
        dev.send_signal(signal.SIGTERM)
        output, _ = dev.communicate(timeout=30)
        assert dev.returncode == 0, output
        assert "Local Azure world stopped." in output
        assert not settings_file.exists()
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if dev.poll() is None:
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
