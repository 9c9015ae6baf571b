"""The resource's speed model (orchestrator/resource_speed.py) and how it times a training's polls
(orchestrator/machine.py), without I/O: its edge cases, as the issue lists them, and the schedule it gives."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from orchestrator import machine
from orchestrator.containers import Container
from orchestrator.machine import ContainerState, Phase, Policy, Run
from orchestrator.records import ResourceLedger, state_from_entity, state_to_entity
from orchestrator.resource_speed import ENOUGH_TRAININGS, PRIOR_LOG_SPREAD, ResourceSpeed, documented_middle

POLICY = Policy(api_version="v1.2", max_training_seconds=3600, auth_retry_seconds=600)
NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def taught(durations: list[tuple[int, float]], start: ResourceSpeed = ResourceSpeed()) -> ResourceSpeed:
    speed = start
    for entries, seconds in durations:
        speed = speed.learned(entries, seconds)
    return speed


def knowing(log_mean: float = 0.0, log_variance: float = 0.0) -> ResourceSpeed:
    """A resource that has seen fifty trainings."""
    return ResourceSpeed(50, log_mean, log_variance)


def running(size_hint: int | None, last_duration: float | None = None, last_hint: int | None = None
            ) -> ContainerState:
    run = Run("r1", "https://face/largefacelists/a/training", NOW, ("q",), size_hint=size_hint)
    return ContainerState(Container.large_face_list("a"), Phase.TRAINING, run=run,
                          last_duration_seconds=last_duration, last_size_hint=last_hint)


def timed(state: ContainerState, speed: ResourceSpeed, policy: Policy = POLICY) -> ContainerState:
    """The run as its submission leaves it: its estimate fixed from what the resource knew then."""
    return replace(state, run=replace(state.run, estimate=machine.estimate(state, policy, speed)))


# --- the model ------------------------------------------------------------------------------------------------


def test_one_training_of_history_is_not_enough_and_five_are() -> None:
    one = taught([(10_000, 9.0)])
    assert one.trainings == 1 and one.expected(10_000) is None
    assert machine.first_poll_delay(timed(running(10_000), one), POLICY) == pytest.approx(5.0)  # documented short end
    five = taught([(10_000, 9.0)] * ENOUGH_TRAININGS)
    assert five.expected(10_000).seconds == pytest.approx(9.0)


def test_a_resource_that_runs_slow_is_learned_at_every_size_and_timed_so_outside_them() -> None:
    """Twice as slow as the documented middle, at sizes from 1,000 to 100,000: the model says so at 1,000,000."""
    rng = random.Random(1)
    sizes = [int(1000 * 100 ** rng.random()) for _ in range(20)]
    speed = taught([(size, 2 * documented_middle(size)) for size in sizes])
    assert speed.log_ratio_mean == pytest.approx(math.log(2))
    assert speed.expected(1_000_000).seconds == pytest.approx(2 * documented_middle(1_000_000))
    # Sizes outside what it has seen are timed by the documented curve's shape, scaled by what it saw.
    assert speed.expected(500).seconds == pytest.approx(2 * documented_middle(1_000))


def test_a_resource_that_slows_down_is_followed_within_about_ten_trainings() -> None:
    speed = taught([(10_000, documented_middle(10_000))] * 50)
    assert speed.expected(10_000).seconds == pytest.approx(documented_middle(10_000))
    slower = taught([(10_000, 1.5 * documented_middle(10_000))] * 10, speed)
    ratio = slower.expected(10_000).seconds / documented_middle(10_000)
    assert 1.25 < ratio < 1.5  # most of the way there, not the mean of all 60
    followed = taught([(10_000, 1.5 * documented_middle(10_000))] * 30, slower)
    assert followed.expected(10_000).seconds / documented_middle(10_000) == pytest.approx(1.5, rel=0.01)


def test_the_spread_is_the_trainings_own_and_never_below_what_few_can_show() -> None:
    rng = random.Random(2)
    varied = taught([(10_000, documented_middle(10_000) * math.exp(rng.gauss(0, 0.1))) for _ in range(400)])
    assert 0.1 < varied.spread < 0.16  # the observed 0.1, widened by the prior and the mean's own error
    alike = taught([(10_000, 7.0)] * 5)  # five equal durations prove little
    assert alike.spread >= PRIOR_LOG_SPREAD / math.sqrt(6)


def test_one_request_whose_hint_was_ten_times_off_barely_moves_a_model_that_knows_enough() -> None:
    rng = random.Random(3)
    speed = taught([(10_000, documented_middle(10_000) * math.exp(rng.gauss(0, 0.1))) for _ in range(30)])
    before = speed.expected(100_000).seconds
    wrong = speed.learned(1_000, documented_middle(10_000))  # said 1,000; trained 10,000's worth
    # Unclipped, its weight of 0.1 on a log ratio of ln(7.07 / 1.41) would have moved the model by 17%.
    assert abs(wrong.expected(100_000).seconds / before - 1) < 0.06
    assert not speed.fits(1_000, documented_middle(10_000)) and speed.fits(10_000, documented_middle(10_000))


@pytest.mark.parametrize("duration", [0.0, -3.0, math.inf, math.nan])
def test_a_duration_that_is_none_teaches_nothing(duration: float) -> None:
    assert ResourceSpeed().learned(10_000, duration) == ResourceSpeed()
    assert knowing().fits(10_000, duration)  # and is no evidence against a hint either


# --- the schedule it gives ------------------------------------------------------------------------------------


def test_a_hinted_first_training_is_polled_by_the_model_once_the_resource_knows_enough() -> None:
    exact = knowing(math.log(1.2), 0.0)  # 1.2x the middle, the smallest spread it will claim
    state = timed(running(100_000), exact)
    expected = exact.expected(100_000)
    first = machine.first_poll_delay(state, POLICY)
    # Early enough that all but the fastest 5% are seen within 10% of their duration.
    assert first == pytest.approx(expected.quantile(-POLICY.speed_quantile_z) * 1.1)
    assert first < expected.seconds
    # Then every 10% of the time so far, so a finish between two polls is seen within 10% of its duration ...
    polled = replace(state, run=replace(state.run, polls=1))
    at = NOW + timedelta(seconds=first)
    assert machine.next_poll_delay(polled, at, POLICY) == pytest.approx(first * 0.1)
    # ... up to the slow end; past it the estimate was wrong, and the wait grows as without one.
    late = NOW + timedelta(seconds=expected.quantile(3) * 1.1)
    elapsed = (late - NOW).total_seconds()
    assert machine.next_poll_delay(polled, late, POLICY) == pytest.approx(elapsed * (POLICY.poll_growth - 1))


def test_a_schedule_is_fixed_at_submission_and_what_the_resource_learns_meanwhile_does_not_move_it() -> None:
    submitted = machine.on_answer(
        ContainerState(Container.large_face_list("a"), Phase.WAITING),
        machine.Submitted(machine.SubmitTraining(("q",), 1_000_000), "https://face/largefacelists/a/training"), (),
        NOW, POLICY, ResourceSpeed()).state
    assert submitted.run.estimate is None
    assert submitted.due_at == NOW + timedelta(seconds=600)  # 1,000,000 faces: the documented short end, 10 min
    polled = machine.on_answer(submitted, machine.Polled("running", None, None), (), submitted.due_at, POLICY,
                               knowing())
    assert polled.state.due_at == NOW + timedelta(seconds=1800 * 1.02)  # still the documented long end


def test_with_the_model_off_or_no_hint_the_schedule_is_as_before_and_history_times_as_before() -> None:
    knows = knowing(0.0, 0.01)
    hinted = running(100_000)
    off = replace(POLICY, speed_model=False)
    assert machine.first_poll_delay(timed(hinted, knows, off), off) == machine.first_poll_delay(hinted, POLICY)
    assert machine.first_poll_delay(timed(running(None), knows), POLICY) == POLICY.first_poll_seconds
    # A container's own history: exactly the old first poll, whatever the resource knows.
    history = timed(running(100_000, last_duration=80.0, last_hint=100_000), knows)
    assert machine.first_poll_delay(history, POLICY) == pytest.approx(80.0 * 1.02)
    assert history.run.estimate.log_spread == 0


def test_a_hint_the_resource_contradicts_does_not_scale_the_containers_history() -> None:
    """The last training said 10,000 and took a 100,000's time: the next, which says 110,000, is predicted from
    the last duration, not ten times longer. (A wrong hint on the run itself agrees with the model by
    construction, size for size; only its duration, once finished, shows it.)"""
    knows = knowing(0.0, 0.01)
    after_wrong = running(110_000, last_duration=documented_middle(100_000), last_hint=10_000)
    assert machine.predicted_duration(after_wrong, knows) == documented_middle(100_000)
    right = running(110_000, last_duration=documented_middle(100_000), last_hint=100_000)
    assert machine.predicted_duration(right, knows) > documented_middle(100_000)  # grown with its size
    assert machine.predicted_duration(after_wrong, ResourceSpeed()) > 5 * documented_middle(100_000)  # as before


def test_a_finished_training_teaches_only_with_its_size_and_faces_own_finish() -> None:
    state = running(10_000, last_duration=7.0, last_hint=10_000)
    finished_at = NOW + timedelta(seconds=8)
    decision = machine.on_answer(state, machine.Polled("succeeded", None, finished_at), (), NOW + timedelta(seconds=9),
                                 POLICY)
    assert machine.Learned(10_000, 8.0) in decision.effects
    no_face_time = machine.on_answer(state, machine.Polled("succeeded", None, None), (), NOW + timedelta(seconds=9),
                                     POLICY)
    assert not any(isinstance(e, machine.Learned) for e in no_face_time.effects)
    unhinted = machine.on_answer(running(None), machine.Polled("succeeded", None, finished_at), (),
                                 NOW + timedelta(seconds=9), POLICY)
    assert not any(isinstance(e, machine.Learned) for e in unhinted.effects)


def test_the_model_round_trips_through_the_ledger_entity_and_an_old_entity_has_none() -> None:
    ledger = ResourceLedger((NOW,), ResourceSpeed(7, 0.25, 0.02))
    assert ResourceLedger.from_entity(ledger.to_entity()) == ledger
    old = {"PartitionKey": "~budget", "RowKey": "face-calls", "GrantedAtMicroseconds": "[]"}
    assert ResourceLedger.from_entity(old).speed == ResourceSpeed()


def test_the_run_keeps_its_estimate_through_the_state_entity() -> None:
    state = timed(running(100_000), knowing(0.1, 0.01))
    assert state.run.estimate is not None
    assert state_from_entity(state_to_entity(state)).run == state.run


def test_while_the_budget_holds_calls_back_a_first_training_is_aimed_at_its_expected_duration() -> None:
    """An early poll spends a call another container's training waits for: under a spent budget the model's
    estimate is kept, its spread is not."""
    knows = knowing(math.log(1.2), 0.01)
    waiting = ContainerState(Container.large_face_list("a"), Phase.WAITING)
    submitted = machine.Submitted(machine.SubmitTraining(("q",), 100_000), "https://face/largefacelists/a/training")
    free = machine.on_answer(waiting, submitted, (), NOW, POLICY, knows).state
    spent = machine.on_answer(waiting, submitted, (), NOW, POLICY, knows, budget_spent=True).state
    expected = knows.expected(100_000).seconds
    assert free.run.estimate == knows.expected(100_000) and free.due_at < NOW + timedelta(seconds=expected)
    assert spent.run.estimate.seconds == expected and spent.run.estimate.log_spread == 0
    assert spent.due_at == NOW + timedelta(seconds=expected * (1 + POLICY.known_duration_margin))
