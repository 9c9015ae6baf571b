"""The training state machine, table-driven against an injected clock: no I/O anywhere."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from orchestrator.containers import Container
from orchestrator.events import EventType
from orchestrator.face_errors import (AuthFailed, MalformedAnswer, NotFound, ProtocolError, Rejected, Throttled,
                                      TrainingConflict, Transient)
from orchestrator.machine import (AnswerRequests, Decision, Emit, EventsRefused, ContainerState, PendingRequest, Phase,
                                  Policy, PollFailed, Polled, PollTraining, SubmitFailed, Submitted, SubmitTraining,
                                  claim, claim_seconds_for, next_step, on_answer, on_late_requests, on_request,
                                  retry_delay)

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
POLICY = Policy(api_version="v1.2", max_training_seconds=3600, auth_retry_seconds=600)
LOCATION = "https://face.example/face/v1.2/largefacelists/celebs/training"
CELEBS = Container.large_face_list("celebs")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def idle() -> ContainerState:
    return ContainerState(CELEBS)


def waiting(*request_ids: str, not_before: float = 0) -> tuple[PendingRequest, ...]:
    return tuple(PendingRequest(r, at(not_before)) for r in request_ids)


def requested(not_before: float = 0) -> ContainerState:
    """An idle list just woken by a request."""
    return on_request(idle(), at(not_before))


def training(submitted: float = 0, requests=("r1",), last_duration=None) -> ContainerState:
    state = replace(requested(submitted), last_duration_seconds=last_duration)
    return on_submitted(state, requests, LOCATION, at(submitted), POLICY).state


def events(decision) -> list:
    return [effect.event for effect in decision.effects if isinstance(effect, Emit)]


# The shell's answers, as it gives them to the core.

def on_submitted(state: ContainerState, request_ids, location: str, now: datetime, policy: Policy) -> Decision:
    return on_answer(state, Submitted(SubmitTraining(request_ids), location), (), now, policy)


def on_submit_failed(state: ContainerState, error, request_ids, location: str, now: datetime, policy: Policy) -> Decision:
    return on_answer(state, SubmitFailed(SubmitTraining(request_ids), error, location), (), now, policy)


def on_polled(state: ContainerState, status: str, message, waiting_requests, now: datetime, policy: Policy,
           face_finished_at: datetime | None = None) -> Decision:
    return on_answer(state, Polled(status, message, face_finished_at), waiting_requests, now, policy)


def on_poll_failed(state: ContainerState, error, waiting_requests, now: datetime, policy: Policy) -> Decision:
    return on_answer(state, PollFailed(error), waiting_requests, now, policy)


def on_events_refused(state: ContainerState, now: datetime, policy: Policy) -> Decision:
    return on_answer(state, EventsRefused(), (), now, policy)


def nothing(decision: Decision) -> bool:
    return decision.call is None and decision.effects == ()


def test_a_request_wakes_an_idle_list_for_its_settle_window() -> None:
    state = on_request(idle(), at(30))
    assert (state.phase, state.due_at) == (Phase.WAITING, at(30))


def test_a_busy_list_is_not_written_by_a_request() -> None:
    assert on_request(training(), at(5)) == training()
    assert on_request(requested(10), at(50)) == requested(10)


def test_submit_when_due_with_every_waiting_request() -> None:
    assert next_step(requested(), waiting("r1", "r2"), at(0), POLICY).call == SubmitTraining(("r1", "r2"))
    assert nothing(next_step(requested(30), waiting("r1", not_before=30), at(29), POLICY))


def test_a_request_that_arrived_since_restarts_the_settle_window() -> None:
    decision = next_step(requested(30), waiting("r1", not_before=30) + waiting("r2", not_before=50), at(30), POLICY)
    assert nothing(decision) and decision.state.due_at == at(50)


def test_a_due_list_without_waiting_requests_goes_idle() -> None:
    decision = next_step(requested(), (), at(1), POLICY)
    assert decision.state.phase is Phase.IDLE and nothing(decision)


def test_an_accepted_training_is_polled_later_never_waited_for() -> None:
    state = training(requests=("r1", "r2"))
    assert state.phase is Phase.TRAINING
    assert state.run.request_ids == ("r1", "r2") and state.run.run_id == "celebs/run-1"
    assert state.due_at == at(POLICY.first_poll_seconds)
    assert next_step(state, (), at(POLICY.first_poll_seconds), POLICY).call == PollTraining(LOCATION)


@pytest.mark.parametrize("status", ["notStarted", "nonstarted", "notstarted", "running", "RUNNING"])
def test_every_running_spelling_keeps_polling_with_growing_waits(status: str) -> None:
    state = training()
    waits = []
    now = 2.0
    for _ in range(4):
        state = on_polled(state, status, None, (), at(now), POLICY).state
        waits.append((state.due_at - at(now)).total_seconds())
        now = (state.due_at - T0).total_seconds()
    assert waits == sorted(waits) and waits[-1] > waits[0]
    assert state.run.polls == 4


def test_success_emits_one_event_naming_every_request_then_forgets_them() -> None:
    decision = on_polled(training(requests=("r1", "r2")), "Succeeded", None, waiting("r1", "r2"), at(7), POLICY)
    (event,) = events(decision)
    assert event.event_type is EventType.SUCCEEDED
    assert event.event_id == "celebs/run-1/outcome"
    data = event.to_cloud_event()["data"]
    assert data["requestIds"] == ["r1", "r2"] and data["durationSeconds"] == 7 and data["status"] == "succeeded"
    assert AnswerRequests(("r1", "r2")) in decision.effects
    assert decision.state.phase is Phase.IDLE and decision.state.last_duration_seconds == 7


def test_requests_that_arrived_during_the_training_get_exactly_one_follow_up() -> None:
    decision = on_polled(training(requests=("r1",)), "succeeded", None,
                          waiting("r1") + waiting("r2", "r3", not_before=4), at(9), POLICY)
    assert decision.state.phase is Phase.WAITING and decision.state.due_at == at(9)
    follow_up = next_step(decision.state, waiting("r2", "r3", not_before=4), at(9), POLICY)
    assert follow_up.call == SubmitTraining(("r2", "r3"))
    assert on_submitted(follow_up.state, ("r2", "r3"), LOCATION, at(9), POLICY).state.run.run_id == "celebs/run-2"


def test_a_follow_up_honours_the_settle_window_of_its_requests() -> None:
    decision = on_polled(training(), "succeeded", None, waiting("r1") + waiting("r9", not_before=63), at(9), POLICY)
    assert decision.state.due_at == at(63)


def test_a_failed_training_reports_the_face_message() -> None:
    decision = on_polled(training(), "failed", "There is no persisted face.", waiting("r1"), at(5), POLICY)
    (event,) = events(decision)
    data = event.to_cloud_event()["data"]
    assert event.event_type is EventType.FAILED
    assert (data["status"], data["errorMessage"]) == ("failed", "There is no persisted face.")


def test_the_next_training_of_a_list_is_first_polled_at_its_last_duration() -> None:
    state = training(last_duration=600)
    assert state.due_at == at(600 * (1 + POLICY.known_duration_margin))
    still_running = on_polled(state, "running", None, (), state.due_at, POLICY).state
    # A tenth of the time so far, which past the known duration is at least a tenth of it: a finish between two
    # polls is still seen within 10% of its duration.
    assert (still_running.due_at - state.due_at).total_seconds() == pytest.approx(61.2)
    # Three times the known duration and still running: a size hint was wrong; timed as without history.
    late = replace(still_running, due_at=at(1800))
    wait = (on_polled(late, "running", None, (), at(1800), POLICY).state.due_at - at(1800)).total_seconds()
    assert wait == min(1800 * (POLICY.poll_growth - 1), POLICY.max_poll_interval_seconds)


def hinted(size_hint: int, last_duration=None) -> ContainerState:
    state = replace(requested(), last_duration_seconds=last_duration)
    return on_answer(state, Submitted(SubmitTraining(("r1",), size_hint), LOCATION), (), at(0), POLICY).state


def polls_until(state: ContainerState, finish_s: float) -> list[float]:
    """When each poll of a training that ends at `finish_s` comes, the last one seeing it end."""
    times = []
    while True:
        now = (state.due_at - T0).total_seconds()
        times.append(round(now, 1))
        if now >= finish_s:
            return times
        state = on_polled(state, "running", None, (), at(now), POLICY).state


def test_a_size_hint_times_a_first_training_by_the_documented_range() -> None:
    """100,000 faces train in 1-2 min: the first poll at the short end, the next at the long end (+2%)."""
    state = hinted(100_000)
    assert state.run.size_hint == 100_000 and state.due_at == at(60)
    assert polls_until(state, 90) == [60, 122.4]
    assert polls_until(hinted(1_000_000), 1800) == [600, 1836]


def test_a_wrong_size_hint_costs_no_more_polls_than_none() -> None:
    """Ten times too small: past the long end the polls grow as without a hint. Ten times too big: fewer polls,
    seen later (the price of trusting the sender)."""
    unhinted = training()
    for finish in (90, 1800):
        assert len(polls_until(hinted(100_000 // 10 if finish == 90 else 100_000), finish)) <= \
            len(polls_until(unhinted, finish))
    assert polls_until(hinted(1_000_000), 90) == [600]


def test_a_containers_own_history_wins_over_its_hint() -> None:
    assert hinted(1_000_000, last_duration=30).due_at == at(30 * (1 + POLICY.known_duration_margin))


def test_history_is_scaled_by_how_much_the_container_grew_when_both_runs_gave_their_size() -> None:
    """100 s at 100,000 faces; now 200,000: Face documents twice the time (60 s to 120 s at the short end)."""
    state = on_answer(replace(requested(), last_duration_seconds=100, last_size_hint=100_000),
                      Submitted(SubmitTraining(("r1",), 200_000), LOCATION), (), at(0), POLICY).state
    assert state.due_at == at(200 * (1 + POLICY.known_duration_margin))
    unsized = on_answer(replace(requested(), last_duration_seconds=100, last_size_hint=100_000),
                        Submitted(SubmitTraining(("r1",)), LOCATION), (), at(0), POLICY).state
    assert unsized.due_at == at(100 * (1 + POLICY.known_duration_margin))  # no size now: the history as it is


def test_a_success_keeps_the_size_its_run_was_told() -> None:
    done = on_polled(hinted(100_000), "succeeded", None, (), at(90), POLICY).state
    assert (done.last_duration_seconds, done.last_size_hint) == (90, 100_000)


def test_the_run_takes_the_newest_hint_of_its_requests() -> None:
    pending = (PendingRequest("r1", at(0), 1_000), PendingRequest("r2", at(0)), PendingRequest("r3", at(0), 5_000))
    assert next_step(requested(), pending, at(0), POLICY).call == SubmitTraining(("r1", "r2", "r3"), 5_000)
    assert next_step(requested(), pending[1:2], at(0), POLICY).call == SubmitTraining(("r2",), None)


def test_a_training_running_past_the_limit_times_out_and_stops_polling() -> None:
    state = replace(training(), due_at=at(3601))
    decision = next_step(state, waiting("r1"), at(3601), POLICY)
    (event,) = events(decision)
    assert event.event_type is EventType.TIMED_OUT
    assert not any(isinstance(c, PollTraining) for c in decision.effects)
    assert decision.state.phase is Phase.IDLE


def test_throttling_waits_exactly_retry_after_without_counting_an_attempt() -> None:
    state = requested()
    decision = on_submit_failed(state, Throttled("429", status=429, retry_after_seconds=17), ("r1",), LOCATION,
                                  at(0), POLICY)
    assert decision.state.due_at == at(17) and decision.state.attempts == 0 and nothing(decision)


def test_transient_errors_back_off_exponentially_with_jitter_then_give_up() -> None:
    state = requested()
    delays, now = [], 0.0
    for _ in range(POLICY.max_transient_attempts):
        decision = on_submit_failed(state, Transient("503", status=503), ("r1",), LOCATION, at(now), POLICY)
        state = decision.state
        delays.append((state.due_at - at(now)).total_seconds())
        now = (state.due_at - T0).total_seconds()
    assert all(0.5 * min(120, 2 * 2 ** n) <= d <= min(120, 2 * 2 ** n) for n, d in enumerate(delays, start=1))
    final = on_submit_failed(state, Transient("503", status=503), ("r1",), LOCATION, at(now), POLICY)
    (event,) = events(final)
    assert event.to_cloud_event()["data"]["errorMessage"].startswith("Gave up after 8 attempts")
    assert final.state.phase is Phase.IDLE


def test_jitter_is_deterministic_per_list_and_differs_between_lists() -> None:
    assert retry_delay(Container.large_face_list("a"), 3, POLICY) == retry_delay(Container.large_face_list("a"), 3, POLICY)
    assert len({retry_delay(Container.large_face_list(f"list-{n}"), 3, POLICY) for n in range(20)}) > 10


def test_auth_failures_are_retried_for_the_window_then_reported() -> None:
    state = requested()
    state = on_submit_failed(state, AuthFailed("403", status=403), ("r1",), LOCATION, at(0), POLICY).state
    state = on_submit_failed(state, AuthFailed("403", status=403), ("r1",), LOCATION, at(300), POLICY).state
    assert state.phase is Phase.WAITING and state.auth_failing_since == at(0)
    final = on_submit_failed(state, AuthFailed("Forbidden.", status=403, code="PermissionDenied"), ("r1",),
                               LOCATION, at(600), POLICY)
    data = events(final)[0].to_cloud_event()["data"]
    assert data["status"] == "unauthorized" and "Cognitive Services User" in data["errorMessage"]


@pytest.mark.parametrize("error, status", [
    (NotFound("no list", status=404, code="LargeFaceListNotFound"), "notFound"),
    (Rejected("quota", status=403, code="QuotaExceeded"), "rejected"),
    (ProtocolError("an operation-Location on another host"), "protocolError"),
])
def test_errors_that_retrying_cannot_fix_end_in_a_failure_event(error, status: str) -> None:
    decision = on_submit_failed(requested(), error, ("r1", "r2"), LOCATION, at(1), POLICY)
    (event,) = events(decision)
    data = event.to_cloud_event()["data"]
    assert (data["status"], data["requestIds"]) == (status, ["r1", "r2"])
    assert AnswerRequests(("r1", "r2")) in decision.effects
    assert decision.state.phase is Phase.IDLE


def test_a_training_started_elsewhere_is_adopted_and_our_requests_wait_for_the_next_one() -> None:
    decision = on_submit_failed(requested(), TrainingConflict("busy", status=409), ("r1",),
                                  LOCATION, at(0), POLICY)
    assert decision.state.phase is Phase.TRAINING and decision.state.run.adopted
    assert nothing(decision)
    done = on_polled(decision.state, "succeeded", None, waiting("r1"), at(5), POLICY)
    assert events(done) == []  # not our run: no event for it
    assert next_step(done.state, waiting("r1"), at(5), POLICY).call == SubmitTraining(("r1",))


def test_a_list_deleted_during_training_ends_the_run_with_not_found() -> None:
    decision = on_poll_failed(training(), NotFound("gone", status=404, code="LargeFaceListNotFound"),
                                waiting("r1"), at(4), POLICY)
    data = events(decision)[0].to_cloud_event()["data"]
    assert (data["status"], data["errorCode"]) == ("notFound", "LargeFaceListNotFound")


def test_an_unknown_status_is_retried_as_a_transient_fault_then_reported_as_a_protocol_error() -> None:
    state, now = training(), 2.0
    for attempt in range(1, POLICY.max_transient_attempts + 1):
        decision = on_polled(state, "exploded", None, (), at(now), POLICY)
        assert events(decision) == [] and decision.state.attempts == attempt
        assert decision.state.due_at > at(now)  # a backoff, not at once
        state, now = decision.state, (decision.state.due_at - T0).total_seconds()
    decision = on_polled(state, "exploded", None, (), at(now), POLICY)
    data = events(decision)[0].to_cloud_event()["data"]
    assert data["status"] == "protocolError" and "exploded" in data["errorMessage"]
    assert data["errorMessage"].startswith(f"Gave up after {POLICY.max_transient_attempts} attempts")
    assert decision.state.phase is Phase.IDLE


def test_junk_answers_for_half_a_minute_then_succeeded_is_a_success() -> None:
    """A gateway's glitch: an HTML page, JSON without a status, a status outside the contract, a 502, junk again.
    Before, the third junk answer ended the run with TrainingFailed (protocolError) for a training that
    succeeded."""
    state, now = training(), 2.0
    junk = [MalformedAnswer("an HTML page"), MalformedAnswer("JSON without a status"), None,
            Transient("502 Bad Gateway", status=502), MalformedAnswer("an HTML page")]
    for error in junk:
        decision = (on_polled(state, "exploded", None, (), at(now), POLICY) if error is None
                    else on_poll_failed(state, error, (), at(now), POLICY))
        assert events(decision) == [] and decision.state.phase is Phase.TRAINING
        state, now = decision.state, (decision.state.due_at - T0).total_seconds()
    assert state.attempts == len(junk) and now < 2.0 + 120  # the backoffs so far add up to under two minutes
    done = on_polled(state, "succeeded", None, (), at(now), POLICY)
    assert events(done)[0].event_type is EventType.SUCCEEDED and done.state.attempts == 0


def test_junk_answers_never_wait_past_the_training_s_deadline() -> None:
    deadline = POLICY.max_training_seconds
    decision = on_poll_failed(training(), MalformedAnswer("an HTML page"), (), at(deadline - 1), POLICY)
    assert events(decision) == [] and decision.state.due_at == at(deadline)
    timed_out = next_step(decision.state, (), at(deadline + 0.5), POLICY)
    assert [e.event_type for e in events(timed_out)] == [EventType.TIMED_OUT] and timed_out.call is None


def test_junk_and_other_transient_faults_share_one_count() -> None:
    state = training()
    faults = [Transient("503", status=503), MalformedAnswer("page")] * (POLICY.max_transient_attempts // 2)
    for error in faults:
        decision = on_poll_failed(state, error, (), at(2), POLICY)
        assert events(decision) == []
        state = decision.state
    assert state.attempts == POLICY.max_transient_attempts
    (event,) = events(on_poll_failed(state, MalformedAnswer("page"), (), at(2), POLICY))
    assert event.to_cloud_event()["data"]["status"] == "protocolError"


@pytest.mark.parametrize("retry_after", [POLICY.max_retry_wait_seconds + 1, 86400.0, 1e12])
def test_retry_after_is_capped_at_the_longest_wait(retry_after: float) -> None:
    throttled = Throttled("slow down", status=429, retry_after_seconds=retry_after)
    for decision in (on_submit_failed(requested(), throttled, ("r1",), LOCATION, at(0), POLICY),
                     on_poll_failed(training(), throttled, (), at(0), POLICY)):
        assert decision.state.due_at == at(POLICY.max_retry_wait_seconds)


def test_every_backoff_stops_at_the_longest_wait() -> None:
    policy = replace(POLICY, max_retry_wait_seconds=10, max_transient_attempts=50)
    assert max(retry_delay(CELEBS, attempt, policy) for attempt in range(1, 2000)) <= 10


def test_no_wait_runs_past_the_training_deadline() -> None:
    """Found by a hostile Face: a long Retry-After during a training parked the list past MAX_TRAINING_MINUTES,
    and the deadline was only checked when the list came due."""
    policy = replace(POLICY, max_training_seconds=60, max_retry_wait_seconds=3600)
    throttled = Throttled("slow down", status=429, retry_after_seconds=3600)
    parked = on_poll_failed(training(), throttled, (), at(50), policy)
    assert parked.state.due_at == at(60)
    timed_out = next_step(parked.state, (), at(60.5), policy)
    assert [e.event_type for e in events(timed_out)] == [EventType.TIMED_OUT]


def test_an_event_the_queue_refused_is_decided_again_after_a_backoff() -> None:
    state = replace(training(), due_at=at(5))
    retried = on_events_refused(state, at(5), POLICY).state
    assert retried.phase is Phase.TRAINING and retried.run == state.run and retried.attempts == 1
    assert at(5) < retried.due_at <= at(5 + POLICY.max_retry_wait_seconds)
    assert next_step(retried, (), retried.due_at, POLICY).call == PollTraining(LOCATION)


def test_an_event_refused_after_the_deadline_still_backs_off() -> None:
    late = replace(training(), attempts=6, due_at=at(POLICY.max_training_seconds + 10))
    retried = on_events_refused(late, at(POLICY.max_training_seconds + 10), POLICY).state
    assert retried.due_at > at(POLICY.max_training_seconds + 10)
    assert [e.event_type for e in events(next_step(retried, (), retried.due_at, POLICY))] == [EventType.TIMED_OUT]


def test_a_claim_holds_the_list_for_the_claim_time() -> None:
    assert claim(requested(), at(0), POLICY).due_at == at(POLICY.claim_seconds)
    assert nothing(next_step(claim(requested(), at(0), POLICY), waiting("r1"), at(1), POLICY))


def test_a_run_covers_only_as_many_requests_as_one_event_can_name() -> None:
    pending = tuple(f"request-{n:05d}-{'x' * 20}" for n in range(3000))
    submit = next_step(requested(), waiting(*pending), at(0), POLICY).call
    size = sum(len(r) + 3 for r in submit.request_ids)
    assert submit.request_ids == pending[:len(submit.request_ids)]
    assert size <= POLICY.max_request_id_bytes_per_run < size + len(pending[len(submit.request_ids)]) + 3


def test_the_remembered_duration_is_face_s_own_finish_time_when_plausible() -> None:
    face_says = on_polled(training(), "succeeded", None, (), at(85), POLICY, face_finished_at=at(60))
    assert face_says.state.last_duration_seconds == 60
    implausible = on_polled(training(), "succeeded", None, (), at(85), POLICY, face_finished_at=at(90))
    assert implausible.state.last_duration_seconds == 85
    before_submit = on_polled(training(submitted=10), "succeeded", None, (), at(85), POLICY,
                               face_finished_at=at(5))
    assert before_submit.state.last_duration_seconds == 75


def test_the_event_reports_faces_finish_time_so_a_repeat_after_a_crash_is_identical() -> None:
    """Found by the chaos harness: an event sent, then lost with its state by a crash, was decided again a minute
    later with a later finishedAt: the same id with other contents."""
    first = on_polled(training(), "succeeded", None, (), at(85), POLICY, face_finished_at=at(60))
    again = on_polled(training(), "succeeded", None, (), at(150), POLICY, face_finished_at=at(60))
    (event_1,) = events(first)
    (event_2,) = events(again)
    assert event_1.to_message() == event_2.to_message()
    assert event_1.to_cloud_event()["data"]["finishedAt"] == at(60).isoformat().replace("+00:00", "Z")


def test_a_step_that_leaves_the_list_idle_looks_for_requests_that_arrived_meanwhile() -> None:
    finished = on_polled(training(), "succeeded", None, waiting("r1"), at(7), POLICY)
    assert finished.state.phase is Phase.IDLE and finished.looks_for_late_requests
    still_busy = on_polled(training(), "running", None, (), at(2), POLICY)
    assert not still_busy.looks_for_late_requests
    woken = on_late_requests(finished.state, waiting("r7", not_before=20) + waiting("r8", not_before=25))
    assert (woken.phase, woken.due_at) == (Phase.WAITING, at(25))
    assert on_late_requests(finished.state, ()) == finished.state
    assert on_late_requests(training(), waiting("r7")) == training()  # a busy list meets them when it next decides


def test_every_answer_the_shell_can_give_is_decided() -> None:
    """The conversation is complete: each answer to each call gets a decision, never an exception."""
    answers = [Submitted(SubmitTraining(("r1",)), LOCATION),
               SubmitFailed(SubmitTraining(("r1",)), Transient("503"), LOCATION),
               SubmitFailed(SubmitTraining(("r1",)), TrainingConflict("busy"), LOCATION),
               SubmitFailed(SubmitTraining(("r1",)), NotFound("gone"), LOCATION)]
    for answer in answers:
        assert isinstance(on_answer(requested(), answer, waiting("r1"), at(1), POLICY), Decision)
    for answer in [Polled("running"), Polled("succeeded"), Polled("failed", "no faces"), Polled("exploded"),
                   PollFailed(Transient("503")), PollFailed(TrainingConflict("busy")), EventsRefused()]:
        assert isinstance(on_answer(training(), answer, waiting("r1"), at(3), POLICY), Decision)


def test_a_conflict_answering_a_poll_is_not_an_adoption_but_a_failure() -> None:
    decision = on_poll_failed(training(), TrainingConflict("busy", status=409, code="LargeFaceListTrainingNotFinished"),
                              waiting("r1"), at(3), POLICY)
    (event,) = events(decision)
    assert event.to_cloud_event()["data"]["status"] == "unavailable" and decision.state.run is None


def test_every_run_takes_the_next_number_whether_submitted_adopted_or_refused() -> None:
    refused = on_submit_failed(requested(), NotFound("gone"), ("r1",), LOCATION, at(0), POLICY)
    assert events(refused)[0].to_cloud_event()["data"]["runId"] == "celebs/run-1"
    adopted = on_submit_failed(on_request(refused.state, at(1)), TrainingConflict("busy"), ("r2",), LOCATION, at(1),
                               POLICY)
    assert adopted.state.run.run_id == "celebs/run-2"
    after = on_polled(adopted.state, "succeeded", None, waiting("r2"), at(4), POLICY)
    assert on_submitted(after.state, ("r2",), LOCATION, at(5), POLICY).state.run.run_id == "celebs/run-3"


def test_failures_are_counted_afresh_once_a_step_goes_through_or_is_given_up() -> None:
    retried = on_poll_failed(training(), Transient("503"), (), at(2), POLICY)
    assert retried.state.attempts == 1
    assert on_polled(retried.state, "running", None, (), at(5), POLICY).state.attempts == 0
    state, now = requested(), 0.0
    while state.phase is Phase.WAITING:
        state = on_submit_failed(state, AuthFailed("403", status=403), ("r1",), LOCATION, at(now), POLICY).state
        now += 120
    assert (state.phase, state.attempts, state.auth_failing_since) == (Phase.IDLE, 0, None)
    again = on_submit_failed(on_request(state, at(now)), AuthFailed("403", status=403), ("r2",), LOCATION, at(now),
                             POLICY)
    assert again.state.phase is Phase.WAITING and again.state.auth_failing_since == at(now)  # a new window


@pytest.mark.parametrize("deadline, claim", [(35, 70), (5, 60), (620, 1240)])
def test_a_claim_is_twice_the_longest_face_call_and_never_under_a_minute(deadline: float, claim: float) -> None:
    assert claim_seconds_for(deadline) == claim
