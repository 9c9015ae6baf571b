"""`make demo`: the main job, end to end, on the local world.

Starts Azurite, the Face emulator, the identity endpoint and our function app on the dev host, then plays a day
of a user's life:
- three Large Face Lists are created and filled: `celebrities` is large (100,000 faces, 90 s of training in
  Azure), `staff` small, and `visitors` a list whose training fails; a Large Person Group, `employees`, of
  10,000 persons (7.5 s in Azure); and a Person Group also named `staff`, of 1,000 persons: the same id as the
  list, and another container;
- one training request per container goes on the queue;
- while `celebrities` trains, a bulk upload enqueues hundreds of requests for it, each with a settle window as a
  bulk upload should send them, which must coalesce into exactly one follow-up training, however long the
  upload takes to send them;
- a malformed request is sent.

It shows each list's progress and the events as they arrive, then a summary; it stops everything it started,
and exits 0 only if every expected event came and every request sent was answered by one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path

from azure.data.tables import TableClient
from azure.storage.queue import QueueClient
from rich.console import Console
from rich.live import Live
from rich.table import Table

from facetrain.enqueue import enqueue
from orchestrator.containers import Container, Kind
from orchestrator.store import TrainingStore
from orchestrator.worker import describe_state

from .dev import start_app
from .emulator_client import EmulatorClient
from .face_emulator.operations import train_operation_ids
from .world import LocalWorld, free_port

LISTS = {"celebrities": 100_000, "staff": 1_000, "visitors": 2_000}
GROUPS = {Container(Kind.LARGE_PERSON_GROUP, "employees"): 10_000, Container(Kind.PERSON_GROUP, "staff"): 1_000}
CONTAINERS = [*(Container.large_face_list(list_id) for list_id in LISTS), *GROUPS]
FAILING_LIST = "visitors"
BULK_REQUESTS = 300
# The follow-up waits until no request came for this long: on a busy machine sending 300 requests outlasts the
# first training, and without it the upload's tail would make a third training, as it should.
BULK_SETTLE_SECONDS = 3
EXPECTED = Counter({("largefacelists/celebrities", "TrainingSucceeded"): 2,
                    ("largefacelists/staff", "TrainingSucceeded"): 1,
                    ("largefacelists/visitors", "TrainingFailed"): 1,
                    ("largepersongroups/employees", "TrainingSucceeded"): 1,
                    ("persongroups/staff", "TrainingSucceeded"): 1,
                    ("largefacelists/unknown", "TrainingRequestRejected"): 1})
TIMEOUT_SECONDS = 110


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=10.0,
                        help="divide Face training times by this (default 10: celebrities trains in 9 s)")
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as state, LocalWorld(Path(state), time_scale=args.time_scale) as world:
        with console.status("starting Azurite, the Face emulator, the identity endpoint and the dev host…"):
            world.start()
            settings = start_app(world, Path(state), free_port())
        console.print(f"[bold]Local world up.[/] Face API at {world.face_endpoint}, app on the dev host "
                      f"({settings['FUNCTIONS_URL']}) through Microsoft's worker runtime "
                      f"(azure-functions-runtime {version('azure-functions-runtime')}), polling every 5 s.")
        return play(console, world, settings)


def play(console: Console, world: LocalWorld, settings: dict[str, str]) -> int:
    started = time.monotonic()
    emulator = EmulatorClient.of(world)
    for list_id, faces in LISTS.items():
        emulator.create_list(list_id, faces, name=list_id.title())
    emulator.fail_training(FAILING_LIST, "Some faces could not be processed.")
    for group, persons in GROUPS.items():
        emulator.create_group(group.kind, group.id, persons, name=group.id.title())
    lists = ", ".join(f"{name} ({count:,} faces)" for name, count in LISTS.items())
    groups = " and ".join(f"the {g.kind.described} {g.id} ({n:,} persons)" for g, n in GROUPS.items())
    console.print(f"Created the Large Face Lists {lists}, {groups}; the {FAILING_LIST} list will fail its training.")

    requests_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                        settings["TRAINING_REQUESTS_QUEUE"])
    events_queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                      settings["TRAINING_EVENTS_QUEUE"])
    store = TrainingStore(TableClient.from_connection_string(world.storage_connection_string,
                                                             settings["TRAININGS_TABLE"]))
    sent = 0
    for container in CONTAINERS:
        enqueue(requests_queue, container, request_id=f"{container.id}-upload-1", reason="nightly upload")
        sent += 1
    requests_queue.send_message('{"listId": "Not A Valid Id!"}')  # what a careless producer might send
    sent += 1

    seen: Counter = Counter()
    arrivals: list[tuple[float, dict]] = []
    bulk_sent = False
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        while seen != EXPECTED and time.monotonic() - started < TIMEOUT_SECONDS:
            described = {str(container): describe_state(store, container) for container in CONTAINERS}
            if not bulk_sent and (described["largefacelists/celebrities"] or {}).get("phase") == "training":
                for n in range(BULK_REQUESTS):  # a bulk upload: one request per uploaded photo
                    enqueue(requests_queue, "celebrities", request_id=f"celebrities-photo-{n:03d}",
                            reason="bulk upload", settle_seconds=BULK_SETTLE_SECONDS)
                sent += BULK_REQUESTS
                bulk_sent = True
                live.console.print(f"[cyan]{time.monotonic() - started:5.1f} s[/] bulk upload: {BULK_REQUESTS} "
                                   "requests for celebrities while it trains")
            for message in _receive(events_queue):
                event = json.loads(message.content)
                arrivals.append((time.monotonic() - started, event))
                kind = event["type"].rsplit(".", 1)[-1]
                seen[(event["subject"], kind)] += 1
                live.console.print(_event_line(arrivals[-1]))
            live.update(_progress(described, time.monotonic() - started))
            time.sleep(0.25)
        live.update(_progress({str(container): describe_state(store, container) for container in CONTAINERS},
                              time.monotonic() - started))

    stats = emulator.stats()
    console.print()  # the live table's last frame ends without a line break when the output is not a terminal
    _summary(console, sent, arrivals, stats, time.monotonic() - started)
    if seen != EXPECTED:
        console.print(f"[red]Not every expected event arrived within {TIMEOUT_SECONDS} s.[/] "
                      f"Missing: {dict(EXPECTED - seen)}; unexpected: {dict(seen - EXPECTED)}")
        return 1
    answered = sum(len(e["data"].get("requestIds") or []) + e["type"].endswith("Rejected") for _, e in arrivals)
    if answered != sent:
        console.print(f"[red]{sent} requests were sent and {answered} answered.[/]")
        return 1
    console.print("[bold green]Demo passed:[/] every request ended in exactly the expected event.")
    return 0


def _receive(queue: QueueClient):
    try:
        messages = list(queue.receive_messages(messages_per_page=32, max_messages=32))
    except Exception:  # noqa: BLE001 - the app creates the events queue when it first starts
        return []
    for message in messages:
        queue.delete_message(message)
    return messages


def _event_line(arrival: tuple[float, dict]) -> str:
    at, event = arrival
    data, kind = event["data"], event["type"].rsplit(".", 1)[-1]
    colour = {"TrainingSucceeded": "green", "TrainingRequestRejected": "yellow"}.get(kind, "red")
    if kind == "TrainingSucceeded":
        detail = (f"{len(data['requestIds'])} request(s) answered, reported {data['durationSeconds']:.1f} s "
                  "after submission")
    else:
        detail = data.get("errorMessage") or data.get("reason") or ""
    return f"[cyan]{at:5.1f} s[/] [{colour}]{kind}[/] {event['subject']}: {detail}"


def _progress(described: dict, elapsed: float) -> Table:
    table = Table(title=f"Trainings ({elapsed:.0f} s)", title_justify="left")
    for column in ("container", "phase", "run", "polls", "requests in run", "waiting"):
        table.add_column(column, no_wrap=column == "container")  # a name is copied from here: never split it
    for name, row in described.items():
        run = (row or {}).get("run") or {}
        table.add_row(name, (row or {}).get("phase", "-"), run.get("runId", ""), str(run.get("polls", "")),
                      str(run.get("requests", "")), str((row or {}).get("waitingRequests", "")))
    return table


def _summary(console: Console, sent: int, arrivals: list, stats: dict, elapsed: float) -> None:
    answered = sum(len(e["data"].get("requestIds") or []) for _, e in arrivals)
    rejected = sum(1 for _, e in arrivals if e["type"].endswith("Rejected"))
    train_answers = Counter()
    for operation in train_operation_ids():
        train_answers.update(stats["responses"].get(operation, {}))
    table = Table(title="Summary", show_header=False, title_justify="left")
    table.add_row("requests sent", str(sent))
    table.add_row("requests answered by a training event", str(answered))
    table.add_row("requests rejected", str(rejected))
    table.add_row("trainings submitted (Face 202)", str(train_answers.get("202", 0)))
    table.add_row("Face calls in all", str(stats["totalCalls"]))
    for kind, count in sorted(Counter(e["type"].rsplit(".", 1)[-1] for _, e in arrivals).items()):
        table.add_row(f"events: {kind}", str(count))
    for at, event in arrivals:
        table.add_row(f"  {event['subject']} {event['type'].rsplit('.', 1)[-1]}", f"after {at:.1f} s")
    table.add_row("demo time", f"{elapsed:.1f} s")
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
