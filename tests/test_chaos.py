"""The chaos harness's short run (`python -m chaos --short`): the whole local stack with three instances of the app
and a fourth for a while, instance kills, an Azurite restart, Face faults and an identity outage; every invariant
must hold, the Face budget measured at the emulator among them. The full run is
`make chaos` (docs/resilience.md)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.data.tables import TableClient

from chaos.harness import FAULTS, IndexWatch, answered_for_another_container
from localdev.world import REPO_ROOT
from orchestrator.containers import Container, Kind
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
    # About one Face call in three meets a fault: the short run's ~70 calls fire ~25 (19 in one run). Ten is
    # far below what chance gives and far above a harness whose faults do not fire.
    assert report["faults_fired"].keys() == FAULTS.keys() and sum(report["faults_fired"].values()) >= 10
    assert report["face_failures"] >= 1 and report["index_samples"] >= 30
    assert report["instances"] == 3 and report["face_calls"] >= 30  # the budget's invariants had calls to judge
    assert report["passed"], report
    assert run.returncode == 0
    by_kind = report["by_kind"]
    assert set(by_kind) == {str(kind) for kind in Kind}
    assert all(k["requests"] >= 5 and k["trainings_submitted"] >= 1 and k["terminal_events"] >= 1
               for k in by_kind.values()), by_kind


def test_an_answer_for_another_kinds_container_is_counted() -> None:
    """The check behind `answered_for_another_container` is not vacuous: the same id of another kind is caught."""
    event = {"subject": "largepersongroups/chaos-01",
             "data": {"requestIds": ["largepersongroups:chaos-01:req-0001", "chaos-01:req-0002",
                                     "persongroups:chaos-01:req-0003"]}}
    assert answered_for_another_container([event]) == ["chaos-01:req-0002", "persongroups:chaos-01:req-0003"]


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
