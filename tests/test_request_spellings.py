"""Every field a request or its CloudEvent envelope may carry, in every JSON spelling a producer may use, through
the real queue trigger on Azurite: the dev host promotes the message's top-level properties as the Functions host
does, Microsoft's worker runtime decodes them, and our function answers. Each message must end in a training or
in one rejection event, never in the poison queue.

Before, the dev host sent a number with a fraction as `TypedData.double`, which the runtime cannot decode: the
CLI's `"settleSeconds": 4.0`, or any fraction anywhere at a message's top level, failed every invocation and the
message was poisoned."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from facetrain.cli import EXIT_OK, main as facetrain
from localdev.emulator_client import EmulatorClient
from orchestrator.containers import Kind
from orchestrator.intake import RequestRejected, parse_message
from tests.app_host import app_on_dev_host, events_until
from tests.orchestrator_world import app_settings

SPELLINGS = ["4", "4.0", "4e0", "1.5", "true", '{"nested": 1}', "[1]"]
REQUEST_FIELDS = ["listId", "largePersonGroupId", "personGroupId", "requestId", "reason", "settleSeconds",
                  "sizeHint", "comment"]  # the last one no request has: refused in every spelling
ENVELOPE_FIELDS = ["specversion", "id", "source", "type", "datacontenttype", "subject", "time", "data"]
CLI_OPTIONS = [("--settle", "4"), ("--settle", "4.0"), ("--settle", "4e0"), ("--settle", "1.5"),
               ("--size", "4"), ("--size", "4.0"), ("--size", "4e0")]


@dataclass
class Sent:
    request_id: str
    body: str
    message_ids: set[str]


def json_object(fields: dict[str, str]) -> str:
    """An object of raw JSON values, so that each spelling reaches the queue exactly as written (4e0 stays 4e0)."""
    return "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"


def request_fields(number: int, kind: Kind, containers: dict[Kind, str]) -> dict[str, str]:
    return {kind.request_field: f'"{containers[kind]}"', "requestId": f'"spell-{number}"'}


def spelled_messages(containers: dict[Kind, str]) -> list[tuple[str, str]]:
    """(request id, message text): each field in each spelling, bare and as a CloudEvent's attribute."""
    messages = []
    kinds = list(Kind)
    for field in REQUEST_FIELDS:
        for spelling in SPELLINGS:
            number = len(messages)
            kind = next((k for k in Kind if k.request_field == field), kinds[number % len(kinds)])
            messages.append((f"spell-{number}", json_object({**request_fields(number, kind, containers),
                                                             field: spelling})))
    for attribute in ENVELOPE_FIELDS:
        for spelling in SPELLINGS:
            number = len(messages)
            envelope = {"specversion": '"1.0"', "id": f'"evt-{number}"', "source": '"/uploads"',
                        "type": '"Uploads.Done"',
                        "data": json_object(request_fields(number, kinds[number % len(kinds)], containers))}
            messages.append((f"spell-{number}", json_object({**envelope, attribute: spelling})))
    return messages


def expected_to_train(body: str) -> bool:
    try:
        parse_message(body.encode(), "any")
        return True
    except RequestRejected:
        return False


def test_every_field_in_every_spelling_trains_or_is_rejected_once_never_poisoned(world, emulator, tmp_path,
                                                                                  capsys) -> None:
    containers = {kind: f"spell-{uuid.uuid4().hex[:8]}" for kind in Kind}
    face = EmulatorClient.of(world)
    face.create_list(containers[Kind.LARGE_FACE_LIST], faces=2)
    face.create_group(Kind.LARGE_PERSON_GROUP.value, containers[Kind.LARGE_PERSON_GROUP], persons=2)
    face.create_group(Kind.PERSON_GROUP.value, containers[Kind.PERSON_GROUP], persons=2)
    settings = app_settings(world, POLL_SCHEDULE="*/1 * * * * *")
    requests_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                        settings["TRAINING_REQUESTS_QUEUE"])
    requests_queue.create_queue()
    sent = [Sent(request_id, body, {requests_queue.send_message(body).id} | ({f"evt-{request_id[6:]}"}
                                                                             if '"specversion"' in body else set()))
            for request_id, body in spelled_messages(containers)]
    cli_env = {"AzureWebJobsStorage": world.storage_connection_string,
               "TRAINING_REQUESTS_QUEUE": settings["TRAINING_REQUESTS_QUEUE"]}
    for number, (option, spelling) in enumerate(CLI_OPTIONS):
        request_id = f"cli-{number}"
        assert facetrain(["enqueue", containers[Kind.LARGE_FACE_LIST], option, spelling, "--request-id",
                          request_id], cli_env) == EXIT_OK
        sent.append(Sent(request_id, "", set()))
    to_train = {s.request_id for s in sent if not s.body or expected_to_train(s.body)}
    to_reject = {s.request_id for s in sent} - to_train
    # The rules, spot-checked by hand: a whole number in any spelling, a fraction where one is allowed.
    assert {"spell-35", "spell-36", "spell-37", "spell-38", "spell-42", "spell-43", "spell-44"} <= to_train  # settle, size
    assert {"spell-45", "spell-46", "spell-47"} <= to_reject  # sizeHint 1.5, true, an object
    assert len(to_train) == 28 and len(to_reject) == 91

    def answered(events: list[dict]) -> set[str]:
        trained = {r for e in events if "requestIds" in e["data"] for r in e["data"]["requestIds"]}
        return trained | {_rejected_request(e, sent) for e in events if e["type"].endswith("RequestRejected")}

    with app_on_dev_host(settings, tmp_path / "host.log"):
        events = events_until(world.storage_connection_string, settings["TRAINING_EVENTS_QUEUE"],
                              lambda received: answered(received) >= to_train | to_reject, 90)
    log = (tmp_path / "host.log").read_text()
    assert "unsupported TypeData kind" not in log and '"outcome": "Failed"' not in log, log[-3000:]
    outcomes = [e["type"].rsplit(".", 1)[1] for e in events]
    assert set(outcomes) == {"TrainingSucceeded", "TrainingRequestRejected"}, outcomes
    trained = Counter(r for e in events if e["type"].endswith("Succeeded") for r in e["data"]["requestIds"])
    rejected = Counter(_rejected_request(e, sent) for e in events if e["type"].endswith("RequestRejected"))
    assert set(trained) == to_train and set(trained.values()) == {1}
    assert set(rejected) == to_reject and set(rejected.values()) == {1}
    assert requests_queue.peek_messages() == []
    assert _poisoned(world, settings) == []


def _rejected_request(event: dict, sent: list[Sent]) -> str:
    """The request a rejection answers: by the request id it could read, else by its message id (the queue's, or
    the CloudEvent's own id, which the host makes the message id)."""
    data = event["data"]
    if data.get("requestId"):
        return data["requestId"]
    return next(s.request_id for s in sent if data["messageId"] in s.message_ids)


def _poisoned(world, settings: dict) -> list[str]:
    poison = QueueClient.from_connection_string(world.storage_connection_string,
                                                f"{settings['TRAINING_REQUESTS_QUEUE']}-poison")
    try:
        return [m.content for m in poison.peek_messages(max_messages=32)]
    except ResourceNotFoundError:
        return []
