"""The orchestrator's share of its Face resource, which the upload jobs share: S0 allows 10 calls a second in
all, and every call spent here is a face an upload cannot add in that second.

At most FACE_CALLS_PER_SECOND calls (a fraction rounded down) in any second, for the deployment as a whole:
- Only the timer's instance calls Face (intake records and wakes; the tick submits and polls), and the host runs
  the timer on one instance at a time, so one budget governs every call however many instances run intake.
- The grants themselves are kept in a ledger every instance shares (one table entity, written under its ETag):
  when the host runs a second tick while the first still runs (a timer lease lost mid-run, which the host allows),
  the two still share one budget.
- The calls of the last second are counted, not saved up: neither a tick, which spends its grant at once, nor
  two ticks together can burst beyond it. A grant is a time, so an instance that dies holding some leaves nothing
  behind a second later.

A tick grants its due polls first and its trainings to submit from what is left; one whose calls were held back
grants again as the second frees up, until shortly before the next tick (`Settings.poll_pacing_seconds`), so that
the budget is spent per second and not per timer period.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Callable, Sequence

from .machine import Learned
from .ports import BudgetLedger, ConcurrencyConflict
from .records import ResourceLedger
from .resource_speed import ResourceSpeed

WINDOW = timedelta(seconds=1)
# Ticks contend for the ledger only while the host runs two at once; past this many lost races a grant waits for
# the next pass rather than spin, and a settling leaves its grants held until they run out, which is only slower.
MAX_LEDGER_ATTEMPTS = 4
MAX_SETTLE_ATTEMPTS = 16


def grant(ledger: ResourceLedger, now: datetime, wanted: int, limit: int,
          held_until: datetime) -> tuple[int, ResourceLedger]:
    """How many of `wanted` calls may go now, and the ledger with them held (each counted as if made at
    `held_until`, until the pass settles them) and the calls of more than a second ago forgotten."""
    recent = tuple(moment for moment in ledger.granted_at if moment > now - WINDOW)
    granted = max(0, min(wanted, limit - len(recent)))
    return granted, replace(ledger, granted_at=recent + (held_until,) * granted)


def settle(ledger: ResourceLedger, now: datetime, held: list[datetime], spent: list[datetime],
           learned: Sequence[Learned] = ()) -> ResourceLedger:
    """The ledger with the grants a pass held replaced by the moments its calls ended: a grant it did not use is
    freed, and one it used counts from its call's end. A call reaches Face before it ends (after a token fetch, a
    slow connect, however late in its pass), so its slot is granted again only a full second after it arrived.
    What the pass's finished trainings taught goes into the resource's speed in the same write."""
    kept = list(ledger.granted_at)
    for moment in held:
        if moment in kept:
            kept.remove(moment)
    speed = ledger.speed
    for training in learned:
        speed = speed.learned(training.entries, training.duration_seconds)
    return ResourceLedger(tuple(m for m in kept if m > now - WINDOW) + tuple(m for m in spent if m > now - WINDOW),
                          speed)


def frees_in(ledger: ResourceLedger, now: datetime, limit: int) -> float:
    """Seconds until a call would be granted: 0 if one would be now."""
    recent = sorted(moment for moment in ledger.granted_at if moment > now - WINDOW)
    if len(recent) < limit:
        return 0.0
    return max(0.0, (recent[len(recent) - limit] + WINDOW - now).total_seconds())


class FaceBudget:
    """The budget as one instance spends it. Calls are granted before a pass reads the containers it calls for, and
    a grant is counted from then, conservatively, as if its call came `hold_seconds` later (the longest a step
    may take: its claim), until the pass settles it with the moment its call ended. An instance that dies between
    the two leaves its grants held that long, and never a call beyond the budget."""

    def __init__(self, calls_per_second: float, clock: Callable[[], datetime], ledger: BudgetLedger,
                 hold_seconds: float = 60.0) -> None:
        self._limit = max(1, int(calls_per_second))
        self._clock = clock
        self._ledger = ledger
        self._hold = timedelta(seconds=hold_seconds)
        self._seen = ResourceLedger()
        self._held: list[datetime] = []
        self._spent: list[datetime] = []
        self._learned: list[Learned] = []
        self._lock = threading.Lock()  # a tick's own threads queue here instead of racing for the ledger

    def take(self, wanted: int) -> int:
        """How many of `wanted` Face calls may go now (the rest wait for a later pass); those are held."""
        if wanted <= 0:
            return 0
        with self._lock:
            now = self._clock()
            held_until = now + self._hold
            granted = self._update(lambda stored: grant(stored, now, wanted, self._limit, held_until),
                                   MAX_LEDGER_ATTEMPTS)
            self._held += [held_until] * granted
            return granted

    def spent(self) -> None:
        """A granted call has just ended."""
        with self._lock:
            self._spent.append(self._clock())

    def learned(self, training: Learned) -> None:
        """A training finished: the resource's speed learns it when the pass settles."""
        with self._lock:
            self._learned.append(training)

    @property
    def speed(self) -> ResourceSpeed:
        """The resource's speed as the ledger last said it."""
        with self._lock:
            return self._seen.speed

    def settle(self) -> None:
        """Count the calls granted since the last settling from when they ended, free the rest, and teach the
        resource's speed what finished. After MAX_SETTLE_ATTEMPTS lost races the lesson is dropped with the
        settling: the model misses a training, which the next ones make up for."""
        with self._lock:
            if not self._held and not self._learned:
                return
            held, spent, learned, now = self._held, self._spent, self._learned, self._clock()
            self._update(lambda stored: (0, settle(stored, now, held, spent, learned)), MAX_SETTLE_ATTEMPTS)
            self._held, self._spent, self._learned = [], [], []

    def frees_in(self) -> float:
        """Seconds until a call would be granted, by the ledger as this budget last wrote it."""
        with self._lock:
            return frees_in(self._seen, self._clock(), self._limit)

    def _update(self, change: Callable[[ResourceLedger], tuple[int, ResourceLedger]], attempts: int) -> int:
        """Apply `change` to the stored ledger under its ETag; the count it gives, or 0 after `attempts` lost
        races."""
        for _ in range(attempts):
            stored, etag = self._ledger.load()
            count, changed = change(stored)
            if changed == stored:
                self._seen = stored
                return 0
            try:
                self._ledger.save(changed, etag)
            except ConcurrencyConflict:
                continue  # another tick changed it meanwhile: count again
            self._seen = changed
            return count
        return 0


class LocalLedger(BudgetLedger):
    """A ledger in this process's memory, with the table's ETag rule: for one process on its own (the tests, the
    benchmark's simulation), where no other instance shares the budget."""

    def __init__(self) -> None:
        self._ledger, self._version = ResourceLedger(), 0
        self._lock = threading.Lock()

    def load(self) -> tuple[ResourceLedger, str | None]:
        with self._lock:
            return self._ledger, str(self._version)

    def save(self, ledger: ResourceLedger, etag: str | None) -> str:
        with self._lock:
            if etag != str(self._version):
                raise ConcurrencyConflict("the Face budget's ledger")
            self._ledger, self._version = ledger, self._version + 1
            return str(self._version)
