"""The bad-input corpus: messages no producer should send, each with what its rejection must say. The pure intake
tests (test_intake.py) and the end-to-end ones through the real queue function (test_bad_input.py) share it."""

from __future__ import annotations

import base64
import json


def body(document) -> bytes:
    return json.dumps(document).encode()


def cloud_event(data, **attributes) -> bytes:
    return body({"specversion": "1.0", "id": "evt-1", "source": "/uploads", "type": "Uploads.Done",
                 "data": data, **attributes})


BAD_MESSAGES: list[tuple[bytes, str]] = [
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
    (body({}), "listId (a Large Face List), largePersonGroupId or personGroupId is required"),
    (body({"listId": 7}), "listId must be a string"),
    (body({"listId": None}), "listId must be a string"),
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
    (body({"listId": "celebs", "sizeHint": "100000"}), "sizeHint must be a whole number"),
    (body({"listId": "celebs", "sizeHint": 1.5}), "sizeHint must be a whole number"),
    (body({"largePersonGroupId": "staff", "sizeHint": True}), "sizeHint must be a whole number"),
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
    # Beyond the rules above: the same rules reached by other roads.
    (b'{"listId": "celebs", "listId": "Celebs"}', "not a Large Face List id"),  # a duplicated key: JSON keeps the last
    ('{"listId":"celebs"}'.encode("utf-16"), "UTF-8"),
    (base64.b64encode(b"\xff\xfe"), "neither JSON nor base64"),
    (b'{"listId": "celebs"} trailing', "not valid JSON"),
    (body({"listId": ["celebs"]}), "listId must be a string"),
    (body({"largePersonGroupId": "Staff"}), "not a Large Person Group id"),
    (body({"personGroupId": 5}), "personGroupId must be a string"),
    (body({"personGroupId": "x" * 65}), "not a Person Group id"),
    (body({"listId": "celebs", "personGroupId": "team"}), "names exactly one container"),
    (body({"largePersonGroupId": "staff", "personGroupId": "staff"}), "names exactly one container"),
    (cloud_event({"largePersonGroupId": "BAD"}), "not a Large Person Group id"),
    (body({"largepersongroupid": "staff"}), "Unknown field(s) largepersongroupid"),
    (body({"listId": "..%2Fx"}), "not a Large Face List id"),
    (body({"listId": "\u0441elebs"}), "not a Large Face List id"),  # a Cyrillic "с" that looks Latin
    (body({"listId": "celebs", "requestId": "r\u00e9"}), "requestId"),
    (cloud_event([{"listId": "celebs"}]), "no data object"),
    (b'{"listId": "celebs", "reason": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "nested too deeply"),
    # Hostile sizes: quoted back whole, these made a rejection larger than a queue message.
    (body({"listId": "celebs", "k" * 65_400: 1}), "Unknown field"),
    (cloud_event({"listId": "celebs"}, specversion="9" * 65_000), "specversion"),
]
