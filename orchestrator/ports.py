"""What the orchestrator's shell (worker.py) needs from its edges, as ports. The table store, the Face client and
the event queue implement them in production; the benchmark's simulation implements them in memory and on virtual
time. Each implementation declares its port, and tests/test_ports.py checks that it defines every member itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the implementations import this module: only their types are named here
    from .containers import Container
    from .events import TrainingEvent
    from .machine import ContainerState
    from .records import DueMarker, ResourceLedger, RequestRecord


class ConcurrencyConflict(Exception):
    """Another instance changed the entity since it was read: reload and decide again."""


class Store(Protocol):
    """Each container's state under optimistic concurrency (a stale ETag raises `ConcurrencyConflict`), the
    requests waiting for it, its watch mark (never there while it is idle with no look for requests to come), and
    the index of containers with work in flight."""

    def load(self, container: Container) -> tuple[ContainerState, str | None]: ...

    def save(self, state: ContainerState, etag: str | None) -> str: ...

    def save_watched(self, state: ContainerState, etag: str | None) -> str: ...

    def unwatch(self, container: Container) -> None: ...

    def add_request(self, record: RequestRecord) -> bool: ...

    def add_request_if_watched(self, record: RequestRecord) -> bool: ...

    def waiting_requests(self, container: Container) -> list[RequestRecord]: ...

    def answer_requests(self, container: Container, request_ids: tuple[str, ...], now: datetime) -> None: ...

    def mark_due(self, state: ContainerState) -> None: ...

    def clear_due(self, container: Container) -> None: ...

    def due(self, now: datetime) -> list[DueMarker]: ...

    def in_flight(self) -> list[DueMarker]: ...


class BudgetLedger(Protocol):
    """The Face calls granted in the last second and the resource's learned speed, one record for every instance,
    written under optimistic concurrency (a stale ETag raises `ConcurrencyConflict`)."""

    def load(self) -> tuple[ResourceLedger, str | None]: ...

    def save(self, ledger: ResourceLedger, etag: str | None) -> str: ...


@dataclass(frozen=True)
class TrainingStatus:
    """What a training-status call answers, whoever implements the call."""

    status: str
    message: str | None  # bounded to MAX_FACE_MESSAGE_CHARS
    last_action_at: datetime | None  # lastActionDateTime: when Face last changed the training's status


class FaceApi(Protocol):
    """Face's train and training-status calls; failures raise the typed errors of face_errors.py."""

    def training_url(self, container: Container) -> str: ...

    def train(self, container: Container) -> str: ...

    def training_status(self, operation_location: str) -> TrainingStatus: ...


class EventSink(Protocol):
    """Where completion and rejection events go; one it cannot take raises `EventNotSent`."""

    def publish(self, event: TrainingEvent) -> None: ...
