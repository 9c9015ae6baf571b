"""Table entities, one frozen dataclass (or the core's own state) each, with explicit conversion.

Keys are designed so that a poll tick reads only what is in flight. A container's key is its id for a Large Face
List and `<kind>:<id>` for the other kinds (`containers.py`):
- `PartitionKey=<key>, RowKey=state`: the container's `ContainerState`, the continuation token of its training.
- `PartitionKey=<key>, RowKey=request:<requestId>`: one request waiting for a training. Inserting one never
  contends with another, and a redelivered message finds its own request already there.
- `PartitionKey=<key>, RowKey=watch`: a `WatchMark`, never present while the container is idle with no step to
  come that reads its requests, so that intake can record a request for it in one transaction with no read
  (`TrainingStore.add_request_if_watched`). A busy container may lack it (its wake came before marks were, or
  raced the step that left it idle): its requests then take the path with a read, as before.
- `PartitionKey=~inflight, RowKey=<key>`: a `DueMarker`, present only while the container has work in flight.
  The tick queries this partition alone; no key starts with `~`, so nothing else lands in it.
- `PartitionKey=~budget, RowKey=face-calls`: the `ResourceLedger`, what every instance shares about the Face
  resource: the calls granted in the last second (face_budget.py), and how fast it trains (resource_speed.py),
  learned in the same conditional write, so that the model costs no round trip of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .containers import Container
from .machine import ContainerState, PendingRequest, Phase, Run
from .resource_speed import Estimate, ResourceSpeed

STATE_ROW = "state"
REQUEST_ROW_PREFIX = "request:"
WATCH_ROW = "watch"
INFLIGHT_PARTITION = "~inflight"
BUDGET_PARTITION, FACE_CALLS_ROW = "~budget", "face-calls"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A string property holds at most 32K UTF-16 characters; a run's request ids are split across properties.
_CHUNK_CHARS = 30_000
_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ResourceLedger:
    """When each Face call of the last second was granted, whichever instance it went to, and how fast the resource
    trains."""

    granted_at: tuple[datetime, ...] = ()
    speed: ResourceSpeed = ResourceSpeed()

    def to_entity(self) -> dict[str, Any]:
        microseconds = [(moment - _EPOCH) // timedelta(microseconds=1) for moment in self.granted_at]
        return {"PartitionKey": BUDGET_PARTITION, "RowKey": FACE_CALLS_ROW,
                "GrantedAtMicroseconds": json.dumps(microseconds, separators=(",", ":")),
                "SpeedTrainings": self.speed.trainings, "SpeedLogRatioMean": float(self.speed.log_ratio_mean),
                "SpeedLogRatioVariance": float(self.speed.log_ratio_variance)}

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> "ResourceLedger":
        """A ledger written before the speed model has none: it starts from no trainings."""
        return cls(tuple(_EPOCH + timedelta(microseconds=value)
                         for value in json.loads(entity.get("GrantedAtMicroseconds") or "[]")),
                   ResourceSpeed(int(entity.get("SpeedTrainings") or 0), float(entity.get("SpeedLogRatioMean") or 0),
                                 float(entity.get("SpeedLogRatioVariance") or 0)))


@dataclass(frozen=True)
class RequestRecord:
    container: Container
    request_id: str
    received_at: datetime
    reason: str | None
    settle_seconds: float | None
    size_hint: int | None = None

    def to_entity(self) -> dict[str, Any]:
        entity: dict[str, Any] = {"PartitionKey": self.container.key, "RowKey": REQUEST_ROW_PREFIX + self.request_id,
                                  "ReceivedAt": self.received_at, "Waiting": True}
        if self.reason is not None:
            entity["Reason"] = self.reason
        if self.settle_seconds is not None:
            entity["SettleSeconds"] = float(self.settle_seconds)
        if self.size_hint is not None:
            entity["SizeHint"] = self.size_hint
        return entity

    def pending(self, default_settle_seconds: float) -> PendingRequest:
        settle = self.settle_seconds if self.settle_seconds is not None else default_settle_seconds
        return PendingRequest(self.request_id, self.received_at + timedelta(seconds=settle), self.size_hint)

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> "RequestRecord":
        return cls(Container.from_key(entity["PartitionKey"]), entity["RowKey"].removeprefix(REQUEST_ROW_PREFIX),
                   _utc(entity["ReceivedAt"]), entity.get("Reason"), entity.get("SettleSeconds"),
                   entity.get("SizeHint"))


@dataclass(frozen=True)
class DueMarker:
    """When the container is due, and in which phase, so that a tick can grant its Face calls (submissions
    first) before it reads any state. None: a marker written before markers carried it (taken for a poll)."""

    container: Container
    due_at: datetime
    phase: Phase | None = None

    def to_entity(self) -> dict[str, Any]:
        # Kept as sortable ISO text too: string comparison in a filter avoids Azurite's datetime filter bugs.
        entity = {"PartitionKey": INFLIGHT_PARTITION, "RowKey": self.container.key, "DueAt": self.due_at,
                  "DueAtIso": iso_key(self.due_at)}
        if self.phase is not None:
            entity["Phase"] = str(self.phase)
        return entity

    @property
    def submits(self) -> bool:
        """Whether the step it is due for submits a training (or may: a container waiting for requests)."""
        return self.phase is not None and self.phase is not Phase.TRAINING

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> "DueMarker":
        phase = entity.get("Phase")
        return cls(Container.from_key(entity["RowKey"]), _utc(entity["DueAt"]), Phase(phase) if phase else None)


@dataclass(frozen=True)
class WatchMark:
    """Stored with the state that wakes the container, removed after the state that leaves it idle: while it is
    there, a step still to come reads the container's waiting requests, so a request needs no wake."""

    container: Container

    def to_entity(self) -> dict[str, Any]:
        return {"PartitionKey": self.container.key, "RowKey": WATCH_ROW}


def iso_key(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def state_to_entity(state: ContainerState) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": state.container.key, "RowKey": STATE_ROW, "SchemaVersion": _SCHEMA_VERSION,
        "Phase": str(state.phase), "Attempts": state.attempts,
        "RunsStarted": state.runs_started,
    }
    optional = {"DueAt": state.due_at, "AuthFailingSince": state.auth_failing_since,
                "LastDurationSeconds": state.last_duration_seconds, "LastSizeHint": state.last_size_hint}
    entity.update({k: v for k, v in optional.items() if v is not None})
    if state.run is not None:
        run = state.run
        entity.update({"RunId": run.run_id, "RunOperationLocation": run.operation_location,
                       "RunSubmittedAt": run.submitted_at, "RunPolls": run.polls, "RunAdopted": run.adopted})
        if run.size_hint is not None:
            entity["RunSizeHint"] = run.size_hint
        if run.estimate is not None:
            entity["RunEstimateSeconds"] = float(run.estimate.seconds)
            entity["RunEstimateLogSpread"] = float(run.estimate.log_spread)
        ids = json.dumps(list(run.request_ids), separators=(",", ":"))
        for index in range(0, max(len(ids), 1), _CHUNK_CHARS):
            entity[f"RunRequestIds{index // _CHUNK_CHARS}"] = ids[index:index + _CHUNK_CHARS]
    return entity


def state_from_entity(entity: dict[str, Any]) -> ContainerState:
    run = None
    if "RunId" in entity:
        chunks, index = [], 0
        while f"RunRequestIds{index}" in entity:
            chunks.append(entity[f"RunRequestIds{index}"])
            index += 1
        run = Run(run_id=entity["RunId"], operation_location=entity["RunOperationLocation"],
                  submitted_at=_utc(entity["RunSubmittedAt"]), request_ids=tuple(json.loads("".join(chunks))),
                  polls=int(entity.get("RunPolls", 0)), adopted=bool(entity.get("RunAdopted", False)),
                  size_hint=entity.get("RunSizeHint"), estimate=None if "RunEstimateSeconds" not in entity else
                  Estimate(entity["RunEstimateSeconds"], entity["RunEstimateLogSpread"]))
    return ContainerState(
        container=Container.from_key(entity["PartitionKey"]), phase=Phase(entity["Phase"]),
        due_at=_utc(entity.get("DueAt")), run=run,
        attempts=int(entity.get("Attempts", 0)),
        auth_failing_since=_utc(entity.get("AuthFailingSince")),
        last_duration_seconds=entity.get("LastDurationSeconds"), last_size_hint=entity.get("LastSizeHint"),
        runs_started=int(entity.get("RunsStarted", 0)),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # The SDK returns its own datetime subclass; a plain UTC datetime compares and prints predictably.
    return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                    value.microsecond, tzinfo=timezone.utc)
