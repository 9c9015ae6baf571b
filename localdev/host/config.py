"""What the host needs to know, read from the app, `local.settings.json` and `host.json`; nothing about any
particular app is written here."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


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
class QueueFunction:
    name: str
    arg_name: str
    queue_name: str
    connection: str
    function: Callable


@dataclass(frozen=True)
class TimerFunction:
    name: str
    arg_name: str
    schedule: str
    run_on_startup: bool
    use_monitor: bool
    function: Callable


@dataclass(frozen=True)
class HttpFunction:
    name: str
    arg_name: str
    route: str
    methods: tuple[str, ...]
    auth_level: str
    function: Callable


@dataclass
class AppConfig:
    settings: dict[str, str]
    queue_options: QueueOptions
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


def load_app(module_name: str, app_dir: Path, settings: dict[str, str], host_json: Path) -> AppConfig:
    """Import the app module with the settings in the environment, and read every function's trigger."""
    os.environ.update(settings)
    sys.path.insert(0, str(app_dir))
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - as the real host, report an app that fails to load, and take nothing
        raise HostConfigError(f"{module_name} failed to load, so no function runs: {error}") from error
    apps = [v for v in vars(module).values() if type(v).__name__ == "FunctionApp"]
    if len(apps) != 1:
        raise HostConfigError(f"{module_name} must define exactly one FunctionApp at module level")
    host = json.loads(host_json.read_text()) if host_json.exists() else {}
    config = AppConfig(settings, QueueOptions.from_host_json(host))
    for function in apps[0].get_functions():  # builds once: the library refuses a second call
        trigger = function.get_trigger()
        name = function.get_function_name()
        user_function = function.get_user_function()
        kind = trigger.get_binding_name()
        if kind == "queueTrigger":
            config.queues.append(QueueFunction(name, trigger.name, resolve(trigger.queue_name, settings, name),
                                               trigger.connection or "AzureWebJobsStorage", user_function))
        elif kind == "timerTrigger":
            config.timers.append(TimerFunction(name, trigger.name, resolve(trigger.schedule, settings, name),
                                               bool(trigger.run_on_startup),
                                               trigger.use_monitor is not False, user_function))
        elif kind == "httpTrigger":
            methods = tuple(str(getattr(m, "value", m)).upper() for m in (trigger.methods or ())) or ("GET", "POST")
            level = str(getattr(trigger.auth_level, "value", trigger.auth_level) or "function").lower()
            config.http.append(HttpFunction(name, trigger.name, resolve(trigger.route, settings, name) or name,
                                            methods, level, user_function))
        else:
            raise HostConfigError(f"function {name}: the dev host does not run {kind} triggers")
    return config


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
