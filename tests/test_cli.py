"""facetrain against Azurite (and a running orchestrator where it reports on one): output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from facetrain import sources
from facetrain.cli import EXIT_OK, EXIT_REFUSED, EXIT_STORAGE, EXIT_USAGE, build_parser, main
from orchestrator.events import Rejection, rejection_event
from orchestrator.storage_clients import ensure_exists
from localdev.world import REPO_ROOT
from tests.orchestrator_world import SteppedClock, app_settings, build, drain_events, request, send, tick


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
    assert main(["enqueue", "--kind", "largepersongroups", "employees", "--size", "250000"], cli_env) == EXIT_OK
    assert main(["enqueue", "--kind", "persongroups", "team-1", "Team 2"], cli_env) == EXIT_REFUSED
    assert queued(world, cli_env["TRAINING_REQUESTS_QUEUE"]) == [{"largePersonGroupId": "employees",
                                                                   "sizeHint": 250000},
                                                                  {"personGroupId": "team-1"}]
    assert "not a Person Group id" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse refuses an unknown kind, with the choices
        main(["enqueue", "--kind", "shelves", "x"], cli_env)
    assert refused.value.code == EXIT_USAGE


@pytest.mark.parametrize("spelled", ["4", "4.0", "4e0", "+4"])
def test_size_takes_a_whole_number_in_any_spelling(spelled: str) -> None:
    assert build_parser().parse_args(["enqueue", "celebs", "--size", spelled]).size == 4


@pytest.mark.parametrize("spelled, problem", [("1.5", "not a whole number"), ("many", "not a number"),
                                              ("nan", "not a whole number"), ("inf", "not a whole number")])
def test_size_refuses_what_is_not_a_whole_number_naming_it(spelled: str, problem: str, capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["enqueue", "celebs", "--size", spelled])
    assert refused.value.code == EXIT_USAGE and f"{spelled!r} is {problem}" in capsys.readouterr().err


def test_a_refused_list_is_reported_and_the_others_still_go(world, cli_env, capsys) -> None:
    QueueClient.from_connection_string(world.storage_connection_string, cli_env["TRAINING_REQUESTS_QUEUE"]).create_queue()
    assert main(["enqueue", "good-list", "Bad List"], cli_env) == EXIT_REFUSED
    assert [m["listId"] for m in queued(world, cli_env["TRAINING_REQUESTS_QUEUE"])] == ["good-list"]
    assert "not a Large Face List id" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["enqueue"], ["enqueue", "a", "b", "--request-id", "r"]])
def test_usage_errors_exit_2(cli_env, argv) -> None:
    assert main(argv, cli_env) == EXIT_USAGE


def test_no_storage_anywhere_exits_2_naming_every_place_it_looked(tmp_path, capsys) -> None:
    (tmp_path / ".localdev").mkdir()
    (tmp_path / ".localdev" / "settings.env").write_text(f"AzureWebJobsStorage=x\nLOCALDEV_PID={_reaped_pid()}\n")
    assert main(["status"], {}, folder=tmp_path) == EXIT_USAGE
    error = capsys.readouterr().err
    for place in ("--connection-string or --account-name: not given", "the environment: no AzureWebJobsStorage",
                  f"{tmp_path}/.localdev/settings.env (a running `make dev`): left by a `make dev` that is no longer "
                  "running", f"{tmp_path}/local.settings.json (as Core Tools reads it): not there"):
        assert place in error


def _reaped_pid() -> int:
    """The id of a process that has ended: what a killed `make dev` leaves in its settings.env."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def write_settings(folder: Path, dev: dict[str, str] | None = None, core_tools: dict[str, str] | None = None) -> None:
    if dev is not None:
        (folder / ".localdev").mkdir(exist_ok=True)
        (folder / ".localdev" / "settings.env").write_text(sources.env_file_text(dev))
    if core_tools is not None:
        (folder / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": core_tools}))


def connection_string(account: str) -> str:
    """One the storage SDK reads (nothing is reached: making a client does no I/O)."""
    return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey=a2V5;"
            f"QueueEndpoint=http://127.0.0.1:9/{account};TableEndpoint=http://127.0.0.1:9/{account};")


AWKWARD_VALUES = {
    "AzureWebJobsStorage": connection_string("devstoreaccount1"),  # a ';' ended the value for an unquoting shell
    "POLL_SCHEDULE": "*/5 * * * * *",  # and each '*' was a glob
    "QUOTE": "it's", "DOUBLE": 'say "hi"', "DOLLAR": "$HOME and ${PATH}", "BACKTICK": "`id` $(id)",
    "BACKSLASH": "a\\b\\n", "SPACES": "  two  spaces ", "EMPTY": "", "HASH": "#not a comment", "UNICODE": "café",
    "TILDE": "~/x", "BANG": "!!",
}


@pytest.mark.world  # starts bash and sh
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_settings_env_sources_to_every_value_exactly_in_bash_and_sh(tmp_path, shell: str) -> None:
    """`set -a; . .localdev/settings.env; set +a`, as the README says: before, the unquoted connection string was
    cut at its first ';' and the schedule's '*' expanded to file names that bash then ran."""
    (tmp_path / "settings.env").write_text(sources.env_file_text(AWKWARD_VALUES))
    (tmp_path / "5").write_text("")  # a file a glob of the schedule would find
    sourced = subprocess.run([shell, "-c", 'set -a; . ./settings.env; set +a; env -0'], cwd=tmp_path,
                             capture_output=True, text=True, timeout=30, env={"PATH": os.environ["PATH"]})
    assert sourced.returncode == 0 and sourced.stderr == "", sourced.stderr
    environment = dict(entry.partition("=")[::2] for entry in sourced.stdout.split("\0") if entry)
    assert {name: environment.get(name) for name in AWKWARD_VALUES} == AWKWARD_VALUES
    assert sources.read_env_file(tmp_path / "settings.env") == AWKWARD_VALUES  # and the CLI reads what the shell does


@pytest.mark.parametrize("where", ["environment", "settings.env", "option"])
def test_a_connection_string_the_sdk_cannot_read_is_a_usage_error_naming_its_source(tmp_path, capsys,
                                                                                    where: str) -> None:
    """What an unquoting shell left of the connection string: before, a ValueError traceback from the SDK."""
    cut = "DefaultEndpointsProtocol=http"
    env, argv = {}, ["status"]
    if where == "environment":
        env = {"AzureWebJobsStorage": cut}
    elif where == "settings.env":
        write_settings(tmp_path, dev={"AzureWebJobsStorage": cut, "LOCALDEV_PID": str(os.getpid())})
    else:
        argv = ["--connection-string", cut, "status"]
    assert main(argv, env, folder=tmp_path) == EXIT_USAGE
    error = " ".join(capsys.readouterr().err.split())
    source = {"environment": "the environment", "option": "the command line's options",
              "settings.env": f"{tmp_path}/.localdev/settings.env (a running `make dev`)"}[where]
    assert f"connection string from {source}" in error and "missing required connection details" in error
    assert "Traceback" not in error


def test_the_first_source_with_storage_wins_and_gives_the_names(tmp_path) -> None:
    running = {"AzureWebJobsStorage": connection_string("makedev"), "TRAININGS_TABLE": "devtable",
               "LOCALDEV_PID": str(os.getpid())}
    write_settings(tmp_path, dev=running, core_tools={"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    env = {"AzureWebJobsStorage": connection_string("env"), "TRAININGS_TABLE": "envtable"}
    option = connection_string("option")
    assert sources.find(option, None, env, tmp_path).storage.connection_string == option
    found = sources.find(None, None, env, tmp_path)
    assert (found.source, found.storage.connection_string, found.names["TRAININGS_TABLE"]) == (
        "the environment", env["AzureWebJobsStorage"], "envtable")
    found = sources.find(None, None, {}, tmp_path)
    assert (found.storage.connection_string, found.names["TRAININGS_TABLE"]) == (running["AzureWebJobsStorage"],
                                                                                 "devtable")
    assert found.source.endswith("settings.env (a running `make dev`)")
    write_settings(tmp_path, dev={**running, "LOCALDEV_PID": str(_reaped_pid())})  # make dev was killed
    found = sources.find(None, None, {}, tmp_path)
    assert (found.storage.connection_string, found.names["TRAININGS_TABLE"]) == ("UseDevelopmentStorage=true",
                                                                                 "trainings")
    assert found.source.endswith("local.settings.json (as Core Tools reads it)")


@pytest.mark.parametrize("settings_file", ["settings.env", "local.settings.json"])
def test_status_works_with_nothing_but_a_settings_file_and_says_which(world, cli_env, tmp_path, capsys,
                                                                     settings_file) -> None:
    if settings_file == "settings.env":
        write_settings(tmp_path, dev={**cli_env, "LOCALDEV_PID": str(os.getpid())})
    else:
        write_settings(tmp_path, core_tools=cli_env)
    ensure_exists(QueueClient.from_connection_string(world.storage_connection_string,
                                                    cli_env["TRAINING_REQUESTS_QUEUE"]))  # as the app does
    assert main(["-v", "enqueue", "celebs"], {}, folder=tmp_path) == EXIT_OK
    assert main(["-v", "status"], {}, folder=tmp_path) == EXIT_OK
    said = capsys.readouterr()
    assert said.err.count(f"facetrain: settings from {tmp_path}/") == 2 and "nothing in flight" in said.out
    # The file's queue name was used: the request is on the test's own queue.
    assert [m["listId"] for m in queued(world, cli_env["TRAINING_REQUESTS_QUEUE"])] == ["celebs"]


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
    tick()
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
