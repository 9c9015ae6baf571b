"""A discrete-event run: the real orchestrator (its shell and pure core) on a virtual clock, against a simulated
Face whose trainings last what the emulator's model says, so half-hour trainings take milliseconds.

Only the edges are simulated: an in-memory store with the table store's interface and ETag semantics, a Face with
the emulator's training-time model, its 409 while a training runs and its sliding-window rate limit (the
emulator's own `RateLimiter`), and an event sink. The baselines run against the same simulated Face.
"""

from __future__ import annotations

import heapq
import json
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from localdev.face_emulator.errors import FaceError
from localdev.face_emulator.model import TrainingTimes
from localdev.face_emulator.throttle import RateLimit, RateLimiter
from orchestrator.containers import Container, Kind
from orchestrator.events import TrainingEvent
from orchestrator.face_budget import FaceBudget, LocalLedger
from orchestrator.face_errors import Throttled, TrainingConflict
from orchestrator.iso_time import from_iso
from orchestrator.machine import ContainerState, Policy
from orchestrator.ports import ConcurrencyConflict, EventSink, FaceApi, Store, TrainingStatus
from orchestrator.records import DueMarker, RequestRecord
from orchestrator.worker import Orchestrator

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
ENDPOINT = "https://face.sim"


def seconds_of(iso: str) -> float:
    """Virtual seconds of a timestamp the orchestrator wrote (events carry ISO 8601 UTC)."""
    return (from_iso(iso) - EPOCH).total_seconds()


def container_at(path: str) -> Container:
    """The container a path ends with (`…/largepersongroups/celebs`): an event's subject, a Face URL."""
    kind, container_id = path.split("/")[-2:]
    return Container(Kind(kind), container_id)


class VirtualClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> datetime:
        return EPOCH + timedelta(seconds=self.seconds)

    def at(self, seconds: float) -> None:
        self.seconds = max(self.seconds, seconds)


@dataclass
class Training:
    key: str  # its container's
    started_s: float
    finished_s: float


@dataclass
class SimFace(FaceApi):
    """The Face service as the baselines and the orchestrator see it, on virtual time."""

    clock: VirtualClock
    rate_limit: RateLimit | None = None
    times: TrainingTimes = field(default_factory=TrainingTimes)  # the emulator's durations, varied as it varies them
    face_counts: dict[str, int] = field(default_factory=dict)
    trainings: list[Training] = field(default_factory=list)
    calls_log: list[tuple[float, str, str]] = field(default_factory=list)  # (at, container key, "train" | "status")
    throttled: int = 0
    conflicts: int = 0

    def __post_init__(self) -> None:
        self._limiter = RateLimiter(self.rate_limit, lambda: self.clock.seconds) if self.rate_limit else None
        self._current: dict[str, Training] = {}

    @property
    def calls(self) -> int:
        return len(self.calls_log)

    @property
    def orchestrator_calls(self) -> int:
        return sum(1 for _, _, call in self.calls_log if call != "upload")

    @property
    def train_calls(self) -> int:
        return sum(1 for _, _, call in self.calls_log if call == "train")

    def calls_between(self, key: str, start_s: float, end_s: float) -> int:
        return sum(1 for at, called, _ in self.calls_log if called == key and start_s <= at <= end_s)

    # What FaceClient offers the orchestrator. Containers are told apart by their key (a list's is its id).
    def training_url(self, container: Container) -> str:
        return f"{ENDPOINT}/face/v1.2/{container.path}/training"

    def train(self, container: Container) -> str:
        key = container.key
        self._admit(key, "train")
        now = self.clock.seconds
        running = self._current.get(key)
        if running and running.finished_s > now:
            self.conflicts += 1
            raise TrainingConflict(f"{container.kind.described} is training.", status=409,
                                   code=f"{container.kind.noun}TrainingNotFinished")
        training = Training(key, now, now + self.times.seconds(self.face_counts[key], container.path))
        self._current[key] = training
        self.trainings.append(training)
        return self.training_url(container)

    def training_status(self, operation_location: str) -> TrainingStatus:
        key = container_at(operation_location.removesuffix("/training")).key
        self._admit(key, "status")
        training = self._current[key]
        if self.clock.seconds < training.finished_s:
            return TrainingStatus("running", None, None)
        return TrainingStatus("succeeded", None, EPOCH + timedelta(seconds=training.finished_s))

    def upload(self) -> None:
        """An upload job's call (add a face) on the same resource: it counts against the same limit."""
        self._admit("uploader", "upload")

    def _admit(self, key: str, call: str) -> None:
        self.calls_log.append((self.clock.seconds, key, call))
        if self._limiter is None:
            return
        try:
            self._limiter.admit()
        except FaceError as error:
            self.throttled += 1
            raise Throttled(error.message, status=429, retry_after_seconds=float(error.headers["Retry-After"]))


class MemoryStore(Store):
    """The table store's interface in memory, with its ETag semantics, for virtual-time runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # What each call would cost the table store in storage transactions (a query page holds 1,000 entities,
        # a batch 100 operations): the simulation's count of a deployment's storage work.
        self.transactions = 0
        self._states: dict[Container, tuple[ContainerState, int]] = {}
        self._requests: dict[Container, dict[str, RequestRecord]] = {}
        self._due: dict[Container, DueMarker] = {}
        self._answered: set[tuple[Container, str]] = set()
        self._watched: set[Container] = set()

    def load(self, container: Container) -> tuple[ContainerState, str | None]:
        with self._lock:
            self.transactions += 1
            state, version = self._states.get(container, (ContainerState(container), 0))
            return state, (str(version) if version else None)

    def save(self, state: ContainerState, etag: str | None) -> str:
        with self._lock:
            self.transactions += 1
            return self._save(state, etag)

    def save_watched(self, state: ContainerState, etag: str | None) -> str:
        with self._lock:
            self.transactions += 1  # one entity-group transaction
            stored = self._save(state, etag)
            self._watched.add(state.container)
            return stored

    def _save(self, state: ContainerState, etag: str | None) -> str:
        _, version = self._states.get(state.container, (None, 0))
        if (str(version) if version else None) != etag:
            raise ConcurrencyConflict(str(state.container))
        self._states[state.container] = (state, version + 1)
        return str(version + 1)

    def unwatch(self, container: Container) -> None:
        with self._lock:
            self.transactions += 1
            self._watched.discard(container)

    def add_request(self, record: RequestRecord) -> bool:
        with self._lock:
            added = self._add_request(record)
            self.transactions += 1 if added else 2  # a taken id is read back to see whether it went stale
            return added

    def add_request_if_watched(self, record: RequestRecord) -> bool:
        with self._lock:
            self.transactions += 1
            return record.container in self._watched and self._add_request(record)

    def _add_request(self, record: RequestRecord) -> bool:
        waiting = self._requests.setdefault(record.container, {})
        if record.request_id in waiting or (record.container, record.request_id) in self._answered:
            return False
        waiting[record.request_id] = record
        return True

    def waiting_requests(self, container: Container) -> list[RequestRecord]:
        with self._lock:
            self.transactions += _pages(len(self._requests.get(container, {})))
            return sorted(self._requests.get(container, {}).values(), key=lambda r: (r.received_at, r.request_id))

    def answer_requests(self, container: Container, request_ids: tuple[str, ...], now: datetime) -> None:
        with self._lock:
            self.transactions += math.ceil(len(request_ids) / 100) + 1  # the marks in batches, the sweep's query
            for request_id in request_ids:
                self._requests.get(container, {}).pop(request_id, None)
                self._answered.add((container, request_id))

    def mark_due(self, state: ContainerState) -> None:
        with self._lock:
            self.transactions += 1
            self._due[state.container] = DueMarker(state.container, state.due_at, state.phase)

    def clear_due(self, container: Container) -> None:
        with self._lock:
            self.transactions += 1
            self._due.pop(container, None)

    def due(self, now: datetime) -> list[DueMarker]:
        with self._lock:
            found = [marker for marker in self._due.values() if marker.due_at <= now]
            self.transactions += _pages(len(found))
            return found

    def in_flight(self) -> list[DueMarker]:
        with self._lock:
            self.transactions += _pages(len(self._due))
            return list(self._due.values())

    def next_due(self) -> datetime | None:
        with self._lock:
            return min((marker.due_at for marker in self._due.values()), default=None)


def _pages(entities: int) -> int:
    return max(1, math.ceil(entities / 1000))


class CountingLedger(LocalLedger):
    """The budget's ledger, counting its storage transactions into the store's."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store

    def load(self):  # type: ignore[no-untyped-def]
        self._store.transactions += 1
        return super().load()

    def save(self, ledger, etag):  # type: ignore[no-untyped-def]
        self._store.transactions += 1
        return super().save(ledger, etag)


@dataclass
class Published:
    at_s: float
    event: object


class MemoryEvents(EventSink):
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.published: list[Published] = []

    def publish(self, event: TrainingEvent) -> None:
        self.published.append(Published(self.clock.seconds, event))


@dataclass(frozen=True)
class Arrival:
    """At `at_s`, the container holds `face_count` faces (or persons) and a training request for it arrives."""

    at_s: float
    container_id: str
    face_count: int
    request_id: str
    kind: Kind = Kind.LARGE_FACE_LIST

    @property
    def container(self) -> Container:
        return Container(self.kind, self.container_id)


class Scheduler:
    """Discrete events on the virtual clock: each actor is a generator that yields how long it waits next."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._queue: list[tuple[float, int, Iterator[float]]] = []
        self._sequence = 0

    def spawn(self, at_s: float, actor: Iterator[float]) -> None:
        heapq.heappush(self._queue, (at_s, self._sequence, actor))
        self._sequence += 1

    def run(self, until_s: float = math.inf) -> None:
        while self._queue and self._queue[0][0] <= until_s:
            at_s, _, actor = heapq.heappop(self._queue)
            self.clock.at(at_s)
            wait = next(actor, None)
            if wait is not None:
                self.spawn(self.clock.seconds + wait, actor)


class SimulatedOrchestrator:
    """The real Orchestrator on virtual time, as `instances` instances of the app on one store, one Face and one
    budget ledger: requests go through `accept` on each in turn, as the queue spreads them, and the timer fires on
    the first, on the boundaries a `*/N` NCRONTAB gives, skipping ticks with nothing due (they do nothing)."""

    def __init__(self, scheduler: Scheduler, face: SimFace, tick_seconds: float, policy: Policy,
                 settle_seconds: float = 0.0, size_hint: Callable[[Arrival], int | None] = lambda arrival: None,
                 face_calls_per_second: float | None = None, instances: int = 1) -> None:
        self.scheduler = scheduler
        self.clock = face.clock
        self.face = face
        self.store = MemoryStore()
        self.events = MemoryEvents(self.clock)
        self.tick_seconds = tick_seconds
        self.size_hint = size_hint  # what each request says of its container's size (None: nothing)
        ledger = CountingLedger(self.store)
        # Paced as the host's timer is with `*/N * * * * *` (Settings.poll_pacing_seconds).
        self.instances = [Orchestrator(policy=policy, store=self.store, face=face, events=self.events,
                                       clock=self.clock, default_settle_seconds=settle_seconds,
                                       face_budget=FaceBudget(face_calls_per_second, self.clock, ledger)
                                       if face_calls_per_second else None,
                                       pacing_seconds=max(0.0, tick_seconds - 1))
                          for _ in range(instances)]
        self.orchestrator = self.instances[0]  # the one that holds the timer
        self._accepted = 0
        self._timer_at: float | None = None

    def request(self, arrival: Arrival) -> None:
        self.scheduler.spawn(arrival.at_s, self._accept(arrival))

    def _accept(self, arrival: Arrival) -> Iterator[float]:
        self.face.face_counts[arrival.container.key] = arrival.face_count
        fields = {arrival.kind.request_field: arrival.container_id, "requestId": arrival.request_id,
                  "sizeHint": self.size_hint(arrival)}
        body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
        self.instances[self._accepted % len(self.instances)].accept(body, arrival.request_id)
        self._accepted += 1
        if self._timer_at is None or self._timer_at > self.clock.seconds + self.tick_seconds:
            self._arm_timer()  # already armed for the next boundary: nothing can come sooner
        yield from ()

    def _timer(self, at_s: float) -> Iterator[float]:
        if self._timer_at != at_s:
            return  # superseded by an earlier wake-up
        self._timer_at = None
        yield from self.orchestrator.tick_passes()  # the waits between passes go by in virtual time
        self._arm_timer()

    def _arm_timer(self) -> None:
        due = self.store.next_due()
        if due is None:
            return
        due_s = max((due - EPOCH).total_seconds(), self.clock.seconds)
        at_s = math.ceil(due_s / self.tick_seconds) * self.tick_seconds
        if at_s <= self.clock.seconds:  # a tick at this very instant has run: the next boundary
            at_s += self.tick_seconds
        if self._timer_at is None or at_s < self._timer_at:
            self._timer_at = at_s
            self.scheduler.spawn(at_s, self._timer(at_s))


def terminal_events(events: MemoryEvents) -> list[tuple[float, dict]]:
    """(published at, event JSON) of every training outcome, rejections left out."""
    found = []
    for published in events.published:
        body = published.event.to_cloud_event()
        if "requestIds" in body["data"]:
            found.append((published.at_s, body))
    return found


@dataclass
class PollerResult:
    """What one baseline request came to: Face calls, when it saw the finish (None: it failed), and 429s."""

    calls: int = 0
    seen_at_s: float | None = None
    training: Training | None = None
    throttled: int = 0
    failed: str | None = None


def fixed_interval_poller(face: SimFace, container: Container, interval_s: float, result: PollerResult,
                          retries_on_throttle: int, final_reads: int = 0) -> Iterator[float]:
    """A train call, then a status read every `interval_s` until it is done, then `final_reads` more: the naive
    loop (no retries: a refused call fails the request) and the SDK's LRO poller (azure-core retries a 429 after
    its Retry-After, up to 10 times; a 409 fails). A generator for the `Scheduler`."""
    retries = 0
    while True:
        result.calls += 1
        try:
            location = face.train(container)
            result.training = face.trainings[-1]
            break
        except Throttled as throttled:
            result.throttled += 1
            if retries >= retries_on_throttle:
                result.failed = "throttled"
                return
            retries += 1
            yield throttled.retry_after_seconds
        except TrainingConflict:
            result.failed = "conflict"
            return
    retries = 0
    wait = interval_s
    while True:
        yield wait
        result.calls += 1
        try:
            status = face.training_status(location)
        except Throttled as throttled:
            result.throttled += 1
            if retries >= retries_on_throttle:
                wait = interval_s  # the naive loop shrugs and reads again at its next interval
                continue
            retries += 1
            wait = throttled.retry_after_seconds
            continue
        retries, wait = 0, interval_s
        if status.status == "succeeded":
            result.seen_at_s = face.clock.seconds
            for _ in range(final_reads):
                result.calls += 1
                try:
                    face.training_status(location)
                except Throttled:
                    result.throttled += 1
            return
