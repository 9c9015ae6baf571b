"""The trainings of one Face container (Large Face List, Large Person Group or Person Group), told top to bottom
as a conversation: pure decisions against an injected `now`.

Nothing here does I/O or reads a clock. The shell (worker.py) loads a `ContainerState` and the requests waiting for a
training, asks `next_step` what is due, makes the one Face call the decision names, hands Face's answer back to
`on_answer`, carries out the decision's effects in order, and stores its state with ETag concurrency, so any
instance can resume from the stored state after a crash. Each call has its own answers, and the shell answers
nothing else:

    SubmitTraining ─▶ Submitted | SubmitFailed
    PollTraining   ─▶ Polled | PollFailed
    (the effects)  ─▶ EventsRefused, when the events queue does not take an event

    idle ──request──▶ waiting ──due: submit──▶ training ──poll: succeeded/failed/timed out──▶ idle
                        ▲  │ throttled/transient/auth: retry later                 │
                        │  └─ not found / rejected / protocol / auth window over: failed event
                        └──────────── requests arrived meanwhile: one follow-up ────┘
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import assert_never

from .containers import Container
from .events import EventType, TrainingEvent, TrainingOutcome, terminal_event
from .face_errors import (AuthFailed, FaceApiError, MalformedAnswer, NotFound, ProtocolError, Rejected, Throttled,
                          TrainingConflict)
from .resource_speed import Estimate, ResourceSpeed
from .training_time import documented_range

# Every spelling the versions use: v1.0 `nonstarted` (enum) / `notstarted` (description), later `notStarted`.
RUNNING_STATUSES = frozenset({"notstarted", "nonstarted", "running"})
SUCCEEDED, FAILED = "succeeded", "failed"


class Phase(StrEnum):
    IDLE = "idle"
    WAITING = "waiting"    # requests are pending; submit at `due_at`
    TRAINING = "training"  # a training runs; poll at `due_at`


@dataclass(frozen=True)
class Run:
    """One training we submitted (or found running and adopted), and the requests it answers."""

    run_id: str
    operation_location: str
    submitted_at: datetime
    request_ids: tuple[str, ...]
    polls: int = 0
    adopted: bool = False
    size_hint: int | None = None  # faces or persons, as its newest request that said so
    # What times its polls, fixed when it started (`estimate`): a resource's speed learned meanwhile does not move
    # a schedule already running. None: the size hint's documented range, or no knowledge at all.
    estimate: Estimate | None = None


@dataclass(frozen=True)
class ContainerState:
    """One container's trainings: the continuation token the shell stores after every step."""

    container: Container
    phase: Phase = Phase.IDLE
    due_at: datetime | None = None
    run: Run | None = None
    attempts: int = 0  # consecutive retryable failures of the current step
    auth_failing_since: datetime | None = None
    last_duration_seconds: float | None = None
    last_size_hint: int | None = None  # the size hint of the run that took last_duration_seconds
    runs_started: int = 0


@dataclass(frozen=True)
class Policy:
    """How often to poll and how to retry; every number has its unit in its name."""

    api_version: str
    max_training_seconds: float
    auth_retry_seconds: float
    # Polling a container whose training time is unknown: the first poll after this, then each wait grows by
    # `poll_growth` (so a poll lands within that share of the elapsed time), up to `max_poll_interval_seconds`.
    first_poll_seconds: float = 2.0
    poll_growth: float = 1.5
    max_poll_interval_seconds: float = 300.0
    # With a previous duration D known: first poll at D (plus this margin), then every `known_poll_share` of D.
    known_duration_margin: float = 0.02
    known_poll_share: float = 0.1
    min_poll_interval_seconds: float = 1.0
    # The resource's own speed (resource_speed.py) times a hinted first training: its first poll when all but the
    # fastest `speed_quantile_z` spreads would be seen within `known_poll_share`, the next ones each that share of
    # the time so far later. It also tells when a container's last size hint was wrong (`predicted_duration`).
    speed_model: bool = True
    speed_quantile_z: float = 1.645
    # A training still running at this share of its container-history estimate had a wrong size hint somewhere
    # (a container grows by a few percent between trainings): from then on it is timed as without an estimate,
    # so that a hint ten times too small costs a few polls, not one every `known_poll_share` for ten times as long.
    exact_estimate_trusted_share: float = 3.0
    # Before calling Face, an instance claims the list for this long: no other instance acts on it meanwhile,
    # and if the claimant dies the list is picked up again when the claim runs out (`claim_seconds_for`).
    claim_seconds: float = 60.0
    # A run names its requests in one event, and a queue message holds 64 KiB: this many bytes of ids at most,
    # leaving 16 KiB for the rest, whose outside texts are bounded (events.py; the worst case is tested).
    max_request_id_bytes_per_run: int = 48 * 1024
    # No wait for a retry is longer than this, whatever Face's Retry-After says (MAX_RETRY_WAIT_SECONDS): a
    # `Retry-After: 86400` must not park a container for a day.
    max_retry_wait_seconds: float = 120.0
    # Transient faults: base * 2**attempt seconds with deterministic jitter, capped as above; retried this many
    # times, then given up. An answer that is not what the contract promises (a gateway's page instead of a
    # status) is one of them: a gateway's glitch is no more final than its 502.
    retry_base_seconds: float = 2.0
    max_transient_attempts: int = 8


def claim_seconds_for(face_call_deadline_seconds: float) -> float:
    """A claim that outlasts its step: the step's one Face call, cut at its deadline, takes at most half of it, and
    the other half is left to the step's storage calls. Never under a minute, which a dead claimant's container
    waits at most when calls are quick."""
    return max(60.0, 2 * face_call_deadline_seconds)


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for a training, and the earliest its training may be submitted (its settle window)."""

    request_id: str
    not_before: datetime
    size_hint: int | None = None


# The conversation. A decision names at most one Face call; the shell answers it with one of the call's answers.

@dataclass(frozen=True)
class SubmitTraining:
    request_ids: tuple[str, ...]
    size_hint: int | None = None


@dataclass(frozen=True)
class PollTraining:
    operation_location: str


FaceCall = SubmitTraining | PollTraining


@dataclass(frozen=True)
class Submitted:
    """Face accepted the training (202) and said where to follow it."""

    submit: SubmitTraining
    operation_location: str


@dataclass(frozen=True)
class SubmitFailed:
    """Face did not accept the training. `training_location` is the list's status URL, to follow a training that
    runs already (409)."""

    submit: SubmitTraining
    error: FaceApiError
    training_location: str


@dataclass(frozen=True)
class Polled:
    """Face's training status; `face_finished_at` is its lastActionDateTime."""

    status: str
    face_message: str | None = None
    face_finished_at: datetime | None = None


@dataclass(frozen=True)
class PollFailed:
    error: FaceApiError


@dataclass(frozen=True)
class EventsRefused:
    """The events queue did not take the event of the decision taken on the step's state."""


SubmitAnswer = Submitted | SubmitFailed
PollAnswer = Polled | PollFailed
Answer = SubmitAnswer | PollAnswer | EventsRefused


@dataclass(frozen=True)
class Emit:
    event: TrainingEvent


@dataclass(frozen=True)
class AnswerRequests:
    """The requests a finished run answered: mark them answered, after the event that names them was sent. They
    are kept as answered for a day, so that the same request id sent again is not trained again."""

    request_ids: tuple[str, ...]


@dataclass(frozen=True)
class Learned:
    """A finished training of known size, and Face's own account of how long it took: what the resource's speed
    model learns from."""

    entries: int
    duration_seconds: float


Effect = Emit | AnswerRequests | Learned


@dataclass(frozen=True)
class Decision:
    """The state to store, the Face call to make first (if any), and the effects to carry out before storing."""

    state: ContainerState
    call: FaceCall | None = None
    effects: tuple[Effect, ...] = ()

    @property
    def looks_for_late_requests(self) -> bool:
        """A request recorded while this step ran found the list busy and left it to the step. A step that leaves
        the list idle looks for such requests once its state is stored (`on_late_requests`), or they would wait
        for a request that may never come."""
        return self.state.phase is Phase.IDLE


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as its terminal event reports it: success, Face's own failure, a time-out, or the end of
    retrying (`gave_up`)."""

    event_type: EventType
    status: str
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def gave_up(cls, error: FaceApiError, message: str) -> RunEnd:
        return cls(EventType.FAILED, _failure_status(error), error.code or type(error).__name__, message)


SUCCESS = RunEnd(EventType.SUCCEEDED, SUCCEEDED)


# One training's life, in the order it happens.

def on_request(state: ContainerState, not_before: datetime) -> ContainerState:
    """A request was recorded. Only an idle list changes: a busy one meets the request in the waiting records
    when it next decides, so intake never contends with the instance that holds the list."""
    if state.phase is not Phase.IDLE:
        return state
    return replace(state, phase=Phase.WAITING, due_at=not_before)


def is_due(state: ContainerState, now: datetime) -> bool:
    """Whether `next_step` has something to do. A claimed list is not due until its claim runs out, even past
    its training's deadline: the claimant is acting on it, and only one instance may decide a run's end. No
    schedule runs past the deadline (`_due_in`), so the deadline is checked when it comes."""
    return state.due_at is not None and state.due_at <= now


def claim(state: ContainerState, now: datetime, policy: Policy) -> ContainerState:
    """The state to store before calling Face, so that nobody else acts on the list until the claim runs out."""
    return replace(state, due_at=now + timedelta(seconds=policy.claim_seconds))


def next_step(state: ContainerState, waiting: tuple[PendingRequest, ...], now: datetime, policy: Policy) -> Decision:
    """What is due now: submit, poll, give up on a training that ran too long, or nothing. The deadline is checked
    first, whatever was due."""
    if not is_due(state, now):
        return Decision(state)
    if state.phase is Phase.WAITING and waiting:
        ready_at = settled_at(waiting)
        if ready_at > now:  # a request arrived since: its settle window starts again
            return Decision(replace(state, due_at=ready_at))
        chosen = requests_for_one_run(tuple(r.request_id for r in waiting), policy)
        return Decision(state, SubmitTraining(chosen, _size_hint(waiting, chosen)))
    if state.phase is Phase.TRAINING and training_deadline(state, policy) >= now:
        return Decision(state, PollTraining(state.run.operation_location))
    # The step ends without a call: a training past its deadline, nothing left to submit, or nothing at all.
    ended = _without_failures(state)
    if state.phase is Phase.TRAINING:
        timed_out = RunEnd(EventType.TIMED_OUT, "timedOut", "TrainingTimedOut",
                           f"Training did not finish within {policy.max_training_seconds / 60:g} minutes.")
        return _finish(ended, timed_out, waiting, now, policy)
    return Decision(replace(ended, phase=Phase.IDLE, due_at=None))


def on_answer(state: ContainerState, answer: Answer, waiting: tuple[PendingRequest, ...], now: datetime,
              policy: Policy, speed: ResourceSpeed = ResourceSpeed(), budget_spent: bool = False) -> Decision:
    """The decision on the answer to what `next_step` decided on `state`: its Face call, or its effects. `speed` is
    what the resource's finished trainings taught, which times the polls; `budget_spent` says that the Face budget
    held calls back when this step was granted its call."""
    if isinstance(answer, EventsRefused):
        return _events_refused(state, now, policy)
    answer = _within_contract(answer)
    given_up = None
    if _is_failure(answer):
        retry = _retry_or_give_up(state, answer.error, now, policy)
        if isinstance(retry, Decision):
            return retry
        given_up = retry
    # The step is over, gone through or given up: the next one counts its failures afresh.
    state = _without_failures(state)
    match answer:
        case Submitted(submit, operation_location):
            started = _timed(_next_run(state, operation_location, now, submit.request_ids,
                                       size_hint=submit.size_hint), policy, speed, budget_spent)
            return _due_in(started, now, first_poll_delay(started, policy), policy)
        case SubmitFailed(error=TrainingConflict(), training_location=location):
            # A training started elsewhere runs: follow it, and keep our requests for one training after it,
            # since it began before their faces arrived.
            adopted = _timed(_next_run(state, location, now, (), adopted=True), policy, speed, budget_spent)
            return _due_in(adopted, now, policy.first_poll_seconds, policy)
        case SubmitFailed(submit):
            return _refused_at_submit(state, submit.request_ids, given_up, now, policy)
        case Polled(status) if status.lower() in RUNNING_STATUSES:
            polled = replace(state, run=replace(state.run, polls=state.run.polls + 1))
            return _due_in(polled, now, next_poll_delay(polled, now, policy), policy)
        case Polled(status, _, face_finished_at) if status.lower() == SUCCEEDED:
            return _finish(state, SUCCESS, waiting, now, policy, face_finished_at)
        case Polled(_, face_message, face_finished_at):
            failed = RunEnd(EventType.FAILED, FAILED, "TrainingFailed", face_message or "Training failed.")
            return _finish(state, failed, waiting, now, policy, face_finished_at)
        case PollFailed():
            return _finish(state, given_up, waiting, now, policy)
        case _:
            assert_never(answer)


def on_late_requests(state: ContainerState, late: tuple[PendingRequest, ...]) -> ContainerState:
    """The state once the requests found after a step left the list idle are seen (`looks_for_late_requests`)."""
    return on_request(state, settled_at(late)) if late else state


# The pieces of that life.

def _within_contract(answer: SubmitAnswer | PollAnswer) -> SubmitAnswer | PollAnswer:
    """A status the contract does not list is no status: a malformed answer, retried as such."""
    if isinstance(answer, Polled) and answer.status.lower() not in {*RUNNING_STATUSES, SUCCEEDED, FAILED}:
        return PollFailed(MalformedAnswer(
            f"The training status {answer.status!r} is none of notStarted, running, succeeded, failed."))
    return answer


def _is_failure(answer: SubmitAnswer | PollAnswer) -> bool:
    """A failed call, to retry or give up on; a 409 at submit is no failure: the running training is adopted."""
    if isinstance(answer, SubmitFailed):
        return not isinstance(answer.error, TrainingConflict)
    return isinstance(answer, PollFailed)


def settled_at(waiting: tuple[PendingRequest, ...]) -> datetime:
    """When no request has arrived for its settle window: the latest of their earliest submit times."""
    return max(r.not_before for r in waiting)


def requests_for_one_run(pending_request_ids: tuple[str, ...], policy: Policy) -> tuple[str, ...]:
    """Oldest first, as many as one event can name; the rest wait for the next run."""
    chosen, size = [], 0
    for request_id in pending_request_ids:
        size += len(request_id) + 3  # quotes and comma in the event's JSON
        if chosen and size > policy.max_request_id_bytes_per_run:
            break
        chosen.append(request_id)
    return tuple(chosen)


def training_deadline(state: ContainerState, policy: Policy) -> datetime | None:
    """When the running training counts as lost (MAX_TRAINING_MINUTES after it was submitted)."""
    if state.phase is not Phase.TRAINING or state.run is None:
        return None
    return state.run.submitted_at + timedelta(seconds=policy.max_training_seconds)


def _next_run(state: ContainerState, operation_location: str, now: datetime, request_ids: tuple[str, ...],
              adopted: bool = False, size_hint: int | None = None) -> ContainerState:
    """The list training its next run. Every run (submitted, adopted or refused at submit) takes the next number,
    so that the events of two runs never share an id."""
    run_id, runs_started = _next_run_id(state)
    return replace(state, phase=Phase.TRAINING, run=Run(run_id, operation_location, now, request_ids,
                                                        adopted=adopted, size_hint=size_hint),
                   runs_started=runs_started)


def _size_hint(waiting: tuple[PendingRequest, ...], chosen: tuple[str, ...]) -> int | None:
    """The newest size a chosen request gave (waiting is oldest first): the container as the uploads left it."""
    in_run = set(chosen)  # a run names up to 48 KiB of request ids
    hints = [r.size_hint for r in waiting if r.request_id in in_run and r.size_hint is not None]
    return hints[-1] if hints else None


def _next_run_id(state: ContainerState) -> tuple[str, int]:
    number = state.runs_started + 1
    return f"{state.container.key}/run-{number}", number


def _refused_at_submit(state: ContainerState, request_ids: tuple[str, ...], given_up: RunEnd, now: datetime,
                       policy: Policy) -> Decision:
    """A training Face would not start: a run of its own, which fails at once and answers its requests."""
    run_id, runs_started = _next_run_id(state)
    outcome = TrainingOutcome(run_id=run_id, container=state.container, api_version=policy.api_version,
                              operation_location=None, status=given_up.status, request_ids=request_ids,
                              submitted_at=None, finished_at=now, error_code=given_up.error_code,
                              error_message=given_up.error_message)
    idle = replace(state, phase=Phase.IDLE, due_at=None, run=None, runs_started=runs_started)
    return Decision(idle, effects=(Emit(terminal_event(given_up.event_type, outcome)), AnswerRequests(request_ids)))


def _finish(state: ContainerState, end: RunEnd, waiting: tuple[PendingRequest, ...], now: datetime, policy: Policy,
            face_finished_at: datetime | None = None) -> Decision:
    """The run is over: its event (unless it was adopted), its requests answered, and a follow-up for the requests
    that arrived meanwhile."""
    run = state.run
    # Face's own finish time if it is plausible (clocks differ): between our submission and our observation. It is
    # what the event reports, so an event repeated after a crash, decided again later, says the same thing.
    finished = face_finished_at if face_finished_at and run.submitted_at <= face_finished_at <= now else now
    effects: tuple[Effect, ...] = ()
    if not run.adopted:
        outcome = TrainingOutcome(run.run_id, state.container, policy.api_version, run.operation_location, end.status,
                                  run.request_ids, run.submitted_at, finished, end.error_code, end.error_message)
        effects = (Emit(terminal_event(end.event_type, outcome)), AnswerRequests(run.request_ids))
    if end.event_type is EventType.SUCCEEDED:
        duration_seconds = (finished - run.submitted_at).total_seconds()
        if run.size_hint is not None and finished == face_finished_at and not run.adopted:
            # Only Face's own finish: ours would teach the resource our detection delay as its speed.
            effects += (Learned(run.size_hint, duration_seconds),)
        state = replace(state, last_duration_seconds=duration_seconds, last_size_hint=run.size_hint)
    covered = set(run.request_ids)
    follow_up = tuple(r for r in waiting if r.request_id not in covered)
    if follow_up:
        return Decision(replace(state, run=None, phase=Phase.WAITING, due_at=max(now, settled_at(follow_up))),
                        effects=effects)
    return Decision(replace(state, run=None, phase=Phase.IDLE, due_at=None), effects=effects)


def _events_refused(state: ContainerState, now: datetime, policy: Policy) -> Decision:
    """Store the step's state as it was, so that the step (and its event, with the same id) is decided again after
    a backoff. The list is not wedged: other lists go on, and a training's deadline still applies. Never given
    up, since giving up could only be reported by an event."""
    attempts = state.attempts + 1
    retrying = replace(state, attempts=attempts)
    delay = retry_delay(state.container, attempts, policy)
    deadline = training_deadline(state, policy)
    if deadline is not None and deadline <= now:  # the event that failed may be the time-out itself: back off
        return Decision(replace(retrying, due_at=now + timedelta(seconds=delay)))
    return _due_in(retrying, now, delay, policy)


def _retry_or_give_up(state: ContainerState, error: FaceApiError, now: datetime, policy: Policy) -> Decision | RunEnd:
    """The same step again later, or the end of retrying."""
    if not error.retryable:
        return RunEnd.gave_up(error, error.message)
    attempts = state.attempts + 1
    if isinstance(error, AuthFailed):
        since = state.auth_failing_since or now
        if (now - since).total_seconds() >= policy.auth_retry_seconds:
            return RunEnd.gave_up(error, f"{error.message} Still refused after {policy.auth_retry_seconds / 60:g} "
                                         "minutes: check that the app's identity holds a Face role (Cognitive "
                                         "Services User) on the Face resource, or that FACE_API_KEY is right.")
        delay = retry_delay(state.container, min(attempts, 5), policy)
        return _due_in(replace(state, attempts=attempts, auth_failing_since=since), now, delay, policy)
    if isinstance(error, Throttled) and error.retry_after_seconds is not None:
        # The service said when; waiting for it does not count as a failed attempt. Its word is capped: a
        # `Retry-After: 86400` from a misconfigured gateway must not park the list for a day.
        wait = min(max(error.retry_after_seconds, 0.0), policy.max_retry_wait_seconds)
        return _due_in(state, now, wait, policy)
    if attempts > policy.max_transient_attempts:
        return RunEnd.gave_up(error, f"Gave up after {policy.max_transient_attempts} attempts: {error.message}")
    return _due_in(replace(state, attempts=attempts), now, retry_delay(state.container, attempts, policy), policy)


def _without_failures(state: ContainerState) -> ContainerState:
    return replace(state, attempts=0, auth_failing_since=None)


def _failure_status(error: FaceApiError) -> str:
    """The `status` a failure event reports for an error the core gave up on."""
    if isinstance(error, NotFound):
        return "notFound"
    if isinstance(error, AuthFailed):
        return "unauthorized"
    if isinstance(error, Rejected):
        return "rejected"
    if isinstance(error, ProtocolError):
        return "protocolError"
    return "unavailable"


# Timing.

def predicted_duration(state: ContainerState, speed: ResourceSpeed) -> float | None:
    """What the container's own last duration predicts for its run: that duration, grown as Face's documented
    times grow from that run's size to this one's when both runs said their size; None without a last duration.
    Not grown when the resource's speed says the last run's size was wrong (it took far longer or shorter than
    the resource takes for that size): a wrong ratio of sizes would mistime this run by as much as that hint was
    off, where the last duration alone is off only by the container's growth."""
    last = state.last_duration_seconds
    if last is None:
        return None
    hint = state.run.size_hint if state.run is not None else None
    if hint is None or state.last_size_hint is None or not speed.fits(state.last_size_hint, last):
        return last
    return last * documented_range(hint)[0] / documented_range(state.last_size_hint)[0]


def estimate(state: ContainerState, policy: Policy, speed: ResourceSpeed) -> Estimate | None:
    """What times a run just started: its container's history, exactly as before the model (its last training
    predicts the next far better than the resource's speed can); else, for a size hint, the resource's speed once
    it knows enough; else None."""
    learned = _learned(policy, speed)
    predicted = predicted_duration(state, learned)
    if predicted is not None:
        return Estimate(predicted, 0.0)
    if state.run.size_hint is not None:
        return learned.expected(state.run.size_hint)
    return None


def _learned(policy: Policy, speed: ResourceSpeed) -> ResourceSpeed:
    return speed if policy.speed_model else ResourceSpeed()


def _timed(state: ContainerState, policy: Policy, speed: ResourceSpeed, budget_spent: bool) -> ContainerState:
    """The run with its estimate. While the Face budget holds calls back, a poll spent before the expected duration
    is a call another container's training waits for: the run is then aimed at its expected duration (as a
    container's history is), not at its fast end."""
    expected = estimate(state, policy, speed)
    if expected is not None and budget_spent:
        expected = Estimate(expected.seconds, 0.0)
    return replace(state, run=replace(state.run, estimate=expected))


def first_poll_delay(state: ContainerState, policy: Policy) -> float:
    """With an estimate, its expected duration, or earlier by as much as its spread asks for the finish to be seen
    within `known_poll_share` at the `speed_quantile_z` fast end; else a size hint's documented short end, which no
    training of that size beats (so the poll is never late for a right hint); else `first_poll_seconds`."""
    expected = state.run.estimate
    if expected is not None:
        return max(policy.min_poll_interval_seconds, _first_poll_at(expected, policy))
    if state.run.size_hint is not None:
        short_end, _ = documented_range(state.run.size_hint)
        return max(policy.min_poll_interval_seconds, short_end)
    return policy.first_poll_seconds


def next_poll_delay(state: ContainerState, now: datetime, policy: Policy) -> float:
    """Still running: poll again soon enough that the finish is seen within a small share of the training. With an
    exact estimate, each `known_poll_share` of it, until `exact_estimate_trusted_share` of it; with a spread, each
    that share of the time so far, up to the estimate's slow end; with only a size hint, at the documented long
    end. Past any of them (the estimate or the hint was wrong), as without one."""
    elapsed = (now - state.run.submitted_at).total_seconds()
    expected = state.run.estimate
    if expected is not None and expected.log_spread == 0:
        if elapsed < expected.seconds * policy.exact_estimate_trusted_share:
            # Each share of the time so far, not of the estimate: as soon seen past the estimate (elapsed > it),
            # and an estimate far too short costs polls in the log of how far, not in proportion.
            return _interval(max(expected.seconds, elapsed) * policy.known_poll_share, policy)
    elif expected is not None:
        slow_end = expected.quantile(policy.speed_quantile_z) * (1 + policy.known_poll_share)
        if elapsed < slow_end:
            return _interval(elapsed * policy.known_poll_share, policy)
    elif state.run.size_hint is not None:
        _, long_end = documented_range(state.run.size_hint)
        until_long_end = long_end * (1 + policy.known_duration_margin) - elapsed
        if until_long_end > 0:
            return max(policy.min_poll_interval_seconds, until_long_end)
    return _interval(elapsed * (policy.poll_growth - 1), policy)


def _first_poll_at(expected: Estimate, policy: Policy) -> float:
    early = expected.quantile(-policy.speed_quantile_z) * (1 + policy.known_poll_share)
    return min(expected.seconds * (1 + policy.known_duration_margin), early)


def _interval(seconds: float, policy: Policy) -> float:
    return min(policy.max_poll_interval_seconds, max(policy.min_poll_interval_seconds, seconds))


def retry_delay(container: Container, attempt: int, policy: Policy) -> float:
    """Exponential backoff with jitter in [50%, 100%], derived from the list and attempt so it is deterministic
    yet spreads lists that failed together."""
    ceiling = min(policy.max_retry_wait_seconds, policy.retry_base_seconds * 2 ** min(attempt, 32))
    digest = hashlib.sha256(f"{container.key}:{attempt}".encode()).digest()
    return ceiling * (0.5 + digest[0] / 510)


def _due_in(state: ContainerState, now: datetime, delay_seconds: float, policy: Policy) -> Decision:
    """Due after `delay_seconds`, but never past the training's deadline, so that a container is looked at when its
    training must be given up, whatever the wait was."""
    due_at = now + timedelta(seconds=delay_seconds)
    deadline = training_deadline(state, policy)
    if deadline is not None and due_at > deadline:
        due_at = max(now, deadline)
    return Decision(replace(state, due_at=due_at))
