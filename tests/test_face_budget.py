"""The Face budget (orchestrator/face_budget.py) and the tick that spends it, without I/O: the real orchestrator on
virtual time (bench/simulation.py) against a simulated Face that logs every call."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from bench import virtual
from bench.simulation import Arrival, Scheduler, SimFace, SimulatedOrchestrator, VirtualClock, terminal_events
from orchestrator.face_budget import FaceBudget

T0 = datetime(2026, 12, 2, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_polls_get_at_most_a_seconds_worth_and_trains_go_first_into_debt() -> None:
    clock = Clock()
    budget = FaceBudget(2, clock)
    assert budget.take_polls(5) == 2 and budget.take_polls(5) == 0
    clock.now += timedelta(seconds=0.5)
    assert budget.take_polls(5) == 1
    budget.spend_train()
    budget.spend_train()  # trains always go: the bucket is now in debt
    clock.now += timedelta(seconds=1)
    assert budget.take_polls(5) == 0  # the debt is paid back before any poll
    clock.now += timedelta(seconds=60)
    assert budget.take_polls(5) == 2  # an idle minute does not save up more than a second's worth


def test_a_tick_polls_no_more_than_the_budget_oldest_first_and_never_holds_back_a_train() -> None:
    """Eight 100,000-face lists asked for at once, polled under a budget of 2 a second: every train call goes at
    once, no second ever sees more than 2 polls, the polls go oldest due first, and every training is seen."""
    clock = VirtualClock()
    face = SimFace(clock)
    ours = SimulatedOrchestrator(Scheduler(clock), face, virtual.TICK_S, virtual.POLICY, face_calls_per_second=2)
    for number in range(8):
        ours.request(Arrival(number * 0.1, f"list-{number}", 100_000, f"r{number}"))
    ours.scheduler.run()
    trains = [at for at, _, call in face.calls_log if call == "train"]
    polls = [(at, key) for at, key, call in face.calls_log if call == "status"]
    assert len(trains) == 8 and max(trains) < 1
    assert max(Counter(int(at) for at, _ in polls).values()) <= 2
    first_poll_at = {}
    for at, key in polls:
        first_poll_at.setdefault(key, at)
    # Submitted in that order, so due in that order: two a tick (a tick's two polls run side by side).
    ticks = sorted(set(first_poll_at.values()))
    assert [{k for k, at in first_poll_at.items() if at == tick} for tick in ticks] == [
        {f"list-{n}", f"list-{n + 1}"} for n in range(0, 8, 2)]
    assert len(terminal_events(ours.events)) == 8


def test_without_a_budget_the_same_tick_polls_every_due_training_at_once() -> None:
    clock = VirtualClock()
    face = SimFace(clock)
    ours = SimulatedOrchestrator(Scheduler(clock), face, virtual.TICK_S, virtual.POLICY)
    for number in range(8):
        ours.request(Arrival(number * 0.1, f"list-{number}", 100_000, f"r{number}"))
    ours.scheduler.run()
    assert max(Counter(int(at) for at, _, call in face.calls_log if call == "status").values()) == 8
