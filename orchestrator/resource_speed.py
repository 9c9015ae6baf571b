"""How fast this deployment's Face resource trains, learned from its own finished trainings.

Face documents a range two to three times wide for each size (training_time.py), and a container's first training
has nothing better to be timed by. But every training of a known size says how fast *this resource* trains against
those documented times, and the next container's first training on it very likely runs at that speed too. So the
resource keeps one number and its spread: the log of (duration / documented middle for its size), averaged over
its trainings with the recent ones weighing most (a resource that slows down is followed within about ten
trainings), and the spread of that log around its average.

Pure: the shell stores the model with the Face budget's ledger (one entity every instance shares, written under its
ETag), so it costs no storage round trip of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .training_time import documented_range

# Trainings of known size before the model times a first training: below it, one odd training would mislead every
# new container (docs/performance.md shows the choice against the history a resource has).
ENOUGH_TRAININGS = 5
# The weight of the newest training, once there are more than 1/RECENT_WEIGHT of them: an exponentially weighted
# mean over about the last ten trainings, so a resource whose speed drifts is followed.
RECENT_WEIGHT = 0.1
# The spread assumed before the resource has shown its own: the documented range's half-width, in logs (a 2x range
# is +-0.35), given the weight of this many trainings, so that a few alike do not make the model overconfident.
PRIOR_LOG_SPREAD = 0.35
PRIOR_WEIGHT_TRAININGS = 1.0
# Once the model knows enough, a training further from it than this many spreads moves it only as far as one this
# far would: one request whose size hint was ten times off says its hint was wrong, not that the resource changed
# speed. A resource that does change speed is still followed, a step at a time, its spread widening as it goes.
CLIP_SPREADS = 2.5


@dataclass(frozen=True)
class Estimate:
    """A training's expected duration and the spread of its log: about 68% of trainings land within
    seconds * exp(+-log_spread)."""

    seconds: float
    log_spread: float

    def quantile(self, z: float) -> float:
        """The duration `z` standard deviations from the expected one, in the log."""
        return self.seconds * math.exp(z * self.log_spread)


@dataclass(frozen=True)
class ResourceSpeed:
    """What the resource's finished trainings of known size taught: how many, and the weighted mean and variance of
    log(duration / documented middle for the size), which times a container's first training. A later training is
    timed by its container's own last one, a far better predictor; the model only tells when that one's size hint
    was wrong (`fits`)."""

    trainings: int = 0
    log_ratio_mean: float = 0.0
    log_ratio_variance: float = 0.0

    def learned(self, entries: int, duration_seconds: float) -> ResourceSpeed:
        """The model with one more finished training of `entries` faces or persons that took `duration_seconds`:
        every training weighs alike while there are fewer than 1/RECENT_WEIGHT, then the newest weighs that.
        A duration that is no duration (zero, negative, not finite) teaches nothing."""
        if not (math.isfinite(duration_seconds) and duration_seconds > 0) or entries < 0:
            return self
        weight = max(RECENT_WEIGHT, 1 / (self.trainings + 1))
        difference = math.log(duration_seconds / documented_middle(entries)) - self.log_ratio_mean
        if self.knows_enough:
            bound = CLIP_SPREADS * self.spread
            difference = max(-bound, min(bound, difference))
        # West's update of the weighted variance: the first training has none around itself.
        variance = (1 - weight) * (self.log_ratio_variance + weight * difference * difference)
        return ResourceSpeed(self.trainings + 1, self.log_ratio_mean + weight * difference, variance)

    @property
    def knows_enough(self) -> bool:
        return self.trainings >= ENOUGH_TRAININGS

    @property
    def spread(self) -> float:
        """The spread of the next training's log ratio around the mean: the observed one with the prior's weight
        added, widened by the error of the mean itself. The weighted mean rests on about 1/RECENT_WEIGHT trainings
        however many there were, and so does what the spread is taken to rest on."""
        effective = min(self.trainings, 1 / RECENT_WEIGHT)
        pooled = ((effective * self.log_ratio_variance + PRIOR_WEIGHT_TRAININGS * PRIOR_LOG_SPREAD ** 2)
                  / (effective + PRIOR_WEIGHT_TRAININGS))
        return math.sqrt(pooled * (1 + 1 / max(effective, 1)))

    def expected(self, entries: int) -> Estimate | None:
        """How long a first training of `entries` takes on this resource, or None before ENOUGH_TRAININGS."""
        if not self.knows_enough:
            return None
        return Estimate(documented_middle(entries) * math.exp(self.log_ratio_mean), self.spread)

    def fits(self, entries: int, seconds: float) -> bool:
        """Whether a training of `entries` lasting `seconds` is one this resource could have run: within
        CLIP_SPREADS of what it takes for that size. True until it knows enough, as nothing tells otherwise."""
        expected = self.expected(entries)
        if expected is None or not (math.isfinite(seconds) and seconds > 0):
            return True
        return abs(math.log(seconds / expected.seconds)) <= CLIP_SPREADS * expected.log_spread


def documented_middle(entries: int) -> float:
    """The geometric middle of the documented range for `entries`: the point a resource's speed is measured from."""
    short_end, long_end = documented_range(entries)
    return math.sqrt(short_end * long_end)
