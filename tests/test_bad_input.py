"""The bad-input corpus (tests/bad_input.py) through the real queue function on Azurite: each bad message gets
exactly one rejection event that says what is wrong, and nothing else is affected: good requests around them
train as usual, and no entity is written for a rejected message."""

from __future__ import annotations

from azure.data.tables import TableClient

from orchestrator.containers import Container
from tests.bad_input import BAD_MESSAGES
from tests.orchestrator_world import (SteppedClock, app_settings, build, drain_events, prepared_list, request,
                                      run_until_idle, send)

REJECTED = ".TrainingRequestRejected"  # of the kind the message named, a Large Face List's when it named none


def test_the_corpus_has_at_least_fifty_bad_messages() -> None:
    assert len(BAD_MESSAGES) >= 50


def test_every_bad_message_gets_one_clear_rejection_and_touches_nothing_else(world, emulator, face_v12, list_id,
                                                                               monkeypatch) -> None:
    clock = SteppedClock()
    prepared_list(face_v12, list_id, emulator)
    settings = app_settings(world)
    orchestrator = build(settings, clock, monkeypatch)
    send(request(list_id, "before"), "good-1")
    for number, (raw, _) in enumerate(BAD_MESSAGES):
        send(raw, f"bad-{number}")  # the real function: it must not raise for any of them
    send(request(list_id, "after"), "good-2")
    run_until_idle(orchestrator, clock, list_id)

    events = drain_events(world, settings)
    rejections = {e["id"]: e["data"] for e in events if e["type"].endswith(REJECTED)}
    assert set(rejections) == {f"rejected/bad-{n}" for n in range(len(BAD_MESSAGES))}
    for number, (_, mentions) in enumerate(BAD_MESSAGES):
        rejection = rejections[f"rejected/bad-{number}"]
        assert mentions in rejection["reason"] and rejection["messageId"] == f"bad-{number}"
    trainings = [e for e in events if not e["type"].endswith(REJECTED)]
    assert {e["type"] for e in trainings} == {"Face.LargeFaceList.TrainingSucceeded"}
    assert sorted(r for e in trainings for r in e["data"]["requestIds"]) == ["after", "before"]
    table = TableClient.from_connection_string(world.storage_connection_string, settings["TRAININGS_TABLE"])
    assert {e["PartitionKey"] for e in table.list_entities()} <= {list_id, "~inflight", "~budget"}


def test_a_message_id_that_cannot_key_a_table_row_still_names_its_request(world, emulator, face_v12, list_id,
                                                                        monkeypatch) -> None:
    """The host promotes a CloudEvent's `id` to the message id, so a producer chooses it: one with '/' or '#', or
    of 70,000 characters, must not make the request's table key invalid, nor its rejection too large to send."""
    clock = SteppedClock()
    prepared_list(face_v12, list_id, emulator)
    settings = app_settings(world)
    orchestrator = build(settings, clock, monkeypatch)
    hostile = ["a/b#c?d", "m" * 70_000]
    for message_id in hostile:
        send(request(list_id), message_id)
    send(b"not json", "n" * 70_000)
    run_until_idle(orchestrator, clock, list_id)

    events = drain_events(world, settings)
    (rejection,) = [e for e in events if e["type"].endswith(REJECTED)]
    assert rejection["data"]["messageId"].startswith("sha256-") and len(rejection["id"]) < 128
    named = sorted(r for e in events if not e["type"].endswith(REJECTED) for r in e["data"]["requestIds"])
    assert len(named) == 2 and all(r.startswith("msg-sha256-") for r in named)
    send(request(list_id), hostile[1])  # the same message again is the same request
    assert orchestrator.store.waiting_requests(Container.large_face_list(list_id)) == []
