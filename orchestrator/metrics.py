"""The orchestrator's metrics, through the OpenTelemetry API.

In Azure the distro (`telemetry.configure`) installs a meter provider that exports them to Application Insights
(`customMetrics`); elsewhere the API's default provider drops them, and the observed gauges' callbacks never run.
Names, units and attributes follow the OpenTelemetry semantic conventions' style: a `facetrain.` namespace,
UCUM units (`s`, `{training}`), attributes namespaced the same way, and `http.response.status_code` and
`error.type` where those conventions define them. docs/operations.md lists each with what it answers.

The two gauges read storage, so they are observed, not recorded: their callbacks run when the provider collects
(once a minute with the distro's defaults), never on the timer's tick.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import Meter, Observation

from .containers import Container, Kind
from .events import TrainingEvent, TrainingOutcome
from .face_errors import FaceApiError
from .machine import FAILED, SUCCEEDED
from .records import DueMarker

METER_NAME = "facetrain"
KIND = "facetrain.container.kind"
OUTCOME = "facetrain.training.outcome"
REQUEST_RESULT = "facetrain.request.result"
FACE_OPERATION = "facetrain.face.operation"
STATUS_CODE = "http.response.status_code"
ERROR_TYPE = "error.type"
ACCEPTED, REJECTED, DUPLICATE = "accepted", "rejected", "duplicate"
TRAIN, STATUS = "train", "status"

log = logging.getLogger("orchestrator")


class Metrics:
    """Each method names what happened; the shell calls it where it carries that out."""

    def __init__(self, meter: Meter | None = None) -> None:
        meter = meter or metrics.get_meter(METER_NAME)
        self._meter = meter
        self._requests = meter.create_counter(
            "facetrain.requests", "{request}",
            "Training requests taken from the queue, by result: accepted, rejected (a rejection event was sent) or "
            "duplicate (already recorded or answered: a redelivery or a producer's retry).")
        self._submitted = meter.create_counter(
            "facetrain.trainings.submitted", "{training}", "Trainings Face accepted (202).")
        self._finished = meter.create_counter(
            "facetrain.trainings.finished", "{training}",
            "Training runs that ended with a terminal event, by outcome (the event's status).")
        self._duration = meter.create_histogram(
            "facetrain.training.duration", "s",
            "From the train call to Face's own finish time, for trainings Face finished (succeeded or failed).")
        self._delay = meter.create_histogram(
            "facetrain.training.detection_delay", "s",
            "From Face's finish to the terminal event on the queue: how late the orchestrator noticed.")
        self._elapsed = meter.create_histogram(
            "facetrain.training.elapsed", "s",
            "At each poll that finds a training still running, how long ago it was submitted: a training stuck "
            "in flight shows as a growing maximum.")
        self._face_calls = meter.create_counter(
            "facetrain.face.calls", "{call}",
            "Calls to the Face API, by operation (train, status) and HTTP status; error.type when no status came.")
        self._steps_failed = meter.create_counter(
            "facetrain.steps.failed", "{step}",
            "A container's step that raised during a tick (storage refused it, an entity could not be read): the "
            "tick went on with the others, and the container is retried when due again.")

    def observe(self, in_flight: Callable[[], list[DueMarker]], poison_depth: Callable[[], int]) -> None:
        """The gauges, read when the provider collects."""
        self._meter.create_observable_up_down_counter(
            "facetrain.trainings.in_flight", [lambda options: self._in_flight(in_flight)], "{training}",
            "Containers with a training in flight or requests waiting (the in-flight index), by kind.")
        self._meter.create_observable_gauge(
            "facetrain.requests.poisoned", [lambda options: self._poisoned(poison_depth)], "{message}",
            "Messages in the requests' poison queue: messages the host gave up on, which no event may answer.")

    def request(self, result: str, container: Container | None) -> None:
        attributes = {REQUEST_RESULT: result}
        if container is not None:
            attributes[KIND] = str(container.kind)
        self._requests.add(1, attributes)

    def submitted(self, container: Container) -> None:
        self._submitted.add(1, {KIND: str(container.kind)})

    def face_call(self, operation: str, *, status: int | None = None, error: FaceApiError | None = None) -> None:
        attributes: dict[str, str | int] = {FACE_OPERATION: operation}
        if error is not None:
            status = error.status
            attributes[ERROR_TYPE] = type(error).__name__
        if status is not None:
            attributes[STATUS_CODE] = status
        self._face_calls.add(1, attributes)

    def step_failed(self, container: Container) -> None:
        self._steps_failed.add(1, {KIND: str(container.kind)})

    def still_running(self, container: Container, submitted_at: datetime | None, now: datetime) -> None:
        if submitted_at is not None:
            self._elapsed.record((now - submitted_at).total_seconds(), {KIND: str(container.kind)})

    def published(self, event: TrainingEvent, now: datetime) -> None:
        """A terminal event reached the queue: the run's outcome, its duration and how late we were."""
        outcome = event.data
        if not isinstance(outcome, TrainingOutcome):
            return
        kind = {KIND: str(outcome.container.kind)}
        self._finished.add(1, {**kind, OUTCOME: outcome.status})
        if outcome.status not in (SUCCEEDED, FAILED):
            return  # a time-out or a give-up: its finish is ours, not Face's
        if outcome.submitted_at is not None:
            self._duration.record((outcome.finished_at - outcome.submitted_at).total_seconds(),
                                  {**kind, OUTCOME: outcome.status})
        self._delay.record(max(0.0, (now - outcome.finished_at).total_seconds()), kind)

    def _in_flight(self, in_flight: Callable[[], list[DueMarker]]) -> Iterable[Observation]:
        try:
            markers = in_flight()
        except Exception as error:  # noqa: BLE001 - a failed read skips one observation, never the export
            log.warning("in-flight gauge not read: %s", type(error).__name__)
            return []
        counts = {kind: 0 for kind in Kind}
        for marker in markers:
            counts[marker.container.kind] += 1
        return [Observation(count, {KIND: str(kind)}) for kind, count in counts.items()]

    def _poisoned(self, poison_depth: Callable[[], int]) -> Iterable[Observation]:
        try:
            return [Observation(poison_depth())]
        except Exception as error:  # noqa: BLE001 - as above
            log.warning("poison-queue gauge not read: %s", type(error).__name__)
            return []
