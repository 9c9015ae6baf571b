"""The product's own function app on the dev host, every invocation through Microsoft's worker runtime: enqueue →
train → poll → event, a bad message rejected, the status endpoint, and a bad setting stopping the app."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import requests
from azure.storage.queue import QueueClient

from facetrain.enqueue import enqueue
from localdev.world import REPO_ROOT, free_port
from tests.app_host import app_on_dev_host, events_until
from tests.orchestrator_world import app_settings


def test_enqueue_train_poll_and_report_through_the_dev_host(world, emulator, face_v12, list_id, tmp_path) -> None:
    """Every function of the app, invoked by Microsoft's worker runtime as in Azure: a request and a bad message
    through the queue trigger, the poll on the timer, and the status endpoint."""
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    function_key = secrets.token_urlsafe(18)
    settings = app_settings(world, POLL_SCHEDULE="*/1 * * * * *", LOCALDEV_FUNCTION_KEY=function_key)
    requests_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                        settings["TRAINING_REQUESTS_QUEUE"])
    requests_queue.create_queue()
    port = free_port()
    api, key = f"http://127.0.0.1:{port}/api/trainings", {"x-functions-key": function_key}
    with app_on_dev_host(settings, tmp_path / "host.log", port):
        requests_queue.send_message("{not json")
        enqueue(requests_queue, list_id, request_id="via-dev-host")
        deadline, in_flight = time.monotonic() + 15, []
        while in_flight != [list_id] and time.monotonic() < deadline:  # until intake has submitted
            time.sleep(0.1)
            in_flight = [t["listId"] for t in requests.get(api, headers=key, timeout=10).json()["trainings"]]
        assert in_flight == [list_id]
        received = events_until(world.storage_connection_string, settings["TRAINING_EVENTS_QUEUE"],
                                lambda events: len(events) >= 2, 30)
        assert len(received) == 2, (tmp_path / "host.log").read_text()[-3000:]
        by_type = {event["type"]: event for event in received}
        assert by_type["Face.LargeFaceList.TrainingSucceeded"]["data"]["requestIds"] == ["via-dev-host"]
        assert "Face.LargeFaceList.TrainingRequestRejected" in by_type
        assert requests_queue.peek_messages() == []  # both settled: the rejection is an answer, not a failure
        status = requests.get(f"{api}/{list_id}", headers=key, timeout=10)
        assert status.status_code == 200 and status.json()["phase"] == "idle"
        assert requests.get(api, headers=key, timeout=10).json()["trainings"] == []  # nothing in flight now
        assert requests.get(f"{api}/largefacelists/{list_id}", headers=key, timeout=10).json() == status.json()
        # A group with the list's id is another container, never requested.
        for other, code in (("never-seen", 404), ("Not-A-Valid-Id", 400), (f"largepersongroups/{list_id}", 404),
                            ("persongroups/Not-Valid", 400), (f"shelves/{list_id}", 400)):
            answer = requests.get(f"{api}/{other}", headers=key, timeout=10)
            assert answer.status_code == code and answer.json()["error"]
        assert requests.get(f"{api}/{list_id}", timeout=10).status_code == 401
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
