"""Many instances, one Face budget (docs/performance.md, "Scaling out").

- Virtual time: an import of thousands of containers requested within a minute, spread over many instances'
  intake, the timer on one: how long it takes to drain against its floor (the calls it needs over the budget),
  the most calls in any second, and the storage transactions each training costs.
- Real time, on the local world: the same import, smaller, across several instances of the app on the dev host at
  S0's rate limit with an upload job beside it; the budget's ledger under contention, which is what a budget
  shared through Table storage on every call would cost; and how long nothing polls when the timer's instance
  dies.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.queue import QueueClient

from localdev.dev import start_app
from localdev.emulator_client import EmulatorClient
from localdev.face_emulator.app import peak_in_any_window
from localdev.world import LocalWorld, ManagedProcess, free_port, http_ready
from orchestrator.containers import Container, Kind
from orchestrator.face_budget import FaceBudget
from orchestrator.iso_time import from_iso
from orchestrator.settings import DEFAULTS
from orchestrator.store import TableBudgetLedger

from .live import _invocations
from .simulation import Arrival, Scheduler, SimFace, SimulatedOrchestrator, VirtualClock, terminal_events
from .virtual import POLICY, S0, TICK_S
from .workload import MAX_ENTRIES, MIN_ENTRIES

BUDGET = float(DEFAULTS["FACE_CALLS_PER_SECOND"])
UPLOADER_CALLS_PER_SECOND = 8.0  # what S0's 10 leave once our budget is spent, as in the virtual sharing figure


# --- virtual time: the import at scale ----------------------------------------------------------------------------


def import_arrivals(containers: int, seed: int, within_s: float = 60.0) -> tuple[Arrival, ...]:
    """One request for each of `containers` containers, a third of each kind, sized as the training mix is, all
    within `within_s`: a nightly import."""
    rng = random.Random(seed)
    kinds = tuple(Kind)
    arrivals = []
    for number in range(containers):
        kind = kinds[number % len(kinds)]
        entries = int(MIN_ENTRIES * (MAX_ENTRIES[kind] / MIN_ENTRIES) ** rng.random())
        arrivals.append(Arrival(rng.uniform(0, within_s), f"import-{number:05d}", entries, f"import-{number:05d}",
                                kind))
    return tuple(sorted(arrivals, key=lambda a: a.at_s))


def import_at_scale(containers: int, instances: int, seed: int, calls_per_second: float = BUDGET) -> dict:
    """The real orchestrator as `instances` instances on virtual time, at S0's rate limit, each request saying
    its container's size, as an import job knows it."""
    clock = VirtualClock()
    face = SimFace(clock, rate_limit=S0)
    scheduler = Scheduler(clock)
    ours = SimulatedOrchestrator(scheduler, face, TICK_S, POLICY, face_calls_per_second=calls_per_second,
                                 size_hint=lambda arrival: arrival.face_count, instances=instances)
    arrivals = import_arrivals(containers, seed)
    for arrival in arrivals:
        ours.request(arrival)
    started = time.monotonic()
    scheduler.run()
    seen = terminal_events(ours.events)
    calls = [at for at, _, call in face.calls_log if call in ("train", "status")]
    trains = sorted(at for at, _, call in face.calls_log if call == "train")
    drain_s = max(at for at, _ in seen)
    first_train_at = {}
    for at, key, call in face.calls_log:
        if call == "train":
            first_train_at.setdefault(key, at)
    waits = sorted(first_train_at[a.container.key] - a.at_s for a in arrivals)
    # No deployment drains before the budget has made its calls, nor before Face has finished the last training.
    floor_s = max(len(calls) / calls_per_second, max(t.finished_s for t in face.trainings))
    return {"containers": containers, "instances": instances, "calls_per_second_budget": calls_per_second,
            "trainings_seen": len(seen), "face_calls": len(calls),
            "calls_per_training": round(len(calls) / len(seen), 2),
            "drain_seconds": round(drain_s, 1), "floor_seconds": round(floor_s, 1),
            "budget_floor_seconds": round(len(calls) / calls_per_second, 1),
            "oracle_budget_floor_seconds": round(2 * containers / calls_per_second, 1),
            "drain_to_floor": round(drain_s / floor_s, 3),
            "drain_to_budget_floor": round(drain_s / (len(calls) / calls_per_second), 3),
            "peak_calls_in_any_second": peak_in_any_window(calls, 1.0), "face_429s": face.throttled,
            "trainings_per_hour": round(len(seen) / (drain_s / 3600), 0),
            "storage_transactions_per_training": round(ours.store.transactions / len(seen), 1),
            "request_to_train_call_seconds": {"p50": round(waits[len(waits) // 2], 1),
                                              "p95": round(waits[int(len(waits) * 0.95)], 1),
                                              "max": round(waits[-1], 1)},
            "last_train_call_s": round(trains[-1], 1), "simulated_in_seconds": round(time.monotonic() - started, 1)}


# --- real time: the nightly import across instances --------------------------------------------------------------


def nightly_import(world: LocalWorld, state_dir: Path, containers: int, instances: int,
                   uploader_alone_s: float) -> dict:
    """`containers` small containers of the three kinds requested at once, taken by `instances` instances of the
    app on the dev host, on an S0 resource (10 calls a second for every caller together) that an upload job shares
    at 8 calls a second: our calls counted where they arrive, the emulator; the upload job's 429s against the
    same job alone."""
    face = EmulatorClient.of(world)
    suffix = uuid.uuid4().hex[:6]
    kinds = list(Kind)
    wanted = [Container(kinds[n % len(kinds)], f"night-{suffix}-{n:03d}") for n in range(containers)]
    for container in wanted:
        if container.kind is Kind.LARGE_FACE_LIST:
            face.create_list(container.id, 1000)
        else:
            face.create_group(container.kind, container.id, 1000)
    face.create_list(f"uploads-{suffix}", 10)
    # The app with its managed identity, as in Azure, and the upload job with the key: the emulator tells them apart.
    settings = {"TRAINING_REQUESTS_QUEUE": f"night-{suffix}", "TRAINING_EVENTS_QUEUE": f"night-events-{suffix}",
                "TRAININGS_TABLE": f"night{suffix}", "AzureFunctionsWebHost__hostid": f"night-{suffix}",
                "FACE_API_KEY": ""}
    control = world.emulator_control
    limit = requests.get(f"{control}/config", timeout=10).json()["rateLimit"]
    requests.patch(f"{control}/config", json={"rateLimit": "10/s"}, timeout=10).raise_for_status()
    uploader = Uploader(world, f"uploads-{suffix}")
    already_running = len(world.processes)
    try:
        alone = uploader.run_for(uploader_alone_s)
        for _ in range(instances):
            start_app(world, state_dir, free_port(), **settings)
        queue = QueueClient.from_connection_string(world.storage_connection_string,
                                                   settings["TRAINING_REQUESTS_QUEUE"])
        events = QueueClient.from_connection_string(world.storage_connection_string,
                                                    settings["TRAINING_EVENTS_QUEUE"])
        beside = uploader.start()
        started = time.time()
        for container in wanted:
            queue.send_message(json.dumps({container.kind.request_field: container.id,
                                           "requestId": f"r-{container.key}"}))
        seen: set[str] = set()
        deadline = time.monotonic() + 600
        while len(seen) < len(wanted):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the import drained {len(seen)} of {len(wanted)} in 600 s")
            try:
                for message in events.receive_messages(messages_per_page=32, max_messages=32):
                    seen.update(json.loads(message.content)["data"].get("requestIds") or ())
                    events.delete_message(message)
            except ResourceNotFoundError:
                pass  # the app makes its events queue when it first builds
            time.sleep(0.2)
        drain_s = time.time() - started
        with_us = uploader.stop(beside)
        ours = face.calls(since=started, caller="token")
    finally:
        uploader.stop_all()
        for host in world.processes[already_running:]:
            host.stop()
        del world.processes[already_running:]
        requests.patch(f"{control}/config", json={"rateLimit": limit}, timeout=10).raise_for_status()
    calls = len(ours["calls"])
    return {"containers": containers, "instances": instances, "face_calls": calls,
            "peak_calls_in_any_second": ours["peakPerSecond"], "calls_per_second_budget": BUDGET,
            "our_429s": sum(1 for c in ours["calls"] if c["status"] == 429),
            "drain_seconds": round(drain_s, 1), "floor_seconds": round(calls / BUDGET, 1),
            "drain_to_floor": round(drain_s / (calls / BUDGET), 3),
            "uploader": {"alone": alone, "with_ours": with_us}}


class Uploader:
    """An upload job's steady calls on the same resource, with the key: reads of a list standing for its adds (the
    limit counts calls, whatever they do), each 429's `Retry-After` waited out."""

    def __init__(self, world: LocalWorld, list_id: str) -> None:
        self._url = f"{world.face_http_endpoint}/face/v1.2/largefacelists/{list_id}"
        self._key = {"Ocp-Apim-Subscription-Key": world.face_key}
        self._running: list[tuple[threading.Thread, threading.Event, dict]] = []

    def run_for(self, seconds: float) -> dict:
        job = self.start()
        time.sleep(seconds)
        return self.stop(job)

    def start(self) -> tuple[threading.Thread, threading.Event, dict]:
        stop, figures = threading.Event(), {"calls": 0, "throttled_429": 0, "seconds": 0.0}
        thread = threading.Thread(target=self._run, args=(stop, figures), daemon=True)
        thread.start()
        self._running.append((thread, stop, figures))
        return thread, stop, figures

    def stop(self, job: tuple[threading.Thread, threading.Event, dict]) -> dict:
        thread, stop, figures = job
        stop.set()
        thread.join(30)
        figures["per_minute_429"] = round(60 * figures["throttled_429"] / max(figures["seconds"], 1e-9), 2)
        return figures

    def stop_all(self) -> None:
        for job in self._running:
            job[1].set()

    def _run(self, stop: threading.Event, figures: dict) -> None:
        """Calls at most `UPLOADER_CALLS_PER_SECOND`: each starts an interval after the last started, never
        sooner to catch up on a slow one (which would burst past its rate, and S0's)."""
        session, started = requests.Session(), time.monotonic()
        interval = 1 / UPLOADER_CALLS_PER_SECOND
        while not stop.is_set():
            began = time.monotonic()
            answer = session.get(self._url, headers=self._key, timeout=10)
            if answer.status_code == 429:
                figures["throttled_429"] += 1
                stop.wait(float(answer.headers.get("Retry-After", "1")))
            else:
                figures["calls"] += 1
                stop.wait(max(0.0, began + interval - time.monotonic()))
        figures["seconds"] = round(time.monotonic() - started, 1)


# --- real time: the ledger under contention ----------------------------------------------------------------------


def ledger_contention(world: LocalWorld, takers: tuple[int, ...], seconds: float) -> dict:
    """A budget shared through Table storage on every call: each of `takers` threads (instances) takes one call's
    grant from the ledger entity, "makes" it and settles it, or waits until the budget frees up, over and over.
    What each granted call costs in storage transactions, and how often a write lost its ETag race. Our design
    takes the ledger once a pass on the timer's instance, not once a call on every instance."""
    service = TableServiceClient.from_connection_string(world.storage_connection_string)
    connection_string = world.storage_connection_string
    found = {}
    for count in takers:
        table_name = f"ledger{uuid.uuid4().hex[:10]}"
        service.create_table(table_name)
        responses: list[int] = []
        lock = threading.Lock()

        def noted(response, responses=responses, lock=lock) -> None:
            with lock:
                responses.append(response.http_response.status_code)

        granted = [0] * count
        stop = threading.Event()

        def take(index: int) -> None:
            table = TableClient.from_connection_string(connection_string, table_name,
                                                       raw_response_hook=lambda response: noted(response))
            budget = FaceBudget(BUDGET, lambda: datetime.now(timezone.utc), TableBudgetLedger(table))
            while not stop.is_set():
                if budget.take(1):
                    budget.spent()
                    granted[index] += 1
                    budget.settle()
                else:  # as the tick does: wait until the budget frees up, then ask again
                    stop.wait(max(budget.frees_in(), 0.01))

        threads = [threading.Thread(target=take, args=(n,)) for n in range(count)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(30)
        calls = sum(granted)
        found[str(count)] = {"granted_per_second": round(calls / seconds, 2),
                             "transactions_per_granted_call": round(len(responses) / max(calls, 1), 1),
                             "lost_races_per_granted_call": round(responses.count(412) / max(calls, 1), 2)}
    return found
# --- real time: the timer's failover -----------------------------------------------------------------------------


def timer_failover(world: LocalWorld, state_dir: Path, host_json: Path, timeout_s: float = 300.0) -> dict:
    """Two instances of the app with `host_json`; the one running the timer is killed (SIGKILL, as a lost VM):
    seconds from the kill until the other runs the timer, which is how long nothing polls. The host holds the timer
    with a blob lease of `singleton.listenerLockPeriod`, renewed at half of it, which the others try to take every
    `listenerLockRecoveryPollingInterval`: the failover lies between half the period and the period plus the
    interval, by where the kill falls in the renewal's cycle."""
    settings = {**DEFAULTS, **world.settings(), "AzureFunctionsWebHost__hostid": f"failover-{uuid.uuid4().hex[:8]}",
                "TRAINING_REQUESTS_QUEUE": f"failover-{uuid.uuid4().hex[:8]}"}
    QueueClient.from_connection_string(world.storage_connection_string,
                                       settings["TRAINING_REQUESTS_QUEUE"]).create_queue()
    instances = []
    for name in ("first", "second"):
        port, journal = free_port(), state_dir / f"failover-{name}.jsonl"
        journal.unlink(missing_ok=True)
        instances.append((ManagedProcess(
            f"failover {name}", [sys.executable, "-m", "localdev.host", "--port", str(port), "--invocations",
                                 str(journal), "--host-json", str(host_json)],
            lambda port=port: http_ready(f"http://127.0.0.1:{port}/api/trainings", also_ready=(401,)),
            state_dir / f"failover-{name}.log", env={**os.environ, **settings}), journal))
    try:
        (first, first_journal), (second, second_journal) = instances
        first.start()
        first.wait_ready(time.monotonic() + 60)
        _wait_for(lambda: _invocations(first_journal, "poll_trainings"), timeout_s, "the first instance's timer")
        second.start()
        second.wait_ready(time.monotonic() + 60)
        time.sleep(2)  # both run; the first holds the timer
        os.killpg(first.process.pid, signal.SIGKILL)
        killed_at = datetime.now(timezone.utc)
        first.process.wait()
        taken = _wait_for(lambda: [e for e in _invocations(second_journal, "poll_trainings")
                                   if from_iso(e["startedAt"]) > killed_at], timeout_s, "the timer to move")
        return {"seconds": round((from_iso(taken[0]["startedAt"]) - killed_at).total_seconds(), 1),
                "singleton": json.loads(host_json.read_text()).get("singleton", {})}
    finally:
        for process, _ in instances:
            process.stop()


def _wait_for(found, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (result := found()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"still waiting after {timeout_s:g} s for {what}")
        time.sleep(0.2)
    return result
