"""The whole local stack under a seeded workload while things break, then the invariants.

The workload trains containers of the three kinds, each id used by one container of every kind (`chaos-00` is a
Large Face List, a Large Person Group and a Person Group): they are different containers, and the invariants hold
for each of them.

Azurite keeps its data on disk here, so that it can be restarted; the Face emulator throttles, fails, stalls and
drops connections at set rates, and misbehaves as a hostile peer would (gateway pages instead of a status,
megabytes of message, day-long Retry-After, a lost operation-Location, huge headers); the identity endpoint has an
outage; three instances of the app run on the dev host, as Flex Consumption scales the app out, and are SIGKILLed
and restarted at random, and for a while a fourth races them. Everything the invariants need is read from the
outside: the events queue, the poison queue, the emulator's own training log and its record of each call's
arrival, the hosts' logs, and samples of the table taken while the run goes on.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import quantiles

import requests
from azure.core.exceptions import AzureError
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from localdev.emulator_client import EmulatorClient
from localdev.face_emulator.operations import train_operation_ids
from localdev.world import REPO_ROOT, LocalWorld, ManagedProcess, free_port, http_ready
from orchestrator.bounds import MAX_FACE_CODE_CHARS
from orchestrator.containers import Container, Kind
from orchestrator.events import MAX_EVENT_ERROR_MESSAGE_CHARS, MAX_REJECTION_REASON_CHARS
from orchestrator.iso_time import from_iso
from orchestrator.records import INFLIGHT_PARTITION, STATE_ROW
from orchestrator.settings import DEFAULTS
from orchestrator.storage_clients import ensure_exists

REQUESTS_QUEUE, EVENTS_QUEUE, TABLE = "chaos-requests", "chaos-events", "chaostrainings"
READ_TIMEOUT_SECONDS = float(DEFAULTS["FACE_READ_TIMEOUT_SECONDS"])
LEASE_SECONDS = 30
LOCK_SECONDS = 15  # the shortest blob lease
LOCK_RECOVERY_SECONDS = 5
_CONTAINER = rf"^/({'|'.join(Kind)})/[^/]+"
TRAIN, STATUS, BOTH = rf"{_CONTAINER}/train$", rf"{_CONTAINER}/training$", rf"{_CONTAINER}/train(ing)?$"
TRAIN_OPERATIONS = train_operation_ids()
GATEWAY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
HUGE_ERROR = json.dumps({"error": {"code": "InternalServerError", "message": "Overloaded. " + "x" * 200_000}})
# Faults on the two calls the orchestrator makes (train, training status), each at its own rate, by name.
FAULTS = {
    "429, Retry-After 2 s": {"status": 429, "retryAfterSeconds": 2, "rate": 0.06, "pathPattern": BOTH},
    "500": {"status": 500, "rate": 0.04, "pathPattern": BOTH},
    "503": {"status": 503, "rate": 0.04, "pathPattern": BOTH},
    "2.5 s of latency": {"latencyMs": 2500, "rate": 0.05, "pathPattern": BOTH},
    "dropped connection": {"dropConnection": True, "rate": 0.04, "pathPattern": BOTH},
    # A hostile Face (issue 12).
    "429, Retry-After a day": {"status": 429, "retryAfterSeconds": 86400, "rate": 0.01, "pathPattern": BOTH},
    "gateway page for a status": {"body": GATEWAY_PAGE, "rate": 0.03, "pathPattern": STATUS},
    "500 with 200 KB of message": {"status": 500, "body": HUGE_ERROR, "contentType": "application/json",
                                   "rate": 0.02, "pathPattern": BOTH},
    "202 without operation-Location": {"dropHeaders": ["operation-Location"], "rate": 0.1, "pathPattern": TRAIN},
    "16 KB headers": {"headers": {"apim-request-id": "r" * 16_000, "x-ms-error-code": "E" * 16_000}, "rate": 0.03,
                      "pathPattern": BOTH},
}
# Each must be 0 for a run to pass, with what it counts.
INVARIANTS = [
    ("lost", "accepted requests no terminal event names"),
    ("unaccounted", "requests named by no request we sent, or by more than one terminal event"),
    ("answered_for_another_container", "requests named by a terminal event of a container they did not name"),
    ("conflicting_duplicates", "event ids repeated with different contents"),
    ("runs_with_more_than_one_terminal_event", "training runs with two different terminal event ids"),
    ("double_inflight", "times a container had two trainings at once (emulator's log)"),
    ("trainings_beyond_bound", "trainings beyond one per run plus the 409s that crashes forced"),
    ("rejections_missing", "bad messages without a rejection event"),
    ("unaccounted_poison", "poisoned messages without a rejection event"),
    ("secrets_found", "keys, tokens or connection secrets in logs or events"),
    ("face_failures_not_reported", "trainings Face failed whose run no 'failed' event reports"),
    ("unbounded_texts", "events whose error message, code or reason is over its bound"),
    ("index_behind_state", "containers seen overdue while their in-flight marker said later (twice, same ETag)"),
    ("face_calls_over_budget", "calls beyond FACE_CALLS_PER_SECOND + 1 in the fullest second at the emulator"),
    ("throttled_by_the_tier", "calls of ours the emulator's S0 rate limit answered 429 (not an injected 429)"),
]
INSTANCES = 3  # the app's instances, all the run long; a fourth races them for a while
BUDGET = int(DEFAULTS["FACE_CALLS_PER_SECOND"])
S0_RATE_LIMIT = "10/s"  # set once the scene is made: making it takes the data plane's calls too
# A train call sent just before a kill may start its training this much later: the emulator runs its handler after
# an injected latency even when the client has died meanwhile.
LATEST_START_AFTER_SEND_SECONDS = max(f.get("latencyMs", 0) for f in FAULTS.values()) / 1000 + 1.0
# Containers whose next training fails with a megabyte of message: their event must say "failed", cut to size.
HUGE_FAILURE_CONTAINERS = 2
HUGE_FAILURE_MESSAGE = "Training failed on purpose. " + "x" * 1_000_000
# A state due this long ago whose marker says later (or is gone) is a training nobody will poll.
OVERDUE_GRACE = timedelta(seconds=2)
BAD_BODIES = [b"not json", b'{"listId": "Upper"}', b'{"listId": "ok", "settle_seconds": 3}', b"",
              b'{"specversion": "1.0", "id": "e", "source": "/s", "type": "t"}',
              b'{"largePersonGroupId": "ok", "personGroupId": "ok"}', b'{"personGroupId": 7}']


@dataclass(frozen=True)
class Scale:
    containers: int  # a third of each kind
    requests: int
    workload_seconds: float
    kills: int
    drain_seconds: float


FULL = Scale(containers=30, requests=400, workload_seconds=150, kills=6, drain_seconds=240)
SHORT = Scale(containers=9, requests=80, workload_seconds=45, kills=2, drain_seconds=150)


@dataclass
class Ledger:
    """What the producer sent, as the queue acknowledged it."""

    good: dict[str, int] = field(default_factory=dict)  # requestId -> times sent
    bad: dict[str, bytes] = field(default_factory=dict)  # message id -> body
    lock: threading.Lock = field(default_factory=threading.Lock)


class Stack:
    """The local world plus dev hosts that can be killed, restarted and doubled."""

    def __init__(self, state_dir: Path, seed: int) -> None:
        self.state_dir = state_dir
        self.world = LocalWorld(state_dir / "world", in_memory_storage=False,
                                face_options=["--rate-limit", "100000/s", f"--fault-seed={seed}"],
                                identity_options=["--token-lifetime", "20"])
        self.function_key = secrets.token_urlsafe(18)
        self.hosts: list[ManagedProcess] = []
        self.kills = 0
        # [start, end] wall-clock seconds of each kill and storage outage: a training submitted just before one
        # may be orphaned (its run never stored), and that is forced, not a fault of the orchestrator.
        self.disruptions: list[list[float | None]] = []

    def start(self) -> None:
        self.world.start()
        _retry(lambda: ensure_exists(QueueClient.from_connection_string(self.world.storage_connection_string,
                                                                  REQUESTS_QUEUE)))
        self.hosts = [self._host(name) for name in "abcd"[:INSTANCES + 1]]
        for index in range(INSTANCES):
            self.start_host(index)

    def _host(self, name: str) -> ManagedProcess:
        port = free_port()
        settings = {**DEFAULTS, **self.world.settings(), "FACE_API_KEY": "", "TRAINING_REQUESTS_QUEUE": REQUESTS_QUEUE,
                    "TRAINING_EVENTS_QUEUE": EVENTS_QUEUE, "TRAININGS_TABLE": TABLE,
                    "LOCALDEV_FUNCTION_KEY": self.function_key}
        # A message a killed host held comes back when its lease runs out: 10 minutes on the real host, 30 s here
        # so that a run takes minutes, not hours. So does the timer's lock, and a host without it looks again
        # every 5 s, not every minute. The mechanisms are the same.
        host_json = json.loads((REPO_ROOT / "host.json").read_text())
        host_json["singleton"] = {"listenerLockPeriod": f"00:00:{LOCK_SECONDS:02d}",
                                  "listenerLockRecoveryPollingInterval": f"00:00:{LOCK_RECOVERY_SECONDS:02d}"}
        (self.state_dir / "host.json").write_text(json.dumps(host_json))
        return ManagedProcess(f"dev host {name}", [sys.executable, "-m", "localdev.host", "--port", str(port),
                                                   "--lease-seconds", str(LEASE_SECONDS),
                                                   "--host-json", str(self.state_dir / "host.json")],
                              lambda: http_ready(f"http://127.0.0.1:{port}/api/trainings", also_ready=(401,)),
                              self.state_dir / f"dev-host-{name}.log", env={**os.environ, **settings})

    def start_host(self, index: int) -> None:
        host = self.hosts[index]
        host.start()
        host.wait_ready(time.monotonic() + 60)

    def kill_host(self, index: int) -> None:
        host = self.hosts[index]
        if host.process is not None and host.process.poll() is None:
            os.killpg(host.process.pid, signal.SIGKILL)
            host.process.wait()
            self.kills += 1
            self.disruptions.append([time.time(), time.time()])

    def restart_azurite(self, down_seconds: float) -> None:
        """Storage goes away for a while and comes back with everything it acknowledged. Azurite is stopped with
        SIGTERM: SIGKILL would lose its last seconds of acknowledged writes (its database is saved to disk
        periodically), which Azure Storage never does, so the harness would be testing Azurite's durability."""
        azurite = next(p for p in self.world.processes if p.name == "Azurite")
        self.disruptions.append([time.time(), None])
        azurite.stop()
        time.sleep(down_seconds)
        azurite.start()
        azurite.wait_ready(time.monotonic() + 60)
        self.disruptions[-1][1] = time.time()

    @property
    def emulator(self) -> EmulatorClient:
        return EmulatorClient.of(self.world)

    def identity_outage(self, seconds: float) -> None:
        url = self.world.identity_endpoint.removesuffix("/msi/token") + "/_control/outage"
        requests.post(url, json={"status": 503, "seconds": seconds}, timeout=10).raise_for_status()

    def stop(self) -> None:
        for host in self.hosts:
            host.stop()
        self.world.stop()

    def host_logs(self) -> str:
        return "".join(h.log_file.read_text(errors="replace") for h in self.hosts if h.log_file.exists())


def _retry(action, attempts: int = 60):
    """The harness's own storage calls ride out the Azurite restart it causes."""
    for attempt in range(attempts):
        try:
            return action()
        except (AzureError, requests.RequestException):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def run(state_dir: Path, seed: int, scale: Scale, progress=lambda message: None) -> dict:
    rng = random.Random(seed)
    stack = Stack(state_dir, seed)
    stack.start()
    ledger = Ledger()
    try:
        containers = [Container(kind, f"chaos-{n:02d}") for n in range(scale.containers // len(Kind)) for kind in Kind]
        for container in containers:
            _create(stack.emulator, container, rng.randint(1000, 5000))
        for container in containers[:HUGE_FAILURE_CONTAINERS]:
            stack.emulator.fail_training(container.id, HUGE_FAILURE_MESSAGE, count=1, kind=container.kind)
        for fault in FAULTS.values():
            stack.emulator.add_fault(fault)
        requests.patch(f"{stack.world.emulator_control}/config", json={"rateLimit": S0_RATE_LIMIT},
                       timeout=10).raise_for_status()
        calls_since = time.time()
        watch = IndexWatch(stack.world.storage_connection_string)
        watch.start()
        progress(f"workload: {scale.requests} requests over {len(containers)} containers of three kinds in "
                 f"{scale.workload_seconds:g} s")
        producer = threading.Thread(target=_produce,
                                    args=(stack, ledger, containers, scale, random.Random(seed + 1)))
        started = time.monotonic()
        producer.start()
        _break_things(stack, scale, random.Random(seed + 2), started, progress)
        producer.join()
        fault_counts = _fault_counts(stack)
        stack.emulator.clear_faults()
        requests.delete(stack.world.identity_endpoint.removesuffix("/msi/token") + "/_control/outage", timeout=10)
        for index in range(INSTANCES):
            if stack.hosts[index].process.poll() is not None:
                stack.start_host(index)
        progress("draining: every request must end in an event")
        events, delays = _drain(stack, ledger, scale.drain_seconds)
        watch.stop()
        return _report(stack, ledger, events, seed, scale, fault_counts, delays, watch,
                       stack.emulator.calls(since=calls_since, caller="token"))
    finally:
        stack.stop()


class IndexWatch(threading.Thread):
    """Samples the in-flight index against the list states every second while the run goes on. A state that is
    overdue while its list's marker says later (or is missing), seen so in two samples in a row with the same
    ETag, is a training nobody will poll until something else looks at the list."""

    def __init__(self, connection_string: str, table: str = TABLE) -> None:
        super().__init__(daemon=True)
        self.table = TableClient.from_connection_string(connection_string, table)
        self.samples = 0
        self.behind: set[tuple[str, str]] = set()
        self._suspects: set[tuple[str, str]] = set()
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(1.0):
            try:
                self._sample()
            except (AzureError, requests.RequestException):
                pass  # storage is restarted on purpose

    def stop(self) -> None:
        self._stopped.set()
        self.join(30)

    def _sample(self) -> None:
        now = datetime.now(timezone.utc)
        markers = {e["RowKey"]: e["DueAt"] for e in self.table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": INFLIGHT_PARTITION})}
        suspects = set()
        for state in self.table.query_entities("RowKey eq @row", parameters={"row": STATE_ROW}):
            due = state.get("DueAt")
            if due is None or due > now - OVERDUE_GRACE:
                continue
            marker = markers.get(state["PartitionKey"])
            if marker is None or marker > now:
                suspects.add((state["PartitionKey"], state.metadata["etag"]))
        self.behind |= suspects & self._suspects
        self._suspects = suspects
        self.samples += 1


def _create(emulator: EmulatorClient, container: Container, entries: int) -> None:
    """A list of `entries` faces, or a group of `entries` persons with a face each."""
    if container.kind is Kind.LARGE_FACE_LIST:
        emulator.create_list(container.id, entries)
    else:
        emulator.create_group(container.kind, container.id, entries)


def _fault_counts(stack: Stack) -> dict[str, int]:
    rules = stack.emulator.faults()
    return {name: rule["fired"] for name, rule in zip(FAULTS, rules)}


def _produce(stack: Stack, ledger: Ledger, containers: list[Container], scale: Scale, rng: random.Random) -> None:
    """Requests name their container in their id (`largepersongroups:chaos-01:req-0042`, a list's without its
    kind), so that a request sent again names the same one."""
    queue = QueueClient.from_connection_string(stack.world.storage_connection_string, REQUESTS_QUEUE)
    interval = scale.workload_seconds / scale.requests
    for number in range(scale.requests):
        time.sleep(rng.uniform(0, 2 * interval))
        roll = rng.random()
        if roll < 0.05:
            body = rng.choice(BAD_BODIES)
            sent = _retry(lambda: queue.send_message(body.decode()))
            with ledger.lock:
                ledger.bad[_message_id_seen_by_the_function(body, sent.id)] = body
            continue
        if roll < 0.12 and ledger.good:  # the same request again, as a producer that retries would
            request_id = rng.choice(sorted(ledger.good))
        else:
            request_id = f"{rng.choice(containers).key}:req-{number:04d}"
        container = _container_of_request(request_id)
        document = {container.kind.request_field: container.id, "requestId": request_id}
        _retry(lambda: queue.send_message(json.dumps(document)))
        with ledger.lock:
            ledger.good[request_id] = ledger.good.get(request_id, 0) + 1


def _container_of_request(request_id: str) -> Container:
    return Container.from_key(request_id.rpartition(":")[0])


def _message_id_seen_by_the_function(body: bytes, queue_message_id: str) -> str:
    """The Functions host lifts an `id` from a JSON body into the trigger's metadata (a CloudEvent has one), so
    that is the message id the function, and its rejection event, see."""
    try:
        document = json.loads(body)
    except ValueError:
        return queue_message_id
    if isinstance(document, dict) and isinstance(document.get("id"), str):
        return document["id"]
    return queue_message_id


def _break_things(stack: Stack, scale: Scale, rng: random.Random, started: float, progress) -> None:
    """The seeded schedule: kills of a random instance spread over the window, one Azurite crash, a fourth
    instance for a while, an identity outage longer than a token lives."""
    window = scale.workload_seconds
    plan = [(rng.uniform(0.05, 0.95) * window, "kill") for _ in range(scale.kills)]
    plan += [(0.45 * window, "azurite"), (0.25 * window, "fourth instance on"), (0.6 * window, "fourth instance off"),
             (0.7 * window, "identity outage")]
    for at, action in sorted(plan):
        time.sleep(max(0.0, started + at - time.monotonic()))
        if action == "kill":
            victim = rng.randrange(INSTANCES)
            progress(f"  {time.monotonic() - started:5.1f} s: kill instance {'abc'[victim]}")
            stack.kill_host(victim)
            time.sleep(rng.uniform(0.5, 3))
            stack.start_host(victim)
            continue
        progress(f"  {time.monotonic() - started:5.1f} s: {action}")
        if action == "azurite":
            stack.restart_azurite(down_seconds=3)
        elif action == "fourth instance on":
            stack.start_host(INSTANCES)
        elif action == "fourth instance off":
            stack.kill_host(INSTANCES)
        else:
            stack.identity_outage(min(30.0, 0.2 * window))


def _drain(stack: Stack, ledger: Ledger, seconds: float) -> tuple[list[dict], list[tuple[str, float]]]:
    """Consume the events queue until every request sent is named by a terminal event, or time runs out. Also
    returns, per success event, its container's path and how long after Face's finish the queue took its first
    copy (its whole-second timestamp): a copy repeated after a crash is not a second event."""
    queue = QueueClient.from_connection_string(stack.world.storage_connection_string, EVENTS_QUEUE)
    events: list[dict] = []
    delays: list[tuple[str, float]] = []
    seen_ids: set[str] = set()
    wanted = set(ledger.good)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = _retry(lambda: list(queue.receive_messages(messages_per_page=32, max_messages=32)))
        for message in batch:
            event = json.loads(message.content)
            events.append(event)
            if event["id"] not in seen_ids and event["type"].endswith("TrainingSucceeded"):
                delays.append((event["subject"],
                               message.inserted_on.timestamp() - _seconds(event["data"]["finishedAt"])))
            seen_ids.add(event["id"])
            _retry(lambda: queue.delete_message(message))
        named = {r for e in events for r in e["data"].get("requestIds") or ()}
        rejected = {e["data"]["messageId"] for e in events if e["type"].endswith("TrainingRequestRejected")}
        if wanted <= named and set(ledger.bad) <= rejected and not batch:
            break
        if not batch:
            time.sleep(1)
    return events, delays


def _report(stack: Stack, ledger: Ledger, events: list[dict], seed: int, scale: Scale, fault_counts: dict[str, int],
            delays: list[tuple[str, float]], watch: IndexWatch, our_calls: dict) -> dict:
    wanted = set(ledger.good)
    by_id: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_id[event["id"]].append(event)
    terminal = {eid: copies[0] for eid, copies in by_id.items() if "requestIds" in copies[0]["data"]}
    naming = Counter(r for e in terminal.values() for r in e["data"]["requestIds"])
    runs = defaultdict(set)
    for eid, event in terminal.items():
        runs[event["data"]["runId"]].add(eid)
    rejected = {e["data"]["messageId"] for copies in by_id.values() for e in copies
                if e["type"].endswith("TrainingRequestRejected")}
    trainings = stack.emulator.trainings()
    poison = _retry(lambda: _peek_all(QueueClient.from_connection_string(stack.world.storage_connection_string,
                                                                         f"{REQUESTS_QUEUE}-poison")))
    orphans = _orphans(trainings, terminal.values())
    unexplained = [t for t in orphans if not _near_a_disruption(t, stack.disruptions)]
    failed_events = Counter(e["subject"] for e in terminal.values() if e["data"]["status"] == "failed")
    face_failures = Counter(_path_of(t) for t in trainings if t["status"] == "failed" and t not in orphans)
    elsewhere = answered_for_another_container(terminal.values())
    unbounded = [e["id"] for copies in by_id.values() for e in copies[:1] if _unbounded(e["data"])]
    (stack.state_dir / "events.json").write_text(json.dumps(events, indent=1))
    (stack.state_dir / "trainings.json").write_text(json.dumps(trainings, indent=1))
    (stack.state_dir / "disruptions.json").write_text(json.dumps(stack.disruptions))
    logs = stack.host_logs()
    responses = stack.emulator.stats()["responses"]
    conflicts = sum(responses.get(operation, {}).get("409", 0) for operation in TRAIN_OPERATIONS)
    secrets_found = _secrets_in(stack, logs + json.dumps(events))
    report = {
        "seed": seed,
        "scale": scale.__dict__,
        "requests": len(wanted),
        "requests_sent_twice": sum(1 for n in ledger.good.values() if n > 1),
        "bad_messages": len(ledger.bad),
        "kills": stack.kills,
        "azurite_restarts": 1,
        "events": len(events),
        "lost": len(wanted - set(naming)),
        "unaccounted": len(set(naming) - wanted) + sum(1 for n in naming.values() if n > 1),
        "answered_for_another_container": len(elsewhere),
        "duplicate_event_ids": sum(len(copies) - 1 for copies in by_id.values()),
        "conflicting_duplicates": sum(1 for copies in by_id.values()
                                      if any(c["data"] != copies[0]["data"] for c in copies)),
        "runs_with_more_than_one_terminal_event": sum(1 for ids in runs.values() if len(ids) > 1),
        "double_inflight": _overlaps(trainings),
        "trainings_submitted": len(trainings),
        "terminal_runs": len(runs),
        "conflicts_409": conflicts,
        "trainings_orphaned_by_a_crash": len(orphans) - len(unexplained),
        "trainings_beyond_bound": len(unexplained),
        "rejections_missing": len(set(ledger.bad) - rejected),
        "poison_messages": len(poison),
        "unaccounted_poison": sum(1 for body in poison if not _rejected_body(body, ledger, rejected)),
        "secrets_found": secrets_found,
        "face_failures_not_reported": sum(max(0, n - failed_events[path]) for path, n in face_failures.items()),
        "unbounded_texts": len(unbounded),
        "index_behind_state": len(watch.behind),
        "index_samples": watch.samples,
        "instances": INSTANCES,
        "face_calls": len(our_calls["calls"]),
        "face_calls_peak_per_second": our_calls["peakPerSecond"],
        "face_calls_per_second_budget": BUDGET,
        "face_calls_over_budget": max(0, our_calls["peakPerSecond"] - (BUDGET + 1)),
        "throttled_by_the_tier": sum(1 for call in our_calls["calls"] if call["throttled"]),
        "faults_fired": fault_counts,
        "face_failures": sum(face_failures.values()),
        "protocol_error_events": sum(1 for e in terminal.values() if e["data"]["status"] == "protocolError"),
        "success_event_delay_seconds": _spread([delay for _, delay in delays]),
        "by_kind": {str(kind): _kind_figures(kind, wanted, trainings, terminal.values(), delays) for kind in Kind},
        # For whoever investigates a failure: which ones (at most 20 each).
        "lost_request_ids": sorted(wanted - set(naming))[:20],
        "unaccounted_request_ids": sorted((set(naming) - wanted) | {r for r, n in naming.items() if n > 1})[:20],
        "bad_messages_without_rejection": sorted(set(ledger.bad) - rejected)[:20],
        "requests_answered_for_another_container": elsewhere[:20],
        "containers_behind_their_state": sorted({key for key, _ in watch.behind})[:20],
        "events_with_unbounded_texts": unbounded[:20],
    }
    report["passed"] = all(report[key] == 0 for key, _ in INVARIANTS)
    return report




def answered_for_another_container(terminal_events) -> list[str]:
    """Requests a terminal event answers though they named another container: another kind with the same id, say."""
    return [r for e in terminal_events for r in e["data"]["requestIds"]
            if _container_of_request(r).path != e["subject"]]


def _path_of(training: dict) -> str:
    """The path of an emulator training's container: the timeline names it by kind and that kind's id field."""
    kind = Kind(training["kind"])
    return Container(kind, training[kind.request_field]).path


def _kind_figures(kind: Kind, wanted: set[str], trainings: list[dict], terminal, delays: list[tuple[str, float]]
                  ) -> dict:
    """One kind's share of the run, so that a kind the orchestrator neglected would show."""
    prefix = f"{kind}/"
    return {"requests": sum(1 for r in wanted if _container_of_request(r).kind is kind),
            "trainings_submitted": sum(1 for t in trainings if t["kind"] == kind),
            "terminal_events": sum(1 for e in terminal if e["subject"].startswith(prefix)),
            "success_event_delay_seconds": _spread([d for path, d in delays if path.startswith(prefix)])}


def _unbounded(data: dict) -> bool:
    limits = {"errorMessage": MAX_EVENT_ERROR_MESSAGE_CHARS, "errorCode": MAX_FACE_CODE_CHARS,
              "reason": MAX_REJECTION_REASON_CHARS}
    return any(len(data.get(name) or "") > limit for name, limit in limits.items())


def _spread(values: list[float]) -> dict[str, float | int]:
    if len(values) < 2:
        return {"count": len(values)}
    p50, p95 = quantiles(values, n=20)[9], quantiles(values, n=20)[18]
    return {"count": len(values), "p50": round(p50, 1), "p95": round(p95, 1), "max": round(max(values), 1)}


def _seconds(iso: str) -> float:
    return from_iso(iso).timestamp()


def _orphans(trainings: list[dict], terminal_events) -> list[dict]:
    """Emulator trainings no run accounts for. A run's `submittedAt` is taken just before its train call, and the
    emulator stamps the call when it arrives, up to a read timeout later (latency faults): each run takes the first
    unmatched training of its container in that span."""
    unmatched = sorted(trainings, key=lambda t: _seconds(t["submittedAt"]))
    for event in sorted(terminal_events, key=lambda e: e["data"]["submittedAt"] or ""):
        if not event["data"]["submittedAt"]:
            continue
        at = _seconds(event["data"]["submittedAt"])
        match = next((t for t in unmatched if _path_of(t) == event["subject"]
                      and at - 1.0 <= _seconds(t["submittedAt"]) <= at + READ_TIMEOUT_SECONDS), None)
        if match is not None:
            unmatched.remove(match)
    return unmatched


def _near_a_disruption(training: dict, disruptions: list[list[float | None]]) -> bool:
    """Submitted shortly before a kill or during a storage outage: the run could not be stored. The emulator
    stamps a training when its handler runs, after any injected latency, so up to that long after the kill."""
    at = _seconds(training["submittedAt"])
    return any(start - 10 <= at <= (end or start) + LATEST_START_AFTER_SEND_SECONDS for start, end in disruptions)


def _peek_all(queue: QueueClient) -> list[str]:
    try:
        return [m.content for m in queue.receive_messages(messages_per_page=32, max_messages=1000,
                                                          visibility_timeout=1)]
    except AzureError:
        return []


def _rejected_body(body: str, ledger: Ledger, rejected: set[str]) -> bool:
    return any(message_id in rejected for message_id, sent in ledger.bad.items() if sent.decode() == body)


def _overlaps(trainings: list[dict]) -> int:
    """Pairs of one container's trainings that ran at the same time, by the emulator's own timeline."""
    spans = defaultdict(list)
    for t in trainings:
        start = from_iso(t["submittedAt"])
        end = from_iso(t["finishedAt"] or "9999-12-31T00:00:00Z")
        spans[_path_of(t)].append((start, end))
    count = 0
    for intervals in spans.values():
        intervals.sort()
        count += sum(1 for (_, end), (start, _) in zip(intervals, intervals[1:]) if start < end)
    return count


def _secrets_in(stack: Stack, text: str) -> int:
    """Keys, the identity header, the function key, the storage account key and bearer tokens (JWTs)."""
    account_key = re.search(r"AccountKey=([^;]+)", stack.world.storage_connection_string)[1]
    literal = [stack.world.face_key, stack.world.identity_header, stack.function_key, account_key]
    return sum(text.count(s) for s in literal) + len(re.findall(r"eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]+", text))
