"""The table store's watch mark on Azurite: a request for a watched container is recorded in one transaction, and
never without the mark; the mark is stored with the state that needs it, or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.data.tables import TableServiceClient

from localdev.world import LocalWorld
from orchestrator.containers import Container
from orchestrator.machine import ContainerState, Learned, Phase
from orchestrator.records import REQUEST_ROW_PREFIX, RequestRecord
from orchestrator.ports import ConcurrencyConflict
from orchestrator.face_budget import FaceBudget
from orchestrator.resource_speed import ResourceSpeed
from orchestrator.store import ANSWERED_KEPT, TableBudgetLedger, TrainingStore

CELEBS = Container.large_face_list("celebs")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(world: LocalWorld) -> TrainingStore:
    service = TableServiceClient.from_connection_string(world.storage_connection_string)
    return TrainingStore(service.create_table(f"t{uuid.uuid4().hex[:12]}"))


def record(request_id: str) -> RequestRecord:
    return RequestRecord(CELEBS, request_id, NOW, None, None)


def rows(store: TrainingStore) -> list[str]:
    return sorted(entity["RowKey"] for entity in store._table.list_entities())


def test_a_container_never_woken_takes_no_request_without_a_wake(store: TrainingStore) -> None:
    assert store.add_request_if_watched(record("r1")) is False
    assert rows(store) == []  # the transaction failed whole: the request is not half-recorded
    assert store.add_request(record("r1")) is True  # and the wake's path records it as new


def test_a_woken_container_takes_requests_in_one_write_until_it_is_unwatched(store: TrainingStore) -> None:
    etag = store.save_watched(ContainerState(CELEBS, Phase.WAITING, due_at=NOW), None)
    assert store.load(CELEBS) == (ContainerState(CELEBS, Phase.WAITING, due_at=NOW), etag)
    assert store.add_request_if_watched(record("r1")) is True
    assert store.add_request_if_watched(record("r1")) is False  # a redelivery goes the wake's way, as a duplicate
    assert store.add_request(record("r1")) is False
    store.unwatch(CELEBS)
    assert store.add_request_if_watched(record("r2")) is False
    assert [r.request_id for r in store.waiting_requests(CELEBS)] == ["r1"]
    store.unwatch(CELEBS)  # twice is harmless: a tick may finish a dead step's work


def test_a_wake_that_lost_a_race_leaves_no_mark(store: TrainingStore) -> None:
    _, stale = store.load(CELEBS)
    store.save(ContainerState(CELEBS, Phase.WAITING, due_at=NOW), stale)  # another instance woke it first
    with pytest.raises(ConcurrencyConflict):
        store.save_watched(ContainerState(CELEBS, Phase.WAITING, due_at=NOW), stale)
    state, etag = store.load(CELEBS)
    with pytest.raises(ConcurrencyConflict):
        store.save_watched(state, "W/\"datetime'2020-01-01T00%3A00%3A00Z'\"")
    assert rows(store) == ["state"]
    assert store.add_request_if_watched(record("r1")) is False
    store.save_watched(state, etag)
    assert rows(store) == ["state", "watch"]
    assert store.add_request_if_watched(record("r1")) is True
    assert rows(store) == [REQUEST_ROW_PREFIX + "r1", "state", "watch"]


class ReviveAfterQuery:
    """The real table, with one producer's resend landing just after the sweep of expired answers read them: the
    interleaving that a busy container meets when a producer retries an id answered more than a day ago."""

    def __init__(self, table, revive) -> None:
        self._table, self._revive = table, revive

    def query_entities(self, query: str, **kwargs):
        found = list(self._table.query_entities(query, **kwargs))
        if "AnsweredAt lt" in query:
            self._revive()
        return found

    def __getattr__(self, name: str):
        return getattr(self._table, name)


def test_the_sweep_of_old_answers_never_deletes_a_request_revived_since_it_read_them(store: TrainingStore) -> None:
    """Its delete carried no ETag: a resend revived between the sweep's query and its delete was deleted, and the
    producer's request got no training and no event."""
    old = RequestRecord(CELEBS, "r-old", NOW - ANSWERED_KEPT - timedelta(hours=1), None, None)
    assert store.add_request(old)
    store.answer_requests(CELEBS, ("r-old",), old.received_at)
    resend = RequestRecord(CELEBS, "r-old", NOW, "sent again", None)
    sweeping = TrainingStore(ReviveAfterQuery(store._table, lambda: store.add_request(resend)))
    sweeping.answer_requests(CELEBS, ("r-other",), NOW)  # another run's finish sweeps the old answers
    assert [(r.request_id, r.reason) for r in store.waiting_requests(CELEBS)] == [("r-old", "sent again")]


def test_two_instances_teach_the_resources_speed_through_one_ledger_entity(world: LocalWorld) -> None:
    """Each tick's finished trainings go into the shared ledger's speed in the write that settles its grants, under
    the entity's ETag: two instances settling over each other's writes lose neither lesson, and neither pays a
    round trip for it beyond the settling's own."""
    service = TableServiceClient.from_connection_string(world.storage_connection_string)
    table = service.create_table(f"t{uuid.uuid4().hex[:12]}")
    clock = lambda: NOW  # noqa: E731 - a fixed clock: grants and settlings at one moment
    first, second = (FaceBudget(5, clock, TableBudgetLedger(table)) for _ in range(2))
    assert first.take(1) == 1 and second.take(1) == 1
    first.learned(Learned(10_000, 9.0))
    second.learned(Learned(100_000, 110.0))
    second.settle()
    first.settle()  # its ETag is stale: it reads the entity again and merges into what second wrote
    stored, _ = TableBudgetLedger(table).load()
    assert stored.speed == ResourceSpeed().learned(100_000, 110.0).learned(10_000, 9.0)
    assert first.take(1) == 1 and first.speed == stored.speed  # read back with the next grant, no read of its own
