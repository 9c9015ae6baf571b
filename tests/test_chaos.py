"""The chaos harness's short run (`python -m chaos --short`): the whole local stack, host kills, an Azurite
restart, Face faults, two hosts racing and an identity outage; every invariant must hold. The full run is
`make chaos` (README, "Resilience")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from localdev.world import REPO_ROOT


def test_the_short_chaos_run_loses_nothing_and_leaks_nothing(tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "chaos", "--short", "--output", str(report_file),
                          "--keep", str(tmp_path / "state")], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=290)
    print(run.stdout, run.stderr[-3000:])
    report = json.loads(report_file.read_text())
    assert {"seed", "requests", "kills", "lost", "unaccounted", "double_inflight", "duplicate_event_ids",
            "unaccounted_poison", "passed"} <= set(report)
    assert report["requests"] >= 40 and report["kills"] >= 2 and report["azurite_restarts"] == 1
    assert report["secrets_found"] == 0
    assert report["passed"], report
    assert run.returncode == 0
