"""The orchestrator's metrics (orchestrator/metrics.py), read with the OpenTelemetry SDK's in-memory reader: a
demo-like scenario on the local world gives exactly the expected counts, and each metric's attributes are as the
docs/operations.md lists them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.queue import QueueClient
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from localdev.emulator_client import EmulatorClient
from orchestrator.containers import Container, Kind
from orchestrator.events import EventType, TrainingOutcome, terminal_event
from orchestrator.face_errors import Throttled, Transient
from orchestrator.metrics import Metrics
from orchestrator.storage_clients import ensure_exists
from tests.orchestrator_world import (SteppedClock, app_settings, build, drain_events, prepared_group,
                                      prepared_list, request, run_until_idle, send)

LFL, LPG, PG = (str(kind) for kind in Kind)
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def collected(reader: InMemoryMetricReader) -> dict[str, dict[frozenset, float | int]]:
    """Every metric by name: each data point's attributes and its value (a histogram's: its count)."""
    found: dict[str, dict[frozenset, float | int]] = {}
    data = reader.get_metrics_data()  # None when nothing was recorded
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = {frozenset(point.attributes.items()):
                                      point.value if hasattr(point, "value") else point.count
                                      for point in metric.data.data_points}
    return found


def attrs(**values) -> frozenset:
    return frozenset({k.replace("__", "."): v for k, v in values.items()}.items())


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def test_a_demo_like_day_gives_exactly_the_expected_counts(world, emulator, face_v12, list_id, monkeypatch,
                                                           reader) -> None:
    """Two lists (one fails) and a Large Person Group; a redelivered request, a bad message, and two messages the
    host poisoned."""
    clock = SteppedClock()
    # 10,000 faces: 0.4 s at the world's time scale, so that some polls find the training running.
    good = prepared_list(face_v12, f"{list_id}-a", emulator, faces=10_000)
    failing = prepared_list(face_v12, f"{list_id}-f", emulator)
    EmulatorClient(emulator).fail_training(failing, "Model build failed.")
    group = prepared_group(face_v12, Container(Kind.LARGE_PERSON_GROUP, list_id))
    # No Face budget holding calls back: polls must come soon enough to find the 10,000-face training running.
    settings = app_settings(world, FACE_CALLS_PER_SECOND="1000")
    orchestrator = build(settings, clock, monkeypatch, meter=MeterProvider(metric_readers=[reader]).get_meter("t"))
    poison = QueueClient.from_connection_string(world.storage_connection_string,
                                                f"{settings['TRAINING_REQUESTS_QUEUE']}-poison")
    ensure_exists(poison)
    poison.send_message("a message the host gave up on")
    poison.send_message("and another")

    send(request(good, "a-1"), "m1")
    send(request(failing, "f-1"), "m2")
    send(json.dumps({"largePersonGroupId": list_id, "requestId": "g-1"}).encode(), "m3")
    send(b"not json", "m4")
    send(request(good, "a-1"), "m5")  # the same request again
    in_flight = collected(reader)["facetrain.trainings.in_flight"]
    assert in_flight == {attrs(facetrain__container__kind=LFL): 2, attrs(facetrain__container__kind=LPG): 1,
                         attrs(facetrain__container__kind=PG): 0}
    for container in (Container.large_face_list(good), Container.large_face_list(failing), group):
        run_until_idle(orchestrator, clock, container)
    assert len(drain_events(world, settings)) == 4

    metrics = collected(reader)
    kind = "facetrain__container__kind"
    assert metrics["facetrain.requests"] == {
        attrs(facetrain__request__result="accepted", **{kind: LFL}): 2,
        attrs(facetrain__request__result="accepted", **{kind: LPG}): 1,
        attrs(facetrain__request__result="duplicate", **{kind: LFL}): 1,
        attrs(facetrain__request__result="rejected"): 1}
    assert metrics["facetrain.trainings.submitted"] == {attrs(**{kind: LFL}): 2, attrs(**{kind: LPG}): 1}
    finished = {attrs(**{kind: LFL}, facetrain__training__outcome="succeeded"): 1,
                attrs(**{kind: LFL}, facetrain__training__outcome="failed"): 1,
                attrs(**{kind: LPG}, facetrain__training__outcome="succeeded"): 1}
    assert metrics["facetrain.trainings.finished"] == finished
    assert metrics["facetrain.training.duration"] == finished  # one duration per training Face finished
    assert metrics["facetrain.training.detection_delay"] == {attrs(**{kind: LFL}): 2, attrs(**{kind: LPG}): 1}
    # Face calls: the emulator's own counters say how many status reads there were.
    responses = EmulatorClient(emulator).stats()["responses"]
    status_reads = sum(count for operation, by_status in responses.items() if operation.endswith("TrainingStatus")
                       for count in by_status.values())
    assert metrics["facetrain.face.calls"] == {
        attrs(facetrain__face__operation="train", http__response__status_code=202): 3,
        attrs(facetrain__face__operation="status", http__response__status_code=200): status_reads}
    running_reads = status_reads - 3  # the others found their training finished
    assert running_reads >= 1 and sum(metrics["facetrain.training.elapsed"].values()) == running_reads
    assert set(metrics["facetrain.trainings.in_flight"].values()) == {0}
    assert metrics["facetrain.requests.poisoned"] == {frozenset(): 2}


def test_a_failed_call_is_counted_by_status_and_error_type_and_a_time_out_has_no_face_duration(reader) -> None:
    """Without I/O: a 429 keeps its status, a dropped connection has none but its type; a run that timed out is
    counted as finished, but its time is ours, not Face's, so neither duration nor delay is recorded."""
    metrics = Metrics(MeterProvider(metric_readers=[reader]).get_meter("t"))
    metrics.face_call("status", error=Throttled("slow down", status=429, retry_after_seconds=2))
    metrics.face_call("train", error=Transient("connection dropped"))
    container = Container(Kind.PERSON_GROUP, "staff")
    timed_out = TrainingOutcome("staff/run-1", container, "v1.2", None, "timedOut", ("r",), T0,
                                T0 + timedelta(minutes=45))
    metrics.published(terminal_event(EventType.TIMED_OUT, timed_out), T0 + timedelta(minutes=45))
    found = collected(reader)
    assert found["facetrain.face.calls"] == {
        attrs(facetrain__face__operation="status", http__response__status_code=429, error__type="Throttled"): 1,
        attrs(facetrain__face__operation="train", error__type="Transient"): 1}
    assert found["facetrain.trainings.finished"] == {
        attrs(facetrain__container__kind=PG, facetrain__training__outcome="timedOut"): 1}
    assert "facetrain.training.duration" not in found and "facetrain.training.detection_delay" not in found


def test_a_gauge_that_cannot_be_read_is_skipped_and_said_not_raised(reader, caplog) -> None:
    metrics = Metrics(MeterProvider(metric_readers=[reader]).get_meter("t"))

    def storage_down():
        raise ConnectionError("storage is down")
    metrics.observe(in_flight=storage_down, poison_depth=storage_down)
    assert collected(reader) == {}
    assert [r.getMessage() for r in caplog.records] == ["in-flight gauge not read: ConnectionError",
                                                        "poison-queue gauge not read: ConnectionError"]
