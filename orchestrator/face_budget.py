"""The orchestrator's share of its Face resource, which the upload jobs share: S0 allows 10 calls a second in
all, and every poll spent here is a face an upload cannot add in that second.

A token bucket of FACE_CALLS_PER_SECOND tokens that holds at most one second's worth, so that no second sees
more than that many of our polls even though a tick spends them at once. Train calls take precedence: they always
go, and spend tokens too (into debt), so that polls wait for them. The timer runs on one instance at a time
(the host's singleton lock), so a bucket in that instance's memory governs every poll.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable


class FaceBudget:
    def __init__(self, calls_per_second: float, clock: Callable[[], datetime]) -> None:
        self._rate = calls_per_second
        self._clock = clock
        self._tokens = calls_per_second
        self._refilled_at = clock()
        self._lock = threading.Lock()

    def take_polls(self, wanted: int) -> int:
        """How many of `wanted` polls may go now (the rest wait for a later tick); those are spent."""
        with self._lock:
            self._refill()
            granted = max(0, min(wanted, int(self._tokens)))
            self._tokens -= granted
            return granted

    def spend_train(self) -> None:
        with self._lock:
            self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, (now - self._refilled_at).total_seconds())
        self._tokens = min(self._rate, self._tokens + elapsed * self._rate)
        self._refilled_at = now
