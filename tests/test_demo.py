"""`make demo`'s scenario passes, from nothing, in one process that cleans up after itself."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from localdev.world import REPO_ROOT

pytestmark = pytest.mark.world  # the demo starts the local world


def test_the_demo_scenario_passes() -> None:
    result = subprocess.run([sys.executable, "-m", "localdev.demo", "--time-scale", "20"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Demo passed" in result.stdout
    assert "300 request(s) answered" in result.stdout  # the bulk upload coalesced into one follow-up
    # The demo's own emulator (found by its port) is gone: it cleaned up what it started.
    port = re.search(r"Face API at https://localhost:(\d+)", result.stdout).group(1)
    leftovers = subprocess.run(["pgrep", "-f", f"--tls-port {port}"], capture_output=True, text=True).stdout.split()
    assert leftovers == []
