"""What the host needs to know, read from the worker runtime's function metadata, `local.settings.json` and
`host.json`; nothing about any particular app is written here."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .invocations import Invoker
from .worker_runtime import FunctionMetadata, WorkerInitFailed, WorkerRuntime

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
THREADPOOL_SETTING, HOST_THREADPOOL_DEFAULT = "PYTHON_THREADPOOL_THREAD_COUNT", "1000"


class HostConfigError(ValueError):
    """The app or its configuration cannot be run; the message says what to fix."""


@dataclass(frozen=True)
class QueueOptions:
    """`host.json` `extensions.queues`, with the Storage Queues extension's defaults."""

    batch_size: int = 16
    new_batch_threshold: int | None = None
    max_polling_interval: timedelta = timedelta(seconds=2)  # the host's default in Development (Core Tools)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @property
    def threshold(self) -> int:
        # The extension's default: batchSize/2 per processor.
        return self.new_batch_threshold if self.new_batch_threshold is not None \
            else self.batch_size // 2 * (os.cpu_count() or 1)

    @classmethod
    def from_host_json(cls, host: dict[str, Any]) -> "QueueOptions":
        queues = host.get("extensions", {}).get("queues", {})
        unknown = set(queues) - {"batchSize", "newBatchThreshold", "maxPollingInterval", "visibilityTimeout",
                                 "maxDequeueCount", "messageEncoding"}
        if unknown:
            raise HostConfigError(f"host.json extensions.queues has unknown keys: {', '.join(sorted(unknown))}")
        options = cls(
            batch_size=int(queues.get("batchSize", cls.batch_size)),
            new_batch_threshold=queues.get("newBatchThreshold"),
            max_polling_interval=_timespan(queues.get("maxPollingInterval"), cls.max_polling_interval),
            visibility_timeout=_timespan(queues.get("visibilityTimeout"), cls.visibility_timeout),
            max_dequeue_count=int(queues.get("maxDequeueCount", cls.max_dequeue_count)),
            message_encoding=str(queues.get("messageEncoding", cls.message_encoding)).lower(),
        )
        if not 1 <= options.batch_size <= 32:
            raise HostConfigError("host.json batchSize must be from 1 to 32")
        if options.message_encoding not in ("base64", "none"):
            raise HostConfigError("host.json messageEncoding must be base64 or none")
        if options.max_polling_interval < timedelta(milliseconds=100):
            raise HostConfigError("host.json maxPollingInterval must be at least 00:00:00.1")
        return options


@dataclass(frozen=True)
class SingletonOptions:
    """`host.json` `singleton`: the timer listener's lock, with the WebJobs SDK's defaults."""

    listener_lock_period: timedelta = timedelta(minutes=1)
    listener_lock_recovery_polling_interval: timedelta = timedelta(minutes=1)

    @classmethod
    def from_host_json(cls, host: dict[str, Any]) -> "SingletonOptions":
        singleton = host.get("singleton", {})
        # The other three govern locks of [Singleton] functions, which a Python app cannot declare.
        unknown = set(singleton) - {"listenerLockPeriod", "listenerLockRecoveryPollingInterval", "lockPeriod",
                                    "lockAcquisitionTimeout", "lockAcquisitionPollingInterval"}
        if unknown:
            raise HostConfigError(f"host.json singleton has unknown keys: {', '.join(sorted(unknown))}")
        options = cls(_timespan(singleton.get("listenerLockPeriod"), cls.listener_lock_period),
                      _timespan(singleton.get("listenerLockRecoveryPollingInterval"),
                                cls.listener_lock_recovery_polling_interval))
        if not timedelta(seconds=15) <= options.listener_lock_period <= timedelta(seconds=60):
            raise HostConfigError("host.json singleton listenerLockPeriod must be from 00:00:15 to 00:01:00 "
                                  "(a blob lease's limits)")
        if options.listener_lock_recovery_polling_interval < timedelta(seconds=1):
            raise HostConfigError("host.json singleton listenerLockRecoveryPollingInterval must be at least 00:00:01")
        return options


@dataclass(frozen=True)
class QueueFunction:
    name: str
    function_id: str
    arg_name: str
    queue_name: str
    connection: str


@dataclass(frozen=True)
class TimerFunction:
    name: str
    function_id: str
    arg_name: str
    schedule: str
    run_on_startup: bool
    use_monitor: bool


@dataclass(frozen=True)
class HttpFunction:
    name: str
    function_id: str
    arg_name: str
    route: str
    methods: tuple[str, ...] | None  # None: every method, as when a trigger names none
    auth_level: str


@dataclass
class AppConfig:
    settings: dict[str, str]
    queue_options: QueueOptions
    singleton: SingletonOptions
    invoker: Invoker
    queues: list[QueueFunction] = field(default_factory=list)
    timers: list[TimerFunction] = field(default_factory=list)
    http: list[HttpFunction] = field(default_factory=list)

    def connection_string(self, connection: str) -> str:
        """A trigger's `connection` names a setting (with or without the `AzureWebJobs` prefix)."""
        for name in (connection or "AzureWebJobsStorage", f"AzureWebJobs{connection}"):
            value = self.settings.get(name)
            if value:
                return value
        raise HostConfigError(f"connection {connection!r}: no setting {connection} (or AzureWebJobs{connection}) "
                              "holds a connection string; identity-based connections need Azure")


def load_settings(local_settings: Path | None) -> dict[str, str]:
    """`local.settings.json` `Values`, overridden by the process environment (an explicit variable wins)."""
    values: dict[str, str] = {}
    if local_settings is not None and local_settings.exists():
        document = json.loads(local_settings.read_text())
        values = {k: str(v) for k, v in document.get("Values", {}).items()}
    return {**values, **os.environ}


def resolve(value: str | None, settings: dict[str, str], what: str) -> str | None:
    """Replace each `%NAME%` with the setting NAME, as the host does for binding expressions."""
    if value is None:
        return None

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise HostConfigError(f"{what} refers to %{name}%, but no setting {name} exists "
                                  "(in local.settings.json Values or the environment)")
        return settings[name]

    return _SETTING_REFERENCE.sub(setting, value)


def load_app(app_dir: Path, settings: dict[str, str], host_json: Path, journal: Path | None = None) -> AppConfig:
    """Start the worker runtime for the app with the settings in the environment, as the host starts its worker,
    and read every function's bindings from the metadata the runtime reports. Each invocation is appended to
    `journal` when one is given."""
    host = json.loads(host_json.read_text()) if host_json.exists() else {}
    queue_options = QueueOptions.from_host_json(host)
    singleton = SingletonOptions.from_host_json(host)
    function_timeout = _function_timeout(host.get("functionTimeout"))
    os.environ.update(settings)
    # The host starts a Python worker with this limit when the app sets none (DefaultWorkerProcessFactory's
    # ApplyWorkerConcurrencyLimits); left unset, the runtime's pool would be Python's default, cores + 4 threads.
    os.environ.setdefault(THREADPOOL_SETTING, HOST_THREADPOOL_DEFAULT)
    try:
        runtime = WorkerRuntime(app_dir)
        functions = runtime.start()
    except WorkerInitFailed as error:
        raise HostConfigError(str(error)) from error
    config = AppConfig(settings, queue_options, singleton, Invoker(runtime, function_timeout, journal))
    for function in functions:
        _add(config, function)
    return config


def _add(config: AppConfig, function: FunctionMetadata) -> None:
    """File one function under its trigger, its `%SETTING%` references resolved, as the host reads the bindings."""
    name, settings = function.name, config.settings
    triggers = [b for b in function.bindings.values() if b["type"].endswith("Trigger")]
    others = [b for b in function.bindings.values()
              if b not in triggers and (b["type"], b["name"]) != ("http", "$return")]
    if len(triggers) != 1 or others:
        raise HostConfigError(f"function {name}: the dev host runs functions with one trigger and no binding but "
                              f"an HTTP response; its bindings are {sorted(function.bindings)}")
    (trigger,) = triggers
    kind, arg_name = trigger["type"], trigger["name"]
    if kind == "queueTrigger":
        config.queues.append(QueueFunction(name, function.function_id, arg_name,
                                           resolve(trigger["queueName"], settings, name),
                                           trigger.get("connection") or "AzureWebJobsStorage"))
    elif kind == "timerTrigger":
        config.timers.append(TimerFunction(name, function.function_id, arg_name,
                                           resolve(trigger["schedule"], settings, name),
                                           bool(trigger.get("runOnStartup")), trigger.get("useMonitor") is not False))
    elif kind == "httpTrigger":
        methods = tuple(m.upper() for m in trigger["methods"]) if trigger.get("methods") else None
        config.http.append(HttpFunction(name, function.function_id, arg_name,
                                        resolve(trigger.get("route"), settings, name) or name, methods,
                                        str(trigger.get("authLevel") or "function").lower()))
    else:
        raise HostConfigError(f"function {name}: the dev host does not run {kind} triggers")


def _function_timeout(value: Any) -> timedelta | None:
    """host.json `functionTimeout`: 30 minutes when absent (Flex Consumption's default), -1 for no limit."""
    if str(value) == "-1":
        return None
    return _timespan(value, timedelta(minutes=30))


def _timespan(value: Any, default: timedelta) -> timedelta:
    """A TimeSpan string `[d.]hh:mm:ss[.fff]`, as host.json writes durations."""
    if value is None:
        return default
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(\.\d+)?", str(value))
    if not match:
        raise HostConfigError(f"host.json duration {value!r} is not of the form hh:mm:ss")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                     seconds=int(seconds) + float(fraction or 0))
