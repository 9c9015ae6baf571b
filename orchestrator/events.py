"""Completion and rejection events, as CloudEvents 1.0 JSON on the events queue.

Each event's `id` is derived from what it reports (the training run, or the rejected request), so a redelivery
after a crash repeats the same id and consumers can drop duplicates.

Every event fits one queue message (64 KiB), by construction: the request ids of a run are bounded by the core
(`Policy.max_request_id_bytes_per_run`), everything else that comes from outside is bounded where it enters
(`bounds.py`) and once more here, and `wire_bytes` is what tests hold the worst case to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .bounds import MAX_FACE_CODE_CHARS, MAX_FACE_MESSAGE_CHARS, bounded_text
from .containers import Container, Kind
from .iso_time import to_iso

SOURCE = "/facetrain/orchestrator"
SPEC_VERSION = "1.0"
# What a queue message holds. Azurite counts the UTF-8 text; Azure's documentation says 64 KiB without saying
# whether before or after the XML escaping of the request, so `wire_bytes` counts the escaped size.
MAX_MESSAGE_WIRE_BYTES = 64 * 1024
# An error message names Face's own (at most MAX_FACE_MESSAGE_CHARS) plus our sentence around it.
MAX_EVENT_ERROR_MESSAGE_CHARS = MAX_FACE_MESSAGE_CHARS + 256
MAX_REJECTION_REASON_CHARS = 1024


class EventType(StrEnum):
    """What an event reports; its CloudEvents `type` adds the container's kind (`TrainingEvent.type_name`)."""

    SUCCEEDED = "TrainingSucceeded"
    FAILED = "TrainingFailed"
    TIMED_OUT = "TrainingTimedOut"
    REJECTED = "TrainingRequestRejected"


@dataclass(frozen=True)
class TrainingOutcome:
    """The `data` of a terminal event: one training run and every request it covered."""

    run_id: str
    container: Container
    api_version: str
    operation_location: str | None
    status: str
    request_ids: tuple[str, ...]
    submitted_at: datetime | None
    finished_at: datetime
    error_code: str | None = None
    error_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        duration = None if self.submitted_at is None else (self.finished_at - self.submitted_at).total_seconds()
        return {
            "runId": self.run_id, self.container.kind.request_field: self.container.id,
            "apiVersion": self.api_version,
            "operationLocation": self.operation_location, "status": self.status,
            "requestIds": list(self.request_ids),
            "submittedAt": to_iso(self.submitted_at), "finishedAt": to_iso(self.finished_at),
            "durationSeconds": None if duration is None else round(duration, 3),
            "errorCode": _bounded(self.error_code, MAX_FACE_CODE_CHARS),
            "errorMessage": _bounded(self.error_message, MAX_EVENT_ERROR_MESSAGE_CHARS),
        }


@dataclass(frozen=True)
class Rejection:
    """The `data` of a rejection event: what was refused and why, in words for the sender."""

    reason: str
    message_id: str
    container: Container | None
    request_id: str | None

    def to_json(self) -> dict[str, Any]:
        # A message that names no container is reported as a Large Face List's, as before there were other kinds.
        field = self.container.kind.request_field if self.container else Kind.LARGE_FACE_LIST.request_field
        return {"reason": _bounded(self.reason, MAX_REJECTION_REASON_CHARS), "messageId": self.message_id,
                field: self.container.id if self.container else None, "requestId": self.request_id}


@dataclass(frozen=True)
class TrainingEvent:
    event_id: str
    event_type: EventType
    time: datetime
    data: TrainingOutcome | Rejection

    @property
    def subject(self) -> str:
        container = self.data.container
        return container.path if container else f"{Kind.LARGE_FACE_LIST}/unknown"

    @property
    def type_name(self) -> str:
        """`Face.LargePersonGroup.TrainingSucceeded` and the like."""
        kind = self.data.container.kind if self.data.container else Kind.LARGE_FACE_LIST
        return f"Face.{kind.noun}.{self.event_type}"

    def to_cloud_event(self) -> dict[str, Any]:
        return {"specversion": SPEC_VERSION, "id": self.event_id, "source": SOURCE, "type": self.type_name,
                "subject": self.subject, "time": to_iso(self.time), "datacontenttype": "application/json",
                "data": self.data.to_json()}

    def to_message(self) -> str:
        return json.dumps(self.to_cloud_event(), separators=(",", ":"))


def terminal_event(event_type: EventType, outcome: TrainingOutcome) -> TrainingEvent:
    return TrainingEvent(f"{outcome.run_id}/outcome", event_type, outcome.finished_at, outcome)


def rejection_event(rejection: Rejection, now: datetime) -> TrainingEvent:
    return TrainingEvent(f"rejected/{rejection.message_id}", EventType.REJECTED, now, rejection)


def wire_bytes(message: str) -> int:
    """The size of a message as the queue may count it: UTF-8, with the XML escapes of its request."""
    return len(message.encode()) + 4 * message.count("&") + 3 * (message.count("<") + message.count(">"))


def _bounded(text: str | None, max_chars: int) -> str | None:
    return None if text is None else bounded_text(text, max_chars)


