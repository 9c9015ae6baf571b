"""facetrain against Azurite (and a running orchestrator where it reports on one): output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from azure.storage.queue import QueueClient

from facetrain.cli import EXIT_OK, EXIT_REFUSED, EXIT_STORAGE, EXIT_USAGE, main
from orchestrator.events import Rejection, rejection_event
from localdev.world import REPO_ROOT
from tests.orchestrator_world import SteppedClock, app_settings, build, drain_events, request, send


@pytest.fixture
def cli_env(world) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"AzureWebJobsStorage": world.storage_connection_string, "TRAINING_REQUESTS_QUEUE": f"req-{suffix}",
            "TRAINING_EVENTS_QUEUE": f"evt-{suffix}", "TRAININGS_TABLE": f"trainings{suffix}"}


def queued(world, name: str) -> list[dict]:
    queue = QueueClient.from_connection_string(world.storage_connection_string, name)
    return [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]


def test_enqueue_one_or_many_lists(world, cli_env, tmp_path, capsys) -> None:
    QueueClient.from_connection_string(world.storage_connection_string, cli_env["TRAINING_REQUESTS_QUEUE"]).create_queue()
    (tmp_path / "lists.txt").write_text("# staff lists\nstaff-a\n\nstaff-b\n")
    assert main(["enqueue", "celebs", "--reason", "bulk", "--settle", "30"], cli_env) == EXIT_OK
    assert main(["enqueue", "--file", str(tmp_path / "lists.txt")], cli_env) == EXIT_OK
    assert queued(world, cli_env["TRAINING_REQUESTS_QUEUE"]) == [
        {"listId": "celebs", "reason": "bulk", "settleSeconds": 30.0}, {"listId": "staff-a"}, {"listId": "staff-b"}]
    assert "queued celebs" in capsys.readouterr().out


def test_enqueue_a_group_by_its_kind(world, cli_env, capsys) -> None:
    QueueClient.from_connection_string(world.storage_connection_string, cli_env["TRAINING_REQUESTS_QUEUE"]).create_queue()
    assert main(["enqueue", "--kind", "largepersongroups", "employees"], cli_env) == EXIT_OK
    assert main(["enqueue", "--kind", "persongroups", "team-1", "Team 2"], cli_env) == EXIT_REFUSED
    assert queued(world, cli_env["TRAINING_REQUESTS_QUEUE"]) == [{"largePersonGroupId": "employees"},
                                                                  {"personGroupId": "team-1"}]
    assert "not a Person Group id" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse refuses an unknown kind, with the choices
        main(["enqueue", "--kind", "shelves", "x"], cli_env)
    assert refused.value.code == EXIT_USAGE


def test_a_refused_list_is_reported_and_the_others_still_go(world, cli_env, capsys) -> None:
    QueueClient.from_connection_string(world.storage_connection_string, cli_env["TRAINING_REQUESTS_QUEUE"]).create_queue()
    assert main(["enqueue", "good-list", "Bad List"], cli_env) == EXIT_REFUSED
    assert [m["listId"] for m in queued(world, cli_env["TRAINING_REQUESTS_QUEUE"])] == ["good-list"]
    assert "not a Large Face List id" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["enqueue"], ["enqueue", "a", "b", "--request-id", "r"]])
def test_usage_errors_exit_2(cli_env, argv) -> None:
    assert main(argv, cli_env) == EXIT_USAGE


def test_no_storage_configured_exits_2(capsys) -> None:
    assert main(["status"], {}) == EXIT_USAGE
    assert "No storage given" in capsys.readouterr().err


def test_unreachable_storage_exits_3(capsys) -> None:
    dead = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    assert main(["status", "celebs"], {"AzureWebJobsStorage": dead}) == EXIT_STORAGE
    assert "could not be reached" in capsys.readouterr().err


def test_status_and_events_of_a_real_training(world, emulator, face_v12, list_id, monkeypatch, capsys) -> None:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    settings = app_settings(world)
    clock = SteppedClock()
    build(settings, clock, monkeypatch)
    send(request(list_id, "r1"), "m1")
    env = {k: settings[k] for k in ("AzureWebJobsStorage", "TRAINING_REQUESTS_QUEUE", "TRAINING_EVENTS_QUEUE",
                                    "TRAININGS_TABLE")}
    assert main(["status", list_id, "--json"], env) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["phase"] == "training" and shown["run"]["requests"] == 1
    assert main(["status"], env) == EXIT_OK
    assert list_id in capsys.readouterr().out
    assert main(["status", "never-seen"], env) == EXIT_REFUSED
    assert main(["status", "--kind", "largepersongroups", list_id], env) == EXIT_REFUSED  # another container
    assert f"largepersongroups/{list_id}" in capsys.readouterr().out

    QueueClient.from_connection_string(world.storage_connection_string, settings["TRAINING_EVENTS_QUEUE"]).send_message(
        rejection_event(Rejection("bad", "m9", None, None), clock()).to_message())
    assert main(["events"], env) == EXIT_OK
    assert "TrainingRequestRejected" in capsys.readouterr().out
    assert main(["events", "--json"], env) == EXIT_OK
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["type"] == "Face.LargeFaceList.TrainingRequestRejected"
    assert len(drain_events(world, settings)) == 1  # peeking removed nothing


def test_poison_lists_and_redrives(world, cli_env, capsys) -> None:
    poison = QueueClient.from_connection_string(world.storage_connection_string,
                                                f"{cli_env['TRAINING_REQUESTS_QUEUE']}-poison")
    poison.create_queue()
    poison.send_message('{"listId": "celebs"}')
    assert main(["poison", "--json"], cli_env) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["content"] == '{"listId": "celebs"}'
    assert main(["poison", "--redrive"], cli_env) == EXIT_OK
    assert queued(world, cli_env["TRAINING_REQUESTS_QUEUE"]) == [{"listId": "celebs"}]
    assert list(poison.peek_messages()) == []


@pytest.mark.world
def test_the_console_script_and_the_module_both_run() -> None:
    for command in ([str(REPO_ROOT / ".venv" / "bin" / "facetrain"), "--help"],
                    [sys.executable, "-m", "facetrain.cli", "enqueue", "--help"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and "example" in result.stdout
