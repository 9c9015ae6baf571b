"""Queue messages in, training requests or clear rejections out: pure, table-driven."""

from __future__ import annotations

import base64
import json

import pytest

from orchestrator.intake import RequestRejected, TrainingRequest, parse_message


def body(document) -> bytes:
    return json.dumps(document).encode()


def cloud_event(data, **attributes) -> bytes:
    return body({"specversion": "1.0", "id": "evt-1", "source": "/uploads", "type": "Uploads.Done",
                 "data": data, **attributes})


@pytest.mark.parametrize("raw, expected", [
    (body({"listId": "celebs"}), TrainingRequest("celebs", "msg-m1", None, None)),
    (body({"listId": "a-_9", "requestId": "upload-42", "reason": "bulk", "settleSeconds": 30}),
     TrainingRequest("a-_9", "upload-42", "bulk", 30.0)),
    (base64.b64encode(body({"listId": "celebs", "requestId": "b64"})), TrainingRequest("celebs", "b64", None, None)),
    (cloud_event({"listId": "celebs", "requestId": "ce"}), TrainingRequest("celebs", "ce", None, None)),
    (body({"listId": "x" * 64, "settleSeconds": 0}), TrainingRequest("x" * 64, "msg-m1", None, 0.0)),
    (body({"listId": "celebs", "settleSeconds": 3600}), TrainingRequest("celebs", "msg-m1", None, 3600.0)),
])
def test_valid_requests(raw: bytes, expected: TrainingRequest) -> None:
    assert parse_message(raw, "m1") == expected


@pytest.mark.parametrize("raw, mentions", [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"not json at all", "neither JSON nor base64"),
    (b"{\"listId\": ", "not valid JSON"),
    (b"\xff\xfe\x00", "UTF-8"),
    (b"x" * (64 * 1024 + 1), "64 KiB"),
    (body([{"listId": "celebs"}]), "JSON object"),
    (body("celebs"), "neither JSON nor base64"),
    (base64.b64encode(b"not json"), "not valid JSON"),
    (b'{"listId": NaN}', "not valid JSON"),
    (body({}), "listId is required"),
    (body({"listId": 7}), "listId is required"),
    (body({"listId": None}), "listId is required"),
    (body({"listId": ""}), "not a Large Face List id"),
    (body({"listId": "Celebs"}), "not a Large Face List id"),
    (body({"listId": "has space"}), "not a Large Face List id"),
    (body({"listId": "x" * 65}), "not a Large Face List id"),
    (body({"listId": "caf\u00e9"}), "not a Large Face List id"),
    (body({"listId": "../x"}), "not a Large Face List id"),
    (body({"listId": "a%2Fb"}), "not a Large Face List id"),
    (body({"listId": "a/b"}), "not a Large Face List id"),
    (body({"listId": "celebs\n"}), "not a Large Face List id"),
    (body({"listId": "celebs", "requestId": ""}), "requestId"),
    (body({"listId": "celebs", "requestId": 12}), "requestId"),
    (body({"listId": "celebs", "requestId": "has space"}), "requestId"),
    (body({"listId": "celebs", "requestId": "r" * 129}), "requestId"),
    (body({"listId": "celebs", "reason": 5}), "reason"),
    (body({"listId": "celebs", "reason": "r" * 1025}), "reason"),
    (body({"listId": "celebs", "settleSeconds": -1}), "settleSeconds"),
    (body({"listId": "celebs", "settleSeconds": 3601}), "settleSeconds"),
    (body({"listId": "celebs", "settleSeconds": 1e308}), "settleSeconds"),
    (body({"listId": "celebs", "settleSeconds": "10"}), "settleSeconds"),
    (body({"listId": "celebs", "settleSeconds": True}), "settleSeconds"),
    (body({"listId": "celebs", "listID": "typo"}), "Unknown field"),
    (body({"listId": "celebs", "settle_seconds": 5}), "Unknown field"),
    (body({"listId": "celebs", "endpoint": "https://evil.example"}), "Unknown field"),
    (body({"listId": "celebs", "apiVersion": "v1.0"}), "Unknown field"),
    (body({"listId": "celebs", "id": "x"}), "reserved by the Functions host"),
    (body({"listId": "celebs", "DequeueCount": 1}), "reserved by the Functions host"),
    (body({"listId": "celebs", "popReceipt": "p"}), "reserved by the Functions host"),
    (cloud_event(None), "no data object"),
    (body({"specversion": "1.0", "id": "e", "source": "/s", "type": "t"}), "no data object"),
    (cloud_event("celebs"), "no data object"),
    (cloud_event({"listId": "celebs"}, specversion="0.3"), "specversion"),
    (body({"specversion": "1.0", "source": "/s", "type": "t", "data": {"listId": "c"}}), "id"),
    (cloud_event({"listId": "celebs"}, datacontenttype="text/plain"), "datacontenttype"),
    (cloud_event({"listId": "celebs"}, data_base64="e30="), "data_base64"),
    (cloud_event({"listId": "BAD"}), "not a Large Face List id"),
])
def test_bad_messages_are_rejected_with_a_reason(raw: bytes, mentions: str) -> None:
    with pytest.raises(RequestRejected) as rejected:
        parse_message(raw, "m1")
    assert mentions in rejected.value.reason


def test_a_rejection_names_the_list_and_request_when_it_can() -> None:
    with pytest.raises(RequestRejected) as rejected:
        parse_message(body({"listId": "celebs", "requestId": "r-1", "settleSeconds": -5}), "m1")
    assert (rejected.value.list_id, rejected.value.request_id) == ("celebs", "r-1")


def test_a_request_without_id_is_named_after_its_message_so_redelivery_is_the_same_request() -> None:
    assert parse_message(body({"listId": "celebs"}), "m9").request_id == parse_message(body({"listId": "celebs"}),
                                                                                         "m9").request_id
