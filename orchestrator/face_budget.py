"""The orchestrator's share of its Face resource, which the upload jobs share: S0 allows 10 calls a second in
all, and every call spent here is a face an upload cannot add in that second.

At most FACE_CALLS_PER_SECOND calls (a fraction rounded down) in any second: the calls of the last second are
counted, not saved up, so that neither a tick, which spends its grant at once, nor intake's submits can burst
beyond it. Train calls and polls draw on it alike: a tick grants its due trainings to submit first and its polls
from what is left, and intake submits at once only while the budget allows (otherwise the tick submits, first
thing). A tick whose calls were held back grants again as the second frees up, until shortly before the next
tick (`Settings.poll_pacing_seconds`), so that the budget is spent per second and not per timer period.

The timer runs on one instance at a time (the host's singleton lock), so the budget in that instance's memory
governs every poll; intake on other instances spends their own.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Callable

_WINDOW = timedelta(seconds=1)


class FaceBudget:
    def __init__(self, calls_per_second: float, clock: Callable[[], datetime]) -> None:
        self._limit = max(1, int(calls_per_second))
        self._clock = clock
        self._granted_at: deque[datetime] = deque()
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        """How many of `wanted` Face calls may go now (the rest wait for a later tick); those are spent."""
        with self._lock:
            now = self._clock()
            while self._granted_at and self._granted_at[0] <= now - _WINDOW:
                self._granted_at.popleft()
            granted = max(0, min(wanted, self._limit - len(self._granted_at)))
            self._granted_at.extend([now] * granted)
            return granted

    def frees_in(self) -> float:
        """Seconds until a call would be granted: 0 if one would be now."""
        with self._lock:
            if len(self._granted_at) < self._limit:
                return 0.0
            return max(0.0, (self._granted_at[0] + _WINDOW - self._clock()).total_seconds())
