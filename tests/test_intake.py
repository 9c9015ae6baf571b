"""Queue messages in, training requests or clear rejections out: pure, table-driven."""

from __future__ import annotations

import base64

import pytest

from orchestrator.containers import Container, Kind
from orchestrator.intake import RequestRejected, TrainingRequest, parse_message
from tests.bad_input import BAD_MESSAGES, body, cloud_event


CELEBS = Container.large_face_list("celebs")
STAFF = Container(Kind.LARGE_PERSON_GROUP, "staff")
TEAM = Container(Kind.PERSON_GROUP, "team-1")


@pytest.mark.parametrize("raw, expected", [
    (body({"listId": "celebs"}), TrainingRequest(CELEBS, "msg-m1", None, None)),
    (body({"listId": "a-_9", "requestId": "upload-42", "reason": "bulk", "settleSeconds": 30}),
     TrainingRequest(Container.large_face_list("a-_9"), "upload-42", "bulk", 30.0)),
    (base64.b64encode(body({"listId": "celebs", "requestId": "b64"})), TrainingRequest(CELEBS, "b64", None, None)),
    (cloud_event({"listId": "celebs", "requestId": "ce"}), TrainingRequest(CELEBS, "ce", None, None)),
    (body({"listId": "x" * 64, "settleSeconds": 0}),
     TrainingRequest(Container.large_face_list("x" * 64), "msg-m1", None, 0.0)),
    (body({"listId": "celebs", "settleSeconds": 3600}), TrainingRequest(CELEBS, "msg-m1", None, 3600.0)),
    (body({"largePersonGroupId": "staff", "requestId": "hr-1"}), TrainingRequest(STAFF, "hr-1", None, None)),
    (body({"personGroupId": "team-1", "settleSeconds": 5}), TrainingRequest(TEAM, "msg-m1", None, 5.0)),
    (cloud_event({"largePersonGroupId": "staff"}), TrainingRequest(STAFF, "msg-m1", None, None)),
    (body({"listId": "celebs", "sizeHint": 250_000}), TrainingRequest(CELEBS, "msg-m1", None, None, 250_000)),
    (cloud_event({"personGroupId": "team-1", "sizeHint": 0}), TrainingRequest(TEAM, "msg-m1", None, None, 0)),
    # No container holds these: the request stands, timed as without a hint, and the worker says so.
    (body({"listId": "celebs", "sizeHint": -3}), TrainingRequest(CELEBS, "msg-m1", None, None, None, -3)),
    (body({"listId": "celebs", "sizeHint": 10**12}), TrainingRequest(CELEBS, "msg-m1", None, None, None, 10**12)),
    # JSON has one kind of number: each spelling of a whole number is one (a C# double is written 4.0).
    (b'{"listId": "celebs", "sizeHint": 4.0}', TrainingRequest(CELEBS, "msg-m1", None, None, 4)),
    (b'{"listId": "celebs", "sizeHint": 4e0}', TrainingRequest(CELEBS, "msg-m1", None, None, 4)),
    (b'{"listId": "celebs", "sizeHint": 2.5E5}', TrainingRequest(CELEBS, "msg-m1", None, None, 250_000)),
    (b'{"listId": "celebs", "sizeHint": 1e308}', TrainingRequest(CELEBS, "msg-m1", None, None, None, int(1e308))),
    (b'{"listId": "celebs", "settleSeconds": 4e0}', TrainingRequest(CELEBS, "msg-m1", None, 4.0)),
    (b'{"listId": "celebs", "settleSeconds": 1.5}', TrainingRequest(CELEBS, "msg-m1", None, 1.5)),
])
def test_valid_requests(raw: bytes, expected: TrainingRequest) -> None:
    assert parse_message(raw, "m1") == expected


@pytest.mark.parametrize("raw, mentions", BAD_MESSAGES)
def test_bad_messages_are_rejected_with_a_reason(raw: bytes, mentions: str) -> None:
    with pytest.raises(RequestRejected) as rejected:
        parse_message(raw, "m1")
    assert mentions in rejected.value.reason


@pytest.mark.parametrize("document, container", [
    ({"listId": "celebs"}, CELEBS), ({"largePersonGroupId": "staff"}, STAFF), ({"personGroupId": "team-1"}, TEAM),
    ({"listId": "celebs", "personGroupId": "team-1"}, None),  # which one the sender meant is not ours to guess
])
def test_a_rejection_names_the_container_and_request_when_it_can(document: dict, container) -> None:
    with pytest.raises(RequestRejected) as rejected:
        parse_message(body({**document, "requestId": "r-1", "settleSeconds": -5}), "m1")
    assert (rejected.value.container, rejected.value.request_id) == (container, "r-1")


@pytest.mark.parametrize("envelope", [{"specversion": "0.3"}, {"id": 4}, {"datacontenttype": "text/plain"},
                                      {"data_base64": "e30="}])
def test_a_cloud_event_refused_for_its_envelope_still_names_its_data_s_container_and_request(envelope) -> None:
    with pytest.raises(RequestRejected) as rejected:
        parse_message(cloud_event({"personGroupId": "team-1", "requestId": "r-1"}, **envelope), "m1")
    assert (rejected.value.container, rejected.value.request_id) == (TEAM, "r-1")


def test_a_request_without_id_is_named_after_its_message_so_redelivery_is_the_same_request() -> None:
    assert parse_message(body({"listId": "celebs"}), "m9").request_id == parse_message(body({"listId": "celebs"}),
                                                                                         "m9").request_id
