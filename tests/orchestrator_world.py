"""Helpers for behaviour tests: an orchestrator built by the real composition root against the local world."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from azure.storage.queue import QueueClient
from opentelemetry.metrics import Meter

from localdev.emulator_client import EmulatorClient
from localdev.world import LocalWorld
from orchestrator import runtime
from orchestrator.containers import Container
from orchestrator.machine import Phase
from orchestrator.worker import Orchestrator
from tests.face_world import FaceHttp, image_bytes


def _import_function_app():
    """The app checks its settings when imported; each test then sets its own. These only let the import pass."""
    import os

    placeholders = {"FACE_ENDPOINT": "https://localhost", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    added = {name: value for name, value in placeholders.items() if name not in os.environ}
    os.environ.update(added)
    try:
        import function_app
    finally:
        for name in added:
            del os.environ[name]
    return function_app


function_app = _import_function_app()


class SteppedClock:
    """Real time plus an offset the test moves forward, so due polls come without sleeping; the emulator's
    trainings run on real time (scaled), the orchestrator's schedule on this clock."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def app_settings(world: LocalWorld, api_version: str = "v1.2", *, key: bool = False, **overrides) -> dict:
    suffix = uuid.uuid4().hex[:10]
    settings = {
        "FACE_ENDPOINT": world.face_endpoint, "FACE_API_VERSION": api_version,
        "AzureWebJobsStorage": world.storage_connection_string,
        "TRAINING_REQUESTS_QUEUE": f"requests-{suffix}", "TRAINING_EVENTS_QUEUE": f"events-{suffix}",
        "TRAININGS_TABLE": f"trainings{suffix}",
        "IDENTITY_ENDPOINT": world.identity_endpoint, "IDENTITY_HEADER": world.identity_header,
        "REQUESTS_CA_BUNDLE": str(world.trust_bundle),
    }
    if key:
        settings["FACE_API_KEY"] = world.face_key
    return {**settings, **overrides}


def build(settings: dict, clock: SteppedClock, monkeypatch, *, as_function_app: bool = True,
          edges: runtime.Edges = runtime.Edges(), meter: Meter | None = None) -> Orchestrator:
    """An orchestrator from the real composition root, with `edges` made as given and its metrics on `meter`.
    With `as_function_app`, it is the one the decorated functions use (`send` and `tick` below go through them);
    without, it stands for another host."""
    for name, value in settings.items():  # the SDKs and requests read these from the process environment
        monkeypatch.setenv(name, value)
    orchestrator = runtime.build(settings, clock=clock, edges=edges, meter=meter)
    if as_function_app:
        monkeypatch.setattr(runtime, "current", lambda: orchestrator)
    return orchestrator


def queue_message(body: bytes, message_id: str) -> QueueMessage:
    now = datetime.now(timezone.utc)
    return QueueMessage(id=message_id, body=body, dequeue_count=1, insertion_time=now, expiration_time=now,
                        time_next_visible=now, pop_receipt="receipt")


def send(body: bytes, message_id: str) -> None:
    """Call the real queue-triggered function in this process, so the test's clock drives the orchestrator. The
    path through Microsoft's worker runtime is tests/test_dev_host_runs_the_app.py's."""
    function_app.train_requests(queue_message(body, message_id))


def tick() -> None:
    """Call the real timer-triggered function in this process (see `send`)."""
    function_app.poll_trainings(TimerRequest(past_due=False))


def request(list_id: str, request_id: str | None = None, **fields) -> bytes:
    body = {"listId": list_id, **fields}
    if request_id:
        body["requestId"] = request_id
    return json.dumps(body).encode()


def drain_events(world: LocalWorld, settings: dict) -> list[dict]:
    queue = QueueClient.from_connection_string(world.storage_connection_string, settings["TRAINING_EVENTS_QUEUE"])
    events = []
    while batch := list(queue.receive_messages(messages_per_page=32, max_messages=32)):
        for message in batch:
            events.append(json.loads(message.content))
            queue.delete_message(message)
    return events


def face_calls(emulator: str) -> dict[str, int]:
    calls = EmulatorClient(emulator).stats()["calls"]
    return {"train": calls.get("FaceListOperations_TrainLargeFaceList", 0),
            "status": calls.get("FaceListOperations_GetLargeFaceListTrainingStatus", 0)}


def trainings_finished(emulator: str, timeout_seconds: float = 30) -> None:
    """Wait until every training the emulator knows has ended (by its own timeline), instead of guessing a sleep."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if all(t["finishedAt"] for t in EmulatorClient(emulator).trainings()):
            return
        time.sleep(0.05)
    raise AssertionError(f"the emulator's trainings did not end within {timeout_seconds} s")


def run_until_idle(orchestrator, clock: SteppedClock, container: Container | str, step_seconds: float = 2.0,
                   max_steps: int = 60) -> None:
    """Tick until the container (a plain id names a Large Face List) is idle."""
    if isinstance(container, str):
        container = Container.large_face_list(container)
    for _ in range(max_steps):
        state, _ = orchestrator.store.load(container)
        if state.phase is Phase.IDLE:
            return
        time.sleep(0.05)  # let the emulator's (scaled) training move on in real time
        clock.advance(step_seconds)
        tick()
    raise AssertionError(f"{container} still {state.phase} after {max_steps} steps")


def prepared_list(face_v12: FaceHttp, list_id: str, emulator: str, faces: int = 1) -> str:
    face_v12.create_list(list_id)
    EmulatorClient(emulator).add_faces(list_id, faces)
    return list_id


def prepared_group(face: FaceHttp, container: Container, persons: int = 2) -> Container:
    """A Person Group or Large Person Group with `persons` persons of one face each, made over REST."""
    assert face.call("PUT", f"/{container.path}", json={"name": container.id}).status_code == 200
    for number in range(persons):
        person = face.call("POST", f"/{container.path}/persons", json={"name": f"p{number}"}).json()["personId"]
        added = face.call("POST", f"/{container.path}/persons/{person}/persistedfaces", data=image_bytes(),
                          headers={"Content-Type": "application/octet-stream"})
        assert added.status_code == 200, added.text
    return container


class RecordingEnv(dict):
    """An environment that notes every name the settings module asks for."""

    def __init__(self, values) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)


def settings_read() -> set[str]:
    from orchestrator.settings import Settings

    env = RecordingEnv({"FACE_ENDPOINT": "https://x.cognitiveservices.azure.com", "AzureWebJobsStorage": "x"})
    Settings.from_env(env)
    return env.read
