"""What the Functions host puts in an invocation, shaped as the host shapes it (Azure/azure-functions-host's
`GrpcMessageConversionExtensions`, the storage queue extension's `QueueTriggerBinding`, the timers extension's
`TimerTriggerBinding`; see ../shared/notes/functions-runtime.md). Pure: no I/O; the caller hands it the protobuf
classes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable

from . import newtonsoft


def dotnet_datetime(moment: datetime) -> str:
    """A DateTimeOffset in UTC as Newtonsoft writes it: seven-digit fraction with trailing zeros dropped, `+00:00`,
    as it writes a local `DateTime` on a host that runs on UTC."""
    return newtonsoft.iso_text(newtonsoft.DotnetDate.of(moment.astimezone(timezone.utc), "Local"))


def queue_trigger(protos: Any, *, body: bytes, message_id: str, pop_receipt: str, dequeue_count: int,
                  insertion_time: datetime, expiration_time: datetime,
                  next_visible_time: datetime) -> tuple[Any, dict[str, Any]]:
    """The trigger's `TypedData` and its metadata. The message is a string (bytes when it is not UTF-8), and a
    message that is a JSON object adds its top-level properties to the binding data as the host's
    `Utility.ApplyBindingData` does (see `promoted_properties`)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return protos.TypedData(bytes=body), _metadata(protos, {}, message_id, pop_receipt, dequeue_count,
                                                           insertion_time, expiration_time, next_visible_time)
    metadata = _metadata(protos, {"QueueTrigger": text}, message_id, pop_receipt, dequeue_count, insertion_time,
                         expiration_time, next_visible_time)
    for name, (kind, value) in promoted_properties(text).items():
        key = next((existing for existing in metadata if _folded(existing) == _folded(name)), name)
        metadata[key] = protos.TypedData(**{kind: value})
    return protos.TypedData(string=text), metadata


def promoted_properties(text: str) -> dict[str, tuple[str, str]]:
    """What the host promotes from a message, as (`TypedData` field, value): each top-level property of a JSON
    object but arrays and nulls, a nested object as `json` and any other value as `string`, in .NET's words
    (`4.0` is "4", `true` "True", an ISO date "11/27/2026 07:41:12"). Never `double` or `int`: the worker runtime
    decodes every metadata entry before the function runs and has no decoder for `double`."""
    promoted: dict[str, tuple[str, str]] = {}
    for name, value in (newtonsoft.read_object(text) or {}).items():
        if isinstance(value, dict):
            promoted[name] = ("json", newtonsoft.as_json(value))
        elif not isinstance(value, list) and value is not None:
            promoted[name] = ("string", newtonsoft.as_string(value))
    return promoted


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


def _metadata(protos: Any, fields: dict[str, str], message_id: str, pop_receipt: str, dequeue_count: int,
              insertion_time: datetime, expiration_time: datetime, next_visible_time: datetime) -> dict[str, Any]:
    strings = {**fields, "Id": message_id, "PopReceipt": pop_receipt}
    jsons = {"DequeueCount": json.dumps(dequeue_count),
             **{name: json.dumps(dotnet_datetime(moment)) for name, moment in (
                 ("InsertionTime", insertion_time), ("ExpirationTime", expiration_time),
                 ("NextVisibleTime", next_visible_time))}}
    return ({name: protos.TypedData(string=value) for name, value in strings.items()}
            | {name: protos.TypedData(json=value) for name, value in jsons.items()})


def _folded(name: str) -> str:
    """A key as the host's case-insensitive dictionary compares it (`OrdinalIgnoreCase`): each character's simple
    upper case, so `ß` stays itself where Python's `upper()` would make it `SS`."""
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in name)
