"""Every app setting the orchestrator reads, read in one place and validated at start.

Names and defaults are the tables of docs/settings.md and the README, and `local.settings.json.example`; a bad
value raises `SettingsError` naming the setting and what would be accepted, before any message is taken.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

API_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")
# A 6-field NCRONTAB (seconds first) or a 5-field one, as the timer trigger accepts.
_CRON_FIELD = r"[0-9A-Za-z*/,\-?]+"
_CRON = re.compile(rf"\s*{_CRON_FIELD}(\s+{_CRON_FIELD}){{4,5}}\s*")
# `*/N * * * * *` (or `0/N …`): every N seconds, the one kind of schedule whose period a tick can pace itself by.
_EVERY_N_SECONDS = re.compile(r"\s*[0*]/(\d+)(\s+\*){5}\s*")
# Azure queue names: 3-63 lowercase letters, digits and single hyphens; 56 at most leaves room for "-poison".
_QUEUE_NAME = re.compile(r"(?=.{3,56}\Z)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]")
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")

DEFAULTS: dict[str, str] = {
    "FACE_API_VERSION": "v1.2",
    "TRAINING_REQUESTS_QUEUE": "training-requests",
    "TRAINING_EVENTS_QUEUE": "training-events",
    "TRAININGS_TABLE": "trainings",
    # Every 5 s: a small list trains in 1-2 s, so a finished training waits at most one period for its event,
    # while an idle tick costs one table query (17,280 a day, a few cents a year) and no Face call.
    "POLL_SCHEDULE": "*/5 * * * * *",
    "SETTLE_SECONDS": "0",
    # A million faces train in up to 30 min; twice that before a training counts as lost.
    "MAX_TRAINING_MINUTES": "60",
    # New role assignments take minutes to apply; 401/403 are retried this long before the failure is reported.
    "AUTH_RETRY_MINUTES": "10",
    # The longest wait before a retry, whatever Face's Retry-After says: a misconfigured gateway's
    # `Retry-After: 86400` must not park a list for a day.
    "MAX_RETRY_WAIT_SECONDS": "120",
    "FACE_CONNECT_TIMEOUT_SECONDS": "5",
    "FACE_READ_TIMEOUT_SECONDS": "30",
    # Polls the orchestrator may spend in any second: a fifth of S0's 10 calls/s, leaving the rest to the upload
    # jobs that share the Face resource. Train calls take precedence and are never held back.
    "FACE_CALLS_PER_SECOND": "2",
}
MAX_SETTLE_SECONDS = 3600


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says what it accepts."""


@dataclass(frozen=True)
class StorageSettings:
    """`AzureWebJobsStorage` as a connection string, or its identity-based `__*ServiceUri` form."""

    connection_string: str | None
    queue_service_uri: str | None
    table_service_uri: str | None
    client_id: str | None


@dataclass(frozen=True)
class Settings:
    face_endpoint: str
    face_api_version: str
    face_api_key: str | None
    azure_client_id: str | None
    storage: StorageSettings
    training_requests_queue: str
    training_events_queue: str
    trainings_table: str
    poll_schedule: str
    settle_seconds: float
    max_training_minutes: float
    auth_retry_minutes: float
    max_retry_wait_seconds: float
    face_calls_per_second: float
    face_connect_timeout_seconds: float
    face_read_timeout_seconds: float
    applicationinsights_connection_string: str | None

    @property
    def poll_pacing_seconds(self) -> float:
        """How long a tick may go on granting Face calls as the budget frees up: until a second before the next
        occurrence of an every-N-seconds POLL_SCHEDULE, so that ticks never overlap; 0 (one pass) for any other
        schedule, whose period is not read here."""
        every = _EVERY_N_SECONDS.fullmatch(self.poll_schedule)
        return max(0, int(every.group(1)) - 1) if every else 0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        def get(name: str) -> str:
            value = env.get(name, "").strip()
            return value or DEFAULTS.get(name, "")

        endpoint = get("FACE_ENDPOINT").rstrip("/")
        if not endpoint:
            raise SettingsError("FACE_ENDPOINT is not set: give the Face resource's endpoint, "
                                "e.g. https://my-face.cognitiveservices.azure.com")
        _check_endpoint(endpoint)
        version = get("FACE_API_VERSION")
        if version not in API_VERSIONS:
            raise SettingsError(f"FACE_API_VERSION {version!r} is not a Face API version this orchestrator "
                                f"knows; use one of {', '.join(API_VERSIONS)}")
        schedule = get("POLL_SCHEDULE")
        if not _CRON.fullmatch(schedule):
            raise SettingsError(f"POLL_SCHEDULE {schedule!r} is not an NCRONTAB expression: give 6 fields, "
                                "seconds first, e.g. '*/5 * * * * *'")
        for name in ("TRAINING_REQUESTS_QUEUE", "TRAINING_EVENTS_QUEUE"):
            if not _QUEUE_NAME.fullmatch(get(name)):
                raise SettingsError(f"{name} {get(name)!r} is not a valid queue name: 3-56 lowercase letters, "
                                    "digits and single hyphens, starting and ending with a letter or digit")
        if not _TABLE_NAME.fullmatch(get("TRAININGS_TABLE")):
            raise SettingsError(f"TRAININGS_TABLE {get('TRAININGS_TABLE')!r} is not a valid table name: "
                                "3-63 letters and digits, starting with a letter")
        return cls(
            face_endpoint=endpoint,
            face_api_version=version,
            face_api_key=env.get("FACE_API_KEY") or None,
            azure_client_id=env.get("AZURE_CLIENT_ID") or None,
            storage=storage_settings(env),
            training_requests_queue=get("TRAINING_REQUESTS_QUEUE"),
            training_events_queue=get("TRAINING_EVENTS_QUEUE"),
            trainings_table=get("TRAININGS_TABLE"),
            poll_schedule=schedule,
            settle_seconds=_number(get, "SETTLE_SECONDS", 0, MAX_SETTLE_SECONDS),
            max_training_minutes=_number(get, "MAX_TRAINING_MINUTES", 1, 24 * 60),
            auth_retry_minutes=_number(get, "AUTH_RETRY_MINUTES", 0, 24 * 60),
            max_retry_wait_seconds=_number(get, "MAX_RETRY_WAIT_SECONDS", 1, 3600),
            face_calls_per_second=_number(get, "FACE_CALLS_PER_SECOND", 1, 1000),
            face_connect_timeout_seconds=_number(get, "FACE_CONNECT_TIMEOUT_SECONDS", 0.1, 120),
            face_read_timeout_seconds=_number(get, "FACE_READ_TIMEOUT_SECONDS", 0.1, 600),
            applicationinsights_connection_string=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or None,
        )


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingsError(f"FACE_ENDPOINT {endpoint!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # Tokens and keys must never cross a network in clear; plain HTTP is for a local emulator only.
        raise SettingsError(f"FACE_ENDPOINT {endpoint!r} uses http: use https (http is accepted for loopback "
                            "addresses only)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"FACE_ENDPOINT {endpoint!r} must be the resource's base URL, without a path")


def _number(get, name: str, low: float, high: float) -> float:
    raw = get(name)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} {raw!r} is not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} {raw} is out of range: give a number from {low:g} to {high:g}")
    return value


def storage_settings(env: Mapping[str, str]) -> StorageSettings:
    """The app's storage from its settings (the CLI reads other sources with it too); SettingsError if absent."""
    prefix = "AzureWebJobsStorage"
    connection_string = env.get(prefix) or None
    queue_uri = env.get(f"{prefix}__queueServiceUri") or None
    table_uri = env.get(f"{prefix}__tableServiceUri") or None
    if connection_string is None and not (queue_uri and table_uri):
        raise SettingsError("Storage is not configured: set AzureWebJobsStorage to a connection string, or "
                            "AzureWebJobsStorage__queueServiceUri and AzureWebJobsStorage__tableServiceUri "
                            "for identity-based access")
    return StorageSettings(connection_string, queue_uri, table_uri, env.get(f"{prefix}__clientId") or None)
