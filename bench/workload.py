"""The workloads, fixed before any run and seeded: nothing here is tuned to a result.

The training mix: the three kinds in turn, a third each. Large Face Lists of 1,000 to 1,000,000 faces and Large
Person Groups of as many persons (log-uniform, so each decade is as common as the next), Person Groups of 1,000 to
10,000 persons (S0's bound per group). Each container is retrained after every bulk upload that grows it by 2-10%,
four trainings a container, six hours apart. Durations come from the emulator's model, which Microsoft documents
alike for faces and persons (1k 1.5 s, 10k 7.5 s, 100k 90 s, 1M 30 min).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from localdev.face_emulator.model import training_seconds

from orchestrator.containers import Kind

from .simulation import Arrival

MIN_ENTRIES = 1_000
MAX_ENTRIES = {Kind.LARGE_FACE_LIST: 1_000_000, Kind.LARGE_PERSON_GROUP: 1_000_000, Kind.PERSON_GROUP: 10_000}
TRAININGS_PER_CONTAINER = 4
HOURS_BETWEEN_UPLOADS = 6
BURST_SIZES = (10, 100, 1000)
BURST_LIST_FACES = 100_000  # a 90 s training, during which the burst arrives


@dataclass(frozen=True)
class Mix:
    arrivals: tuple[Arrival, ...]

    @property
    def containers(self) -> int:
        return len({a.container for a in self.arrivals})


def training_mix(containers: int, seed: int) -> Mix:
    rng = random.Random(seed)
    kinds = tuple(Kind)
    arrivals = []
    for number in range(containers):
        kind = kinds[number % len(kinds)]
        container_id = f"mix-{number:03d}"
        entries = int(MIN_ENTRIES * (MAX_ENTRIES[kind] / MIN_ENTRIES) ** rng.random())
        start_s = rng.uniform(0, 3600)
        for training in range(TRAININGS_PER_CONTAINER):
            arrivals.append(Arrival(start_s + training * HOURS_BETWEEN_UPLOADS * 3600, container_id, entries,
                                    f"{container_id}-upload-{training}", kind))
            entries = min(MAX_ENTRIES[kind], int(entries * rng.uniform(1.02, 1.10)))
    return Mix(tuple(arrivals))


def burst(size: int, seed: int) -> tuple[Arrival, ...]:
    """One request starts a training of a 100k-face list; `size` more arrive at random moments while it runs."""
    rng = random.Random(seed + size)
    list_id = f"burst-{size}"
    duration = training_seconds(BURST_LIST_FACES)
    first = Arrival(0.0, list_id, BURST_LIST_FACES, f"{list_id}-first")
    rest = [Arrival(rng.uniform(1.0, duration - 1.0), list_id, BURST_LIST_FACES, f"{list_id}-{n:04d}")
            for n in range(size)]
    return (first, *sorted(rest, key=lambda a: a.at_s))


def free_tier_rush(lists: int, seed: int) -> tuple[Arrival, ...]:
    """Free tier (20 calls a minute): `lists` small lists (1k-10k faces) all asking for a training in the same
    minute, as after a nightly import."""
    rng = random.Random(seed)
    return tuple(Arrival(rng.uniform(0, 60), f"rush-{n:03d}", int(1000 * 10 ** rng.random()), f"rush-{n:03d}-r")
                 for n in range(lists))
