"""The Face budget (orchestrator/face_budget.py) and the tick that spends it, without I/O: the real orchestrator on
virtual time (bench/simulation.py) against a simulated Face that logs every call."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bench import virtual
from bench.simulation import (Arrival, MemoryEvents, MemoryStore, Scheduler, SimFace, SimulatedOrchestrator,
                              VirtualClock, terminal_events)
from orchestrator.containers import Container
from orchestrator.face_budget import FaceBudget, LocalLedger
from orchestrator.machine import ContainerState, Phase
from orchestrator.records import RequestRecord
from orchestrator.worker import Orchestrator

T0 = datetime(2026, 12, 2, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def spend(budget: FaceBudget, wanted: int, clock: Clock, calls_end_after: float = 0.0) -> int:
    """A pass: take grants, make each granted call, ending `calls_end_after` seconds later, settle."""
    granted = budget.take(wanted)
    clock.now += timedelta(seconds=calls_end_after)
    for _ in range(granted):
        budget.spent()
    budget.settle()
    return granted


def test_the_budget_grants_at_most_its_calls_in_any_second_and_saves_nothing_up() -> None:
    clock = Clock()
    budget = FaceBudget(2.5, clock, LocalLedger())  # a fraction is rounded down: 2
    assert spend(budget, 5, clock) == 2 and spend(budget, 5, clock) == 0
    clock.now += timedelta(seconds=0.5)
    assert spend(budget, 5, clock) == 0  # both calls are still within the last second
    clock.now += timedelta(seconds=0.5)
    assert spend(budget, 1, clock) == 1
    clock.now += timedelta(seconds=0.5)
    assert spend(budget, 5, clock) == 1  # one sent 0.5 s ago still counts
    clock.now += timedelta(seconds=60)
    assert spend(budget, 5, clock) == 2  # an idle minute does not save up more than a second's worth


def test_a_call_made_late_in_its_pass_keeps_its_slot_a_full_second_from_when_it_ended() -> None:
    """Grants were counted from when they were given: a pass that granted 3 at 0 s whose calls reached Face at
    0.4 s (a token fetched first), then the next pass at 1.0 s, put 6 calls into one second at Face (seen with four
    instances on the dev host)."""
    clock = Clock()
    budget = FaceBudget(3, clock, LocalLedger(), hold_seconds=30)
    assert spend(budget, 3, clock, calls_end_after=0.6) == 3
    clock.now = T0 + timedelta(seconds=1.0)
    assert budget.take(3) == 0 and budget.frees_in() == pytest.approx(0.6)
    budget.settle()
    clock.now = T0 + timedelta(seconds=1.6)
    assert spend(budget, 3, clock) == 3


def test_a_grant_is_held_until_its_pass_settles_and_freed_if_no_call_used_it() -> None:
    clock = Clock()
    budget = FaceBudget(2, clock, LocalLedger(), hold_seconds=30)
    assert budget.take(2) == 2
    clock.now += timedelta(seconds=5)  # a long step: its grants are still held
    assert budget.take(1) == 0
    budget.spent()  # one of the two grants was used
    budget.settle()
    assert budget.take(2) == 1  # the unused one is free again; the used one counts from its call


def test_two_instances_on_one_ledger_share_one_budget() -> None:
    """The timer runs on one instance, but the host may run a second tick while the first still runs (a lease
    lost mid-run): the grants of both are in the shared ledger."""
    clock, ledger = Clock(), LocalLedger()
    first, second = FaceBudget(3, clock, ledger), FaceBudget(3, clock, ledger)
    assert first.take(2) == 2 and second.take(5) == 1 and first.take(1) == 0
    for budget in (first, second):
        budget.spent()
        budget.settle()
    clock.now += timedelta(seconds=1)
    assert second.take(5) == 3


def per_second_at_most(calls: list[float], limit: int) -> bool:
    """No window of one second, starting at any call, holds more than `limit` calls."""
    calls = sorted(calls)
    return all(sum(1 for later in calls[i:] if later < at + 1) <= limit for i, at in enumerate(calls))


def test_a_tick_grants_polls_first_then_trains_oldest_first_within_the_budget() -> None:
    """Eight 100,000-face lists asked for at once under a budget of 2 calls a second: intake calls Face for none of
    them, and the first tick submits them, two a second as the budget frees up, in the order they were asked for;
    once the first polls fall due they go before the rest of the submissions; no second sees more than 2 calls,
    the polls go oldest due first, and every training is seen."""
    clock = VirtualClock()
    face = SimFace(clock)
    ours = SimulatedOrchestrator(Scheduler(clock), face, virtual.TICK_S, virtual.POLICY, face_calls_per_second=2)
    for number in range(8):
        ours.request(Arrival(number * 0.1, f"list-{number}", 100_000, f"r{number}"))
    ours.scheduler.run()
    # A tick's calls run side by side at one virtual moment, in no set order: sorted by time, then by name.
    trains = sorted((at, key) for at, key, call in face.calls_log if call == "train")
    polls = sorted((at, key) for at, key, call in face.calls_log if call == "status")
    assert per_second_at_most([at for at, _, _ in face.calls_log], 2)
    assert [key for _, key in trains] == [f"list-{n}" for n in range(8)]  # in the order they were asked for
    assert [at for at, _ in trains[:4]] == [5.0, 5.0, 6.0, 6.0]  # the tick at 5 s, paced
    first_poll_at = {}
    for at, key in polls:
        first_poll_at.setdefault(key, at)
    assert sorted(first_poll_at, key=first_poll_at.get) == [f"list-{n}" for n in range(8)]  # oldest due first
    assert len(terminal_events(ours.events)) == 8


def test_an_import_larger_than_the_deadline_allows_submitting_first_never_starves_its_polls() -> None:
    """A thousand small lists under a budget of 2 take 500 s to submit; with submissions first, the polls of the
    first ones waited behind the rest past MAX_TRAINING_MINUTES (300 s here), and trainings Face had finished in
    seconds were reported TrainingTimedOut. The simulated import of 10,000 at the default limit timed out 34%."""
    clock = VirtualClock()
    face = SimFace(clock)
    policy = replace(virtual.POLICY, max_training_seconds=300)
    ours = SimulatedOrchestrator(Scheduler(clock), face, virtual.TICK_S, policy, face_calls_per_second=2)
    for number in range(1000):
        ours.request(Arrival(number * 0.05, f"list-{number:04d}", 1000, f"r{number}"))
    ours.scheduler.run()
    outcomes = Counter(event["type"].rsplit(".", 1)[1] for _, event in terminal_events(ours.events))
    assert outcomes == {"TrainingSucceeded": 1000}
    assert per_second_at_most([at for at, _, _ in face.calls_log], 2)


def test_without_a_budget_the_same_tick_polls_every_due_training_at_once() -> None:
    clock = VirtualClock()
    face = SimFace(clock)
    ours = SimulatedOrchestrator(Scheduler(clock), face, virtual.TICK_S, virtual.POLICY)
    for number in range(8):
        ours.request(Arrival(number * 0.1, f"list-{number}", 100_000, f"r{number}"))
    ours.scheduler.run()
    assert max(Counter(int(at) for at, _, call in face.calls_log if call == "status").values()) == 8


def test_a_pass_under_the_budget_reads_only_the_containers_it_grants_a_call() -> None:
    """The markers say which calls are due, so a pass with up to eight trainings due and two calls to grant reads
    the states of two containers, not eight."""
    clock = VirtualClock()
    ours = SimulatedOrchestrator(Scheduler(clock), SimFace(clock), virtual.TICK_S, virtual.POLICY,
                                 face_calls_per_second=2)
    read_at: dict[float, set] = {}
    due_at: dict[float, int] = {}
    load, due = ours.store.load, ours.store.due

    def counted_load(container):
        read_at.setdefault(clock.seconds, set()).add(container)
        return load(container)

    def counted_due(now):
        markers = due(now)
        due_at[clock.seconds] = max(due_at.get(clock.seconds, 0), len(markers))
        return markers

    ours.store.load, ours.store.due = counted_load, counted_due
    for number in range(8):
        ours.request(Arrival(number * 0.1, f"list-{number}", 100_000, f"r{number}"))
    ours.scheduler.run()
    passes = [at for at in due_at if at >= virtual.TICK_S]  # intake reads its own containers before the first
    assert max(due_at[at] for at in passes) >= 6  # most of them due at once
    assert max(len(read_at.get(at, ())) for at in passes) <= 2  # a finish reads its state again: one container
    assert len(terminal_events(ours.events)) == 8


def waiting_lists(count: int, clock: VirtualClock) -> MemoryStore:
    """A store holding `count` lists due to submit a training now."""
    store = MemoryStore()
    for number in range(count):
        container = Container.large_face_list(f"list-{number}")
        store.add_request(RequestRecord(container, f"r{number}", clock(), None, None))
        state = ContainerState(container, Phase.WAITING, due_at=clock())
        store.save_watched(state, None)
        store.mark_due(state)
    return store


@pytest.mark.parametrize("sleep_moves_the_clock, trains_at", [(True, [0, 0, 1, 1, 2, 2]), (False, [0, 0])])
def test_a_tick_paces_the_calls_the_budget_held_back_as_it_frees_up(sleep_moves_the_clock: bool,
                                                                     trains_at: list[float]) -> None:
    """Six lists due and a budget of 2 a second: one tick submits two, sleeps till the second frees up, two more,
    and so on within its pacing. A clock that sleep does not move (a test's stepped clock) gets one pass."""
    clock = VirtualClock()
    face, slept = SimFace(clock, face_counts={f"list-{n}": 1000 for n in range(6)}), []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if sleep_moves_the_clock:
            clock.at(clock.seconds + seconds)

    orchestrator = Orchestrator(policy=virtual.POLICY, store=waiting_lists(6, clock), face=face,
                                events=MemoryEvents(clock), clock=clock, default_settle_seconds=0,
                                face_budget=FaceBudget(2, clock, LocalLedger()), pacing_seconds=4, sleep=sleep)
    orchestrator.tick()
    assert [at for at, _, call in face.calls_log if call == "train"] == trains_at
    # Then the first polls fall due, and the tick goes on with them until its pacing (4 s) is spent.
    assert slept == ([1.0, 1.0, 1.0, 1.0] if sleep_moves_the_clock else [1.0])
    assert clock.seconds == (4.0 if sleep_moves_the_clock else 0.0)


def test_a_tick_reads_the_index_once_for_the_passes_that_grant_through_it() -> None:
    """An import leaves thousands due and a pass grants two: each pass read the whole index again."""
    clock = VirtualClock()
    face, reads = SimFace(clock, face_counts={f"list-{n}": 1000 for n in range(6)}), []
    store = waiting_lists(6, clock)
    due = store.due
    store.due = lambda now: reads.append(clock.seconds) or due(now)
    orchestrator = Orchestrator(policy=virtual.POLICY, store=store, face=face, events=MemoryEvents(clock), clock=clock,
                                default_settle_seconds=0, face_budget=FaceBudget(2, clock, LocalLedger()),
                                pacing_seconds=4, sleep=lambda seconds: clock.at(clock.seconds + seconds))
    orchestrator.tick()
    assert [at for at, _, call in face.calls_log if call == "train"] == [0, 0, 1, 1, 2, 2]
    assert reads[:2] == [0, 2]  # once at the start, once more when the six had been granted
