"""Telemetry: traces go to Application Insights with an Entra ID token when the connection setting is present,
and nothing is configured or sent without it. Each case runs the real composition root in a process of its own,
since OpenTelemetry's providers are set once per process."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt

from localdev.world import REPO_ROOT, LocalWorld
from tests.face_world import USER_ASSIGNED_CLIENT_ID
from tests.orchestrator_world import app_settings

# Builds the app as the Functions worker does (runtime.current), takes a request and ticks: one Face call, and
# storage calls.
WORKER = """
import json, sys
from opentelemetry import metrics, trace
from orchestrator import runtime

orchestrator = runtime.current()
orchestrator.accept(b'{"listId": "never-created"}', "message-1")
orchestrator.tick()  # intake never calls Face: the tick submits
provider = trace.get_tracer_provider()
print(json.dumps({"provider": type(provider).__name__,
                  "distro_loaded": "azure.monitor.opentelemetry" in sys.modules}))
for flushed in (provider, metrics.get_meter_provider()):
    if hasattr(flushed, "force_flush"):
        flushed.force_flush()
"""


def run_worker(world: LocalWorld, tmp_path: Path, **settings: str) -> dict:
    env = {**app_settings(world, AZURE_CLIENT_ID=USER_ASSIGNED_CLIENT_ID, **settings),
           "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           # Statsbeat reports to Microsoft's own endpoint, which is out of reach here.
           "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true"}
    run = subprocess.run([sys.executable, "-c", WORKER], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_without_a_connection_string_nothing_is_configured_or_loaded(world: LocalWorld, tmp_path: Path) -> None:
    assert run_worker(world, tmp_path) == {"provider": "ProxyTracerProvider", "distro_loaded": False}


def test_with_a_connection_string_face_calls_are_traced_and_metrics_sent_with_the_apps_identity(
        world: LocalWorld, tmp_path: Path, recording_server) -> None:
    ingestion = recording_server(certificate=world.certificate)
    connection_string = (f"InstrumentationKey=00000000-0000-4000-8000-000000000000;"
                         f"IngestionEndpoint={ingestion.url}/;LiveEndpoint={ingestion.url}/")

    outcome = run_worker(world, tmp_path, APPLICATIONINSIGHTS_CONNECTION_STRING=connection_string)

    assert outcome == {"provider": "TracerProvider", "distro_loaded": True}
    tracks = [r for r in ingestion.received if r["method"] == "POST" and r["path"] == "/v2.1/track"]
    assert tracks, ingestion.received
    envelopes = []
    for request in tracks:
        scheme, _, token = request["headers"]["Authorization"].partition(" ")
        assert scheme == "Bearer"
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == "https://monitor.azure.com"
        assert claims["appid"] == USER_ASSIGNED_CLIENT_ID
        body = request["body"]
        if request["headers"].get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        envelopes += json.loads(body)
    dependencies = [e["data"]["baseData"] for e in envelopes if e["data"]["baseType"] == "RemoteDependencyData"]
    # The Face call, and nothing else: storage and token calls are not traced (an idle tick would bill forever).
    assert [(d["name"], d["resultCode"]) for d in dependencies] == [
        ("POST /face/v1.2/largefacelists/never-created/train", "404")]
    messages = [e["data"]["baseData"]["message"] for e in envelopes if e["data"]["baseType"] == "MessageData"]
    assert any("train largefacelists/never-created: Face answered 404" in message for message in messages), messages
    sent = {m["name"]: e["data"]["baseData"].get("properties", {}) for e in envelopes
            if e["data"]["baseType"] == "MetricData" for m in e["data"]["baseData"]["metrics"]}
    assert sent["facetrain.face.calls"] == {"facetrain.face.operation": "train", "http.response.status_code": "404",
                                            "error.type": "NotFound"}
    assert {"facetrain.requests", "facetrain.trainings.in_flight", "facetrain.requests.poisoned"} <= set(sent)
