"""The chaos harness's short run (`python -m chaos --short`): the whole local stack, host kills, an Azurite
restart, Face faults, two hosts racing and an identity outage; every invariant must hold. The full run is
`make chaos` (README, "Resilience")."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.data.tables import TableClient

from chaos.harness import FAULTS, IndexWatch
from localdev.world import REPO_ROOT
from orchestrator.containers import Container
from orchestrator.machine import ContainerState, Phase
from orchestrator.records import DueMarker, state_to_entity

pytestmark = pytest.mark.world  # the short run starts the whole stack


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
    assert report["faults_fired"].keys() == FAULTS.keys() and sum(report["faults_fired"].values()) >= 20
    assert report["face_failures"] >= 1 and report["index_samples"] >= 30
    assert report["passed"], report
    assert run.returncode == 0


def test_the_index_watch_sees_a_training_its_marker_leaves_unpolled(world) -> None:
    """The check behind `index_behind_state` is not vacuous: an overdue state whose marker says later is caught
    on the second sample; an early marker, a missing marker of an idle list, and a state not yet due are not."""
    table_name = f"watch{uuid.uuid4().hex[:10]}"
    table = TableClient.from_connection_string(world.storage_connection_string, table_name)
    table.create_table()
    now = datetime.now(timezone.utc)
    for list_id, due, marker in [("late", now - timedelta(seconds=30), now + timedelta(seconds=40)),
                                 ("gone", now - timedelta(seconds=30), None),
                                 ("early", now + timedelta(seconds=30), now - timedelta(seconds=5)),
                                 ("idle", None, None)]:
        phase = Phase.IDLE if due is None else Phase.WAITING
        container = Container.large_face_list(list_id)
        table.create_entity(state_to_entity(ContainerState(container, phase=phase, due_at=due)))
        if marker is not None:
            table.create_entity(DueMarker(container, marker).to_entity())
    watch = IndexWatch(world.storage_connection_string, table_name)
    watch._sample()
    assert watch.behind == set()  # one sample is not enough: the state may have just moved
    watch._sample()
    assert {list_id for list_id, _ in watch.behind} == {"late", "gone"}
