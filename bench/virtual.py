"""The virtual-time experiments: Face calls and detection delay over the training mix, bursts, and the free tier,
for the orchestrator and each baseline against the same simulated Face."""

from __future__ import annotations

import bisect
import hashlib
import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from azure.ai.vision.face import FaceAdministrationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.pipeline.policies import RetryPolicy

from localdev.face_emulator.model import TrainingTimes, TrainingVariance
from localdev.face_emulator.throttle import RateLimit
from orchestrator.containers import Container, Kind
from orchestrator.face_errors import Throttled
from orchestrator.machine import Policy
from orchestrator.settings import DEFAULTS
from orchestrator.training_time import MAX_ENTRIES

from .simulation import (Arrival, PollerResult, Scheduler, SimFace, SimulatedOrchestrator, Training, VirtualClock,
                         container_at, fixed_interval_poller, seconds_of, terminal_events)

STRATEGIES = ("ours", "ours_hinted", "ours_hinted_learned", "naive", "sdk_poller", "oracle")


def _minority_wrong(arrival: Arrival) -> int:
    """The truth, but ten times off for one request in ten (too small and too big in turn), chosen by its id."""
    digest = hashlib.sha256(arrival.request_id.encode()).digest()
    if digest[0] % 10:
        return arrival.face_count
    return arrival.face_count // 10 if digest[1] % 2 else min(arrival.face_count * 10, MAX_ENTRIES)


# What each of our variants' requests say of their container's size: nothing, the truth, a tenth or ten times the
# truth (at most what a container can hold: more would be ignored as absurd, which is the same as nothing), or the
# truth with a minority ten times off.
SIZE_HINTS: dict[str, Callable[[Arrival], int | None]] = {
    "ours": lambda arrival: None,
    "ours_hinted": lambda arrival: arrival.face_count,
    "ours_hinted_learned": lambda arrival: arrival.face_count,
    "ours_hint_10x_small": lambda arrival: arrival.face_count // 10,
    "ours_hint_10x_big": lambda arrival: min(arrival.face_count * 10, MAX_ENTRIES),
    "ours_hinted_minority_wrong": _minority_wrong,
    "ours_hinted_learned_minority_wrong": _minority_wrong,
}
WRONG_HINTS = ("ours_hint_10x_small", "ours_hint_10x_big")
MINORITY_WRONG = ("ours_hinted_minority_wrong", "ours_hinted_learned_minority_wrong")
# The variants timed by the resource's speed model (resource_speed.py); the others have it off, as before it was.
LEARNED = frozenset({"ours_hinted_learned", "ours_hinted_learned_minority_wrong"})
# A budget that never holds a call back: the speed model lives in the budget's ledger, so every variant of ours runs
# with one, and only the model tells them apart.
UNBINDING_CALLS_PER_SECOND = 1000.0
# The spreads of the trainings' log-normal factor the variance experiment runs (TrainingVariance), and its seed.
SPREADS = (0.0, 0.1, 0.25)
VARIANCE_SEED = 27
# First trainings on a resource with at least this many finished trainings: where the speed model's targets apply.
WITH_HISTORY = 10
RESOURCE_HISTORY_BUCKETS = ((0, 5, "0-4"), (5, 10, "5-9"), (10, math.inf, "10+"))
# Training durations, bucketed for the per-duration comparison: seconds, up to the bucket's upper bound.
DURATION_BUCKETS_S = ((10, "under 10 s"), (60, "10 s to 1 min"), (300, "1 to 5 min"), (math.inf, "over 5 min"))
NAIVE_INTERVAL_S = 5.0  # what most samples do: sleep 5 s between status reads
# The official SDK's defaults, read from the SDK itself: LROBasePolling every `polling_interval`, and azure-core's
# RetryPolicy, which retries a 429 after its Retry-After up to `total_retries` times.
SDK_INTERVAL_S = float(FaceAdministrationClient("https://x.invalid", AzureKeyCredential("x"))._config.polling_interval)
SDK_RETRIES = RetryPolicy().total_retries
# Seen on the emulator (bench's real-time run): once the status reads succeeded, LROBasePolling reads it once more
# for the operation's final state.
SDK_FINAL_READS = 1
TICK_S = float(DEFAULTS["POLL_SCHEDULE"].split()[0].removeprefix("*/"))  # the timer's period (*/5: 5 s)
POLICY = Policy(api_version=DEFAULTS["FACE_API_VERSION"],
                max_training_seconds=float(DEFAULTS["MAX_TRAINING_MINUTES"]) * 60,
                auth_retry_seconds=float(DEFAULTS["AUTH_RETRY_MINUTES"]) * 60)


@dataclass(frozen=True)
class TrainingResult:
    container: Container
    duration_s: float
    calls: int
    delay_s: float
    first: bool  # the container's first training: no history to time the polls by
    resource_history: int = 0  # trainings the resource had finished when this one started
    started_s: float = 0.0

    @property
    def within_target(self) -> bool:
        return self.delay_s <= max(0.1 * self.duration_s, TICK_S) + 1e-9


def run_trainings(strategy: str, arrivals: tuple[Arrival, ...], sdk_interval_s: float = SDK_INTERVAL_S,
                  variance: TrainingVariance = TrainingVariance(), speed_quantile_z: float | None = None
                  ) -> list[TrainingResult]:
    """Each arrival's training, when requests for a container come one at a time (each after the last finished),
    on a Face whose trainings vary as `variance` says; `speed_quantile_z` other than the policy's moves where the
    speed model's polls start."""
    clock = VirtualClock()
    face = SimFace(clock, times=TrainingTimes(variance))
    scheduler = Scheduler(clock)
    if strategy in SIZE_HINTS:
        policy = replace(POLICY, speed_model=strategy in LEARNED,
                         speed_quantile_z=POLICY.speed_quantile_z if speed_quantile_z is None else speed_quantile_z)
        orchestrator = SimulatedOrchestrator(scheduler, face, TICK_S, policy, size_hint=SIZE_HINTS[strategy],
                                             face_calls_per_second=UNBINDING_CALLS_PER_SECOND)
        for arrival in arrivals:
            orchestrator.request(arrival)
        scheduler.run()
        seen = {(container_at(e["subject"]).key, round(seconds_of(e["data"]["submittedAt"]), 3)): at_s
                for at_s, e in terminal_events(orchestrator.events)}
        return _results(face, [(t, seen[(t.key, round(t.started_s, 3))]) for t in face.trainings])
    outcomes = [PollerResult() for _ in arrivals]
    for arrival, outcome in zip(arrivals, outcomes):
        scheduler.spawn(arrival.at_s, _baseline(strategy, face, arrival, outcome, sdk_interval_s))
    scheduler.run()
    assert all(o.seen_at_s is not None for o in outcomes), "a baseline training was refused in a conflict-free run"
    return _results(face, [(o.training, o.seen_at_s) for o in outcomes])


def _baseline(strategy: str, face: SimFace, arrival: Arrival, outcome: PollerResult,
              sdk_interval_s: float = SDK_INTERVAL_S) -> Iterator[float]:
    face.face_counts[arrival.container.key] = arrival.face_count
    if strategy == "naive":
        yield from fixed_interval_poller(face, arrival.container, NAIVE_INTERVAL_S, outcome, retries_on_throttle=0)
    elif strategy == "sdk_poller":
        yield from fixed_interval_poller(face, arrival.container, sdk_interval_s, outcome, SDK_RETRIES,
                                         SDK_FINAL_READS)
    else:  # the oracle knows the duration: one train, one read exactly at the finish
        location = face.train(arrival.container)
        outcome.training = face.trainings[-1]
        yield outcome.training.finished_s - face.clock.seconds
        face.training_status(location)
        outcome.seen_at_s = face.clock.seconds


def _results(face: SimFace, seen: list[tuple[Training, float]]) -> list[TrainingResult]:
    firsts = {}
    for training, _ in sorted(seen, key=lambda pair: pair[0].started_s):
        firsts.setdefault(training.key, training)
    finishes = sorted(t.finished_s for t in face.trainings)
    return [TrainingResult(Container.from_key(t.key), t.finished_s - t.started_s,
                           face.calls_between(t.key, t.started_s, at_s), at_s - t.finished_s, firsts[t.key] is t,
                           bisect.bisect_right(finishes, t.started_s), t.started_s)
            for t, at_s in seen]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: a value that was observed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarize(results: list[TrainingResult]) -> dict:
    shares = [r.delay_s / r.duration_s for r in results]
    later = [r for r in results if not r.first]
    firsts = [r for r in results if r.first]
    return {
        "first_with_history": _share([r for r in firsts if r.resource_history >= WITH_HISTORY]),
        "first_by_resource_history": {label: _share([r for r in firsts if low <= r.resource_history < high])
                                      for low, high, label in RESOURCE_HISTORY_BUCKETS},
        "trainings": len(results),
        "calls_per_training": sum(r.calls for r in results) / len(results),
        "calls_per_first_training": _mean([r.calls for r in results if r.first]),
        "calls_per_later_training": _mean([r.calls for r in later]),
        "delay_p50_s": percentile([r.delay_s for r in results], 0.5),
        "delay_p95_s": percentile([r.delay_s for r in results], 0.95),
        "delay_p50_share": percentile(shares, 0.5),
        "delay_p95_share": percentile(shares, 0.95),
        "within_delay_target": sum(r.within_target for r in results) / len(results),
        "within_delay_target_later": _mean([r.within_target for r in later]),
        "by_duration": {label: _bucket([r for r in results if _bucket_of(r.duration_s) == label])
                        for _, label in DURATION_BUCKETS_S},
    }


def _share(results: list[TrainingResult]) -> dict | None:
    if not results:
        return None
    return {"trainings": len(results), "calls_per_training": sum(r.calls for r in results) / len(results),
            "within_delay_target": sum(r.within_target for r in results) / len(results)}


def run_variance(mix: tuple[Arrival, ...], progress: Callable[[str], None] = lambda _: None) -> dict:
    """The mix on a Face whose trainings vary by each spread in SPREADS, every strategy on the same draws."""
    found: dict[str, dict] = {}
    for spread in SPREADS:
        variance = TrainingVariance(spread=spread, seed=VARIANCE_SEED)
        runs = {}
        for strategy in (*STRATEGIES, *MINORITY_WRONG):
            progress(f"variance {spread:g}: {strategy}")
            runs[strategy] = run_trainings(strategy, mix, variance=variance)
            found.setdefault(f"{spread:g}", {})[strategy] = summarize(runs[strategy])
        for strategy in MINORITY_WRONG:
            found[f"{spread:g}"][strategy]["wrong_hints"] = _wrong_hints_cost(mix, runs[strategy], runs["ours"])
    return found


def _wrong_hints_cost(mix: tuple[Arrival, ...], hinted: list[TrainingResult], unhinted: list[TrainingResult]
                      ) -> dict:
    """The calls of the trainings whose request's hint was ten times off, and of each one's next training (whose
    history the wrong hint spoiled), against the same trainings asked for without a hint."""
    wrong = [a for a in mix if _minority_wrong(a) != a.face_count]
    by_container = {a.container_id: sorted((b for b in mix if b.container_id == a.container_id),
                                           key=lambda b: b.at_s) for a in wrong}
    hinted_at, unhinted_at = _in_order(hinted), _in_order(unhinted)
    pairs = set()
    for arrival in wrong:
        number = by_container[arrival.container_id].index(arrival)
        pairs |= {(arrival.container_id, n) for n in (number, number + 1)
                  if n < len(by_container[arrival.container_id])}

    def cost(chosen: set) -> dict:
        return {"trainings": len(chosen), "calls": sum(hinted_at[pair].calls for pair in chosen),
                "calls_without_hint": sum(unhinted_at[pair].calls for pair in chosen)}
    # A container's first training is what the speed model times; a later one is timed by the container's history,
    # which a wrong hint mistimes by as much as it is off (the model cannot tell it from a container that grew).
    firsts = {pair for pair in pairs if pair[1] == 0}
    return {"trainings_with_a_wrong_hint": len(wrong), **cost(pairs), "first_trainings": cost(firsts),
            "later_trainings": cost(pairs - firsts)}


def _in_order(results: list[TrainingResult]) -> dict[tuple[str, int], TrainingResult]:
    """Each container's trainings by their number, first to last: a container's requests come one at a time."""
    numbered: dict[tuple[str, int], TrainingResult] = {}
    seen: Counter[str] = Counter()
    for result in sorted(results, key=lambda r: (r.container.id, r.started_s)):
        numbered[(result.container.id, seen[result.container.id])] = result
        seen[result.container.id] += 1
    return numbered


# Where the speed model's polls may start, in standard deviations below the expected duration: the trade it offers.
FRONTIER_Z = (0.0, 0.5, 1.0, POLICY.speed_quantile_z)


def run_frontier(mix: tuple[Arrival, ...], spread: float) -> dict:
    """What the speed model trades at one spread: calls against trainings seen in time, as its polls start at
    each quantile in FRONTIER_Z (the policy's is the last)."""
    variance = TrainingVariance(spread=spread, seed=VARIANCE_SEED)
    return {f"{z:g}": summarize(run_trainings("ours_hinted_learned", mix, variance=variance, speed_quantile_z=z))
            for z in FRONTIER_Z}


def _bucket_of(duration_s: float) -> str:
    return next(label for bound, label in DURATION_BUCKETS_S if duration_s < bound)


def _bucket(results: list[TrainingResult]) -> dict | None:
    if not results:
        return None
    return {"trainings": len(results), "calls_per_training": sum(r.calls for r in results) / len(results),
            "delay_mean_s": sum(r.delay_s for r in results) / len(results),
            "delay_p95_s": percentile([r.delay_s for r in results], 0.95)}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_burst(strategy: str, arrivals: tuple[Arrival, ...]) -> dict:
    """Train calls a burst to one busy list costs, and how many of its requests end up answered by a training
    that started after they arrived (the others' faces stay untrained)."""
    clock = VirtualClock()
    face = SimFace(clock)
    scheduler = Scheduler(clock)
    first, burst = arrivals[0], arrivals[1:]
    if strategy == "ours":
        orchestrator = SimulatedOrchestrator(scheduler, face, TICK_S, POLICY)
        for arrival in arrivals:
            orchestrator.request(arrival)
        scheduler.run()
        answered_by_later = set()
        for _, event in terminal_events(orchestrator.events):
            if event["data"]["status"] == "succeeded":
                submitted_s = seconds_of(event["data"]["submittedAt"])
                answered_by_later |= {r for r in event["data"]["requestIds"]
                                      if r != first.request_id and submitted_s >= _arrival_at(arrivals, r)}
        return {"train_calls": face.train_calls - 1, "trainings_started": len(face.trainings) - 1,
                "requests_covered": len(answered_by_later), "requests": len(burst)}
    outcomes = [PollerResult() for _ in arrivals]
    for arrival, outcome in zip(arrivals, outcomes):
        scheduler.spawn(arrival.at_s, _baseline(strategy, face, arrival, outcome))
    scheduler.run()
    covered = sum(1 for a, o in zip(burst, outcomes[1:]) if o.training and o.training.started_s >= a.at_s)
    return {"train_calls": face.train_calls - 1, "trainings_started": len(face.trainings) - 1,
            "requests_covered": covered, "requests": len(burst)}


def _arrival_at(arrivals: tuple[Arrival, ...], request_id: str) -> float:
    return next(a.at_s for a in arrivals if a.request_id == request_id)


def run_free_tier(strategy: str, arrivals: tuple[Arrival, ...], horizon_s: float = 3600.0) -> dict:
    """All requests at once on a free-tier resource (20 calls a minute, 429 with Retry-After beyond)."""
    clock = VirtualClock()
    face = SimFace(clock, rate_limit=RateLimit(20, 60.0))
    scheduler = Scheduler(clock)
    if strategy == "ours":
        orchestrator = SimulatedOrchestrator(scheduler, face, TICK_S, POLICY)
        for arrival in arrivals:
            orchestrator.request(arrival)
        scheduler.run(horizon_s)
        done = [at_s for at_s, e in terminal_events(orchestrator.events) if e["data"]["status"] == "succeeded"]
        failed = len(terminal_events(orchestrator.events)) - len(done)
    else:
        outcomes = [PollerResult() for _ in arrivals]
        for arrival, outcome in zip(arrivals, outcomes):
            scheduler.spawn(arrival.at_s, _baseline(strategy, face, arrival, outcome))
        scheduler.run(horizon_s)
        done = [o.seen_at_s for o in outcomes if o.seen_at_s is not None]
        failed = sum(1 for o in outcomes if o.failed)
    span_min = (max(done) - min(a.at_s for a in arrivals)) / 60 if done else math.inf
    return {"requests": len(arrivals), "completed": len(done), "failed": failed,
            "completed_per_minute": len(done) / span_min if done else 0.0, "throttled_429": face.throttled,
            "face_calls": face.calls}


S0 = RateLimit(10, 1.0)
# An upload job adding faces at a steady 8 calls/s: what S0 leaves once the orchestrator's default budget
# (FACE_CALLS_PER_SECOND, 2) is spent. It waits out each 429's Retry-After, then goes on.
UPLOADER_CALLS_PER_SECOND = 8.0
FACE_CALLS_PER_SECOND = float(DEFAULTS["FACE_CALLS_PER_SECOND"])
SHARED_HORIZON_S = 2 * 3600.0  # the mix's first trainings, up to 30 min each, start within the first hour


def run_shared_resource(arrivals: tuple[Arrival, ...], orchestrator: str) -> dict:
    """One S0 resource shared by an upload job and (`orchestrator`: "none", "budgeted" or "unbudgeted") ours,
    training `arrivals` without size hints (the most polls)."""
    clock = VirtualClock()
    face = SimFace(clock, rate_limit=S0)
    scheduler = Scheduler(clock)
    uploader = {"calls": 0, "throttled_429": 0}

    def upload() -> Iterator[float]:
        while clock.seconds < SHARED_HORIZON_S:
            try:
                face.upload()
            except Throttled as throttled:
                uploader["throttled_429"] += 1
                yield throttled.retry_after_seconds
                continue
            uploader["calls"] += 1
            yield 1 / UPLOADER_CALLS_PER_SECOND

    scheduler.spawn(0.0, upload())
    ours = None
    if orchestrator != "none":
        ours = SimulatedOrchestrator(scheduler, face, TICK_S, POLICY, face_calls_per_second=(
            FACE_CALLS_PER_SECOND if orchestrator == "budgeted" else None))
        for arrival in arrivals:
            ours.request(arrival)
    scheduler.run(SHARED_HORIZON_S)
    return {"uploader_calls": uploader["calls"], "uploader_429s": uploader["throttled_429"],
            "orchestrator_calls": face.orchestrator_calls,
            "orchestrator_429s": face.throttled - uploader["throttled_429"],
            "trainings_seen": len(terminal_events(ours.events)) if ours else 0,
            "trainings": len(arrivals) if ours else 0}


def run_all(mix: tuple[Arrival, ...], bursts: dict[int, tuple[Arrival, ...]], rush: tuple[Arrival, ...],
            progress: Callable[[str], None] = lambda _: None) -> dict:
    mix_results, by_kind = {}, {}
    for strategy in (*STRATEGIES, *WRONG_HINTS):
        progress(f"mix: {strategy}")
        results = run_trainings(strategy, mix)
        mix_results[strategy] = summarize(results)
        for kind in Kind:
            by_kind.setdefault(str(kind), {})[strategy] = summarize([r for r in results if r.container.kind is kind])
    burst_results = {str(size): {s: run_burst(s, arrivals) for s in ("ours", "naive", "sdk_poller")}
                     for size, arrivals in bursts.items()}
    progress("free tier")
    free_tier = {s: run_free_tier(s, rush) for s in ("ours", "naive", "sdk_poller")}
    progress("an upload job sharing the resource")
    first_round = tuple(a for a in mix if a.at_s < 3600)
    # The first trainings as the mix spreads them over an hour, and all of them asked for within one minute (a
    # nightly import): the second is the budget's hard case, since trains go first whatever it says.
    workloads = {"spread": first_round, "import": tuple(replace(a, at_s=a.at_s % 60) for a in first_round)}
    shared = {name: {mode: run_shared_resource(arrivals, mode) for mode in ("none", "budgeted", "unbudgeted")}
              for name, arrivals in workloads.items()}
    return {"mix": mix_results, "mix_by_kind": by_kind, "bursts": burst_results, "free_tier": free_tier,
            "shared_resource": shared}
