"""The host's shaping of each trigger's binding data (localdev/host/binding_data.py). Pure."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from azure.functions.queue import QueueMessageInConverter
from azure_functions_runtime.bindings.datumdef import Datum

from localdev.host.binding_data import (dotnet_datetime, http_trigger, promoted_properties, queue_trigger,
                                        timer_trigger)
from localdev.host.worker_runtime import load_protos

PROTOS = load_protos()
AT = datetime(2026, 12, 2, 6, 50, 12, 345600, tzinfo=timezone.utc)


@pytest.mark.parametrize("moment, text", [
    (AT, "2026-12-02T06:50:12.3456+00:00"),
    (AT.replace(microsecond=0), "2026-12-02T06:50:12+00:00"),
    (AT.replace(microsecond=1), "2026-12-02T06:50:12.000001+00:00"),
])
def test_dates_are_written_as_newtonsoft_writes_a_date_time_offset(moment: datetime, text: str) -> None:
    assert dotnet_datetime(moment) == text


def shaped(body: bytes):
    return queue_trigger(PROTOS, body=body, message_id="m1", pop_receipt="p", dequeue_count=3, insertion_time=AT,
                         expiration_time=AT, next_visible_time=AT)


def test_a_json_object_s_properties_join_the_metadata_under_the_host_s_spelling() -> None:
    data, metadata = shaped(b'{"ID": "from-body", "listId": "celebs", "tags": ["a"], "n": 7, "x": 0.5}')
    assert data.string.startswith('{"ID"')
    assert metadata["Id"].string == "from-body" and "ID" not in metadata
    assert metadata["listId"].string == "celebs" and metadata["n"].string == "7" and metadata["x"].string == "0.5"
    assert "tags" not in metadata  # arrays are not binding data
    assert metadata["DequeueCount"].json == "3" and metadata["InsertionTime"].json == '"2026-12-02T06:50:12.3456+00:00"'
    assert metadata["QueueTrigger"].string == data.string


# The host's rules, value type by value type (Utility.ApplyBindingData: `(string)JToken` of a scalar, the JObject of
# an object, arrays and nulls left out; Newtonsoft.Json 13 reads the message, .NET 8 formats what it read).
@pytest.mark.parametrize("value, promoted", [
    ('"celebs"', ("string", "celebs")),
    ("4", ("string", "4")),  # a long
    ("-0", ("string", "0")),
    ("12345678901234567890", ("string", "12345678901234567890")),  # past a long: a BigInteger
    ("4.0", ("string", "4")),  # a double, written as .NET writes it
    ("4e0", ("string", "4")),
    ("1.5", ("string", "1.5")),
    ("-0.0", ("string", "-0")),
    ("0.1", ("string", "0.1")),
    ("1e16", ("string", "10000000000000000")),
    ("1e17", ("string", "1E+17")),  # past 17 digits before the point: scientific
    ("123456789012345678", ("string", "123456789012345678")),  # an integer stays exact
    ("123456789012345678.0", ("string", "1.2345678901234568E+17")),
    ("0.0001", ("string", "0.0001")),
    ("0.00001", ("string", "1E-05")),
    ("1e400", ("string", "Infinity")),  # .NET's parse of an overflow
    ("true", ("string", "True")),
    ("false", ("string", "False")),
    ('"2026-11-27T07:41:12Z"', ("string", "11/27/2026 07:41:12")),  # read as a DateTime, written as one
    ('"2026-11-27T07:41:12.1234567+01:00"', ("string", "11/27/2026 06:41:12")),  # local: UTC on the host
    ('"2026-11-27T07:41:12-0130"', ("string", "11/27/2026 09:11:12")),
    ('"2026-11-27T24:00:00"', ("string", "11/28/2026 00:00:00")),
    ('"0001-01-01T00:00:00+01:00"', ("string", "01/01/0001 00:00:00")),  # held at DateTime.MinValue
    ('"/Date(1764229272000)/"', ("string", "11/27/2025 07:41:12")),
    ('"/Date(1764229272000+0100)/"', ("string", "11/27/2025 07:41:12")),
    ('"2026-02-30T07:41:12Z"', ("string", "2026-02-30T07:41:12Z")),  # no such day: an ordinary string
    ('"2026-11-27 07:41:12Z"', ("string", "2026-11-27 07:41:12Z")),  # no T: an ordinary string
    ('"2026-11-27T07:41:12.12345678Z"', ("string", "2026-11-27T07:41:12.12345678Z")),  # eight fraction digits
    ('{"p1": 777, "p2": 4.0, "s": "a\u2028b"}', ("json", '{"p1":777,"p2":4.0,"s":"a\\u2028b"}')),
    ('{"at": "2026-11-27T07:41:12.500Z", "big": 1e17, "no": NaN}', ("json", '{"at":"2026-11-27T07:41:12.5Z",'
                                                                            '"big":1E+17,"no":"NaN"}')),
    ("[1, 2]", None),
    ("[]", None),
    ("null", None),
])
def test_each_kind_of_value_is_promoted_as_the_host_promotes_it(value: str, promoted) -> None:
    properties = promoted_properties(f'{{"field": {value}, "listId": "celebs"}}')
    assert properties.get("field") == promoted and properties["listId"] == ("string", "celebs")


def test_no_promoted_value_is_a_double_and_the_runtime_decodes_every_entry() -> None:
    """The worker runtime decodes every metadata entry before the function runs and has no decoder for `double`:
    one such entry failed every invocation of a message with a fraction anywhere at its top level."""
    _, metadata = shaped(b'{"listId": "celebs", "settleSeconds": 4.0, "sizeHint": 4e0, "x": 1.5, "t": true, '
                         b'"o": {"a": 1.5}, "a": [1.5]}')
    assert {entry.WhichOneof("data") for entry in metadata.values()} <= {"string", "json"}
    decoded = {name: Datum.from_typed_data(entry).value for name, entry in metadata.items()}
    assert decoded["settleSeconds"] == "4" and decoded["sizeHint"] == "4" and decoded["x"] == "1.5"
    assert decoded["t"] == "True" and json.loads(decoded["o"]) == {"a": 1.5} and "a" not in decoded


def test_a_null_never_replaces_the_host_s_own_value() -> None:
    _, metadata = shaped(b'{"id": null, "popReceipt": null, "dequeueCount": 9}')
    assert metadata["Id"].string == "m1" and metadata["PopReceipt"].string == "p"
    assert metadata["DequeueCount"].string == "9" and "dequeueCount" not in metadata


def test_keys_meet_the_host_s_as_dotnet_compares_them_ignoring_case() -> None:
    _, metadata = shaped('{"ıd": "dotless", "stra\u00dfe": 1, "STRASSE": 2}'.encode())
    assert metadata["Id"].string == "dotless"  # U+0131's simple upper case is I
    assert metadata["straße"].string == "1" and metadata["STRASSE"].string == "2"  # ß has no simple upper case


@pytest.mark.parametrize("body", [
    '{"listId": "celebs", "n": ' + "1" * 381 + "}",  # an integer too long for Newtonsoft to read
    '{"listId": "celebs", "deep": ' + "[" * 64 + "]" * 64 + "}",  # past the reader's MaxDepth of 64
    '{"listId": "celebs", "deep": ' + '{"a": ' * 64 + "1" + "}" * 64 + "}",
    '{"listId": "celebs", "at": "9999-12-31T24:00:00"}',  # a day past DateTime.MaxValue
    '{"listId": "celebs", "at": "/Date(999999999999999)/"}',  # past DateTime.MaxValue
])
def test_a_message_newtonsoft_cannot_read_promotes_nothing(body: str) -> None:
    _, metadata = shaped(body.encode())
    assert set(metadata) == {"QueueTrigger", "Id", "PopReceipt", "DequeueCount", "InsertionTime", "ExpirationTime",
                             "NextVisibleTime"}


def test_the_deepest_nesting_newtonsoft_reads_is_promoted() -> None:
    within = promoted_properties('{"deep": ' + "[" * 63 + "]" * 63 + ', "o": ' + '{"a": ' * 63 + "1" + "}" * 63
                                 + ', "listId": "celebs"}')
    assert within["listId"] == ("string", "celebs") and within["o"][0] == "json"


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"{not json}", b"  ", b'{"a": 1} trailing'])
def test_a_message_that_is_not_one_json_object_promotes_nothing(body: bytes) -> None:
    assert promoted_properties(body.decode()) == {}


def test_a_message_that_is_not_utf8_is_bytes_with_no_queue_trigger_text() -> None:
    data, metadata = shaped(b"\xff\xfe")
    assert data.bytes == b"\xff\xfe" and "QueueTrigger" not in metadata and metadata["Id"].string == "m1"


def test_a_timer_gets_the_host_s_timer_info_and_the_time_as_dotnet_prints_it() -> None:
    status = {"Last": None, "Next": "2026-12-02T06:51:00+00:00", "LastUpdated": "2026-12-02T06:50:00+00:00"}
    data, metadata = timer_trigger(PROTOS, past_due=True, schedule_status=status, now=AT)
    assert json.loads(data.json) == {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": True}
    assert metadata == {"TimerTrigger": PROTOS.TypedData(string="12/02/2026 06:50:12")}
    unmonitored, _ = timer_trigger(PROTOS, past_due=False, schedule_status=None, now=AT)
    assert json.loads(unmonitored.json)["ScheduleStatus"] is None


def test_an_http_request_is_shaped_as_the_host_shapes_it_for_this_runtime() -> None:
    data = http_trigger(PROTOS, method="POST", url="http://h/api/things/a?q=1&q=2&e=", body=b"{}",
                        headers=[("X-Tag", "a"), ("x-tag", "b"), ("Content-Type", "application/json")],
                        query=[("q", "1"), ("q", "2"), ("e", "")], route_values={"name": "a"})
    http = data.http
    assert (http.method, http.url, http.body.bytes) == ("POST", "http://h/api/things/a?q=1&q=2&e=", b"{}")
    assert dict(http.headers) == {"x-tag": "a,b", "content-type": "application/json"}
    assert dict(http.query) == {"q": "1,2"} and dict(http.params) == {"name": "a"}
    empty = http_trigger(PROTOS, method="GET", url="http://h/", headers=[], query=[], route_values={}, body=b"")
    assert not empty.http.HasField("body")


def decoded_by_the_runtime(body: bytes):
    """The `func.QueueMessage` Microsoft's code builds from what the host sends, or its error: the worker runtime
    decodes each entry (`from_incoming_proto`), and the queue binding of azure-functions builds the message."""
    data, metadata = shaped(body)
    return QueueMessageInConverter.decode(Datum.from_typed_data(data), trigger_metadata={
        name: Datum.from_typed_data(entry) for name, entry in metadata.items()})


@pytest.mark.parametrize("body, message_id, dequeue_count", [
    (b'{"listId": "celebs", "settleSeconds": 4.0, "sizeHint": 1.5}', "m1", 3),
    (b'{"specversion": "1.0", "id": 4.0, "data": {}}', "4", 3),  # a CloudEvent's id is the message id
    (b'{"specversion": "1.0", "id": true, "data": {}}', "True", 3),
    (b'{"specversion": "1.0", "id": {"n": 1}, "data": {}}', "{'n': 1}", 3),  # the runtime makes the dict a str
    (b'{"listId": "celebs", "dequeueCount": 4.0}', "m1", 4),  # our function then rejects the reserved name
])
def test_the_runtime_reads_the_message_whatever_the_request_s_fields_hold(body: bytes, message_id: str,
                                                                          dequeue_count: int) -> None:
    message = decoded_by_the_runtime(body)
    assert (message.id, message.dequeue_count, message.get_body()) == (message_id, dequeue_count, body)


@pytest.mark.parametrize("body", [b'{"listId": "celebs", "dequeueCount": 1.5}',
                                  b'{"listId": "celebs", "insertionTime": true}'])
def test_a_host_s_name_with_a_value_the_runtime_cannot_read_fails_before_the_function_as_in_azure(body) -> None:
    """Microsoft's runtime reads the message's `DequeueCount` and dates from the metadata the body overrode, and
    fails the invocation on what it cannot coerce: the host retries, then poisons the message. It never reaches
    our code, in Azure as here (docs/requests.md says so)."""
    with pytest.raises(ValueError):
        decoded_by_the_runtime(body)
