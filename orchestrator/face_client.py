"""The Face API at the edge: two calls (train, training status), each answer mapped to a typed error in one place.

Security rules live here too: every request goes to `FACE_ENDPOINT`'s own scheme, host and port, an
`operation-Location` pointing anywhere else is refused before anything is sent to it, and redirects are never
followed, so neither a token nor a key can leave for another host. Secrets never reach a log line.
"""

from __future__ import annotations

import email.utils
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import quote, urlsplit

import requests
from azure.core.exceptions import ClientAuthenticationError

from .face_errors import (AuthFailed, FaceApiError, NotFound, ProtocolError, Rejected, Throttled, TrainingConflict,
                          Transient)

SCOPE = "https://cognitiveservices.azure.com/.default"
CONFLICT_CODES = frozenset({"LargeFaceListTrainingNotFinished", "ConcurrentOperationConflict"})
log = logging.getLogger("orchestrator.face")


@dataclass(frozen=True)
class TrainingStatus:
    status: str
    message: str | None
    last_action_at: datetime | None  # lastActionDateTime: when Face last changed the training's status


class FaceClient:
    def __init__(self, endpoint: str, api_version: str, *, api_key: str | None = None,
                 token_provider: Callable[[], str] | None = None, connect_timeout_seconds: float = 5.0,
                 read_timeout_seconds: float = 30.0, session: requests.Session | None = None) -> None:
        if (api_key is None) == (token_provider is None):
            raise ValueError("give exactly one of api_key or token_provider")
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        self._origin = _origin(self.endpoint)
        self._api_key = api_key
        self._token_provider = token_provider
        self._timeout = (connect_timeout_seconds, read_timeout_seconds)
        self._session = session or requests.Session()

    def training_url(self, list_id: str) -> str:
        return f"{self._base()}/largefacelists/{quote(list_id, safe='')}/training"

    def train(self, list_id: str) -> str:
        """Submit a training; return where to poll it. v1.0 sends no operation-Location, so its status URL is used."""
        response = self._call("POST", f"{self._base()}/largefacelists/{quote(list_id, safe='')}/train")
        if response.status_code != 202:
            raise ProtocolError(f"Train answered {response.status_code} instead of 202.", status=response.status_code)
        location = response.headers.get("operation-Location")
        if location is None:
            if self.api_version == "v1.0":
                return self.training_url(list_id)
            raise ProtocolError("Train answered 202 without the operation-Location header the contract promises.")
        self._check_same_origin(location)
        return location

    def training_status(self, operation_location: str) -> TrainingStatus:
        self._check_same_origin(operation_location)
        response = self._call("GET", operation_location)
        try:
            body = response.json()
            status = body["status"]
        except (ValueError, KeyError, TypeError):
            raise ProtocolError("The training status answer is not a JSON object with a status.") from None
        if not isinstance(status, str):
            raise ProtocolError("The training status is not a string.")
        message = body.get("message")
        return TrainingStatus(status, message if isinstance(message, str) else None,
                              _timestamp(body.get("lastActionDateTime")))

    def _base(self) -> str:
        return f"{self.endpoint}/face/{self.api_version}"

    def _check_same_origin(self, url: str) -> None:
        try:
            origin = _origin(url)
        except ValueError:
            origin = None
        if origin != self._origin:
            raise ProtocolError(f"The operation-Location {_redact(url)} is not on FACE_ENDPOINT ({self.endpoint}); "
                                "it was not called, and no credential was sent to it.")

    def _bearer_token(self) -> str:
        """A token for Face, or AuthFailed: an identity service that is down, or an identity that is missing, is
        retried for AUTH_RETRY_MINUTES like a 401, never raised out of the function (the host would poison the
        request)."""
        try:
            return self._token_provider()
        except ClientAuthenticationError as error:
            lines = str(error).strip().splitlines() or [type(error).__name__]
            raise AuthFailed(f"No token for Face from the managed identity: {lines[0]}") from None

    def _call(self, method: str, url: str) -> requests.Response:
        client_request_id = str(uuid.uuid4())
        headers = {"x-ms-client-request-id": client_request_id}
        if self._api_key is not None:
            headers["Ocp-Apim-Subscription-Key"] = self._api_key
        else:
            headers["Authorization"] = f"Bearer {self._bearer_token()}"
        started = time.perf_counter()
        try:
            response = self._session.request(method, url, headers=headers, timeout=self._timeout,
                                             allow_redirects=False)
        except requests.Timeout as error:
            raise Transient(f"{method} {_redact(url)} timed out ({type(error).__name__}).") from None
        except requests.ConnectionError as error:
            raise Transient(f"{method} {_redact(url)} failed to connect or lost the connection "
                            f"({type(error).__name__}).") from None
        log.info("face %s %s -> %s in %.0f ms (x-ms-client-request-id %s, apim-request-id %s)", method,
                 urlsplit(url).path, response.status_code, (time.perf_counter() - started) * 1000,
                 client_request_id, response.headers.get("apim-request-id", "-"))
        if response.status_code >= 300:
            raise error_for(response)
        return response


def error_for(response: requests.Response) -> FaceApiError:
    """The one place where a Face answer becomes a typed error."""
    status = response.status_code
    code, message = _error_detail(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"), response.headers.get("Date"))
    details = {"status": status, "code": code, "retry_after_seconds": retry_after}
    if 300 <= status < 400:
        return ProtocolError(f"Face answered a redirect ({status}); redirects are not followed with credentials.",
                             **details)
    if status == 429:
        return Throttled(message, **details)
    if status in (401, 403):
        return AuthFailed(message, **details)
    if status == 404:
        return NotFound(message, **details)
    if status == 409 and code in CONFLICT_CODES:
        return TrainingConflict(message, **details)
    if status == 408 or status >= 500:
        return Transient(message, **details)
    return Rejected(message, **details)


def parse_retry_after(value: str | None, response_date: str | None = None) -> float | None:
    """Seconds, or an HTTP date (RFC 9110 §10.2.3) measured against the response's own `Date`, so that a skew
    between our clock and the service's does not matter; None when absent or unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    until, sent = _http_date(value), _http_date(response_date)
    if until is None or sent is None:
        return None
    return max(0.0, (until - sent).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _timestamp(value: object) -> datetime | None:
    """An ISO 8601 date-time, or None: the field "could be null" and is only a hint."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _error_detail(response: requests.Response) -> tuple[str | None, str]:
    code = response.headers.get("x-ms-error-code")
    message = f"Face answered {response.status_code}."
    try:
        error = response.json()["error"]
        code = error.get("code") or code
        message = f"{message} {error.get('message') or ''}".strip()
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return code, message


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return parts.scheme, parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _redact(url: str) -> str:
    """Scheme, host, port and path only: user info or a query string may carry a password, a SAS or a key."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
