"""The imperative shell: load a container's state, ask the core what to do, do it, store the result.

Everything that waits is in the stored schedule: no call here waits for a training (the one sleep is the tick's,
for the Face budget to free up, within the timer's period). Concurrency is settled by ETags: an instance claims a
container (stores it with its due time pushed past the claim) before it calls Face, so two intake workers or two
pollers never submit or poll the same container twice; a claimant that dies is replaced when its claim runs out.

The in-flight index (one marker per container, read by the tick) may say one is due earlier than its state does,
which costs one read, but never later, which would leave a training unpolled. The core never brings a container's due
time earlier except when a request wakes an idle one, so (see `_index`):
- a wake writes the marker before its state write (a crash between the two cannot hide the container) and after it
  (a concurrent removal cannot either);
- the instance that stored a state writes its marker afterwards: a late write of it can only be early;
- a removal, or a marker written from a state one merely read, is confirmed by reading the state's ETag again,
  and written anew from the state found if that changed meanwhile;
- the step that leaves a container idle removes its marker last, after it looked for late requests, so that a
  tick finishes that work if the step died before it.

A request needs a wake only when its container is idle. A busy one carries a watch mark, stored in one
transaction with the state that woke it: intake records a request for it in one transaction that needs the mark,
and no read. The step that leaves the container idle removes the mark before it looks for late requests, so a
request recorded that way is seen by that look or by a step before it, and any later request wakes the container.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, assert_never

from . import machine
from .bounds import bounded_id
from .containers import Container
from .event_queue import EventNotSent
from .events import Rejection, rejection_event
from .face_budget import FaceBudget
from .face_errors import FaceApiError
from .intake import RequestRejected, parse_message
from .iso_time import to_iso
from .machine import (FAILED, SUCCEEDED, AnswerRequests, ContainerState, Emit, Learned, Phase, Policy, PollTraining,
                      SubmitTraining)
from .metrics import ACCEPTED, DUPLICATE, REJECTED, STATUS, TRAIN, Metrics
from .ports import ConcurrencyConflict, EventSink, FaceApi, Store
from .records import DueMarker, RequestRecord
from .resource_speed import ResourceSpeed

log = logging.getLogger("orchestrator")
MAX_CONFLICT_RETRIES = 8
# A container can be due again at once (a follow-up after a finish, a batch after a batch); more than this in one
# call waits for the next tick, so one busy container cannot hold a tick.
MAX_STEPS_PER_ADVANCE = 4
TICK_WORKERS = 8


@dataclass(frozen=True)
class Outcome:
    """What `accept` did with one message, for logs and tests."""

    accepted: bool
    container: Container | None
    request_id: str | None
    reason: str | None = None


class Orchestrator:
    def __init__(self, *, policy: Policy, store: Store, face: FaceApi, events: EventSink,
                 clock: Callable[[], datetime], default_settle_seconds: float, metrics: Metrics | None = None,
                 face_budget: FaceBudget | None = None, pacing_seconds: float = 0.0,
                 sleep: Callable[[float], None] | None = None) -> None:
        """Without `face_budget`, no Face call is held back; `pacing_seconds` is how long a tick may go on granting
        calls the budget held back, sleeping with `sleep` (given by the composition root, like the clock) until it
        frees up. Without `sleep`, `tick` makes one pass; a caller with a clock of its own drives `tick_passes`."""
        self.policy = policy
        self.store = store
        self.face = face
        self.events = events
        self.clock = clock
        self.default_settle_seconds = default_settle_seconds
        self.metrics = metrics or Metrics()
        self.face_budget = face_budget
        self.pacing_seconds = pacing_seconds
        self._sleep = sleep
        self._budget_spent = False  # whether the current pass's grants left containers waiting

    # The queue trigger

    def accept(self, body: bytes, message_id: str) -> Outcome:
        """Record one training request, or publish why it was rejected. Never raises for a bad message."""
        message_id = bounded_id(message_id)  # the host takes it from a JSON body's `id` when there is one
        try:
            request = parse_message(body, message_id)
        except RequestRejected as rejected:
            self.events.publish(rejection_event(
                Rejection(rejected.reason, message_id, rejected.container, rejected.request_id), self.clock()))
            log.warning("rejected message %s: %s", message_id, rejected.reason)
            self.metrics.request(REJECTED, rejected.container)
            return Outcome(False, rejected.container, rejected.request_id, rejected.reason)
        record = RequestRecord(request.container, request.request_id, self.clock(), request.reason,
                               request.settle_seconds, request.size_hint)
        if request.ignored_size_hint is not None:
            log.warning("request %s for %s: sizeHint %d ignored (no container holds that many); timed without one",
                        request.request_id, request.container, request.ignored_size_hint)
        watched = self.store.add_request_if_watched(record)
        fresh = watched or self.store.add_request(record)
        self.metrics.request(ACCEPTED if fresh else DUPLICATE, request.container)
        log.info("request %s for %s %s", request.request_id, request.container,
                 "recorded" if fresh else "was already recorded (redelivery)")
        if not watched:
            # Recorded first, state read after: a tick finishing the container meanwhile re-checks the waiting
            # records after it stores it idle, so between the two of them this request is always seen.
            self._wake(request.container, record.pending(self.default_settle_seconds).not_before)
        return Outcome(True, request.container, request.request_id)

    # The timer trigger

    def tick(self) -> None:
        """The timer's work: a pass over the due containers, then, while the Face budget holds calls back, another
        each time it frees up, within `pacing_seconds` (`tick_passes`)."""
        for wait in self.tick_passes():
            if self._sleep is None:
                break
            before = self.clock()
            self._sleep(wait)
            if self.clock() <= before:
                break  # a clock that sleep does not move (a test's stepped clock): one pass

    def tick_passes(self) -> Iterator[float]:
        """The tick as passes, yielding how long to wait before the next: the host's timer sleeps in between, the
        benchmark's virtual timer lets virtual time go by. The budget counts calls per second and the timer fires
        every few seconds; one pass a period would spend a fraction of the budget. The due markers are read once
        for the passes that grant through them, not once a pass: an import leaves thousands due, and a pass
        grants a few."""
        started = self.clock()
        waiting: list[DueMarker] = []
        held_back = self._pass(waiting)
        while held_back and self.face_budget is not None:
            wait = self.face_budget.frees_in()
            if (self.clock() - started).total_seconds() + wait > self.pacing_seconds:
                return
            yield wait
            held_back = self._pass(waiting)

    def _pass(self, waiting: list[DueMarker]) -> int:
        """Advance due containers from `waiting` (read from the index when empty): polls first, then trainings to
        submit, each oldest due first, as many as the Face budget grants (the rest stay due); return how many are
        left waiting. Polls go first so that what is in flight is seen to its end before more starts: submissions
        first let an import of thousands starve the polls of what it had submitted until past their deadline.
        The markers tell submissions from polls, so only the containers granted a call are read. A marker early
        for its state, or naming a phase its state has left (it may have changed since it was read), spends a
        grant with no call or the other call: never a call beyond the budget. A container whose step fails is
        logged and counted, and the others go on."""
        if not waiting:
            waiting += self._due_in_order()
        granted = waiting[:self._grant(len(waiting))]
        del waiting[:len(granted)]
        self._budget_spent = bool(waiting)  # read by this pass's steps, each once it has its answer
        try:
            with ThreadPoolExecutor(max_workers=TICK_WORKERS) as pool:
                list(pool.map(lambda marker: self._advance_or_log(marker.container), granted))
        finally:
            if self.face_budget is not None:
                self.face_budget.settle()  # each grant counted from its call, or freed
        if granted and not waiting and self.face_budget is not None:
            waiting += self._due_in_order()  # what fell due meanwhile, for the tick's next pass
        return len(waiting)

    def _due_in_order(self) -> list[DueMarker]:
        due = sorted(self.store.due(self.clock()), key=lambda marker: marker.due_at)
        return [m for m in due if not m.submits] + [m for m in due if m.submits]

    def _advance_or_log(self, container: Container) -> None:
        try:
            self.advance(container, granted=True)
        except Exception:  # noqa: BLE001 - one container's failure must not stop the tick for the others
            log.exception("%s: its step failed; the tick goes on with the others, and it is retried when due",
                          container)
            self.metrics.step_failed(container)

    # One step of one container

    def advance(self, container: Container, *, granted: bool = False) -> None:
        """Do what is due for the container now, if anything; safe to call from any instance at any time, though
        only the tick does, so that one Face budget governs every call. A step that leaves it due at once (a
        follow-up with nothing to wait for) is followed by the next, not a tick later. `granted` says that the
        Face budget already granted its first step's call."""
        for _ in range(MAX_STEPS_PER_ADVANCE):
            if not self._step(container, granted):
                return
            granted = False

    def _grant(self, wanted: int) -> int:
        return wanted if self.face_budget is None else self.face_budget.take(wanted)

    def _step(self, container: Container, granted: bool) -> bool:
        """One step, claimed, decided and stored; True if the container is due again right away."""
        state, etag = self.store.load(container)
        now = self.clock()
        if not machine.is_due(state, now):
            if state.phase is Phase.IDLE and etag is not None:
                # A marker left on an idle container: the step that left it idle may have died before it looked.
                woken = self._look_for_late_requests(container)
                if woken is not None:
                    return machine.is_due(woken, self.clock())
            self._index(state, etag, stored_here=False)
            return False
        if not granted and not self._grant(1):
            return False  # the Face budget is spent for now: the container stays due, and a tick takes it first
        try:
            etag = self.store.save(machine.claim(state, now, self.policy), etag)
        except ConcurrencyConflict:
            return False  # another instance has it
        decision = self._decide_and_carry_out(state, now)
        try:
            etag = self.store.save(decision.state, etag)
        except ConcurrencyConflict:
            log.warning("%s changed while claimed (the claim ran out?); the stored state stands", container)
            return False
        if decision.looks_for_late_requests:
            woken = self._look_for_late_requests(container)
            if woken is not None:
                return machine.is_due(woken, self.clock())  # the wake wrote the marker
        self._index(decision.state, etag, stored_here=True)
        return machine.is_due(decision.state, self.clock())

    def _look_for_late_requests(self, container: Container) -> ContainerState | None:
        """Wake a container just left idle if requests were recorded for it meanwhile; return its woken state, or
        None if there were none. The watch mark goes first: a request recorded with it is older than the look,
        and any later one finds no mark and wakes the container itself."""
        self.store.unwatch(container)
        late = self._waiting(container)
        if not late:
            return None
        return self._update(container, lambda current: machine.on_late_requests(current, late))

    def _decide_and_carry_out(self, state: ContainerState, now: datetime) -> machine.Decision:
        """The core's decision on the step, once the Face call it names is answered and its effects are done."""
        container = state.container
        waiting = self._waiting(container)
        decision = machine.next_step(state, waiting, now, self.policy)
        if decision.call is not None:
            answer = self._call_face(container, decision.call)
            if isinstance(answer, machine.Polled) and answer.status not in (SUCCEEDED, FAILED):
                self.metrics.still_running(container, state.run.submitted_at if state.run else None, now)
            decision = machine.on_answer(state, answer, waiting, self.clock(), self.policy, self._speed(),
                                         self._budget_spent)
        try:
            self._carry_out(container, decision.effects)
        except EventNotSent as error:
            log.error("%s: %s; the step is decided again after a backoff", container, error)
            decision = machine.on_answer(state, machine.EventsRefused(), waiting, self.clock(), self.policy)
        return decision

    def _wake(self, container: Container, not_before: datetime) -> None:
        """Make an idle container wait for its requests: its marker makes it due, and the next tick submits it.
        Intake never calls Face itself. The timer runs on one instance, so its budget holds for every instance
        the queue trigger scales out to, at the price of a wait of at most one timer period before a submit."""
        self._update(container, lambda current: machine.on_request(current, not_before))

    def _waiting(self, container: Container) -> tuple[machine.PendingRequest, ...]:
        return tuple(r.pending(self.default_settle_seconds) for r in self.store.waiting_requests(container))

    def _call_face(self, container: Container, call: machine.FaceCall) -> machine.SubmitAnswer | machine.PollAnswer:
        try:
            match call:
                case SubmitTraining():
                    return self._submit(container, call)
                case PollTraining():
                    return self._poll(container, call)
                case _:
                    assert_never(call)
        finally:
            self._spent()  # when the call has ended: it reached Face by then, if it did at all

    def _spent(self) -> None:
        if self.face_budget is not None:
            self.face_budget.spent()

    def _submit(self, container: Container, submit: SubmitTraining) -> machine.SubmitAnswer:
        try:
            location = self.face.train(container)
        except FaceApiError as error:
            log.warning("train %s: %s", container, error)
            self.metrics.face_call(TRAIN, error=error)
            return machine.SubmitFailed(submit, error, self.face.training_url(container))
        self.metrics.face_call(TRAIN, status=202)
        self.metrics.submitted(container)
        log.info("train %s accepted: %d request(s), polling %s", container, len(submit.request_ids), location)
        return machine.Submitted(submit, location)

    def _poll(self, container: Container, poll: PollTraining) -> machine.PollAnswer:
        try:
            status = self.face.training_status(poll.operation_location)
        except FaceApiError as error:
            log.warning("status of %s: %s", container, error)
            self.metrics.face_call(STATUS, error=error)
            return machine.PollFailed(error)
        self.metrics.face_call(STATUS, status=200)
        return machine.Polled(status.status, status.message, status.last_action_at)

    def _carry_out(self, container: Container, effects: tuple[machine.Effect, ...]) -> None:
        for effect in effects:
            match effect:
                case Emit(event):
                    self.events.publish(event)
                    self.metrics.published(event, self.clock())
                    log.info("event %s %s", event.type_name, event.event_id)
                case AnswerRequests(request_ids):
                    self.store.answer_requests(container, request_ids, self.clock())
                case Learned():
                    if self.face_budget is not None:  # the model lives in the budget's ledger
                        self.face_budget.learned(effect)
                case _:
                    assert_never(effect)

    def _speed(self) -> ResourceSpeed:
        """The resource's speed as this pass read it with its grants: no read of its own."""
        return ResourceSpeed() if self.face_budget is None else self.face_budget.speed

    def _update(self, container: Container, change: Callable[[ContainerState], ContainerState]) -> ContainerState:
        """Apply a wake with optimistic concurrency, retrying on conflict; skip the write if nothing changes. The
        woken state is stored with its watch mark."""
        for _ in range(MAX_CONFLICT_RETRIES):
            state, etag = self.store.load(container)
            changed = change(state)
            if changed == state and etag is not None:
                return state
            if changed.due_at is not None:
                self.store.mark_due(changed)  # index first: a crash must not hide a due container
            try:
                etag = self.store.save_watched(changed, etag)
            except ConcurrencyConflict:
                continue
            self._index(changed, etag, stored_here=True)  # and after: a removal may have landed in between
            return changed
        raise ConcurrencyConflict(f"{container}: still contended after {MAX_CONFLICT_RETRIES} attempts")

    def _index(self, state: ContainerState, etag: str | None, *, stored_here: bool) -> None:
        """Make the container's marker say what `state` (at `etag`) says. A marker for a state this instance stored is
        final: any state stored after it is due no earlier, but a wake's, which writes its own marker after it. A
        removal, or a marker for a state merely read, is checked against the state's ETag once written, and
        written again from what changed meanwhile."""
        for _ in range(MAX_CONFLICT_RETRIES):
            if state.due_at is None:
                self.store.clear_due(state.container)
            else:
                self.store.mark_due(state)
            if stored_here and state.due_at is not None:
                return
            current, current_etag = self.store.load(state.container)
            if current_etag == etag:
                return
            state, etag, stored_here = current, current_etag, False
        log.warning("%s: its state kept changing while its marker was written; its writers set it", state.container)

    # The HTTP status function

    def describe(self, container: Container) -> dict[str, Any] | None:
        return describe_state(self.store, container)

    def describe_in_flight(self) -> list[dict[str, Any]]:
        described = (self.describe(marker.container) for marker in self.store.in_flight())
        return [d for d in described if d is not None and d["phase"] != str(Phase.IDLE)]


def describe_state(store: Store, container: Container) -> dict[str, Any] | None:
    """A container's training as the status endpoint and the CLI show it; None if nothing was ever requested."""
    state, etag = store.load(container)
    if etag is None:
        return None
    run = state.run
    covered = set(run.request_ids) if run else set()
    return {
        "kind": str(container.kind), container.kind.request_field: container.id, "phase": str(state.phase),
        "dueAt": to_iso(state.due_at),
        "waitingRequests": len([r for r in store.waiting_requests(container) if r.request_id not in covered]),
        "lastDurationSeconds": state.last_duration_seconds,
        "run": None if run is None else {
            "runId": run.run_id, "operationLocation": run.operation_location, "submittedAt": to_iso(run.submitted_at),
            "polls": run.polls, "requests": len(run.request_ids), "adopted": run.adopted,
        },
    }


