"""The Face service tiers' rate limits, answered with 429 and `Retry-After`. A limit is the resource's: S0 allows 10
transactions a second per resource, whichever keys or identities make them (../shared/face-api-spec/NOTES.md,
"Limits"), so an upload job and the orchestrator share it."""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass

from .errors import FaceError
from .model import Clock


@dataclass(frozen=True)
class RateLimit:
    calls: int
    per_seconds: float

    @classmethod
    def parse(cls, text: str) -> "RateLimit":
        """`10/s` (S0, the default), `20/min` (F0), or `N/SECONDS`."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(s|sec|second|min|minute|\d+(?:\.\d+)?)\s*", text)
        if not match or int(match[1]) < 1:
            raise ValueError(f"rate limit {text!r} is not of the form 10/s, 20/min or CALLS/SECONDS")
        unit = match[2]
        seconds = 60.0 if unit.startswith("min") else 1.0 if unit.startswith("s") else float(unit)
        return cls(int(match[1]), seconds)

    def to_json(self) -> dict[str, float]:
        return {"calls": self.calls, "perSeconds": self.per_seconds}


class RateLimiter:
    """A sliding window: at most `calls` accepted calls in any `per_seconds` span, from every caller together."""

    def __init__(self, limit: RateLimit, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._accepted: deque[float] = deque()

    def admit(self) -> None:
        now = self._clock()
        window = self._accepted
        while window and window[0] <= now - self.limit.per_seconds:
            window.popleft()
        if len(window) >= self.limit.calls:
            retry_after = max(1, math.ceil(window[0] + self.limit.per_seconds - now))
            raise FaceError(429, "429", f"Rate limit is exceeded. Try again in {retry_after} seconds.",
                            headers={"Retry-After": str(retry_after)})
        window.append(now)

    def reset(self) -> None:
        self._accepted.clear()
