"""The composition root: builds the orchestrator from app settings, once per worker process.

The only place that reads the environment, the clock and the credential; everything else receives them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

import azure.functions as func
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient
from opentelemetry.metrics import Meter

from . import telemetry
from .containers import ID_PATTERN, ID_RULE, Container, Kind
from .event_queue import EventQueue
from .face_budget import FaceBudget
from .face_client import SCOPE, FaceClient
from .machine import Policy, claim_seconds_for
from .metrics import Metrics
from .ports import EventSink, FaceApi, Store
from .settings import Settings, SettingsError
from .storage_clients import check_readable, credential, ensure_exists, queue_client, table_client
from .store import TableBudgetLedger, TrainingStore
from .worker import Orchestrator

log = logging.getLogger("orchestrator")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def check_settings() -> None:
    """Raise SettingsError for a bad app setting. The function app calls it when imported, so that a bad setting
    stops the app at start, where the host reports it, instead of failing (and so poisoning) every message."""
    settings = Settings.from_env(os.environ)
    try:
        check_readable(settings.storage)
    except ValueError as error:
        raise SettingsError(f"AzureWebJobsStorage is not a connection string the storage SDK can read: {error}") \
            from None


class _Process:
    """What a worker process builds once: the orchestrator, and with it one Face budget and one set of clients and
    connection pools, however many invocations a cold instance's first batch starts together on its threads; and
    telemetry, configured once even when the first builds fail (storage unreachable), which are tried again at the
    next invocation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orchestrator: Orchestrator | None = None
        self._telemetry_configured = False

    def orchestrator(self) -> Orchestrator:
        if self._orchestrator is None:
            with self._lock:
                if self._orchestrator is None:
                    self._orchestrator = self._build()
        return self._orchestrator

    def _build(self) -> Orchestrator:
        logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every request at INFO
        settings = Settings.from_env(os.environ)  # the app checked them on import
        if not self._telemetry_configured:
            self._telemetry_configured = True
            telemetry.configure(settings.applicationinsights_connection_string, credential(settings.azure_client_id),
                                settings.face_endpoint)
        orchestrator = assemble(settings, utc_now)
        log.info("orchestrator built for this process")
        return orchestrator


_PROCESS = _Process()


def current() -> Orchestrator:
    """The process's orchestrator, built from the app settings on first use."""
    return _PROCESS.orchestrator()


def _as_made(face: FaceApi) -> FaceApi:
    return face


@dataclass(frozen=True)
class Edges:
    """How each edge is made from the client it stands on (the table, the events queue, the Face client). The app
    uses these; the benchmark and the tests pass their own to count or break what the real edges do (a counting
    table, a store that dies on its second save) without reaching into them."""

    store: Callable[[TableClient], Store] = TrainingStore
    events: Callable[[QueueClient], EventSink] = EventQueue
    face: Callable[[FaceApi], FaceApi] = _as_made


def build(env: Mapping[str, str], clock: Callable[[], datetime] = utc_now, edges: Edges = Edges(),
          meter: Meter | None = None) -> Orchestrator:
    """An orchestrator from app settings as the environment gives them (a bad one raises `SettingsError`)."""
    return assemble(Settings.from_env(env), clock, edges, meter)


def assemble(settings: Settings, clock: Callable[[], datetime], edges: Edges = Edges(),
             meter: Meter | None = None) -> Orchestrator:
    """`meter` is the global provider's unless given (a test reads its own)."""
    table = table_client(settings.storage, settings.trainings_table)
    queue = queue_client(settings.storage, settings.training_events_queue)
    ensure_exists(table)
    ensure_exists(queue)
    if settings.face_api_key:
        face = FaceClient(settings.face_endpoint, settings.face_api_version, api_key=settings.face_api_key,
                          connect_timeout_seconds=settings.face_connect_timeout_seconds,
                          read_timeout_seconds=settings.face_read_timeout_seconds)
    else:
        # The credential caches its token and refreshes it before expiry; asking per call costs nothing.
        face_credential = credential(settings.azure_client_id)
        face = FaceClient(settings.face_endpoint, settings.face_api_version,
                          token_provider=lambda: face_credential.get_token(SCOPE).token,
                          connect_timeout_seconds=settings.face_connect_timeout_seconds,
                          read_timeout_seconds=settings.face_read_timeout_seconds)
    claim = claim_seconds_for(face.deadline_seconds)
    policy = Policy(api_version=settings.face_api_version,
                    claim_seconds=claim,
                    max_training_seconds=settings.max_training_minutes * 60,
                    auth_retry_seconds=settings.auth_retry_minutes * 60,
                    max_retry_wait_seconds=settings.max_retry_wait_seconds)
    store = edges.store(table)
    metrics = Metrics(meter)
    poison = queue_client(settings.storage, f"{settings.training_requests_queue}-poison")
    metrics.observe(in_flight=store.in_flight, poison_depth=lambda: _depth(poison))
    return Orchestrator(policy=policy, store=store, face=edges.face(face), events=edges.events(queue),
                        clock=clock, default_settle_seconds=settings.settle_seconds, metrics=metrics,
                        face_budget=FaceBudget(settings.face_calls_per_second, clock, TableBudgetLedger(table),
                                               hold_seconds=claim),
                        pacing_seconds=settings.poll_pacing_seconds, sleep=time.sleep)


def _depth(queue: QueueClient) -> int:
    """A queue's approximate message count: one cheap call, no message read. The host makes the poison queue when
    it first poisons a message, so none means none poisoned."""
    try:
        return queue.get_queue_properties().approximate_message_count
    except ResourceNotFoundError:
        return 0


def status_response(first: str | None, second: str | None = None) -> func.HttpResponse:
    """`GET /api/trainings` (every container with work in flight), `GET /api/trainings/{listId}` (a Large Face
    List, as before there were other kinds) or `GET /api/trainings/{kind}/{id}`, the kind spelled as in Face's
    paths (`largefacelists`, `largepersongroups`, `persongroups`)."""
    if first is None:
        return _json({"trainings": current().describe_in_flight()}, 200)
    kind_name, container_id = (Kind.LARGE_FACE_LIST.value, first) if second is None else (first, second)
    if kind_name not in Kind:
        return _json({"error": f"{kind_name[:80]!r} is not a kind of container: "
                               f"{', '.join(kind.value for kind in Kind)}."}, 400)
    kind = Kind(kind_name)
    if not ID_PATTERN.fullmatch(container_id):
        return _json({"error": f"Not a {kind.described} id: {ID_RULE}."}, 400)
    container = Container(kind, container_id)
    described = current().describe(container)
    if described is None:
        return _json({"error": f"No training was ever requested for {container}."}, 404)
    return _json(described, 200)


def _json(body: object, status: int) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")
