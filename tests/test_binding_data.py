"""The host's shaping of each trigger's binding data (localdev/host/binding_data.py). Pure."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from localdev.host.binding_data import dotnet_datetime, http_trigger, queue_trigger, timer_trigger
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
    assert metadata["listId"].string == "celebs" and metadata["n"].json == "7" and metadata["x"].double == 0.5
    assert "tags" not in metadata  # arrays are not binding data
    assert metadata["DequeueCount"].json == "3" and metadata["InsertionTime"].json == '"2026-12-02T06:50:12.3456+00:00"'
    assert metadata["QueueTrigger"].string == data.string


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
