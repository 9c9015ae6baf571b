"""Timer triggers as the host runs them.

- NCRONTAB with 6 fields, seconds first (5 fields are also accepted), in UTC.
- Runs never overlap, and the next occurrence is computed from when a run finishes, so occurrences missed during
  a long run are skipped.
- With the schedule monitor, the host keeps `{Last, Next, LastUpdated}` in the blob
  `azure-webjobs-hosts/timers/{hostId}/Host.Functions.{name}/status`. After downtime, if the recorded `Next` has
  passed, one run is made with `past_due=True`, not one per missed occurrence. The monitor is switched off for
  schedules that fire more than once a minute, as in the host.
- `run_on_startup` runs once when the listener starts, unless a past-due run already does.
- The timer is a singleton across the hosts of one host id: its listener runs only while it holds the blob lease
  `azure-webjobs-hosts/locks/{hostId}/Host.Functions.{name}.Listener` (host.json `singleton`
  `listenerLockPeriod`, renewed every half period). A host without it tries again every
  `listenerLockRecoveryPollingInterval`; one that loses it stops firing until it holds it again.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobLeaseClient, BlobServiceClient
from croniter import croniter

from .binding_data import dotnet_datetime, timer_trigger
from .config import HostConfigError, SingletonOptions, TimerFunction
from .invocations import InvocationFailed, Invoker

log = logging.getLogger("localdev.host")
MONITOR_CONTAINER = "azure-webjobs-hosts"
RESTART_AFTER_STORAGE_FAILURE_SECONDS = 5
LOCK_RELEASE_WAIT_SECONDS = 10
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Schedule:
    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) not in (5, 6):
            raise HostConfigError(f"schedule {expression!r} is not NCRONTAB: give 6 fields (seconds first) or 5")
        self.expression = expression
        self._seconds_first = len(fields) == 6
        if not croniter.is_valid(expression, second_at_beginning=self._seconds_first):
            raise HostConfigError(f"schedule {expression!r} is not a valid NCRONTAB expression")

    def next_after(self, moment: datetime) -> datetime:
        return croniter(self.expression, moment, second_at_beginning=self._seconds_first).get_next(datetime)

    def more_often_than_a_minute(self, moment: datetime) -> bool:
        first = self.next_after(moment)
        return self.next_after(first) - first < timedelta(minutes=1)


class ScheduleMonitor:
    """The status blob the real host keeps, so a restarted host knows whether it missed an occurrence."""

    def __init__(self, connection_string: str, host_id: str, function_name: str) -> None:
        service = BlobServiceClient.from_connection_string(connection_string)
        self._container = service.get_container_client(MONITOR_CONTAINER)
        self._blob = self._container.get_blob_client(f"timers/{host_id}/Host.Functions.{function_name}/status")

    def load(self) -> dict | None:
        try:
            return json.loads(self._blob.download_blob().readall())
        except ResourceNotFoundError:
            return None

    def save(self, last: datetime | None, next_occurrence: datetime, now: datetime) -> dict[str, str | None]:
        _create_if_missing(self._container.create_container)
        status = {"Last": dotnet_datetime(last) if last else None, "Next": dotnet_datetime(next_occurrence),
                  "LastUpdated": dotnet_datetime(now)}
        self._blob.upload_blob(json.dumps(status), overwrite=True)
        return status


class ListenerLock:
    """The timer listener's singleton lock, a blob lease as the WebJobs SDK's `BlobLeaseDistributedLockManager`
    takes it. `held` is set while this host holds it."""

    def __init__(self, connection_string: str, host_id: str, function_name: str, options: SingletonOptions) -> None:
        service = BlobServiceClient.from_connection_string(connection_string)
        self._container = service.get_container_client(MONITOR_CONTAINER)
        self._blob = self._container.get_blob_client(f"locks/{host_id}/Host.Functions.{function_name}.Listener")
        # One lease id for this host's life, so a lease it still holds after a failed renewal is simply taken again.
        self._lease = BlobLeaseClient(self._blob, lease_id=str(uuid.uuid4()))
        self.options = options
        self.held = threading.Event()

    def keep(self, stop: threading.Event) -> None:
        """Take the lock, renew it while held, take it again once lost; until `stop`, then release it."""
        while not stop.is_set():
            if self.held.is_set():
                if not self._renewed():
                    self.held.clear()
                    log.warning("timer lock %s lost: this host stops firing until it holds it again",
                                self._blob.blob_name)
                    continue
                stop.wait(self.options.listener_lock_period.total_seconds() / 2)
            elif self._acquired():
                self.held.set()
            else:
                stop.wait(self.options.listener_lock_recovery_polling_interval.total_seconds())
        if self.held.is_set():
            try:
                self._lease.release()
            except AzureError:
                pass  # the lease runs out by itself
            self.held.clear()

    def _acquired(self) -> bool:
        try:
            _create_if_missing(self._container.create_container)
            _create_if_missing(lambda: self._blob.upload_blob(b"", overwrite=False))
            self._lease.acquire(lease_duration=int(self.options.listener_lock_period.total_seconds()))
            return True
        except HttpResponseError as error:
            if error.status_code != 409:  # 409: another host holds it
                log.warning("timer lock %s: %s", self._blob.blob_name, error.message)
            return False
        except AzureError:
            return False  # storage is away: the next attempt is a recovery interval later

    def _renewed(self) -> bool:
        try:
            self._lease.renew()
            return True
        except AzureError:
            return False


def _create_if_missing(create: Callable[[], object]) -> None:
    try:
        create()
    except ResourceExistsError:
        pass


class TimerRunner:
    def __init__(self, function: TimerFunction, invoker: Invoker, connection_string: str, host_id: str,
                 singleton: SingletonOptions, stop: threading.Event, clock: Clock = utc_now) -> None:
        self.function = function
        self.invoker = invoker
        self.schedule = Schedule(function.schedule)
        self.stop = stop
        self.clock = clock
        monitored = function.use_monitor and not self.schedule.more_often_than_a_minute(clock())
        self.monitor = ScheduleMonitor(connection_string, host_id, function.name) if monitored else None
        self.lock = ListenerLock(connection_string, host_id, function.name, singleton)

    def run(self) -> None:
        """Listen whenever this host holds the lock; a storage failure restarts the listener, as it would the
        host's, rather than ending the timer."""
        keeper = threading.Thread(target=self.lock.keep, args=(self.stop,), name=f"lock-{self.function.name}",
                                  daemon=True)
        keeper.start()
        while not self.stop.is_set():
            if not self.lock.held.wait(1):
                continue
            try:
                self._listen()
            except AzureError as error:
                log.warning("timer %s: storage failed (%s); the listener starts again in %d s", self.function.name,
                            type(error).__name__, RESTART_AFTER_STORAGE_FAILURE_SECONDS)
                self.stop.wait(RESTART_AFTER_STORAGE_FAILURE_SECONDS)
        keeper.join(LOCK_RELEASE_WAIT_SECONDS)  # a host that stops releases the lock: the next takes it at once

    def _listen(self) -> None:
        """The listener from its start: a past-due or startup run, then each occurrence while the lock is held."""
        now = self.clock()
        status = self.monitor.load() if self.monitor else None
        last = None
        if status and status.get("Next") and datetime.fromisoformat(status["Next"]) < now:
            last = self._fire(past_due=True, status=status)
        elif self.function.run_on_startup:
            last = self._fire(past_due=False, status=status)
        while not self.stop.is_set():
            next_occurrence = self.schedule.next_after(self.clock())
            if self.monitor:
                status = self.monitor.save(last, next_occurrence, self.clock())
            if self.stop.wait(max(0.0, (next_occurrence - self.clock()).total_seconds())):
                break
            if not self.lock.held.is_set():
                return
            last = self._fire(past_due=False, status=status)

    def _fire(self, past_due: bool, status: dict | None) -> datetime:
        """One run, given the schedule status as last recorded (none without the monitor)."""
        started = self.clock()
        data, metadata = timer_trigger(self.invoker.protos, past_due=past_due, schedule_status=status, now=started)
        try:
            self.invoker.invoke(self.function.name, self.function.function_id, {self.function.arg_name: data},
                                metadata, trigger="timer", pastDue=past_due)
        except InvocationFailed:
            pass  # logged by the invoker; the next occurrence runs as scheduled
        return started
