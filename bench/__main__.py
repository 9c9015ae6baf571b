"""`make bench`: the orchestrator against the usual alternatives, in one run, printed as a table and written to
bench/results.json (docs/performance.md).

    python -m bench [--quick] [--output PATH] [--plot PATH] [--seed N]

Virtual time (the real orchestrator on a simulated clock, bench/simulation.py) covers the long trainings, bursts
and the free tier; real time on the local world (bench/live.py) confirms the short trainings, and measures the
burst through the real stack, intake, the tick's storage cost and the idle cost; bench/runtime_cost.py measures
what Microsoft's worker runtime adds to each invocation. `--quick` runs every part on a small scale in under a
minute: it checks the harness, and its figures are not the product's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from localdev.face_emulator.model import TrainingVariance, face_count_for
from localdev.world import REPO_ROOT, LocalWorld
from orchestrator.containers import Kind
from orchestrator.resource_speed import ENOUGH_TRAININGS

from . import live, runtime_cost, scaling, virtual, workload
from .simulation import Arrival

BUDGET = float(scaling.BUDGET)
LEARNED_SPREAD = 0.1  # the real-time learned run's, which the targets are set at
STRATEGY_NAMES = {"ours": "ours", "ours_hinted": "ours, hinted", "ours_hinted_learned": "hinted+learned",
                  "naive": "naive 5 s loop", "sdk_poller": "SDK poller", "oracle": "oracle"}
HINT_NAMES = {"ours": "no hint", "ours_hinted": "the true size", "ours_hint_10x_small": "a tenth of it",
              "ours_hint_10x_big": "ten times it"}


# Why a target can be missed on this workload or machine, written into results.json for each one missed.
MISSED_BECAUSE = {
    "hinted_within_delay_target_ge_95pct":
        "A first training can end anywhere in Face's documented range for its size, 2 to 3 times wide; seeing "
        "every end within 10% would take 7 to 11 polls across that range, against the target of 2.3 calls per "
        "training. Later trainings, timed by the container's own history, are within.",
    "calls_per_training_le_3":
        "Without a hint nothing tells how long a first training takes, so each wait is half the time elapsed; "
        "later trainings cost about 2.3. Size hints are the answer.",
    "delay_within_max_10pct_or_tick_at_p95":
        "Without a hint a first training is seen up to half its duration late (each wait is half the time "
        "elapsed). Size hints are the answer.",
    "intake_ge_0_6_of_floor":
        "On this 2-CPU machine the dev host (Python, Microsoft's worker runtime inside) and Azurite share the "
        "CPUs: the dev host running a function that does nothing reaches about the floor, and our one storage "
        "transaction per request costs more CPU in azure-core's batch path than the host's own work. Azure's "
        "host does its part in .NET.",
    "learned_first_with_history_ge_95pct_at_le_2_3_calls_at_10pct_spread":
        "Both at once are beyond any schedule at a 10% spread: a training then ends anywhere within +-16% of what "
        "the model expects (95% of them), and seeing each end within 10% takes a poll every 10% across that "
        "window, about 3.5 Face calls in all. The model is set for the 95% (`speed_quantile_z` 1.645); "
        "`variance_frontier` shows the calls each lower coverage would cost.",
    "learned_mix_le_2_2_calls_and_ge_95pct_at_10pct_spread":
        "As for first trainings: at a 10% spread no schedule sees 95% within 10% at 2.2 calls. Later trainings are "
        "timed by their container's last one, as before the model, whose spread is the two trainings' together.",
    "learned_minority_wrong_hints_cost_no_more_calls_than_none":
        "A first training whose hint was ten times off cost more than with no hint at all.",
    "uploader_429s_with_us_within_5pct_of_alone":
        "Our calls and the upload job's met in one second more often than S0 allows.",
}


@dataclass(frozen=True)
class Scale:
    mix_containers: int
    overlap_durations_s: tuple[float, ...]
    overlap_rounds: int
    sdk_interval_s: float
    live_burst_sizes: tuple[int, ...]
    live_burst_training_s: float
    intake_messages: int
    intake_lists: int
    tracked_lists: int
    in_flight: tuple[int, ...]
    idle_seconds: float
    rush_lists: int
    runtime_invocations: int
    # Many instances: the import in virtual time (containers, instances, budgets), on the real stack (containers,
    # instances, the upload job alone first, s), and the ledger under contention (takers, s).
    scale_import: tuple[int, int, tuple[int, ...]]
    nightly_import: tuple[int, int, float]
    ledger_takers: tuple[int, ...]
    ledger_seconds: float
    # Hinted first trainings on real time, on a Face that varies: each list's duration, one after another.
    learned_durations_s: tuple[float, ...]


# Short durations off the 5 s grid: a training that ends exactly on a poll is a coin toss between real and virtual.
FULL = Scale(mix_containers=60, overlap_durations_s=(3, 7, 12, 22), overlap_rounds=2,
             sdk_interval_s=virtual.SDK_INTERVAL_S, live_burst_sizes=workload.BURST_SIZES, live_burst_training_s=40,
             intake_messages=2000, intake_lists=20, tracked_lists=10_000, in_flight=(1, 100, 1000),
             idle_seconds=60, rush_lists=30, runtime_invocations=5000, scale_import=(10_000, 40, (2, 10)),
             nightly_import=(60, 3, 30.0), ledger_takers=(1, 4, 16), ledger_seconds=10.0,
             learned_durations_s=(3, 6, 4, 9, 5, 3.5, 8, 5.5, 12, 4.5))
# The SDK's 30 s default interval alone would take half the quick minute: quick polls it every 2 s.
QUICK = Scale(mix_containers=9, overlap_durations_s=(3,), overlap_rounds=1, sdk_interval_s=2.0, live_burst_sizes=(10,),
              live_burst_training_s=4, intake_messages=100, intake_lists=5, tracked_lists=300, in_flight=(1, 10, 100),
              idle_seconds=5, rush_lists=30, runtime_invocations=300, scale_import=(300, 4, (2,)),
              nightly_import=(9, 3, 3.0), ledger_takers=(1, 4), ledger_seconds=2.0,
              learned_durations_s=(1.5, 2, 1.5, 2, 1.5, 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every part, small: checks the harness in < 1 min")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "results.json")
    parser.add_argument("--plot", type=Path, help="also draw calls and delay against training duration (PNG)")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    logging.getLogger("orchestrator").setLevel(logging.ERROR)  # thousands of simulated 429s are expected here
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {message}", file=sys.stderr, flush=True)

    progress("virtual time: the training mix, bursts, the free tier")
    mix = workload.training_mix(scale.mix_containers, args.seed)
    simulated = virtual.run_all(mix.arrivals, {n: workload.burst(n, args.seed) for n in workload.BURST_SIZES},
                                workload.free_tier_rush(scale.rush_lists, args.seed), progress)
    progress("virtual time: the mix on a Face whose trainings vary")
    varied = virtual.run_variance(mix.arrivals, progress)
    frontier = virtual.run_frontier(mix.arrivals, LEARNED_SPREAD)
    containers, instances, budgets = scale.scale_import
    progress(f"virtual time: an import of {containers:,} containers across {instances} instances")
    at_scale = {str(budget): scaling.import_at_scale(containers, instances, args.seed, budget) for budget in budgets}
    with tempfile.TemporaryDirectory() as state:
        state_dir = Path(state)
        with LocalWorld(state_dir / "world", face_options=["--rate-limit", "100000/s"]) as world:
            world.start()
            progress("real time: short trainings, every strategy")
            overlap_live = live.overlap(world, scale.overlap_durations_s, scale.overlap_rounds, scale.sdk_interval_s)
            progress("real time: hinted first trainings on a Face that varies, timed by what the resource learns")
            learned_live = live.learned_first_trainings(
                world, tuple(face_count_for(s) for s in scale.learned_durations_s), LEARNED_SPREAD,
                virtual.VARIANCE_SEED)
            progress("real time: bursts through the orchestrator")
            burst_live = live.burst(world, scale.live_burst_sizes, scale.live_burst_training_s)
            progress("real time: intake through the dev host, the bare SDK's floor, and the host's own")
            intake = live.intake(world, state_dir, scale.intake_messages, scale.intake_lists)
            progress(f"real time: tick cost, {scale.tracked_lists:,} lists tracked")
            ticks = live.tick_cost(world, scale.tracked_lists, scale.in_flight)
            progress("real time: a nightly import across instances, an upload job beside it")
            nightly = scaling.nightly_import(world, state_dir, *scale.nightly_import)
            progress("real time: the budget's ledger under contention")
            contention = scaling.ledger_contention(world, scale.ledger_takers, scale.ledger_seconds)
            progress("real time: the timer's failover with the production host.json")
            failover = scaling.timer_failover(world, state_dir, REPO_ROOT / "host.json")
        progress(f"real time: {scale.idle_seconds:g} s idle")
        idle = live.idle(state_dir / "idle", scale.idle_seconds)
    progress(f"the worker runtime's cost: {scale.runtime_invocations:,} no-op invocations, and as many direct calls")
    runtime = runtime_cost.run(scale.runtime_invocations)
    overlap_virtual = {s: _by_duration(virtual.run_trainings(s, _overlap_arrivals(scale, overlap_live[s]),
                                                             scale.sdk_interval_s))
                       for s in ("ours", "naive", "sdk_poller")}
    agreement = _agreement(overlap_live, overlap_virtual)
    learned_agreement = _agreement(*_learned_by_list(scale, learned_live))
    results = _results(args, scale, mix, simulated, overlap_live, overlap_virtual, agreement, burst_live, intake,
                       ticks, idle, runtime, time.monotonic() - started)
    results["scaling"] = {"import_at_scale": at_scale, "nightly_import": nightly, "ledger_contention": contention,
                          "timer_failover": failover}
    _scaling_targets(results)
    results["variance"] = _variance(varied)
    results["variance_real_vs_virtual"] = learned_agreement
    results["variance_frontier"] = {"spread": LEARNED_SPREAD, "by_quantile_z": {
        z: {"all": {k: r[k] for k in ("calls_per_training", "within_delay_target")},
            "first_with_history": r["first_with_history"]} for z, r in frontier.items()}}
    _variance_targets(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    if args.plot:
        from .plot import draw

        draw(args.plot)
        progress(f"plot: {args.plot}")
    progress(f"results: {args.output}")
    return 0


def _overlap_arrivals(scale: Scale, real: dict[str, list]) -> tuple[Arrival, ...]:
    """The real-time scenario in virtual time: each duration's list trained `rounds` times, one after another,
    each submitted at the same point of the timer's period as it was on real time."""
    return tuple(Arrival(round_number * 600.0 + real[f"{seconds:g}"][round_number].submitted_phase_s,
                         f"overlap-{seconds:g}s", face_count_for(seconds), f"overlap-{seconds:g}s-{round_number}")
                 for seconds in scale.overlap_durations_s for round_number in range(scale.overlap_rounds))


def _learned_by_list(scale: Scale, real: list[live.Observed]) -> tuple[dict, dict]:
    """The real-time learned run and the same lists, sizes, seed and timer phases in virtual time, by list."""
    arrivals = tuple(Arrival(number * 600.0 + observed.submitted_phase_s, live.LEARNED_LIST.format(number=number),
                             face_count_for(seconds), f"{live.LEARNED_LIST.format(number=number)}-0")
                     for number, (seconds, observed) in enumerate(zip(scale.learned_durations_s, real)))
    simulated = virtual.run_trainings("ours_hinted_learned", arrivals, variance=TrainingVariance(
        spread=LEARNED_SPREAD, seed=virtual.VARIANCE_SEED))
    strategy = "ours_hinted_learned"
    return ({strategy: {str(n): [observed] for n, observed in enumerate(real)}},
            {strategy: {str(n): [{"duration_s": r.duration_s, "calls": r.calls, "delay_s": r.delay_s}]
                        for n, r in enumerate(simulated)}})


def _by_duration(results: list[virtual.TrainingResult]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for result in results:  # in the order they ran: first training, then second
        grouped.setdefault(result.container.id.removeprefix("overlap-").removesuffix("s"), []).append(
            {"duration_s": result.duration_s, "calls": result.calls, "delay_s": result.delay_s})
    return grouped


def _agreement(real: dict, simulated: dict) -> dict:
    """Real time and virtual time agree where they overlap if, training by training, Face calls differ by at most
    one and the delay by at most one timer period: the timer's phase is the only thing the two do not share."""
    rows, agree = [], True
    for strategy, by_duration in real.items():
        for duration, observed in by_duration.items():
            for number, (live_one, sim_one) in enumerate(zip(observed, simulated[strategy][duration])):
                ok = (abs(live_one.calls - sim_one["calls"]) <= 1
                      and abs(live_one.delay_s - sim_one["delay_s"]) <= virtual.TICK_S + 1.0)
                agree &= ok
                rows.append({"strategy": strategy, "duration_s": float(duration), "training": number + 1,
                             "real": asdict(live_one), "virtual": sim_one, "agree": ok})
    return {"agree": agree, "trainings": rows}


def _results(args, scale: Scale, mix, simulated, overlap_live, overlap_virtual, agreement, burst_live, intake,
             ticks, idle, runtime, seconds: float) -> dict:
    mix_results, by_kind = simulated["mix"], simulated["mix_by_kind"]
    with_tracked = ticks["with_tracked"]
    ours, hinted = mix_results["ours"], mix_results["ours_hinted"]
    shared = simulated["shared_resource"]
    results = {
        "command": "python -m bench" + (" --quick" if args.quick else "") + f" --seed {args.seed}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count()},
        "mode": "quick" if args.quick else "full",
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "scale": asdict(scale),
        "calls_per_training": {s: round(r["calls_per_training"], 3) for s, r in mix_results.items()},
        "detection_delay_p95_share": {s: round(r["delay_p95_share"], 3) for s, r in mix_results.items()},
        # Share of all trainings seen within max(10% of the training, one timer period).
        "within_delay_target": {s: round(r["within_delay_target"], 3) for s, r in mix_results.items()},
        "calls_per_training_by_kind": {kind: {s: round(r["calls_per_training"], 3) for s, r in by_strategy.items()}
                                       for kind, by_strategy in by_kind.items()},
        "detection_delay_p95_s_by_kind": {kind: {s: r["delay_p95_s"] for s, r in by_strategy.items()}
                                          for kind, by_strategy in by_kind.items()},
        "trains_per_burst": {size: {s: r["train_calls"] for s, r in by_strategy.items()}
                             for size, by_strategy in simulated["bursts"].items()},
        "intake_ratio_to_floor": intake["ratio_to_floor"],
        "uploader_429s": {"alone": shared["spread"]["none"]["uploader_429s"],
                          "with_orchestrator": shared["spread"]["budgeted"]["uploader_429s"],
                          "with_orchestrator_unbudgeted": shared["spread"]["unbudgeted"]["uploader_429s"],
                          "import": {mode: r["uploader_429s"] for mode, r in shared["import"].items()}},
        "shared_resource": shared,
        "tick_entities_read": {k: r["entities_read"] for k, r in with_tracked.items()},
        "idle_face_calls_per_hour": idle["face_calls_per_hour"],
        "mix": {"containers": mix.containers, "trainings": len(mix.arrivals), "by_strategy": mix_results,
                "by_kind": by_kind},
        "bursts": simulated["bursts"],
        "burst_live_ours": burst_live,
        "free_tier": simulated["free_tier"],
        "intake": intake,
        "tick": ticks,
        "idle": idle,
        "runtime_cost": runtime,
        "real_vs_virtual": agreement,
        "targets": {
            "calls_per_training_le_3": ours["calls_per_training"] <= 3,
            "hinted_calls_per_training_le_2_3": hinted["calls_per_training"] <= 2.3,
            "hinted_within_delay_target_ge_95pct": hinted["within_delay_target"] >= 0.95,
            "no_duration_bucket_where_the_sdk_poller_beats_ours_on_calls_and_delay": not _sdk_better_buckets(
                mix_results),
            "wrong_hints_cost_no_more_calls_than_none": all(
                mix_results[s]["calls_per_training"] <= ours["calls_per_training"] for s in virtual.WRONG_HINTS),
            "one_follow_up_per_burst": all(r["ours"]["train_calls"] == 1 for r in simulated["bursts"].values()),
            "delay_within_max_10pct_or_tick_at_p95": ours["within_delay_target"] >= 0.95,
            "intake_ge_0_6_of_floor": intake["ratio_to_floor"] >= 0.6,
            "uploader_429s_with_us_within_5pct_of_alone": all(
                by_mode["budgeted"]["uploader_429s"] <= 1.05 * by_mode["none"]["uploader_429s"]
                for by_mode in shared.values()),
            "tick_independent_of_tracked": all(
                ticks["without_tracked"][k]["entities_read"] == with_tracked[k]["entities_read"] for k in with_tracked),
            "idle_zero_face_calls": idle["face_calls"] == 0,
        },
    }
    results["targets_missed_because"] = {name: MISSED_BECAUSE.get(name, "not known: see docs/performance.md")
                                         for name, met in results["targets"].items() if not met}
    return results


def _scaling_targets(results: dict) -> None:
    """Issue 25's: the budget held for the deployment, and the import drained near what the budget allows."""
    scaled, nightly = results["scaling"]["import_at_scale"], results["scaling"]["nightly_import"]
    uploader = nightly["uploader"]
    results["targets"].update({
        "import_peak_within_budget_plus_one": nightly["peak_calls_in_any_second"] <= BUDGET + 1 and all(
            r["peak_calls_in_any_second"] <= r["calls_per_second_budget"] + 1 for r in scaled.values()),
        "import_no_429_of_ours": nightly["our_429s"] == 0 and all(r["face_429s"] == 0 for r in scaled.values()),
        "import_drained_within_twice_the_floor": nightly["drain_to_floor"] <= 2 and all(
            r["drain_to_floor"] <= 2 for r in scaled.values()),
        "nightly_import_uploader_429s_within_5pct_of_alone":
            uploader["with_ours"]["per_minute_429"] <= 1.05 * uploader["alone"]["per_minute_429"],
    })
    results["targets_missed_because"] = {name: MISSED_BECAUSE.get(name, "not known: see docs/performance.md")
                                         for name, met in results["targets"].items() if not met}


def _variance(varied: dict) -> dict:
    """Issue 27's figures, by spread (as text) then strategy."""
    keep = ("calls_per_training", "within_delay_target", "calls_per_first_training", "calls_per_later_training",
            "first_with_history", "first_by_resource_history", "wrong_hints")
    return {spread: {strategy: {k: summary[k] for k in keep if k in summary}
                     for strategy, summary in by_strategy.items()} for spread, by_strategy in varied.items()}


def _variance_targets(results: dict) -> None:
    """Issue 27's: the speed model's first trainings, the whole mix with hints, and nothing worse without them."""
    varied = results["variance"]
    at_10 = varied["0.1"]["ours_hinted_learned"]
    first = at_10["first_with_history"] or {"calls_per_training": float("inf"), "within_delay_target": 0.0}
    results["targets"].update({
        "learned_first_with_history_ge_95pct_at_le_2_3_calls_at_10pct_spread":
            first["within_delay_target"] >= 0.95 and first["calls_per_training"] <= 2.3,
        "learned_mix_le_2_2_calls_and_ge_95pct_at_10pct_spread":
            at_10["calls_per_training"] <= 2.2 and at_10["within_delay_target"] >= 0.95,
        # Before the resource knows enough, the model times nothing: the same first trainings, the same figures.
        "learned_no_different_without_history": all(
            by["ours_hinted_learned"]["first_by_resource_history"]["0-4"]
            == by["ours_hinted"]["first_by_resource_history"]["0-4"] for by in varied.values()),
        # The first trainings whose hint was ten times off (what the learned speed times): no more calls than
        # unhinted. The later ones are in the results too (`wrong_hints`), with what they cost.
        "learned_minority_wrong_hints_cost_no_more_calls_than_none": all(
            wrong["calls"] <= wrong["calls_without_hint"] for wrong in (
                by["ours_hinted_learned_minority_wrong"]["wrong_hints"]["first_trainings"]
                for by in varied.values())),
    })
    results["targets_missed_because"] = {name: MISSED_BECAUSE.get(name, "not known: see docs/performance.md")
                                         for name, met in results["targets"].items() if not met}


def _sdk_better_buckets(mix_results: dict) -> list[str]:
    """Duration buckets where the SDK poller spends fewer calls than ours (no hints) and is also less late."""
    found = []
    for bucket, sdk in mix_results["sdk_poller"]["by_duration"].items():
        ours = mix_results["ours"]["by_duration"][bucket]
        if sdk and ours and sdk["calls_per_training"] < ours["calls_per_training"] \
                and sdk["delay_mean_s"] < ours["delay_mean_s"]:
            found.append(bucket)
    return found


def render(results: dict) -> str:
    lines = [f"facetrain benchmark ({results['mode']}), {results['date']}, {results['machine']['cpus']} CPUs, "
             f"{results['command']}", ""]
    _add_row(lines, "", list(STRATEGY_NAMES.values()))
    _render_mix(results, lines)
    _render_other_virtual(results, lines)
    _render_real_time(results, lines)
    _render_scaling(results, lines)
    _render_variance(results, lines)
    lines.append("Targets: " + ", ".join(f"{name} {'met' if met else 'MISSED'}"
                                          for name, met in results["targets"].items()))
    return "\n".join(lines)


def _add_row(lines: list[str], label: str, values: list) -> None:
    lines.append(f"{label:<52}" + "".join(f"{v:>16}" for v in values))


def _calls(summary: dict) -> str:
    return f"{summary['calls_per_training']:.2f}"


def _first_and_later(summary: dict) -> str:
    return f"{summary['calls_per_first_training']:.1f} / {summary['calls_per_later_training']:.1f}"


def _delays(summary: dict) -> str:
    return f"{summary['delay_p50_s']:.1f} / {summary['delay_p95_s']:.1f}"


def _render_mix(results: dict, lines: list[str]) -> None:
    """The training mix: in all, by kind, by duration, and with each kind of size hint."""
    strategies = list(STRATEGY_NAMES)
    mix = results["mix"]["by_strategy"]
    m = results["mix"]
    lines.append(f"Training mix: {m['trainings']} trainings of {m['containers']} containers, a third of each kind, "
                 "1k-1M faces or persons (virtual time)")
    _add_row(lines, "  Face calls per training", [_calls(mix[s]) for s in strategies])
    _add_row(lines, "    first training of a container / later ones", [_first_and_later(mix[s]) for s in strategies])
    _add_row(lines, "  delay, finish to event, p50 / p95 (s)", [_delays(mix[s]) for s in strategies])
    _add_row(lines, "  delay as share of duration, p50 / p95",
             [f"{mix[s]['delay_p50_share']:.0%} / {mix[s]['delay_p95_share']:.0%}" for s in strategies])
    _add_row(lines, "  within max(10% of duration, one 5 s tick): all / later",
             [f"{mix[s]['within_delay_target']:.0%} / {mix[s]['within_delay_target_later']:.0%}" for s in strategies])
    for kind, by_strategy in m["by_kind"].items():
        lines.append(f"  {Kind(kind).described}s: {by_strategy['ours']['trainings']} trainings")
        _add_row(lines, "    Face calls per training", [_calls(by_strategy[s]) for s in strategies])
        _add_row(lines, "      first training / later ones", [_first_and_later(by_strategy[s]) for s in strategies])
        _add_row(lines, "    delay p50 / p95 (s)", [_delays(by_strategy[s]) for s in strategies])
        _add_row(lines, "    within max(10%, one tick)",
                 [f"{by_strategy[s]['within_delay_target']:.0%}" for s in strategies])
    lines.append("The same mix by training duration: Face calls per training; mean / p95 delay (s)")
    for bucket in mix["ours"]["by_duration"]:
        cells = [mix[s]["by_duration"][bucket] for s in strategies]
        _add_row(lines, f"  {bucket} ({cells[0]['trainings'] if cells[0] else 0} trainings)",
                 [f"{c['calls_per_training']:.1f}; {c['delay_mean_s']:.0f}/{c['delay_p95_s']:.0f}" if c else ""
                  for c in cells])
    lines.append("Size hints, the same mix: what each request says of its container's size")
    for strategy, said in HINT_NAMES.items():
        r = mix[strategy]
        lines.append(f"  {said:<16} calls {r['calls_per_training']:.2f} (first {r['calls_per_first_training']:.1f},"
                     f" later {r['calls_per_later_training']:.1f}); delay p50/p95 {r['delay_p50_s']:.1f}/"
                     f"{r['delay_p95_s']:.1f} s; within target {r['within_delay_target']:.0%}")


def _render_other_virtual(results: dict, lines: list[str]) -> None:
    """Bursts, the free tier and a shared resource: the other virtual-time experiments."""
    strategies = list(STRATEGY_NAMES)
    lines.append("Burst of N requests to one list while it trains (virtual time)")
    for size, by_strategy in results["bursts"].items():
        _add_row(lines, f"  N={size}: train calls / requests whose faces get trained",
                 [f"{by_strategy[s]['train_calls']} / {by_strategy[s]['requests_covered']}" if s in by_strategy else ""
                  for s in strategies])
    live_burst = results["burst_live_ours"]["by_size"]
    lines.append("  real stack, ours: " + ", ".join(
        f"N={n}: {r['train_calls']} follow-up train call(s), naming {r['requests_covered']} of {r['requests']}"
        for n, r in live_burst.items()))
    free = results["free_tier"]
    lines.append("Free tier, 20 calls/min: all lists request at once (virtual time)")
    _add_row(lines, "  completed / failed of requests",
             [f"{free[s]['completed']} / {free[s]['failed']}" if s in free else "" for s in strategies])
    _add_row(lines, "  completed per minute; 429s drawn",
             [f"{free[s]['completed_per_minute']:.1f}; {free[s]['throttled_429']}" if s in free else ""
              for s in strategies])
    lines.append(f"An upload job at {virtual.UPLOADER_CALLS_PER_SECOND:g} calls/s on the same S0 resource (10/s), "
                 f"ours polling at most {virtual.FACE_CALLS_PER_SECOND:g}/s: the uploader's 429s")
    for name, by_mode in results["shared_resource"].items():
        lines.append(f"  {name}: alone {by_mode['none']['uploader_429s']}, with ours "
                     f"{by_mode['budgeted']['uploader_429s']} (ours drew {by_mode['budgeted']['orchestrator_429s']}),"
                     f" with ours unbudgeted {by_mode['unbudgeted']['uploader_429s']} (ours drew "
                     f"{by_mode['unbudgeted']['orchestrator_429s']}); trainings seen "
                     f"{by_mode['budgeted']['trainings_seen']} of {by_mode['budgeted']['trainings']}")


def _render_real_time(results: dict, lines: list[str]) -> None:
    """What ran on the local world, and where it meets virtual time."""
    intake = results["intake"]
    samples = "; ".join(f"{name} {', '.join(map(str, rates))}" for name, rates in intake["samples_per_second"].items())
    lines.append(f"Intake, dev host + Azurite, {intake['messages']} requests, best of {intake['rounds']}: "
                 f"{intake['ours_per_second']}/s; bare SDK receive+delete floor {intake['floor_per_second']}/s; "
                 f"ratio {intake['ratio_to_floor']}; the dev host with a no-op function "
                 f"{intake['noop_host_per_second']}/s; ratio {intake['ratio_to_noop_host']} (each run: {samples}; "
                 f"floor deletes that found their message gone or received again: {intake['floor_stale_deletes']})")
    tick = results["tick"]
    lines.append("Poll tick, all in-flight lists due (real Azurite): entities read / transactions / ms")
    for k in tick["with_tracked"]:
        a, b = tick["without_tracked"][k], tick["with_tracked"][k]
        lines.append(f"  {k:>5} in flight: 0 tracked {a['entities_read']} / {a['transactions']} / {a['wall_ms']:.0f};"
                     f" {results['scale']['tracked_lists']:,} tracked {b['entities_read']} / {b['transactions']} / "
                     f"{b['wall_ms']:.0f}")
    scan = tick["scan_every_list"]
    lines.append(f"  a poller that reads every list instead: {scan['entities_read']} entities, "
                 f"{scan['transactions']} transactions, {scan['wall_ms']:.0f} ms")
    idle = results["idle"]
    lines.append(f"Idle, dev host {idle['window_seconds']:g} s: {idle['face_calls']} Face calls, "
                 f"{idle['storage_requests']} storage requests, {idle['timer_runs']} timer runs; per hour: "
                 f"{idle['face_calls_per_hour']:g} Face calls, {idle['storage_requests_per_hour']} storage requests")
    runtime = results["runtime_cost"]
    lines.append(f"Worker runtime, no-op queue invocation, p50 (mean): {runtime['runtime']['p50_us']:.0f} µs "
                 f"({runtime['runtime']['mean_us']:.0f}) through it, {runtime['direct']['p50_us']:.0f} µs "
                 f"({runtime['direct']['mean_us']:.0f}) called directly: {runtime['added_per_invocation_us']:.0f} µs "
                 "added per invocation")
    agreement = results["real_vs_virtual"]
    lines.append(f"Real time vs virtual time, short trainings: {'agree' if agreement['agree'] else 'DISAGREE'}")
    for r in agreement["trainings"]:
        lines.append(f"  {STRATEGY_NAMES[r['strategy']]:<16} {r['duration_s']:>4g} s #{r['training']}: calls "
                     f"{r['real']['calls']} vs {r['virtual']['calls']}, delay {r['real']['delay_s']:.1f} vs "
                     f"{r['virtual']['delay_s']:.1f} s{'' if r['agree'] else '  <- differs'}")


def _render_scaling(results: dict, lines: list[str]) -> None:
    scaled = results["scaling"]
    lines.append("Many instances, one Face budget (S0, 10 calls/s for every caller)")
    for budget, r in scaled["import_at_scale"].items():
        waits = r["request_to_train_call_seconds"]
        lines.append(f"  virtual: {r['containers']:,} containers within a minute, {r['instances']} instances, "
                     f"budget {budget}/s: drained in {r['drain_seconds']:,.0f} s, calls/budget "
                     f"{r['budget_floor_seconds']:,.0f} s (x{r['drain_to_budget_floor']}), the last finish "
                     f"{r['floor_seconds']:,.0f} s; peak "
                     f"{r['peak_calls_in_any_second']}/s, {r['face_429s']} 429s; {r['calls_per_training']} calls and "
                     f"{r['storage_transactions_per_training']} storage transactions per training; "
                     f"{r['trainings_per_hour']:,.0f} trainings/hour; request to train call p50/p95 "
                     f"{waits['p50']:,.0f}/{waits['p95']:,.0f} s")
    n = scaled["nightly_import"]
    up = n["uploader"]
    lines.append(f"  real: {n['containers']} containers, {n['instances']} instances on the dev host: "
                 f"{n['face_calls']} calls, peak {n['peak_calls_in_any_second']}/s (budget "
                 f"{n['calls_per_second_budget']:g}), {n['our_429s']} "
                 f"429s of ours; drained in {n['drain_seconds']} s against {n['floor_seconds']} s "
                 f"(x{n['drain_to_floor']}); the upload job's 429s a minute: alone {up['alone']['per_minute_429']}, "
                 f"beside the import {up['with_ours']['per_minute_429']}")
    lines.append("  the ledger under contention, one take and one settle per call: " + "; ".join(
        f"{k} taker(s) {r['granted_per_second']} calls/s, {r['transactions_per_granted_call']} transactions and "
        f"{r['lost_races_per_granted_call']} lost races per call" for k, r in scaled["ledger_contention"].items()))
    lines.append(f"  the timer moved {scaled['timer_failover']['seconds']} s after its instance was killed "
                 f"(host.json singleton {scaled['timer_failover']['singleton']})")


def _render_variance(results: dict, lines: list[str]) -> None:
    lines.append("The mix on a Face whose trainings vary (log-normal factor, virtual time): calls per training, "
                 "within max(10%, one tick)")
    strategies = (*STRATEGY_NAMES, *virtual.MINORITY_WRONG)
    lines.append(f"{'':<14}" + "".join(f"{name[:22]:>24}" for name in strategies))
    for spread, by_strategy in results["variance"].items():
        lines.append(f"  spread {spread:<5} all" + "".join(
            f"{by_strategy[s]['calls_per_training']:>14.2f} {by_strategy[s]['within_delay_target']:>8.0%}"
            for s in strategies))
        lines.append(f"{'':<8}firsts, 10+" + "".join(
            f"{_share_cells(by_strategy[s]['first_with_history']):>24}" for s in strategies))
    frontier = results["variance_frontier"]
    lines.append(f"  the speed model's trade at spread {frontier['spread']:g}, its polls starting z spreads early: "
                 + "; ".join(f"z={z}: all {r['all']['calls_per_training']:.2f} calls "
                             f"{r['all']['within_delay_target']:.0%}, firsts {_share_cells(r['first_with_history'])}"
                             for z, r in frontier["by_quantile_z"].items()))
    agreement = results["variance_real_vs_virtual"]
    lines.append(f"  real time vs virtual time, hinted first trainings of new lists at spread {LEARNED_SPREAD:g}, the "
                 f"first {ENOUGH_TRAININGS} teaching: {'agree' if agreement['agree'] else 'DISAGREE'}")
    for r in agreement["trainings"]:
        lines.append(f"    list {r['duration_s']:g}: lasted {r['real']['duration_s']:.1f} vs "
                     f"{r['virtual']['duration_s']:.1f} s; calls {r['real']['calls']} vs {r['virtual']['calls']}, "
                     f"delay {r['real']['delay_s']:.1f} vs {r['virtual']['delay_s']:.1f} s"
                     f"{'' if r['agree'] else '  <- differs'}")


def _share_cells(share: dict | None) -> str:
    return "" if share is None else f"{share['calls_per_training']:.2f} {share['within_delay_target']:.0%}"


if __name__ == "__main__":
    sys.exit(main())
