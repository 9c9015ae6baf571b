"""The product's own function app on the dev host: enqueue → train → poll → event, and the status endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import secrets
import time

import requests
from azure.storage.queue import QueueClient

from localdev.world import REPO_ROOT, free_port
from orchestrator.enqueue import enqueue
from tests.orchestrator_world import app_settings


def test_enqueue_train_poll_and_report_through_the_dev_host(world, emulator, face_v12, list_id, tmp_path) -> None:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    function_key = secrets.token_urlsafe(18)
    settings = app_settings(world, POLL_SCHEDULE="*/1 * * * * *", LOCALDEV_FUNCTION_KEY=function_key)
    requests_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                        settings["TRAINING_REQUESTS_QUEUE"])
    requests_queue.create_queue()
    port = free_port()
    log = open(tmp_path / "host.log", "wb")
    host = subprocess.Popen([sys.executable, "-m", "localdev.host", "--port", str(port), "--settings", "/nonexistent"],
                            cwd=REPO_ROOT, env={**os.environ, **settings}, stdout=log, stderr=subprocess.STDOUT)
    try:
        enqueue(requests_queue, list_id, request_id="via-dev-host")
        events = QueueClient.from_connection_string(world.storage_connection_string,
                                                    settings["TRAINING_EVENTS_QUEUE"])
        deadline, received = time.monotonic() + 30, []
        while not received and time.monotonic() < deadline:
            try:
                received = [json.loads(m.content) for m in events.receive_messages(messages_per_page=32,
                                                                                   max_messages=32)]
            except Exception:  # noqa: BLE001 - the app creates the events queue on its first start
                pass
            time.sleep(0.2)
        assert received, (tmp_path / "host.log").read_text()[-3000:]
        (event,) = received
        assert event["type"] == "Face.LargeFaceList.TrainingSucceeded"
        assert event["data"]["requestIds"] == ["via-dev-host"]
        status = requests.get(f"http://127.0.0.1:{port}/api/trainings/{list_id}", headers={"x-functions-key": function_key},
                              timeout=10)
        assert status.status_code == 200 and status.json()["phase"] == "idle"
        assert requests.get(f"http://127.0.0.1:{port}/api/trainings/{list_id}", timeout=10).status_code == 401
    finally:
        host.send_signal(signal.SIGTERM)
        assert host.wait(30) == 0
    # Found by the chaos harness's secret scan: a configured key is its owner's secret, not for the log.
    assert function_key not in (tmp_path / "host.log").read_text()


def test_a_bad_setting_stops_the_app_at_start_and_no_message_is_taken(world, tmp_path) -> None:
    """Before, the orchestrator was built at the first invocation: a bad setting failed every message, which the
    host retried and then poisoned. Now the app refuses to load, as the real host reports an indexing error."""
    settings = app_settings(world, FACE_API_VERSION="v9.9")
    requests_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                        settings["TRAINING_REQUESTS_QUEUE"])
    requests_queue.create_queue()
    enqueue(requests_queue, "celebs", request_id="waits-for-a-good-setting")
    host = subprocess.run([sys.executable, "-m", "localdev.host", "--port", str(free_port()), "--settings",
                           "/nonexistent"], cwd=REPO_ROOT, env={**os.environ, **settings}, capture_output=True,
                          text=True, timeout=60)
    assert host.returncode == 2
    assert "FACE_API_VERSION 'v9.9' is not a Face API version" in host.stderr
    (waiting,) = requests_queue.peek_messages()
    assert waiting.dequeue_count == 0
