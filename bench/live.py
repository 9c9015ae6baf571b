"""The real-time experiments on the local world: Azurite, the Face emulator (time scale 1) and the real app.

Short trainings for every strategy (to confirm the virtual-time run where they overlap), a burst through the
real orchestrator, intake through the dev host against the bare SDK's floor, the poll tick's storage cost, and
an idle hour's cost extrapolated from a measured idle window.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from azure.ai.vision.face import FaceAdministrationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueClient

from localdev.dev import INVOCATIONS_FILE, start_app
from localdev.emulator_client import EmulatorClient
from localdev.face_emulator.model import face_count_for
from localdev.world import REPO_ROOT, LocalWorld, free_port
from orchestrator import runtime
from orchestrator.containers import Container, Kind
from orchestrator.iso_time import from_iso
from orchestrator.machine import ContainerState, Phase, Run
from orchestrator.ports import FaceApi, TrainingStatus
from orchestrator.records import RequestRecord
from orchestrator.store import TrainingStore
from orchestrator.worker import Orchestrator

from .virtual import NAIVE_INTERVAL_S, TICK_S

UTC = timezone.utc


def parse_time(iso: str) -> datetime:
    return from_iso(iso)


class Face:
    """The emulator: its data plane with the key, for the baselines' own calls, and the scene-setting client."""

    def __init__(self, world: LocalWorld) -> None:
        self.world = world
        self.base = f"{world.face_http_endpoint}/face/v1.2"
        self.key = {"Ocp-Apim-Subscription-Key": world.face_key}
        self.emulator = EmulatorClient.of(world)

    def create(self, list_id: str, faces: int) -> None:
        self.emulator.create_list(list_id, faces)

    def total_calls(self) -> int:
        return self.emulator.stats()["totalCalls"]


class CountingFace(FaceApi):
    """The orchestrator's FaceClient, counting its calls per list (the emulator counts per operation only)."""

    def __init__(self, face: FaceApi) -> None:
        self._face = face
        self.trains: dict[str, int] = {}
        self.polls: dict[str, int] = {}
        self.saw_finish: dict[str, datetime] = {}  # when a poll last read "succeeded": the event follows at once
        self._lock = threading.Lock()

    def calls(self, list_id: str) -> int:
        return self.trains.get(list_id, 0) + self.polls.get(list_id, 0)

    def _count(self, counter: dict[str, int], list_id: str) -> None:
        with self._lock:
            counter[list_id] = counter.get(list_id, 0) + 1

    def training_url(self, container: Container) -> str:
        return self._face.training_url(container)

    def train(self, container: Container) -> str:
        self._count(self.trains, container.key)
        return self._face.train(container)

    def training_status(self, operation_location: str) -> TrainingStatus:
        kind, container_id = operation_location.rsplit("/", 3)[-3:-1]
        list_id = Container(Kind(kind), container_id).key
        self._count(self.polls, list_id)
        status = self._face.training_status(operation_location)
        if status.status.lower() == "succeeded":
            self.saw_finish[list_id] = datetime.now(UTC)
        return status


class CountingTable:
    """A TableClient that counts what a caller reads: storage transactions and entities returned."""

    def __init__(self, table) -> None:
        self._table = table
        self.transactions = 0
        self.entities = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.transactions = self.entities = 0

    def _add(self, transactions: int, entities: int) -> None:
        with self._lock:
            self.transactions += transactions
            self.entities += entities

    def get_entity(self, *args, **kwargs):
        self._add(1, 1)
        return self._table.get_entity(*args, **kwargs)

    def query_entities(self, *args, **kwargs):
        pages = self._table.query_entities(*args, **kwargs).by_page()
        found = []
        for page in pages:
            batch = list(page)
            self._add(1, len(batch))
            found += batch
        return found

    def __getattr__(self, name):  # writes and the rest: counted as one transaction each
        attribute = getattr(self._table, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self._add(1, 0)
            return attribute(*args, **kwargs)
        return counted


def orchestrator_for(world: LocalWorld, edges: runtime.Edges = runtime.Edges(face=CountingFace),
                     **overrides: str) -> Orchestrator:
    """The real composition root's orchestrator, its Face calls counted (`orchestrator.face` is a `CountingFace`)."""
    settings = {**world.settings(), **overrides}
    for name, value in settings.items():  # requests and the SDKs read these from the environment
        os.environ[name] = value
    return runtime.build(settings, edges=edges)


def _state(orchestrator: Orchestrator, list_id: str) -> ContainerState:
    return orchestrator.store.load(Container.large_face_list(list_id))[0]


def tick_every_period(orchestrator: Orchestrator, done, period_s: float = TICK_S,
                      within_s: float = 600.0) -> None:
    """Call the timer function on the period's wall-clock boundaries (as `*/5 * * * * *` fires) until `done()`;
    a harness whose condition never comes says so after `within_s`."""
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"still waiting after {within_s:g} s for {done.__doc__}")
        time.sleep(period_s - time.time() % period_s)
        orchestrator.tick()


LEARNED_LIST = "learned-{number}"

# --- short trainings on real time --------------------------------------------------------------------------


@dataclass
class Observed:
    """One training as a strategy lived it: its Face calls and how long after the true finish it knew."""

    duration_s: float
    calls: int
    delay_s: float
    # Where in the timer's period the training was submitted: the virtual run repeats it, since a list's first
    # polls land on the ticks after its submission.
    submitted_phase_s: float


def overlap(world: LocalWorld, durations_s: tuple[float, ...], rounds: int, sdk_interval_s: float) -> dict:
    """Each strategy trains a list of each duration `rounds` times, one training after the other, all strategies
    at once (the emulator's rate limit is lifted)."""
    face = Face(world)
    for strategy in ("ours", "naive", "sdk_poller"):
        for seconds in durations_s:
            face.create(f"{strategy.replace('_', '-')}-{seconds:g}s", face_count_for(seconds))
    results: dict[str, dict[str, list[Observed]]] = {}
    threads = [threading.Thread(target=_ours_overlap, args=(world, face, durations_s, rounds, results))]
    for seconds in durations_s:
        threads.append(threading.Thread(target=_naive_overlap, args=(face, seconds, rounds, results)))
        threads.append(threading.Thread(target=_sdk_overlap, args=(world, face, seconds, rounds, sdk_interval_s,
                                                                   results)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _record(results: dict, strategy: str, seconds: float, observed: Observed) -> None:
    results.setdefault(strategy, {}).setdefault(f"{seconds:g}", []).append(observed)


def _ours_overlap(world: LocalWorld, face: Face, durations_s, rounds: int, results: dict) -> None:
    events_queue = f"bench-events-{int(time.time())}"
    # No Face budget here, as in the virtual run it is compared with: this part checks the poll schedule's timing,
    # and a budget of 2 calls a second would hold two of the four lists' calls back a tick.
    orchestrator = orchestrator_for(world, TRAINING_EVENTS_QUEUE=events_queue, FACE_CALLS_PER_SECOND="1000")
    events = QueueClient.from_connection_string(world.storage_connection_string, events_queue)
    lists = {f"ours-{s:g}s": s for s in durations_s}

    def all_idle() -> bool:
        """every list's training seen to its end"""
        return all(_state(orchestrator, l).phase is Phase.IDLE for l in lists)
    for number in range(rounds):
        before = {list_id: orchestrator.face.calls(list_id) for list_id in lists}
        for list_id in lists:
            orchestrator.accept(json.dumps({"listId": list_id}).encode(), f"{list_id}-{number}")
        tick_every_period(orchestrator, all_idle)
        for message in events.receive_messages(messages_per_page=32, max_messages=32):
            delete_unless_gone(events, message)  # one per list; the queue's own timestamps have whole seconds only
        for list_id, seconds in lists.items():
            calls = orchestrator.face.calls(list_id) - before[list_id]
            _record(results, "ours", seconds, _observed(face, list_id, number, calls,
                                                        orchestrator.face.saw_finish[list_id]))


def _naive_overlap(face: Face, seconds: float, rounds: int, results: dict) -> None:
    """The usual sample: POST train, then GET the status every 5 s until it is done."""
    list_id = f"naive-{seconds:g}s"
    for number in range(rounds):
        calls = 1
        answer = requests.post(f"{face.base}/largefacelists/{list_id}/train", headers=face.key, timeout=10)
        answer.raise_for_status()
        location = answer.headers["operation-Location"].replace(face.world.face_endpoint,
                                                                face.world.face_http_endpoint)
        while True:
            time.sleep(NAIVE_INTERVAL_S)
            calls += 1
            status = requests.get(location, headers=face.key, timeout=10).json()["status"]
            if status == "succeeded":
                seen = datetime.now(UTC)
                break
        _record(results, "naive", seconds, _observed(face, list_id, number, calls, seen))


def _sdk_overlap(world: LocalWorld, face: Face, seconds: float, rounds: int, interval_s: float,
                 results: dict) -> None:
    """The official SDK: `begin_train(...).result()`, counting every HTTP response its pipeline receives."""
    list_id = f"sdk-poller-{seconds:g}s"
    responses = []
    client = FaceAdministrationClient(world.face_endpoint, AzureKeyCredential(world.face_key),
                                      connection_verify=str(world.certificate.ca_file),
                                      raw_response_hook=lambda response: responses.append(response))
    for number in range(rounds):
        before = len(responses)
        client.large_face_list.begin_train(list_id, polling_interval=interval_s).result()
        seen = datetime.now(UTC)
        _record(results, "sdk_poller", seconds, _observed(face, list_id, number, len(responses) - before, seen))


def learned_first_trainings(world: LocalWorld, sizes: tuple[int, ...], spread: float, seed: int) -> list[Observed]:
    """Hinted first trainings of new lists, one after another, through the real orchestrator and its ledger on
    Azurite, on an emulator whose trainings vary by `spread`: the first ENOUGH_TRAININGS teach the resource's speed,
    the rest are timed by it. The virtual run of the same lists, seed and phases must agree with it."""
    emulator = EmulatorClient.of(world)
    emulator.configure(trainingSpread=spread, trainingSeed=seed)
    try:
        face = Face(world)
        stamp = int(time.time())
        # A table of its own: the ledger, and the speed it learns, start from nothing.
        orchestrator = orchestrator_for(world, TRAINING_EVENTS_QUEUE=f"bench-learned-events-{stamp}",
                                        TRAININGS_TABLE=f"benchlearned{stamp}", FACE_CALLS_PER_SECOND="1000")
        observed = []
        for number, faces in enumerate(sizes):
            list_id = LEARNED_LIST.format(number=number)
            face.create(list_id, faces)

            def idle() -> bool:
                """the list's training seen to its end"""
                return _state(orchestrator, list_id).phase is Phase.IDLE
            orchestrator.accept(json.dumps({"listId": list_id, "sizeHint": faces}).encode(), f"{list_id}-0")
            tick_every_period(orchestrator, idle)
            observed.append(_observed(face, list_id, 0, orchestrator.face.calls(list_id),
                                      orchestrator.face.saw_finish[list_id]))
        return observed
    finally:
        emulator.configure(trainingSpread=0.0, trainingSeed=0)


def _observed(face: Face, list_id: str, number: int, calls: int, seen: datetime) -> Observed:
    trainings = [t for t in face.emulator.trainings()
                 if t["listId"] == list_id]
    truth = trainings[number]
    return Observed(truth["durationSeconds"], calls, (seen - parse_time(truth["finishedAt"])).total_seconds(),
                    parse_time(truth["submittedAt"]).timestamp() % TICK_S)


# --- a burst through the real orchestrator -----------------------------------------------------------------


def burst(world: LocalWorld, sizes: tuple[int, ...], training_s: float) -> dict:
    """Per size, one list starts training; then `size` requests for it arrive through `accept` while it runs.
    Counted: train calls after the first (the follow-ups), and how many of the burst the follow-up names."""
    face = Face(world)
    orchestrator = orchestrator_for(world, TRAINING_EVENTS_QUEUE=f"bench-burst-{int(time.time())}")
    lists = {size: f"burst-live-{size}" for size in sizes}
    for list_id in lists.values():
        face.create(list_id, face_count_for(training_s))
        orchestrator.accept(json.dumps({"listId": list_id}).encode(), f"{list_id}-first")

    def all_training() -> bool:
        """every list training (the ticks submit them, as the Face budget allows)"""
        return all(_state(orchestrator, l).phase is Phase.TRAINING for l in lists.values())
    tick_every_period(orchestrator, all_training)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda job: orchestrator.accept(json.dumps({"listId": job[0]}).encode(), job[1]),
                      [(list_id, f"{list_id}-{n:04d}") for size, list_id in lists.items() for n in range(size)]))
    enqueue_s = time.monotonic() - started
    if enqueue_s > training_s:
        raise RuntimeError(f"the burst took {enqueue_s:.0f} s, longer than the {training_s:g} s training")

    def follow_ups_submitted() -> bool:
        """every list's follow-up submitted"""
        return all(_state(orchestrator, l).runs_started >= 2 for l in lists.values())
    tick_every_period(orchestrator, follow_ups_submitted)
    found = {str(size): {"train_calls": orchestrator.face.trains[list_id] - 1,
                         "requests_covered": len(_state(orchestrator, list_id).run.request_ids),
                         "requests": size}
             for size, list_id in lists.items()}
    return {"burst_enqueue_seconds": round(enqueue_s, 1), "by_size": found}


# --- intake through the dev host, against the bare SDK's floor ---------------------------------------------


NOOP_APP = Path(__file__).resolve().parent / "noop_app"
FLOOR_LEASE_SECONDS = 600  # the queue extension's own lease on what it receives


def intake(world: LocalWorld, state_dir: Path, messages: int, lists: int, rounds: int = 2) -> dict:
    """Requests per second through the queue trigger on the dev host, against two floors in the same run and the
    same Azurite: the bare SDK's (the same messages received, 32 a request, and deleted, 16 at a time as the host
    runs them: consuming the queue with no work at all), and the dev host's running a function that does nothing
    (bench/noop_app: what the host itself costs a message, which Azure's host does in .NET, not here). Each is
    measured `rounds` times, in turn, in reverse order every other round, and its best rate is kept: on this
    shared 2-CPU machine a measurement is now and then slowed by what else runs, never sped up."""
    face = Face(world)
    names = [f"intake-{n:03d}" for n in range(lists)]
    for list_id in names:
        face.create(list_id, 1000)
    bodies = [json.dumps({"listId": names[n % lists], "requestId": f"intake-{n:05d}"}) for n in range(messages)]
    measures = {
        "ours": lambda tag: _through_dev_host(world, state_dir, bodies, f"bench-intake-{tag}", REPO_ROOT,
                                              "train_requests", TRAINING_EVENTS_QUEUE=f"bench-intake-events-{tag}",
                                              TRAININGS_TABLE=f"benchintake{tag}"),
        "noop_host": lambda tag: _through_dev_host(world, state_dir, bodies, f"bench-noop-{tag}", NOOP_APP, "noop"),
        "floor": lambda tag: _bare_sdk(world, bodies, f"bench-floor-{tag}"),
    }
    samples: dict[str, list[float]] = {name: [] for name in measures}
    failed, stale_deletes = 0, 0
    for number in range(rounds):
        for name in (list(measures) if number % 2 == 0 else list(reversed(measures))):
            per_second, troubles = measures[name](f"{int(time.time())}x{number}")
            samples[name].append(round(per_second, 1))
            if name == "floor":
                stale_deletes += troubles
            else:
                failed += troubles
    best = {name: max(rates) for name, rates in samples.items()}
    return {"messages": messages, "lists": lists, "rounds": rounds, "failed_invocations": failed,
            "floor_stale_deletes": stale_deletes,
            "samples_per_second": samples, "ours_per_second": best["ours"], "floor_per_second": best["floor"],
            "ratio_to_floor": round(best["ours"] / best["floor"], 3), "noop_host_per_second": best["noop_host"],
            "ratio_to_noop_host": round(best["ours"] / best["noop_host"], 3)}


def _through_dev_host(world: LocalWorld, state_dir: Path, bodies: list[str], queue_name: str, app_dir: Path,
                      function: str, **settings: str) -> tuple[float, int]:
    """Messages per second that the app in `app_dir` took from `queue_name` (first start to last end of its
    invocations), and its failed invocations."""
    requests_queue = QueueClient.from_connection_string(world.storage_connection_string, queue_name)
    requests_queue.create_queue()
    _send_all(requests_queue, bodies)
    journal = state_dir / INVOCATIONS_FILE
    journal.unlink(missing_ok=True)
    start_app(world, state_dir, free_port(), app_dir, TRAINING_REQUESTS_QUEUE=queue_name, **settings)
    host = world.processes[-1]
    try:
        deadline = time.monotonic() + 300
        while len(done := _invocations(journal, function)) < len(bodies):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dev host handled {len(done)} of {len(bodies)}")
            time.sleep(0.5)
    finally:
        world.processes.remove(host)
        host.stop()
    first_start = min(from_iso(entry["startedAt"]) for entry in done)
    last_end = max(from_iso(entry["endedAt"]) for entry in done)
    failed = sum(1 for entry in done if entry["outcome"] != "Succeeded")
    return len(bodies) / (last_end - first_start).total_seconds(), failed


def _bare_sdk(world: LocalWorld, bodies: list[str], queue_name: str) -> tuple[float, int]:
    """Messages per second the bare SDK consumes from a queue holding `bodies`, no work done at all, and how many
    of its deletes found their message already gone or received again. Each receive leases its messages for as
    long as the host's does (10 minutes): on a slow machine a shorter lease ran out between a receive of 32 and
    their deletes, and a stale pop receipt ended the benchmark. A delete that finds its message gone (a retried
    delete whose first try landed, say) is counted and the message taken as consumed; one received again comes
    round once more, and is not counted twice."""
    queue = QueueClient.from_connection_string(world.storage_connection_string, queue_name)
    queue.create_queue()
    _send_all(queue, bodies)
    started, consumed, stale = time.monotonic(), set(), 0
    deadline = started + FLOOR_LEASE_SECONDS
    with ThreadPoolExecutor(max_workers=16) as pool:  # the host's own concurrency: 16 at a time
        while len(consumed) < len(bodies):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the floor consumed {len(consumed)} of {len(bodies)} messages in "
                                   f"{FLOOR_LEASE_SECONDS} s")
            page = list(next(queue.receive_messages(messages_per_page=32, max_messages=32,
                                                    visibility_timeout=FLOOR_LEASE_SECONDS).by_page(), []))
            for message, deleted in zip(page, pool.map(lambda m: delete_unless_gone(queue, m), page)):
                stale += not deleted
                consumed.add(message.id)
    return len(bodies) / (time.monotonic() - started), stale


def delete_unless_gone(queue: QueueClient, message) -> bool:
    """Delete a received message; False, not an error, when it is gone or was received again since (its pop
    receipt is stale), which a consumer that outlived its lease must expect."""
    try:
        queue.delete_message(message)
    except ResourceNotFoundError:  # MessageNotFound: deleted, or its receipt no longer matches
        return False
    except HttpResponseError as error:
        if error.error_code != "PopReceiptMismatch":
            raise
        return False
    return True


def _send_all(queue: QueueClient, bodies: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(queue.send_message, bodies))


def _invocations(journal: Path, function: str) -> list[dict]:
    """The dev host's record of each invocation of `function` so far (its `--invocations` file)."""
    lines = journal.read_text().split("\n")[:-1] if journal.exists() else []  # a line being written is not yet one
    return [entry for entry in map(json.loads, lines) if entry["function"] == function]


# --- the poll tick's storage cost ---------------------------------------------------------------------------


def tick_cost(world: LocalWorld, tracked: int, in_flight_counts: tuple[int, ...]) -> dict:
    """One tick with `k` trainings in flight and all due, before and after `tracked` idle lists exist (lists
    trained once and done): what the tick reads must follow `k`, never `tracked`. Each in-flight list polls a
    real training that is still running, so the tick does everything a busy tick does."""
    face = Face(world)
    face.create("tick-probe", face_count_for(600))  # a 10-minute training, running throughout
    requests.post(f"{face.base}/largefacelists/tick-probe/train", headers=face.key, timeout=10).raise_for_status()
    operation_location = f"{world.face_endpoint}/face/v1.2/largefacelists/tick-probe/training"
    counting: list[CountingTable] = []

    def counted_store(table) -> TrainingStore:  # the real store, reading through a table that counts
        counting.append(CountingTable(table))
        return TrainingStore(counting[-1])
    # Every due training polled in the one tick, as the figure has always meant: a budget that holds polls back
    # (FACE_CALLS_PER_SECOND) would measure fewer polls, not the tick's cost.
    orchestrator = orchestrator_for(world, runtime.Edges(store=counted_store, face=CountingFace),
                                    TRAININGS_TABLE=f"benchtick{int(time.time())}", FACE_CALLS_PER_SECOND="1000")
    (table,) = counting
    results: dict[str, dict] = {}
    for phase, extra in (("without_tracked", 0), ("with_tracked", tracked)):
        if extra:
            _create_idle_lists(orchestrator, extra)
        for k in in_flight_counts:
            lists = [Container.large_face_list(f"flight-{phase}-{k}-{n:04d}") for n in range(k)]
            _put_in_flight(orchestrator, lists, operation_location)
            lists_due = len(orchestrator.store.due(datetime.now(UTC)))
            table.reset()
            started = time.monotonic()
            orchestrator.tick()
            wall_ms = (time.monotonic() - started) * 1000
            results.setdefault(phase, {})[str(k)] = {"lists_due": lists_due, "entities_read": table.entities,
                                                      "transactions": table.transactions,
                                                      "wall_ms": round(wall_ms, 1)}
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(orchestrator.store.clear_due, lists))
    table.reset()
    started = time.monotonic()
    everything = table.query_entities("RowKey eq 'state'")
    results["scan_every_list"] = {"entities_read": len(everything), "transactions": table.transactions,
                                  "wall_ms": round((time.monotonic() - started) * 1000, 1)}
    return results


def _create_idle_lists(orchestrator: Orchestrator, count: int) -> None:
    def tracked(n: int) -> ContainerState:
        return ContainerState(Container.large_face_list(f"tracked-{n:05d}"), last_duration_seconds=90.0,
                              runs_started=1)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda n: orchestrator.store.save(tracked(n), None), range(count)))


def _put_in_flight(orchestrator: Orchestrator, lists: list[Container], operation_location: str) -> None:
    now = datetime.now(UTC)

    def start(container: Container) -> None:
        request = RequestRecord(container, f"{container.id}-r", now, None, None)
        orchestrator.store.add_request(request)
        run = Run(f"{container.key}/run-1", operation_location, now - timedelta(seconds=30), (request.request_id,))
        state = ContainerState(container, Phase.TRAINING, now, run, runs_started=1)
        orchestrator.store.save(state, None)
        orchestrator.store.mark_due(state)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(start, lists))


# --- idle ---------------------------------------------------------------------------------------------------


def idle(state_dir: Path, seconds: float) -> dict:
    """The app on the dev host with nothing to do, in a world of its own whose Azurite logs every request:
    Face calls, timer runs and storage requests in the window, and per hour."""
    debug_log = state_dir / "azurite-debug.log"
    with LocalWorld(state_dir / "world", azurite_debug_log=debug_log) as world:
        world.start()
        start_app(world, state_dir, free_port())
        face = Face(world)
        time.sleep(TICK_S)  # past start-up: queue and table creation, the first polls
        calls_before, requests_before = face.total_calls(), _storage_requests(debug_log)
        timer_before = len(_invocations(state_dir / INVOCATIONS_FILE, "poll_trainings"))
        time.sleep(seconds)
        face_calls = face.total_calls() - calls_before
        storage = _storage_requests(debug_log) - requests_before
        timer_runs = len(_invocations(state_dir / INVOCATIONS_FILE, "poll_trainings")) - timer_before
    per_hour = 3600 / seconds
    return {"window_seconds": seconds, "face_calls": face_calls, "timer_runs": timer_runs,
            "storage_requests": storage, "face_calls_per_hour": face_calls * per_hour,
            "storage_requests_per_hour": round(storage * per_hour), "timer_runs_per_hour": round(timer_runs * per_hour)}


def _storage_requests(debug_log: Path) -> int:
    """Azurite's debug log has one `...StorageContextMiddleware: RequestMethod=` line per request served."""
    if not debug_log.exists():
        return 0
    return sum(1 for line in debug_log.open(errors="replace") if "StorageContextMiddleware: RequestMethod=" in line)
