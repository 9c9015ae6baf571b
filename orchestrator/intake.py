"""Turn a queue message into a `TrainingRequest`, or say exactly why it cannot be one.

Messages are UTF-8 JSON (host.json `messageEncoding: none`), or the same JSON base64-encoded, as producers that
follow the Functions default send it. A request may come bare or as the `data` of a CloudEvents 1.0 envelope.
It names exactly one container by its kind's field: `listId` (a Large Face List, as every request did before
there were other kinds), `largePersonGroupId` or `personGroupId`. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from .containers import ID_PATTERN, ID_RULE, Container, Kind
from .settings import MAX_SETTLE_SECONDS
from .training_time import MAX_ENTRIES

MAX_MESSAGE_BYTES = 64 * 1024
CONTAINER_FIELDS = {kind.request_field: kind for kind in Kind}
REQUEST_FIELDS = frozenset({*CONTAINER_FIELDS, "requestId", "reason", "settleSeconds", "sizeHint"})
# Names the Functions host lifts from a JSON body's top level into trigger metadata, overriding the real values
# (compared case-insensitively); a request must not carry them, or the message's own metadata would be wrong.
HOST_METADATA_NAMES = frozenset({"id", "dequeuecount", "popreceipt", "insertiontime", "expirationtime",
                                 "nextvisibletime", "queuetrigger"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
MAX_REASON_CHARS = 1024


class RequestRejected(ValueError):
    """The message is not a training request; `reason` is written for the person who sent it."""

    def __init__(self, reason: str, container: Container | None = None, request_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.container = container
        self.request_id = request_id


@dataclass(frozen=True)
class TrainingRequest:
    container: Container
    request_id: str
    reason: str | None
    settle_seconds: float | None
    # Faces (a list) or persons (a group) the container holds, as the sender says; None when it said nothing, or
    # something no container can hold (`ignored_size_hint`: the request stands, timed as without a hint).
    size_hint: int | None = None
    ignored_size_hint: int | None = None


def parse_message(body: bytes, message_id: str) -> TrainingRequest:
    """`message_id` names the request when it brings no `requestId`, so a redelivery is the same request."""
    document = _decode(body)
    if not isinstance(document, dict):
        raise RequestRejected("The message must be a JSON object.")
    if "specversion" in document:
        document = _unwrap_cloud_event(document)
    else:
        reserved = sorted(k for k in document if k.lower() in HOST_METADATA_NAMES)
        if reserved:
            raise RequestRejected(f"Field(s) {', '.join(reserved)} are reserved by the Functions host at the top "
                                  "level of a message; send a CloudEvent or leave them out.",
                                  *_identity_hints(document))
    return _request(document, message_id)


def _decode(body: bytes) -> Any:
    if not body or not body.strip():
        raise RequestRejected("The message is empty.")
    if len(body) > MAX_MESSAGE_BYTES:
        raise RequestRejected(f"The message is {len(body)} bytes; a queue message holds at most 64 KiB.")
    text = _utf8(body)
    stripped = text.strip()
    if stripped[:1] not in ("{", "["):
        # Producers that follow the Functions default (base64) are welcome; JSON never starts otherwise.
        try:
            text = _utf8(base64.b64decode(stripped, validate=True))
        except (binascii.Error, ValueError):
            raise RequestRejected("The message is neither JSON nor base64-encoded JSON.") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise RequestRejected(f"The message is not valid JSON: {error}.") from None
    except RecursionError:  # 64 KiB of brackets nest deeper than the parser recurses
        raise RequestRejected("The message's JSON is nested too deeply to read.") from None


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRejected("The message is not UTF-8 text.") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unwrap_cloud_event(envelope: dict[str, Any]) -> dict[str, Any]:
    data = envelope.get("data")
    hints = _identity_hints(data) if isinstance(data, dict) else (None, None)  # so a producer can match it

    def reject(reason: str) -> RequestRejected:
        return RequestRejected(reason, *hints)

    if envelope.get("specversion") != "1.0":
        raise reject(f"CloudEvents specversion {envelope.get('specversion')!r} is not supported; use 1.0.")
    missing = [name for name in ("id", "source", "type") if not isinstance(envelope.get(name), str)
               or not envelope[name]]
    if missing:
        raise reject(f"The CloudEvent lacks required attribute(s): {', '.join(missing)}.")
    content_type = envelope.get("datacontenttype", "application/json")
    if not isinstance(content_type, str) or not content_type.split(";")[0].strip().endswith("json"):
        raise reject(f"The CloudEvent's datacontenttype {content_type!r} is not JSON.")
    if "data_base64" in envelope:
        raise reject("The CloudEvent carries data_base64; put the request as a JSON object in data.")
    if not isinstance(data, dict):
        raise reject("The CloudEvent has no data object holding the training request.")
    return data


def _identity_hints(document: dict[str, Any]) -> tuple[Container | None, str | None]:
    """What a rejection can name: the container, when exactly one is named with a valid id, and the request."""
    named = [Container(kind, document[field]) for field, kind in CONTAINER_FIELDS.items()
             if isinstance(document.get(field), str) and ID_PATTERN.fullmatch(document[field])]
    request_id = document.get("requestId")
    return (named[0] if len(named) == 1 else None,
            request_id if isinstance(request_id, str) and _REQUEST_ID.fullmatch(request_id) else None)


def _request(document: dict[str, Any], message_id: str) -> TrainingRequest:
    list_hint, request_hint = _identity_hints(document)

    def reject(reason: str) -> RequestRejected:
        return RequestRejected(reason, list_hint, request_hint)

    unknown = sorted(set(document) - REQUEST_FIELDS)
    if unknown:
        raise reject(f"Unknown field(s) {', '.join(unknown)}; a request has {', '.join(sorted(REQUEST_FIELDS))}.")
    container = _container(document, reject)
    request_id = document.get("requestId")
    if request_id is None:
        request_id = f"msg-{message_id}"
    elif not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        raise reject("requestId must be 1-128 characters from letters, digits, '.', '_', ':' and '-'.")
    reason = document.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS):
        raise reject(f"reason must be a string of at most {MAX_REASON_CHARS} characters.")
    settle = document.get("settleSeconds")
    if settle is not None:
        if isinstance(settle, bool) or not isinstance(settle, (int, float)) or not math.isfinite(settle) \
                or not 0 <= settle <= MAX_SETTLE_SECONDS:
            raise reject(f"settleSeconds must be a number from 0 to {MAX_SETTLE_SECONDS}.")
        settle = float(settle)
    size_hint = document.get("sizeHint")
    if size_hint is not None:
        if not is_whole_number(size_hint):
            raise reject("sizeHint must be a whole number: the faces (a list) or persons (a group) it holds.")
        size_hint = int(size_hint)
        if not 0 <= size_hint <= MAX_ENTRIES:
            return TrainingRequest(container, request_id, reason, settle, None, ignored_size_hint=size_hint)
    return TrainingRequest(container, request_id, reason, settle, size_hint)


def is_whole_number(value: Any) -> bool:
    """JSON has one kind of number: `4`, `4.0` and `4e0` are the same whole number, whichever a producer's
    serializer writes (a C# double is written `4.0`)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _container(document: dict[str, Any], reject: Callable[[str], RequestRejected]) -> Container:
    named = [field for field in CONTAINER_FIELDS if field in document]
    if not named:
        raise reject("listId (a Large Face List), largePersonGroupId or personGroupId is required: the container "
                     "to train.")
    if len(named) > 1:
        raise reject(f"A request names exactly one container; this one names {' and '.join(named)}.")
    field = named[0]
    container_id = document[field]
    if not isinstance(container_id, str):
        raise reject(f"{field} must be a string.")
    if not ID_PATTERN.fullmatch(container_id):
        raise reject(f"{field} {container_id[:80]!r} is not a {CONTAINER_FIELDS[field].described} id: {ID_RULE}.")
    return Container(CONTAINER_FIELDS[field], container_id)
