"""A cold instance's first batch starts its invocations together on the worker's threads: they must share one
orchestrator, so one Face budget and one set of clients. `functools.cache` did not stop concurrent first calls,
and each built its own. Each case runs in a fresh process, as the worker does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from localdev.world import REPO_ROOT
from tests.orchestrator_world import app_settings

# Sixteen invocations at once on a cold process. The build is slowed a little, so that they all arrive while the
# first one builds: the race a real cold start has, made certain.
COLD_BATCH = """
import json, threading, time
from orchestrator import runtime

builds, real_assemble = [], runtime.assemble
def slow_assemble(*args, **kwargs):
    builds.append(threading.get_ident())
    time.sleep(0.3)
    return real_assemble(*args, **kwargs)
runtime.assemble = slow_assemble
start, seen = threading.Barrier(16), []
def invocation():
    start.wait()
    seen.append(runtime.current())
threads = [threading.Thread(target=invocation) for _ in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(json.dumps({"builds": len(builds), "orchestrators": len({id(o) for o in seen}),
                  "budgets": len({id(o.face_budget) for o in seen}), "stores": len({id(o.store) for o in seen}),
                  "face_clients": len({id(o.face) for o in seen})}))
"""

# The first build fails (storage refuses it), the second succeeds: telemetry is configured once, not per attempt.
FAILING_FIRST_BUILD = """
import json
from orchestrator import runtime, telemetry

configured, attempts, real_assemble = [], [], runtime.assemble
runtime.telemetry.configure = lambda *args: configured.append(args) or False
def flaky_assemble(*args, **kwargs):
    attempts.append(1)
    if len(attempts) < 3:
        raise ConnectionError("storage unreachable")
    return real_assemble(*args, **kwargs)
runtime.assemble = flaky_assemble
failures = 0
for _ in range(4):
    try:
        runtime.current()
    except ConnectionError:
        failures += 1
print(json.dumps({"failures": failures, "attempts": len(attempts), "telemetry_configured": len(configured)}))
"""


def run(world, tmp_path: Path, script: str) -> dict:
    env = {**os.environ, **app_settings(world)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cold_batch_of_sixteen_invocations_builds_one_orchestrator(world, tmp_path) -> None:
    assert run(world, tmp_path, COLD_BATCH) == {"builds": 1, "orchestrators": 1, "budgets": 1, "stores": 1,
                                                "face_clients": 1}


def test_a_failing_first_build_is_tried_again_but_telemetry_is_configured_once(world, tmp_path) -> None:
    assert run(world, tmp_path, FAILING_FIRST_BUILD) == {"failures": 2, "attempts": 3, "telemetry_configured": 1}
