"""facetrain: send training requests, and watch trainings, events and poisoned messages.

Works against Azure as well as locally. Storage, and the app's queue and table names (TRAINING_REQUESTS_QUEUE,
TRAINING_EVENTS_QUEUE, TRAININGS_TABLE, with the app's defaults), come from the first of: the options
(--connection-string, or --account-name with DefaultAzureCredential); the environment (AzureWebJobsStorage, or
AzureWebJobsStorage__queueServiceUri and __tableServiceUri); .localdev/settings.env of a running `make dev`;
local.settings.json, as Core Tools reads it. -v says which.

Containers are Large Face Lists unless --kind says otherwise (largepersongroups, persongroups).

Exit codes: 0 done; 1 some request was refused (the rest were sent), or the container asked about is unknown;
2 usage or configuration error; 3 storage could not be reached, or lacks the queue or table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from azure.core.exceptions import AzureError, ResourceNotFoundError
from rich.console import Console
from rich.table import Column, Table

from orchestrator.bounds import first_line
from orchestrator.containers import Container, Kind
from orchestrator.intake import RequestRejected, is_whole_number
from orchestrator.settings import StorageSettings
from orchestrator.storage_clients import ensure_exists, queue_client, table_client
from orchestrator.store import TrainingStore
from orchestrator.worker import describe_state

from . import sources
from .enqueue import enqueue

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_STORAGE = 0, 1, 2, 3
EXAMPLES = """examples:
  facetrain enqueue celebrities --reason "bulk upload" --settle 30
  facetrain enqueue --file lists.txt
  facetrain enqueue --kind largepersongroups employees --size 250000
  facetrain status                 # every container with work in flight
  facetrain status celebrities --json
  facetrain status --kind persongroups team-1
  facetrain events --follow        # consume events as they arrive
  facetrain poison --redrive       # send poisoned requests back to the requests queue
"""


KIND_OPTION: dict[str, Any] = {"type": Kind, "choices": list(Kind), "default": Kind.LARGE_FACE_LIST,
                               "help": "the kind of container (default: largefacelists)"}


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facetrain", description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connection-string", help="storage connection string (default: $AzureWebJobsStorage)")
    parser.add_argument("--account-name", help="storage account name, reached with DefaultAzureCredential")
    parser.add_argument("-v", "--verbose", action="store_true", help="say where the settings came from")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = commands.add_parser("enqueue", help="request a training of one or more containers",
                               description="Put one training request per container on the requests queue.",
                               epilog="examples: facetrain enqueue celebrities staff --settle 30\n"
                                      "          facetrain enqueue --kind largepersongroups employees",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    send.add_argument("ids", nargs="*", metavar="ID")
    send.add_argument("--kind", **KIND_OPTION)
    send.add_argument("--file", type=Path, help="a file of ids, one per line ('-' for standard input)")
    send.add_argument("--reason", help="why, carried into the events")
    send.add_argument("--settle", type=float, metavar="SECONDS", help="train only once no request came for this long")
    send.add_argument("--request-id", help="the request's id (one container only); default: the queue message id")
    send.add_argument("--size", type=_whole_number, metavar="N",
                      help="faces (a list) or persons (a group) it holds: times the first poll by Face's documented "
                           "training times")

    status = commands.add_parser("status", help="show trainings from the table",
                                 description="Show one container's training, or every one with work in flight.",
                                 epilog="example: facetrain status celebrities --json")
    status.add_argument("id", nargs="?", metavar="ID")
    status.add_argument("--kind", **KIND_OPTION)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")

    events = commands.add_parser("events", help="show completion and rejection events",
                                 description="Show the events queue. By default it only peeks (at most 32 "
                                             "events, none removed); --follow consumes them as they arrive.",
                                 epilog="example: facetrain events --follow --json")
    events.add_argument("--follow", action="store_true", help="keep receiving (and removing) until Ctrl-C")
    events.add_argument("--json", action="store_true", help="one JSON event per line")

    poison = commands.add_parser("poison", help="inspect or re-drive poisoned requests",
                                 description="List messages in the requests queue's -poison queue; --redrive "
                                             "sends each back to the requests queue and removes it.",
                                 epilog="example: facetrain poison --redrive")
    poison.add_argument("--redrive", action="store_true", help="send every poisoned message back, then remove it")
    poison.add_argument("--json", action="store_true", help="print the messages as JSON")
    return parser


def _whole_number(text: str) -> int:
    """`--size` as a request may spell it: `4`, `4.0` and `4e0` are the same whole number."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not is_whole_number(number):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of faces or persons")
    return int(number)


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None, folder: Path | None = None) -> int:
    """`folder` is where settings files are looked for: the current folder unless given."""
    env = dict(os.environ if env is None else env)
    console, errors = Console(), Console(stderr=True)
    args = build_parser().parse_args(argv)
    try:
        found = sources.find(args.connection_string, args.account_name, env, folder or Path.cwd())
        if args.verbose:
            errors.print(f"facetrain: settings from {found.source}", highlight=False, soft_wrap=True)
        handler = {"enqueue": _enqueue, "status": _status, "events": _events, "poison": _poison}[args.command]
        return handler(args, found.storage, found.names, console, errors)
    except (sources.NoStorage, sources.UnreadableStorage) as error:
        errors.print(f"[red]facetrain:[/] {error}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except UsageError as error:
        errors.print(f"[red]facetrain:[/] {error}")
        return EXIT_USAGE
    except ResourceNotFoundError as error:
        errors.print(f"[red]facetrain: not found in storage:[/] {first_line(error)}")
        return EXIT_STORAGE
    except AzureError as error:
        errors.print(f"[red]facetrain: storage could not be reached:[/] {type(error).__name__}: "
                     f"{first_line(error)}")
        return EXIT_STORAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _enqueue(args, storage: StorageSettings, names, console: Console, errors: Console) -> int:
    ids = list(args.ids)
    if args.file:
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
        ids += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not ids:
        raise UsageError("give at least one ID, or --file")
    if args.request_id and len(ids) > 1:
        raise UsageError("--request-id names one request: give one ID with it")
    queue = queue_client(storage, names["TRAINING_REQUESTS_QUEUE"])
    refused = 0
    with console.status(f"sending {len(ids)} request(s)…"):
        for container_id in ids:
            try:
                message_id = enqueue(queue, Container(args.kind, container_id), request_id=args.request_id,
                                     reason=args.reason, settle_seconds=args.settle, size_hint=args.size)
            except RequestRejected as rejected:
                refused += 1
                errors.print(f"[red]refused[/] {container_id!r}: {rejected.reason}")
                continue
            console.print(f"[green]queued[/] {container_id} (message {message_id})")
    return EXIT_REFUSED if refused else EXIT_OK


def _status(args, storage: StorageSettings, names, console: Console, errors: Console) -> int:
    store = TrainingStore(table_client(storage, names["TRAININGS_TABLE"]))
    try:
        if args.id:
            described = describe_state(store, Container(args.kind, args.id))
            rows = [] if described is None else [described]
        else:
            rows = [d for d in (describe_state(store, m.container) for m in store.in_flight()) if d]
    except ResourceNotFoundError:
        rows = []  # no table yet: nothing was ever requested
    if args.json:
        console.print_json(json.dumps(rows[0] if args.id and rows else rows))
    elif not rows:
        console.print(f"no training was ever requested for {args.kind}/{args.id}" if args.id
                      else "nothing in flight")
    else:
        table = Table("phase", "due", "run", "polls", "requests", "waiting", "last duration (s)")
        table.columns.insert(0, Column("container", no_wrap=True))  # an id is copied from here: never split it
        for row in rows:
            run = row["run"] or {}
            container = Container(Kind(row["kind"]), row[Kind(row["kind"]).request_field])
            table.add_row(str(container), row["phase"], row["dueAt"] or "", run.get("runId", ""),
                          str(run.get("polls", "")), str(run.get("requests", "")), str(row["waitingRequests"]),
                          "" if row["lastDurationSeconds"] is None else f"{row['lastDurationSeconds']:.1f}")
        console.print(table)
    return EXIT_OK if rows or not args.id else EXIT_REFUSED


def _events(args, storage: StorageSettings, names, console: Console, errors: Console) -> int:
    queue = queue_client(storage, names["TRAINING_EVENTS_QUEUE"])
    if not args.follow:
        for message in _missing_ok(lambda: list(queue.peek_messages(max_messages=32))):
            _show_event(json.loads(message.content), console, args.json)
        return EXIT_OK
    while True:
        batch = _missing_ok(lambda: list(queue.receive_messages(messages_per_page=32, max_messages=32)))
        for message in batch:
            _show_event(json.loads(message.content), console, args.json)
            queue.delete_message(message)
        if not batch:
            time.sleep(1)


def _show_event(event: dict[str, Any], console: Console, as_json: bool) -> None:
    if as_json:
        print(json.dumps(event), flush=True)  # one line per event, as scripts expect: no wrapping, no colour
        return
    data = event.get("data", {})
    kind = event.get("type", "").rsplit(".", 1)[-1]
    colour = {"TrainingSucceeded": "green", "TrainingRequestRejected": "yellow"}.get(kind, "red")
    detail = data.get("errorMessage") or data.get("reason") or ""
    requests = len(data.get("requestIds") or [])
    console.print(f"[{colour}]{kind}[/] {event.get('subject')} {event.get('time')} "
                  f"{f'{requests} request(s) ' if requests else ''}{detail}".rstrip())


def _poison(args, storage: StorageSettings, names, console: Console, errors: Console) -> int:
    requests_queue = queue_client(storage, names["TRAINING_REQUESTS_QUEUE"])
    poison = queue_client(storage, f"{names['TRAINING_REQUESTS_QUEUE']}-poison")
    if not args.redrive:
        messages = _missing_ok(lambda: list(poison.peek_messages(max_messages=32)))
        if args.json:
            console.print_json(json.dumps([{"id": m.id, "content": m.content} for m in messages]))
        else:
            for message in messages:
                console.print(f"{message.id} {message.content[:200]}")
            console.print(f"{len(messages)} poisoned message(s) (at most 32 shown)")
        return EXIT_OK
    ensure_exists(requests_queue)  # the app needs it anyway; a re-drive must not fail for want of it
    moved = 0
    while batch := _missing_ok(lambda: list(poison.receive_messages(messages_per_page=32, max_messages=32))):
        for message in batch:
            requests_queue.send_message(message.content)  # first send, then delete: never lost, at worst twice
            poison.delete_message(message)
            moved += 1
    console.print(f"re-drove {moved} message(s) to {requests_queue.queue_name}")
    return EXIT_OK


def _missing_ok(read):
    try:
        return read()
    except ResourceNotFoundError:
        return []


if __name__ == "__main__":
    sys.exit(main())
