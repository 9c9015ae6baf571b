"""Many instances, one Face budget. Flex Consumption runs the queue trigger on as many instances as the backlog
asks, each running a batch at once, and the timer on one of them: the app's promises must hold across them. Four
copies of the app on the dev host share one Azurite and one emulator at S0 (10 calls a second for the whole
resource), and every Face call is counted where it arrives, at the emulator."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import requests
from azure.storage.queue import QueueClient

from facetrain.enqueue import enqueue
from localdev.emulator_client import EmulatorClient
from orchestrator.containers import Container, Kind
from orchestrator.settings import DEFAULTS
from tests.app_host import app_on_dev_host, events_until
from tests.orchestrator_world import app_settings

INSTANCES = 4
BUDGET = 3  # FACE_CALLS_PER_SECOND: below S0's 10, so that an upload job keeps the rest
PER_KIND = 14


def test_four_instances_and_a_burst_of_42_containers_keep_one_face_budget(world, emulator, tmp_path) -> None:
    face = EmulatorClient.of(world)
    suffix = uuid.uuid4().hex[:6]
    containers = [Container(kind, f"many-{suffix}-{n:02d}") for kind in Kind for n in range(PER_KIND)]
    for container in containers:
        if container.kind is Kind.LARGE_FACE_LIST:
            face.create_list(container.id, faces=1000)
        else:
            face.create_group(container.kind, container.id, persons=1000)
    requests.patch(f"{emulator}/config", json={"rateLimit": "10/s"}, timeout=5).raise_for_status()  # S0
    settings = app_settings(world, FACE_CALLS_PER_SECOND=str(BUDGET), POLL_SCHEDULE=DEFAULTS["POLL_SCHEDULE"],
                            AzureFunctionsWebHost__hostid=f"many-{suffix}")  # the instances of one app
    requests_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                        settings["TRAINING_REQUESTS_QUEUE"])
    requests_queue.create_queue()
    with contextlib.ExitStack() as instances:
        for number in range(INSTANCES):
            instances.enter_context(app_on_dev_host(settings, tmp_path / f"host-{number}.log"))
        started = time.time()
        for container in containers:  # a burst the instances take together, each building its app on the first
            enqueue(requests_queue, container, request_id=f"r-{container.key}")
        events = events_until(world.storage_connection_string, settings["TRAINING_EVENTS_QUEUE"],
                              lambda received: len(received) >= len(containers), 240)
        drained_seconds = time.time() - started
    succeeded = {e["data"]["requestIds"][0] for e in events if e["type"].endswith("TrainingSucceeded")}
    assert succeeded == {f"r-{c.key}" for c in containers} and len(events) == len(containers)
    ours = face.calls(since=started, caller="token")
    floor_seconds = len(ours["calls"]) / BUDGET
    print(f"{INSTANCES} instances, {len(containers)} containers: {len(ours['calls'])} Face calls, at most "
          f"{ours['peakPerSecond']} in any second (budget {BUDGET}); drained in {drained_seconds:.1f} s against a "
          f"floor of {floor_seconds:.1f} s; {sum(1 for c in ours['calls'] if c['status'] == 429)} answered 429; "
          f"requests taken per instance: {[took(tmp_path / f'host-{n}.log') for n in range(INSTANCES)]}")
    arrivals = [round(c["at"] - started, 2) for c in ours["calls"]]
    assert ours["peakPerSecond"] <= BUDGET + 1, arrivals  # one more for arrival jitter
    assert [c for c in ours["calls"] if c["status"] == 429] == []
    assert drained_seconds <= 2 * floor_seconds, (drained_seconds, floor_seconds)


def took(log: Path) -> int:
    return log.read_text().count('"function": "train_requests"')
