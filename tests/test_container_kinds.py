"""The real orchestrator (shell and core) trains every kind of container, on virtual time against the simulated
Face and the in-memory store (bench/simulation.py): no I/O."""

from __future__ import annotations

from bench.simulation import Arrival, Scheduler, SimFace, SimulatedOrchestrator, VirtualClock, terminal_events
from bench.virtual import TICK_S
from orchestrator.containers import Container, Kind
from orchestrator.machine import Phase, Policy

POLICY = Policy(api_version="v1.2", max_training_seconds=1800, auth_retry_seconds=600)


def run(arrivals: list[Arrival]) -> SimulatedOrchestrator:
    clock = VirtualClock()
    scheduler = Scheduler(clock)
    simulated = SimulatedOrchestrator(scheduler, SimFace(clock), TICK_S, POLICY)
    for arrival in arrivals:
        simulated.request(arrival)
    scheduler.run()
    return simulated


def test_containers_of_every_kind_with_one_id_are_trained_and_reported_apart() -> None:
    simulated = run([Arrival(0.0, "staff", 10_000, f"r-{kind}", kind) for kind in Kind])
    trained = sorted(t.key for t in simulated.face.trainings)
    assert trained == sorted(Container(kind, "staff").key for kind in Kind)
    events = {body["type"]: body for _, body in terminal_events(simulated.events)}
    assert set(events) == {f"Face.{kind.noun}.TrainingSucceeded" for kind in Kind}
    for kind in Kind:
        event = events[f"Face.{kind.noun}.TrainingSucceeded"]
        assert (event["subject"], event["data"][kind.request_field]) == (f"{kind}/staff", "staff")
        assert event["data"]["requestIds"] == [f"r-{kind}"]
        assert event["id"] == f"{Container(kind, 'staff').key}/run-1/outcome"
        assert simulated.store.load(Container(kind, "staff"))[0].phase is Phase.IDLE


def test_a_burst_on_a_group_while_it_trains_gets_one_follow_up() -> None:
    group = Kind.LARGE_PERSON_GROUP
    burst = [Arrival(0.0, "employees", 100_000, "first", group)]
    burst += [Arrival(10.0 + n, "employees", 100_000, f"late-{n}", group) for n in range(20)]
    simulated = run(burst)
    assert len(simulated.face.trainings) == 2 and simulated.face.conflicts == 0
    (_, first), (_, follow_up) = terminal_events(simulated.events)
    assert first["data"]["requestIds"] == ["first"]
    assert follow_up["data"]["requestIds"] == [f"late-{n}" for n in range(20)]
    assert follow_up["type"] == "Face.LargePersonGroup.TrainingSucceeded"
