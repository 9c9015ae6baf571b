"""How long Face takes to train a container of a given size, as Microsoft documents it for faces and persons
alike: 1,000 take 1-2 s, 10,000 5-10 s, 100,000 1-2 min, 1,000,000 10-30 min (Azure AI Face, "Use the
large-scale feature"). Between these sizes the ends of the range follow straight lines on a log-log scale.
"""

from __future__ import annotations

import math

# (size, short end s, long end s)
DOCUMENTED_SECONDS = ((1_000, 1.0, 2.0), (10_000, 5.0, 10.0), (100_000, 60.0, 120.0), (1_000_000, 600.0, 1800.0))
# No container holds more: a Large Face List 1,000,000 faces, a Large Person Group 1,000,000 persons.
MAX_ENTRIES = 1_000_000


def documented_range(entries: int) -> tuple[float, float]:
    """The documented (short, long) training time, in seconds, of a container holding `entries` faces or persons.
    Below the smallest documented size, that size's range; sizes are clamped to MAX_ENTRIES."""
    size = min(max(entries, DOCUMENTED_SECONDS[0][0]), MAX_ENTRIES)
    for (x0, short0, long0), (x1, short1, long1) in zip(DOCUMENTED_SECONDS, DOCUMENTED_SECONDS[1:]):
        if size <= x1:
            share = math.log(size / x0) / math.log(x1 / x0)
            return _between(short0, short1, share), _between(long0, long1, share)
    raise AssertionError("unreachable: sizes are clamped to the last documented one")


def _between(low: float, high: float, share: float) -> float:
    return math.exp(math.log(low) + share * (math.log(high) - math.log(low)))
