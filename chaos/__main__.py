"""`make chaos`: the whole local stack under a seeded workload while hosts die, storage restarts, Face misbehaves
and tokens are refused; then every invariant with its figure. Writes chaos/report.json (docs/resilience.md).

    python -m chaos [--short] [--seed N] [--output PATH]

Exits 0 only if every invariant holds. `--short` is the small run `make test` includes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from localdev.world import REPO_ROOT

from .harness import FULL, INVARIANTS, SHORT, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the small run make test includes")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "chaos" / "report.json")
    parser.add_argument("--keep", type=Path, help="keep the run's state (logs, Azurite's files) in this folder")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {message}", file=sys.stderr, flush=True)

    if args.keep:
        report = run(args.keep, args.seed, SHORT if args.short else FULL, progress)
    else:
        with tempfile.TemporaryDirectory() as state:
            report = run(Path(state), args.seed, SHORT if args.short else FULL, progress)
    report["command"] = "python -m chaos" + (" --short" if args.short else "") + f" --seed {args.seed}"
    report["seconds"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"chaos run, seed {report['seed']}: {report['requests']} requests ({report['requests_sent_twice']} sent "
          f"twice), {report['bad_messages']} bad messages, {report['kills']} host kills, "
          f"{report['azurite_restarts']} Azurite restart, {report['events']} events, "
          f"{report['trainings_submitted']} trainings for {report['terminal_runs']} runs "
          f"({report['conflicts_409']} train calls answered 409), {report['duplicate_event_ids']} repeated event ids, "
          f"{report['poison_messages']} poisoned")
    print(f"  {report['instances']} instances: {report['face_calls']} Face calls of ours, at most "
          f"{report['face_calls_peak_per_second']} in any second at the emulator (budget "
          f"{report['face_calls_per_second_budget']}), {report['throttled_by_the_tier']} throttled by S0's limit")
    print("  faults fired: " + ", ".join(f"{name} {count}" for name, count in report["faults_fired"].items()))
    print(f"  Face failed {report['face_failures']} trainings on purpose; {report['protocol_error_events']} runs "
          f"ended protocolError; success events after Face's finish: {report['success_event_delay_seconds']}; "
          f"{report['index_samples']} index samples")
    for kind, figures in report["by_kind"].items():
        print(f"  {kind}: {figures['requests']} requests, {figures['trainings_submitted']} trainings, "
              f"{figures['terminal_events']} terminal events; success events after Face's finish: "
              f"{figures['success_event_delay_seconds']}")
    for key, meaning in INVARIANTS:
        print(f"  {'ok  ' if report[key] == 0 else 'FAIL'} {key} = {report[key]}: {meaning}")
    print("passed" if report["passed"] else "FAILED", f"in {report['seconds']:g} s; report: {args.output}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
