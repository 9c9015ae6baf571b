"""Table Storage at the edge: container states with ETag concurrency, waiting requests, watch marks, the
in-flight index, and the Face budget's ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from .containers import Container
from .machine import ContainerState
from .ports import BudgetLedger, ConcurrencyConflict, Store
from .records import (BUDGET_PARTITION, FACE_CALLS_ROW, INFLIGHT_PARTITION, REQUEST_ROW_PREFIX, STATE_ROW, WATCH_ROW,
                      DueMarker, ResourceLedger, RequestRecord, WatchMark, iso_key, state_from_entity,
                      state_to_entity)

_BATCH = 100  # the most operations one entity-group transaction takes
# How long an answered request id is remembered: the same id sent again within a day is not trained again.
ANSWERED_KEPT = timedelta(hours=24)
# How a transaction says that its state write met a changed state: another instance stored it first.
_STATE_CHANGED = frozenset({"EntityAlreadyExists", "UpdateConditionNotSatisfied"})


class TrainingStore(Store):
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def load(self, container: Container) -> tuple[ContainerState, str | None]:
        """The list's state and its ETag; a list never seen is idle, with no ETag."""
        try:
            entity = self._table.get_entity(container.key, STATE_ROW)
        except ResourceNotFoundError:
            return ContainerState(container), None
        return state_from_entity(entity), entity.metadata["etag"]

    def save(self, state: ContainerState, etag: str | None) -> str:
        """Write the state if nobody changed it since `etag` was read (None: if it still does not exist)."""
        entity = state_to_entity(state)
        try:
            if etag is None:
                metadata = self._table.create_entity(entity)
            else:
                metadata = self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                                                     match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError):
            raise ConcurrencyConflict(str(state.container)) from None
        return metadata["etag"]

    def save_watched(self, state: ContainerState, etag: str | None) -> str:
        """`save`, with the container's watch mark in the same transaction: the mark is never there unless the
        state that needs it was stored."""
        entity = state_to_entity(state)
        write = ("create", entity) if etag is None else \
            ("update", entity, {"mode": UpdateMode.REPLACE, "etag": etag,
                                "match_condition": MatchConditions.IfNotModified})
        try:
            (metadata, _) = self._table.submit_transaction([write, ("upsert", WatchMark(state.container).to_entity())])
        except TableTransactionError as error:
            if error.index == 0 and error.error_code in _STATE_CHANGED:
                raise ConcurrencyConflict(str(state.container)) from None
            raise
        return metadata["etag"]

    def unwatch(self, container: Container) -> None:
        self._table.delete_entity(container.key, WATCH_ROW)

    def add_request(self, record: RequestRecord) -> bool:
        """Record a waiting request; False if it was already recorded, waiting or answered within
        `ANSWERED_KEPT` (a redelivered message, or a producer sending the same request again)."""
        try:
            self._table.create_entity(record.to_entity())
        except ResourceExistsError:
            return self._reuse_if_stale(record)
        return True

    def add_request_if_watched(self, record: RequestRecord) -> bool:
        """Record a new request in one transaction if its container is watched (the transaction's merge needs the
        mark, so it fails whole without it); False, with nothing written, if it is not, or the id is taken."""
        touch_mark = ("update", WatchMark(record.container).to_entity(), {"mode": UpdateMode.MERGE})
        try:
            self._table.submit_transaction([("create", record.to_entity()), touch_mark])
        except TableTransactionError:
            return False
        return True

    def _reuse_if_stale(self, record: RequestRecord) -> bool:
        """An id answered longer than `ANSWERED_KEPT` ago is a new request (its list may not have finished a
        training since, which is when stale answers are dropped)."""
        existing = self._table.get_entity(record.container.key, REQUEST_ROW_PREFIX + record.request_id)
        answered_at = existing.get("AnsweredAt")
        if existing.get("Waiting") is not False or answered_at is None or \
                answered_at > record.received_at - ANSWERED_KEPT:
            return False
        try:
            self._table.update_entity(record.to_entity(), mode=UpdateMode.REPLACE, etag=existing.metadata["etag"],
                                      match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return False  # another instance took it first
        return True

    def waiting_requests(self, container: Container) -> list[RequestRecord]:
        """Oldest first."""
        query = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and Waiting eq true"
        entities = self._table.query_entities(query, parameters={
            "pk": container.key, "low": REQUEST_ROW_PREFIX, "high": REQUEST_ROW_PREFIX[:-1] + chr(ord(":") + 1)})
        return sorted((RequestRecord.from_entity(e) for e in entities), key=lambda r: (r.received_at, r.request_id))

    def answer_requests(self, container: Container, request_ids: tuple[str, ...], now: datetime) -> None:
        """Mark the requests answered (kept for `ANSWERED_KEPT`, so that a resend is not trained again), and drop
        this list's answers older than that."""
        marks = [("update", {"PartitionKey": container.key, "RowKey": REQUEST_ROW_PREFIX + r, "Waiting": False,
                             "AnsweredAt": now}, {"mode": UpdateMode.MERGE}) for r in request_ids]
        self._in_batches(marks)
        expired = self._table.query_entities(
            "PartitionKey eq @pk and Waiting eq false and AnsweredAt lt @cutoff",
            parameters={"pk": container.key, "cutoff": now - ANSWERED_KEPT}, select=["PartitionKey", "RowKey"])
        # Each delete carries the ETag it was read with: a producer's resend of an old id, revived as a waiting
        # request between the query and the delete, is a new entity version, and stays.
        self._in_batches([("delete", {"PartitionKey": container.key, "RowKey": e["RowKey"]},
                           {"etag": e.metadata["etag"], "match_condition": MatchConditions.IfNotModified})
                          for e in expired])

    def _in_batches(self, operations: list) -> None:
        for start in range(0, len(operations), _BATCH):
            batch = operations[start:start + _BATCH]
            try:
                self._table.submit_transaction(batch)
            except TableTransactionError:  # fails whole if one entity is already gone (a replay): one by one
                for operation in batch:
                    try:
                        self._table.submit_transaction([operation])
                    except TableTransactionError:
                        pass

    def mark_due(self, state: ContainerState) -> None:
        self._table.upsert_entity(DueMarker(state.container, state.due_at, state.phase).to_entity(),
                                  mode=UpdateMode.REPLACE)

    def clear_due(self, container: Container) -> None:
        self._table.delete_entity(INFLIGHT_PARTITION, container.key)

    def due(self, now: datetime) -> list[DueMarker]:
        """Markers due by `now`: one query over the in-flight partition only."""
        entities = self._table.query_entities("PartitionKey eq @pk and DueAtIso le @now",
                                              parameters={"pk": INFLIGHT_PARTITION, "now": iso_key(now)})
        return [DueMarker.from_entity(e) for e in entities]

    def in_flight(self) -> list[DueMarker]:
        entities = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": INFLIGHT_PARTITION})
        return [DueMarker.from_entity(e) for e in entities]


class TableBudgetLedger(BudgetLedger):
    """The ledger as one entity of the trainings table, beside the in-flight index."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def load(self) -> tuple[ResourceLedger, str | None]:
        try:
            entity = self._table.get_entity(BUDGET_PARTITION, FACE_CALLS_ROW)
        except ResourceNotFoundError:
            return ResourceLedger(), None
        return ResourceLedger.from_entity(entity), entity.metadata["etag"]

    def save(self, ledger: ResourceLedger, etag: str | None) -> str:
        try:
            if etag is None:
                metadata = self._table.create_entity(ledger.to_entity())
            else:
                metadata = self._table.update_entity(ledger.to_entity(), mode=UpdateMode.REPLACE, etag=etag,
                                                     match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError):
            raise ConcurrencyConflict("the Face budget's ledger") from None
        return metadata["etag"]
