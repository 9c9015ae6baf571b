"""The orchestrator against a Face that misbehaves on purpose (issue 12), end to end through the real functions on
Azurite and the emulator: each test reproduces a defect found that way and failed before its fix."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from azure.storage.queue import QueueClient

from localdev.emulator_client import EmulatorClient
from orchestrator.containers import Container
from orchestrator.bounds import MAX_FACE_MESSAGE_CHARS
from orchestrator.machine import Phase
from orchestrator.runtime import Edges
from orchestrator.store import TrainingStore
from tests.face_world import inject_fault
from tests.orchestrator_world import (SteppedClock, app_settings, build, drain_events, face_calls, prepared_list,
                                      request, run_until_idle, send, tick, trainings_finished)


@pytest.fixture
def app(world, emulator, face_v12, list_id, monkeypatch):
    """A prepared list and the function app's orchestrator with these settings: (clock, settings, orchestrator)."""

    def start(**overrides):
        clock = SteppedClock()
        prepared_list(face_v12, list_id, emulator)
        settings = app_settings(world, **overrides)
        return clock, settings, build(settings, clock, monkeypatch)

    return start


def test_a_megabyte_failure_message_is_cut_and_reported(world, emulator, list_id, app) -> None:
    """It made an event the queue refused: the tick failed every minute and Face's "failed" was lost."""
    clock, settings, orchestrator = app()
    EmulatorClient(emulator).fail_training(list_id, "Face says no. " + "x" * 1_000_000, count=1)
    send(request(list_id, "r1"), "m1")
    run_until_idle(orchestrator, clock, list_id)
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingFailed"
    data = event["data"]
    assert (data["status"], data["errorCode"], data["requestIds"]) == ("failed", "TrainingFailed", ["r1"])
    assert data["errorMessage"].startswith("Face says no. xxx") and "characters cut" in data["errorMessage"]
    assert len(data["errorMessage"]) <= MAX_FACE_MESSAGE_CHARS


def test_a_day_long_retry_after_is_capped_at_the_longest_wait(world, emulator, list_id, app) -> None:
    clock, settings, orchestrator = app(MAX_RETRY_WAIT_SECONDS="30")
    send(request(list_id, "r1"), "m1")
    tick()
    trainings_finished(emulator)
    inject_fault(emulator, pathPattern="/training$", status=429, retryAfterSeconds=86400, count=1)
    clock.advance(3)
    polled_at = clock()
    tick()  # the poll is throttled "for a day"
    state, _ = orchestrator.store.load(Container.large_face_list(list_id))
    assert state.phase is Phase.TRAINING and state.due_at <= polled_at + timedelta(seconds=31)
    clock.advance(31)
    tick()
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded"


def test_the_deadline_ends_a_training_whatever_face_said_to_wait(world, emulator, list_id, app) -> None:
    """A `Retry-After` longer than MAX_TRAINING_MINUTES kept the list parked past its deadline."""
    clock, settings, orchestrator = app(MAX_TRAINING_MINUTES="1", MAX_RETRY_WAIT_SECONDS="3600")
    inject_fault(emulator, pathPattern="/training$", status=429, retryAfterSeconds=3000, rate=1)
    send(request(list_id, "r1"), "m1")
    tick()
    submitted_at = orchestrator.store.load(Container.large_face_list(list_id))[0].run.submitted_at
    clock.advance(3)
    tick()
    assert orchestrator.store.load(Container.large_face_list(list_id))[0].due_at == submitted_at + timedelta(minutes=1)
    clock.advance(60)
    tick()
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingTimedOut"
    assert orchestrator.store.in_flight() == []


def test_a_gateway_page_instead_of_a_status_is_retried_not_reported(world, emulator, list_id, app) -> None:
    """One HTML page from a gateway made a training that succeeded end TrainingFailed."""
    clock, settings, orchestrator = app()
    inject_fault(emulator, pathPattern="/training$", body="<html><h1>502 Bad Gateway</h1></html>", count=2)
    send(request(list_id, "r1"), "m1")
    trainings_finished(emulator)
    run_until_idle(orchestrator, clock, list_id, step_seconds=10)
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded"
    assert face_calls(emulator) == {"train": 1, "status": 3}


def test_half_a_minute_of_junk_answers_then_succeeded_is_a_success(world, emulator, list_id, app) -> None:
    """A gateway glitch of about half a minute: an HTML page, JSON without a status, a status outside the
    contract, each once, then Face's own `succeeded`. Before, the third junk answer ended the run with
    TrainingFailed (protocolError) for a training that succeeded."""
    clock, settings, orchestrator = app()
    send(request(list_id, "r1"), "m1")
    tick()
    trainings_finished(emulator)
    junk = [("<html><h1>502 Bad Gateway</h1></html>", "text/html"),
            ('{"createdDateTime": "2026-12-05T00:00:00Z"}', "application/json"),
            ('{"status": "exploded", "createdDateTime": "2026-12-05T00:00:00Z"}', "application/json")]
    waited = 0.0
    for body, content_type in junk:
        inject_fault(emulator, pathPattern="/training$", body=body, contentType=content_type, count=1)
        state, _ = orchestrator.store.load(Container.large_face_list(list_id))
        wait = max((state.due_at - clock()).total_seconds(), 0) + 0.1
        clock.advance(wait)
        waited += wait
        tick()  # the poll meets the junk
        assert drain_events(world, settings) == []
    run_until_idle(orchestrator, clock, list_id, step_seconds=10)
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded" and event["data"]["requestIds"] == ["r1"]
    assert face_calls(emulator) == {"train": 1, "status": 4} and waited < 60
    assert [rule["fired"] for rule in EmulatorClient(emulator).faults()] == [1, 1, 1]


def test_a_202_that_lost_its_operation_location_polls_the_list_s_own_status(world, emulator, list_id, app) -> None:
    clock, settings, orchestrator = app()
    inject_fault(emulator, pathPattern="/train$", dropHeaders=["operation-Location"], count=1)
    send(request(list_id, "r1"), "m1")
    run_until_idle(orchestrator, clock, list_id)
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded"
    assert event["data"]["operationLocation"] == f"{world.face_endpoint}/face/v1.2/largefacelists/{list_id}/training"


def test_an_event_the_queue_refuses_is_retried_and_wedges_nothing(world, emulator, list_id, app) -> None:
    clock, settings, orchestrator = app()
    send(request(list_id, "r1"), "m1")
    tick()
    trainings_finished(emulator)
    events_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                      settings["TRAINING_EVENTS_QUEUE"])
    events_queue.delete_queue()
    clock.advance(3)
    tick()  # the event cannot be sent: the tick goes on, and the step is kept for later
    state, _ = orchestrator.store.load(Container.large_face_list(list_id))
    assert state.phase is Phase.TRAINING and state.attempts == 1 and state.due_at > clock()
    events_queue.create_queue()
    clock.advance(orchestrator.policy.max_retry_wait_seconds)
    tick()
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded" and event["id"] == f"{list_id}/run-1/outcome"


class TickStore(TrainingStore):
    """A second tick's store (two ticks at once: a timer lease lost mid-run) that reads the list while the first
    tick's step holds its claim, and whose marker write lands only after that step has stored and indexed the
    submitted training."""

    def __init__(self, table, read: threading.Event, intake_indexed: threading.Event) -> None:
        super().__init__(table)
        self.read, self.intake_indexed = read, intake_indexed

    def load(self, list_id):
        loaded = super().load(list_id)
        self.read.set()
        return loaded

    def mark_due(self, state):
        self.intake_indexed.wait(10)
        super().mark_due(state)


class SubmittingStore(TrainingStore):
    """The first tick's store: before it stores the submitted training, the second tick reads the list (the
    claim)."""

    def __init__(self, table, start_tick, tick_read: threading.Event, intake_indexed: threading.Event) -> None:
        super().__init__(table)
        self.start_tick, self.tick_read, self.intake_indexed = start_tick, tick_read, intake_indexed
        self.trained = False

    def save(self, state, etag):
        if state.phase is Phase.TRAINING and not self.trained:
            self.trained = True
            self.start_tick()
            assert self.tick_read.wait(10)
        return super().save(state, etag)

    def mark_due(self, state):
        super().mark_due(state)
        if self.trained:
            self.intake_indexed.set()


def test_a_tick_reading_a_list_while_another_submits_never_leaves_its_marker_late(world, emulator, face_v12,
                                                                                  list_id, monkeypatch) -> None:
    """A tick stored the marker from another step's claim (due in 60 s) after that step stored the training's
    (due in 2 s): the training went unpolled until the claim ran out. Intake submitted then; now only ticks do,
    and the host may run two at once."""
    clock = SteppedClock()
    prepared_list(face_v12, list_id, emulator)
    settings = app_settings(world)
    tick_read, intake_indexed = threading.Event(), threading.Event()
    other = build(settings, clock, monkeypatch, as_function_app=False,
                  edges=Edges(store=lambda table: TickStore(table, tick_read, intake_indexed)))
    racing_tick = threading.Thread(target=other.advance, args=(Container.large_face_list(list_id),))
    intake = build(settings, clock, monkeypatch,
                   edges=Edges(store=lambda table: SubmittingStore(table, racing_tick.start, tick_read,
                                                                   intake_indexed)))

    send(request(list_id, "r1"), "m1")
    intake.advance(Container.large_face_list(list_id), granted=True)  # the first tick's step: it submits
    racing_tick.join(20)
    assert not racing_tick.is_alive() and face_calls(emulator)["train"] == 1
    state, _ = intake.store.load(Container.large_face_list(list_id))
    (marker,) = intake.store.in_flight()
    assert state.phase is Phase.TRAINING and marker.due_at <= state.due_at
    trainings_finished(emulator)
    clock.advance((state.due_at - clock()).total_seconds())
    tick()
    (event,) = drain_events(world, settings)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded"


def test_a_claim_outlasts_the_longest_face_call_its_settings_allow(world, monkeypatch) -> None:
    """The claim was 60 s whatever the timeouts: a call under FACE_READ_TIMEOUT_SECONDS=600 could outlive it, and
    another instance's tick then took the container over mid-step (a second train call, adopted with no request
    ids, and the first instance's run lost at its save). A call now ends at connect + read timeout
    (test_face_client.py, dripped headers), and the claim is twice that."""
    settings = app_settings(world, FACE_CONNECT_TIMEOUT_SECONDS="20", FACE_READ_TIMEOUT_SECONDS="600")
    orchestrator = build(settings, SteppedClock(), monkeypatch, as_function_app=False)
    assert orchestrator.face.deadline_seconds == 620 and orchestrator.policy.claim_seconds == 1240
    defaults = build(app_settings(world), SteppedClock(), monkeypatch, as_function_app=False)
    assert defaults.face.deadline_seconds == 35 and defaults.policy.claim_seconds == 70
