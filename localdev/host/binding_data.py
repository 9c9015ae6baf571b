"""What the Functions host puts in an invocation, shaped as the host shapes it (Azure/azure-functions-host's
`GrpcMessageConversionExtensions`, the storage queue extension's `QueueTriggerBinding`, the timers extension's
`TimerTriggerBinding`; see ../shared/notes/functions-runtime.md). Pure: no I/O; the caller hands it the protobuf
classes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable


def dotnet_datetime(moment: datetime) -> str:
    """A DateTimeOffset as Newtonsoft writes it: seven-digit fraction with trailing zeros dropped, `+00:00`."""
    utc = moment.astimezone(timezone.utc)
    fraction = f"{utc.microsecond:06d}0".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "+00:00"


def queue_trigger(protos: Any, *, body: bytes, message_id: str, pop_receipt: str, dequeue_count: int,
                  insertion_time: datetime, expiration_time: datetime,
                  next_visible_time: datetime) -> tuple[Any, dict[str, Any]]:
    """The trigger's `TypedData` and its metadata. The message is a string (bytes when it is not UTF-8); a message
    that is a JSON object adds its top-level properties that are not arrays to the binding data. The host's binding
    data is a case-insensitive .NET dictionary, so a property named like one of the host's (a body's `"id"`)
    replaces that value under the host's own spelling (`Id`), which is what the runtime reads."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return protos.TypedData(bytes=body), _metadata(protos, {}, message_id, pop_receipt, dequeue_count,
                                                           insertion_time, expiration_time, next_visible_time)
    metadata = _metadata(protos, {"QueueTrigger": text}, message_id, pop_receipt, dequeue_count, insertion_time,
                         expiration_time, next_visible_time)
    for name, value in _json_object_properties(text).items():
        if isinstance(value, list) or value is None:
            continue
        key = next((existing for existing in metadata if existing.lower() == name.lower()), name)
        metadata[key] = _typed(protos, value)
    return protos.TypedData(string=text), metadata


def timer_trigger(protos: Any, *, past_due: bool, schedule_status: dict[str, str] | None,
                  now: datetime) -> tuple[Any, dict[str, Any]]:
    """The `TimerInfo` as the host serializes it (the status is null without the schedule monitor), and its one
    piece of binding data: the time, as .NET's `DateTime.ToString()` writes it in the invariant culture."""
    info = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": schedule_status, "IsPastDue": past_due}
    return (protos.TypedData(json=json.dumps(info)),
            {"TimerTrigger": protos.TypedData(string=now.astimezone(timezone.utc).strftime("%m/%d/%Y %H:%M:%S"))})


def http_trigger(protos: Any, *, method: str, url: str, headers: list[tuple[str, str]],
                 query: list[tuple[str, str]], route_values: dict[str, str], body: bytes) -> Any:
    """The request as the host hands it to a runtime that declares `RawHttpBodyBytes`, `RpcHttpBodyOnly` and
    `RpcHttpTriggerMetadataRemoved`: header names lower-cased, repeated headers and query values joined with
    commas as .NET's `StringValues` prints them, empty query values dropped, the body as bytes only when there is
    one, and no trigger metadata (so none is returned here)."""
    return protos.TypedData(http=protos.RpcHttp(
        method=method, url=url, headers=_joined((name.lower(), value) for name, value in headers),
        query=_joined((name, value) for name, value in query if value), params=route_values,
        **({"body": protos.TypedData(bytes=body)} if body else {})))


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _json_object_properties(body: str | bytes) -> dict[str, Any]:
    """The top-level properties of a message that is a JSON object, the ones the host may add to the binding data;
    none for any other message."""
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _metadata(protos: Any, fields: dict[str, str], message_id: str, pop_receipt: str, dequeue_count: int,
              insertion_time: datetime, expiration_time: datetime, next_visible_time: datetime) -> dict[str, Any]:
    strings = {**fields, "Id": message_id, "PopReceipt": pop_receipt}
    jsons = {"DequeueCount": json.dumps(dequeue_count),
             **{name: json.dumps(dotnet_datetime(moment)) for name, moment in (
                 ("InsertionTime", insertion_time), ("ExpirationTime", expiration_time),
                 ("NextVisibleTime", next_visible_time))}}
    return ({name: protos.TypedData(string=value) for name, value in strings.items()}
            | {name: protos.TypedData(json=value) for name, value in jsons.items()})


def _typed(protos: Any, value: Any) -> Any:
    """A binding-data value as the host converts it: text is a string, a whole number or an object is JSON, and
    a fraction is a double."""
    if isinstance(value, str):
        return protos.TypedData(string=value)
    if isinstance(value, float):
        return protos.TypedData(double=value)
    return protos.TypedData(json=json.dumps(value))
