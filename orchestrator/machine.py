"""The training state machine of one Large Face List: pure decisions against an injected `now`.

Nothing here does I/O or reads a clock. The shell loads a `ListState` (and the ids of the requests waiting for
a training), asks what to do, carries the returned commands out, and stores the returned state with ETag
concurrency, so any instance can resume from the stored state after a crash.

    idle ──request──▶ waiting ──due: submit──▶ training ──poll: succeeded/failed/timed out──▶ idle
                        ▲  │ throttled/transient/auth: retry later                 │
                        │  └─ not found / rejected / protocol / auth window over: failed event
                        └──────────── requests arrived meanwhile: one follow-up ────┘
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .events import EventType, TrainingEvent, TrainingOutcome, terminal_event
from .face_errors import (AuthFailed, FaceApiError, MalformedAnswer, NotFound, ProtocolError, Rejected, Throttled,
                          TrainingConflict)

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


@dataclass(frozen=True)
class ListState:
    list_id: str
    phase: Phase = Phase.IDLE
    due_at: datetime | None = None
    run: Run | None = None
    attempts: int = 0  # consecutive retryable failures of the current step
    malformed_answers: int = 0  # of those, answers that broke the contract (they have a budget of their own)
    auth_failing_since: datetime | None = None
    last_duration_seconds: float | None = None
    runs_started: int = 0


@dataclass(frozen=True)
class Policy:
    """How often to poll and how to retry; every number has its unit in its name."""

    api_version: str
    max_training_seconds: float
    auth_retry_seconds: float
    # Polling a list whose training time is unknown: the first poll after this, then each wait grows by
    # `poll_growth` (so a poll lands within that share of the elapsed time), up to `max_poll_interval_seconds`.
    first_poll_seconds: float = 2.0
    poll_growth: float = 1.5
    max_poll_interval_seconds: float = 300.0
    # With a previous duration D known: first poll at D (plus this margin), then every `known_poll_share` of D.
    known_duration_margin: float = 0.02
    known_poll_share: float = 0.1
    min_poll_interval_seconds: float = 1.0
    # Before calling Face, an instance claims the list for this long: no other instance acts on it meanwhile,
    # and if the claimant dies the list is picked up again when the claim runs out.
    claim_seconds: float = 60.0
    # A run names its requests in one event, and a queue message holds 64 KiB: this many bytes of ids at most,
    # leaving 16 KiB for the rest, whose outside texts are bounded (events.py; the worst case is tested).
    max_request_id_bytes_per_run: int = 48 * 1024
    # No wait for a retry is longer than this, whatever Face's Retry-After says (MAX_RETRY_WAIT_SECONDS): a
    # `Retry-After: 86400` must not park a list for a day.
    max_retry_wait_seconds: float = 120.0
    # Transient faults: base * 2**attempt seconds with deterministic jitter, capped as above; retried this many
    # times, then given up.
    retry_base_seconds: float = 2.0
    max_transient_attempts: int = 8
    # An answer that is not what the contract promises (a gateway's page instead of a status) is usually one bad
    # hop: retried this many times (three answers in all), then the run fails as a protocol error.
    max_malformed_attempts: int = 2


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for a training, and the earliest its training may be submitted (its settle window)."""

    request_id: str
    not_before: datetime


# Commands: what the shell must do now, in this order.

@dataclass(frozen=True)
class SubmitTraining:
    request_ids: tuple[str, ...]


@dataclass(frozen=True)
class PollTraining:
    operation_location: str


@dataclass(frozen=True)
class Emit:
    event: TrainingEvent


@dataclass(frozen=True)
class AnswerRequests:
    """The requests a finished run answered: mark them answered, after the event that names them was sent. They
    are kept as answered for a day, so that the same request id sent again is not trained again."""

    request_ids: tuple[str, ...]


Command = SubmitTraining | PollTraining | Emit | AnswerRequests


@dataclass(frozen=True)
class Decision:
    state: ListState
    commands: tuple[Command, ...] = field(default_factory=tuple)


def on_request(state: ListState, not_before: datetime) -> ListState:
    """A request was recorded. Only an idle list changes: a busy one meets the request in the waiting records
    when it next decides, so intake never contends with the instance that holds the list."""
    if state.phase is not Phase.IDLE:
        return state
    return replace(_without_failures(state), phase=Phase.WAITING, due_at=not_before)


def training_deadline(state: ListState, policy: Policy) -> datetime | None:
    """When the running training counts as lost (MAX_TRAINING_MINUTES after it was submitted)."""
    if state.phase is not Phase.TRAINING or state.run is None:
        return None
    return state.run.submitted_at + timedelta(seconds=policy.max_training_seconds)


def is_due(state: ListState, now: datetime) -> bool:
    """Whether `next_step` has something to do. A claimed list is not due until its claim runs out, even past
    its training's deadline: the claimant is acting on it, and only one instance may decide a run's end. No
    schedule runs past the deadline (`replace_due`), so the deadline is checked when it comes."""
    return state.due_at is not None and state.due_at <= now


def next_step(state: ListState, waiting: tuple[PendingRequest, ...], now: datetime, policy: Policy) -> Decision:
    """What is due now: submit, poll, give up on a training that ran too long, or nothing. The deadline is checked
    first, whatever was due."""
    if not is_due(state, now):
        return Decision(state)
    if state.phase is Phase.WAITING:
        if not waiting:
            return Decision(replace(_without_failures(state), phase=Phase.IDLE, due_at=None))
        ready_at = settled_at(waiting)
        if ready_at > now:  # a request arrived since: its settle window starts again
            return Decision(replace(state, due_at=ready_at))
        return Decision(state, (SubmitTraining(requests_for_one_run(tuple(r.request_id for r in waiting), policy)),))
    if state.phase is Phase.TRAINING:
        run = state.run
        if training_deadline(state, policy) < now:
            message = f"Training did not finish within {policy.max_training_seconds / 60:g} minutes."
            return _finish(state, EventType.TIMED_OUT, "timedOut", waiting, now, policy,
                           error_code="TrainingTimedOut", error_message=message)
        return Decision(state, (PollTraining(run.operation_location),))
    return Decision(replace(state, due_at=None))


def settled_at(waiting: tuple[PendingRequest, ...]) -> datetime:
    """When no request has arrived for its settle window: the latest of their earliest submit times."""
    return max(r.not_before for r in waiting)


def claim(state: ListState, now: datetime, policy: Policy) -> ListState:
    """The state to store before calling Face, so that nobody else acts on the list until the claim runs out."""
    return replace(state, due_at=now + timedelta(seconds=policy.claim_seconds))


def requests_for_one_run(pending_request_ids: tuple[str, ...], policy: Policy) -> tuple[str, ...]:
    """Oldest first, as many as one event can name; the rest wait for the next run."""
    chosen, size = [], 0
    for request_id in pending_request_ids:
        size += len(request_id) + 3  # quotes and comma in the event's JSON
        if chosen and size > policy.max_request_id_bytes_per_run:
            break
        chosen.append(request_id)
    return tuple(chosen)


def after_submit(state: ListState, request_ids: tuple[str, ...], operation_location: str, now: datetime,
                 policy: Policy) -> Decision:
    """The service accepted a training (202): poll it, never wait for it."""
    run_number = state.runs_started + 1
    run = Run(f"{state.list_id}/run-{run_number}", operation_location, now, request_ids)
    training = replace(_without_failures(state), phase=Phase.TRAINING, run=run, runs_started=run_number)
    return replace_due(training, now, first_poll_delay(state, policy), policy)


def after_submit_error(state: ListState, error: FaceApiError, request_ids: tuple[str, ...],
                       training_location: str, now: datetime, policy: Policy) -> Decision:
    if isinstance(error, TrainingConflict):
        # A training started elsewhere runs: follow it, and keep our requests for one training after it,
        # since it began before their faces arrived.
        run_number = state.runs_started + 1
        adopted = Run(f"{state.list_id}/run-{run_number}", training_location, now, (), adopted=True)
        return replace_due(replace(_without_failures(state), phase=Phase.TRAINING, run=adopted,
                                   runs_started=run_number), now, policy.first_poll_seconds, policy)
    retry = _retry(state, error, now, policy)
    if isinstance(retry, Decision):
        return retry
    outcome = TrainingOutcome(
        run_id=f"{state.list_id}/run-{state.runs_started + 1}", list_id=state.list_id,
        api_version=policy.api_version, operation_location=None, status=failure_status(error),
        request_ids=request_ids, submitted_at=None, finished_at=now, error_code=error.code or type(error).__name__,
        error_message=retry,
    )
    idle = replace(_without_failures(state), phase=Phase.IDLE, due_at=None, run=None,
                   runs_started=state.runs_started + 1)
    return Decision(idle, (Emit(terminal_event(EventType.FAILED, outcome)), AnswerRequests(request_ids)))


def after_poll(state: ListState, status: str, face_message: str | None, waiting: tuple[PendingRequest, ...],
               now: datetime, policy: Policy, face_finished_at: datetime | None = None) -> Decision:
    """`face_finished_at` is the status's lastActionDateTime: when Face says the training ended, which is what the
    list's next training is timed by (our own observation comes up to one poll later)."""
    run = state.run
    normalized = status.lower()
    if normalized in RUNNING_STATUSES:
        polled = replace(_without_failures(state), run=replace(run, polls=run.polls + 1))
        return replace_due(polled, now, next_poll_delay(polled, now, policy), policy)
    if normalized == SUCCEEDED:
        return _finish(state, EventType.SUCCEEDED, SUCCEEDED, waiting, now, policy,
                       face_finished_at=face_finished_at)
    if normalized == FAILED:
        return _finish(state, EventType.FAILED, FAILED, waiting, now, policy,
                       error_code="TrainingFailed", error_message=face_message or "Training failed.",
                       face_finished_at=face_finished_at)
    return after_poll_error(state, _unknown_status(status), waiting, now, policy)


def after_poll_error(state: ListState, error: FaceApiError, waiting: tuple[PendingRequest, ...], now: datetime,
                     policy: Policy) -> Decision:
    retry = _retry(state, error, now, policy)
    if isinstance(retry, Decision):
        return retry
    return _finish(state, EventType.FAILED, failure_status(error), waiting, now, policy,
                   error_code=error.code or type(error).__name__, error_message=retry)


def first_poll_delay(state: ListState, policy: Policy) -> float:
    if state.last_duration_seconds is not None:
        expected = state.last_duration_seconds * (1 + policy.known_duration_margin)
        return max(policy.min_poll_interval_seconds, expected)
    return policy.first_poll_seconds


def next_poll_delay(state: ListState, now: datetime, policy: Policy) -> float:
    """Still running: poll again soon enough that the finish is seen within a small share of the training."""
    if state.last_duration_seconds is not None:
        interval = state.last_duration_seconds * policy.known_poll_share
    else:
        elapsed = (now - state.run.submitted_at).total_seconds()
        interval = elapsed * (policy.poll_growth - 1)
    return min(policy.max_poll_interval_seconds, max(policy.min_poll_interval_seconds, interval))


def after_event_not_sent(state: ListState, now: datetime, policy: Policy) -> Decision:
    """The events queue refused the event of a decision taken on `state`: store `state` as it was, so that the
    step (and its event, with the same id) is decided again after a backoff. The list is not wedged: other lists
    go on, and a training's deadline still applies. Never given up, since giving up could only be reported by
    an event."""
    attempts = state.attempts + 1
    retrying = replace(state, attempts=attempts)
    delay = retry_delay(state.list_id, attempts, policy)
    deadline = training_deadline(state, policy)
    if deadline is not None and deadline <= now:  # the event that failed may be the time-out itself: back off
        return Decision(replace(retrying, due_at=now + timedelta(seconds=delay)))
    return replace_due(retrying, now, delay, policy)


def retry_delay(list_id: str, attempt: int, policy: Policy) -> float:
    """Exponential backoff with jitter in [50%, 100%], derived from the list and attempt so it is deterministic
    yet spreads lists that failed together."""
    ceiling = min(policy.max_retry_wait_seconds, policy.retry_base_seconds * 2 ** min(attempt, 32))
    digest = hashlib.sha256(f"{list_id}:{attempt}".encode()).digest()
    return ceiling * (0.5 + digest[0] / 510)


def _retry(state: ListState, error: FaceApiError, now: datetime, policy: Policy) -> Decision | str:
    """A decision to try again later, or (giving up) the message the failure event should carry."""
    if not error.retryable:
        return error.message
    attempts = state.attempts + 1
    if isinstance(error, AuthFailed):
        since = state.auth_failing_since or now
        if (now - since).total_seconds() >= policy.auth_retry_seconds:
            return (f"{error.message} Still refused after {policy.auth_retry_seconds / 60:g} minutes: check that "
                    "the app's identity holds a Face role (Cognitive Services User) on the Face resource, or that "
                    "FACE_API_KEY is right.")
        delay = retry_delay(state.list_id, min(attempts, 5), policy)
        return replace_due(replace(state, attempts=attempts, auth_failing_since=since), now, delay, policy)
    if isinstance(error, Throttled) and error.retry_after_seconds is not None:
        # The service said when; waiting for it does not count as a failed attempt. Its word is capped: a
        # `Retry-After: 86400` from a misconfigured gateway must not park the list for a day.
        wait = min(max(error.retry_after_seconds, 0.0), policy.max_retry_wait_seconds)
        return replace_due(state, now, wait, policy)
    if isinstance(error, MalformedAnswer):
        malformed = state.malformed_answers + 1
        if malformed > policy.max_malformed_attempts:
            return f"Gave up after {malformed} answers outside the contract: {error.message}"
        retrying = replace(state, attempts=attempts, malformed_answers=malformed)
    elif attempts > policy.max_transient_attempts:
        return f"Gave up after {policy.max_transient_attempts} attempts: {error.message}"
    else:
        retrying = replace(state, attempts=attempts)
    return replace_due(retrying, now, retry_delay(state.list_id, attempts, policy), policy)


def _without_failures(state: ListState) -> ListState:
    """The step went through (or a new one begins): the counts of failures in a row start again."""
    return replace(state, attempts=0, malformed_answers=0, auth_failing_since=None)


def replace_due(state: ListState, now: datetime, delay_seconds: float, policy: Policy) -> Decision:
    """Due after `delay_seconds`, but never past the training's deadline, so that a list is looked at when its
    training must be given up, whatever the wait was."""
    due_at = now + timedelta(seconds=delay_seconds)
    deadline = training_deadline(state, policy)
    if deadline is not None and due_at > deadline:
        due_at = max(now, deadline)
    return Decision(replace(state, due_at=due_at))


def failure_status(error: FaceApiError) -> str:
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


def _finish(state: ListState, event_type: EventType, status: str, waiting: tuple[PendingRequest, ...],
            now: datetime, policy: Policy, error_code: str | None = None,
            error_message: str | None = None, face_finished_at: datetime | None = None) -> Decision:
    run = state.run
    # Face's own finish time if it is plausible (clocks differ): between our submission and our observation. It is
    # what the event reports, so an event repeated after a crash, decided again later, says the same thing.
    finished = face_finished_at if face_finished_at and run.submitted_at <= face_finished_at <= now else now
    commands: list[Command] = []
    if not run.adopted:
        outcome = TrainingOutcome(run.run_id, state.list_id, policy.api_version, run.operation_location, status,
                                  run.request_ids, run.submitted_at, finished, error_code, error_message)
        commands += [Emit(terminal_event(event_type, outcome)), AnswerRequests(run.request_ids)]
    duration = None
    if event_type is EventType.SUCCEEDED:
        duration = (finished - run.submitted_at).total_seconds()
    covered = set(run.request_ids)
    follow_up = tuple(r for r in waiting if r.request_id not in covered)
    after = replace(_without_failures(state), run=None,
                    last_duration_seconds=duration if duration is not None else state.last_duration_seconds)
    if follow_up:
        return Decision(replace(after, phase=Phase.WAITING, due_at=max(now, settled_at(follow_up))), tuple(commands))
    return Decision(replace(after, phase=Phase.IDLE, due_at=None), tuple(commands))


def _unknown_status(status: str) -> FaceApiError:
    return MalformedAnswer(f"The training status {status!r} is none of notStarted, running, succeeded, failed.")
