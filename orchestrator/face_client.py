"""The Face API at the edge: two calls (train, training status), each answer mapped to a typed error in one place.

Security rules live here too: every request goes to `FACE_ENDPOINT`'s own scheme, host and port, an
`operation-Location` pointing anywhere else is refused before anything is sent to it, and redirects are never
followed, so neither a token nor a key can leave for another host. Secrets never reach a log line.

Face is treated as a peer that may misbehave: an answer is read up to `MAX_ANSWER_BYTES` within the read timeout,
and every text taken from it (message, code, header values) is bounded (`bounds.py`) before anyone stores, sends
or logs it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlsplit

import requests
import urllib3
from azure.core.exceptions import ClientAuthenticationError

from .bounds import (MAX_ANSWER_BYTES, MAX_FACE_CODE_CHARS, MAX_FACE_MESSAGE_CHARS, MAX_OPERATION_LOCATION_CHARS,
                     MAX_QUOTED_HEADER_CHARS, bounded_text, first_line)
from .call_deadline import Watchdog, session_with_deadlines
from .containers import Container, Kind
from .face_errors import (AuthFailed, FaceApiError, MalformedAnswer, NotFound, ProtocolError, Rejected, Throttled,
                          TrainingConflict, Transient)
from .iso_time import from_iso
from .ports import FaceApi, TrainingStatus

SCOPE = "https://cognitiveservices.azure.com/.default"
# A training already runs: each kind's own code (the person groups' by their documented pattern), or the generic one.
CONFLICT_CODES = frozenset({f"{kind.noun}TrainingNotFinished" for kind in Kind} | {"ConcurrentOperationConflict"})
log = logging.getLogger("orchestrator.face")


@dataclass(frozen=True)
class FaceAnswer:
    """A Face response read whole, or `body` None when it was larger than `MAX_ANSWER_BYTES` or still coming when
    the read timeout ran out: nothing larger is held, parsed or logged."""

    status: int
    headers: Mapping[str, str]
    body: bytes | None

    def json(self) -> Any:
        if self.body is None:
            raise ValueError("no body was read")
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else bounded_text(value, MAX_QUOTED_HEADER_CHARS)


class FaceClient(FaceApi):
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
        self.deadline_seconds = call_deadline_seconds(connect_timeout_seconds, read_timeout_seconds)
        self._session = session_with_deadlines(session)

    def training_url(self, container: Container) -> str:
        return f"{self._container_url(container)}/training"

    def train(self, container: Container) -> str:
        """Submit a training; return where to poll it.

        v1.0 sends no operation-Location; from v1.1-preview.1 on the contract promises one. When it is missing
        anyway (lost on the way) or too long to be real, the container's own training-status URL on FACE_ENDPOINT
        is polled: that is the same training, and nothing is sent anywhere else."""
        answer = self._call("POST", f"{self._container_url(container)}/train")
        if answer.status != 202:
            raise MalformedAnswer(f"Train answered {answer.status} instead of 202.", status=answer.status)
        location = answer.headers.get("operation-Location")
        if location is None or len(location) > MAX_OPERATION_LOCATION_CHARS:
            if self.api_version != "v1.0":
                log.warning("train %s answered 202 %s; polling its own training status instead", container,
                            "without operation-Location" if location is None
                            else f"with an operation-Location of {len(location)} characters")
            return self.training_url(container)
        self._check_same_origin(location)
        return location

    def training_status(self, operation_location: str) -> TrainingStatus:
        self._check_same_origin(operation_location)
        answer = self._call("GET", operation_location)
        try:
            body = answer.json()
            status = body["status"]
        except (ValueError, KeyError, TypeError):
            raise MalformedAnswer("The training status answer is not a JSON object with a status "
                                  f"({_describe_body(answer)}).", status=answer.status) from None
        if not isinstance(status, str):
            raise MalformedAnswer("The training status is not a string.", status=answer.status)
        message = body.get("message")
        return TrainingStatus(bounded_text(status, MAX_FACE_CODE_CHARS),
                              bounded_text(message, MAX_FACE_MESSAGE_CHARS) if isinstance(message, str) else None,
                              _timestamp(body.get("lastActionDateTime")))

    def _past_deadline(self, method: str, url: str) -> Transient:
        return Transient(f"{method} {_redact(url)} was cut at its deadline of {self.deadline_seconds:g} s (the connect "
                         "and read timeouts together): the peer kept it open without answering in time.")

    def _base(self) -> str:
        return f"{self.endpoint}/face/{self.api_version}"

    def _container_url(self, container: Container) -> str:
        return f"{self._base()}/{container.kind}/{quote(container.id, safe='')}"

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
            raise AuthFailed(f"No token for Face from the managed identity: {first_line(error)}") from None

    def _call(self, method: str, url: str) -> FaceAnswer:
        client_request_id = str(uuid.uuid4())
        headers = {"x-ms-client-request-id": client_request_id}
        if self._api_key is not None:
            headers["Ocp-Apim-Subscription-Key"] = self._api_key
        else:
            headers["Authorization"] = f"Bearer {self._bearer_token()}"
        started = time.perf_counter()
        with Watchdog(self.deadline_seconds) as watchdog:
            try:
                with self._session.request(method, url, headers=headers, timeout=self._timeout,
                                           allow_redirects=False, stream=True) as response:
                    answer = FaceAnswer(response.status_code, response.headers,
                                        _read_bounded(response, MAX_ANSWER_BYTES, self._timeout[1]))
            except requests.Timeout as error:
                raise Transient(f"{method} {_redact(url)} timed out ({type(error).__name__}).") from None
            except (requests.ConnectionError, urllib3.exceptions.HTTPError, OSError) as error:
                if watchdog.fired:
                    raise self._past_deadline(method, url) from None
                # urllib3's own errors come from reading the body ourselves (a reset, a timeout, a broken encoding).
                raise Transient(f"{method} {_redact(url)} failed to connect or lost the connection "
                                f"({type(error).__name__}).") from None
        if watchdog.fired:
            raise self._past_deadline(method, url)
        log.info("face %s %s -> %s in %.0f ms (x-ms-client-request-id %s, apim-request-id %s)", method,
                 _redact(url, with_origin=False), answer.status, (time.perf_counter() - started) * 1000,
                 client_request_id, answer.header("apim-request-id") or "-")
        if answer.status >= 300:
            raise error_for(answer)
        return answer


def call_deadline_seconds(connect_timeout_seconds: float, read_timeout_seconds: float) -> float:
    """How long a Face call may take in all, headers and body: its connect timeout and its read timeout."""
    return connect_timeout_seconds + read_timeout_seconds


def _read_bounded(response: requests.Response, limit_bytes: int, seconds: float) -> bytes | None:
    """The body, or None past `limit_bytes` or `seconds`. The read timeout bounds each wait for data, not the whole
    body: a peer dripping a byte at a time would otherwise hold the call for hours."""
    deadline = time.monotonic() + seconds
    chunks, size = [], 0
    while chunk := response.raw.read1(16 * 1024, decode_content=True):
        size += len(chunk)
        if size > limit_bytes or time.monotonic() > deadline:
            return None  # the connection is closed with the response, not reused
        chunks.append(chunk)
    return b"".join(chunks)


def error_for(answer: FaceAnswer) -> FaceApiError:
    """The one place where a Face answer becomes a typed error."""
    status = answer.status
    code, message = _error_detail(answer)
    retry_after = parse_retry_after(answer.headers.get("Retry-After"), answer.headers.get("Date"))
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
        return from_iso(value)
    except ValueError:
        return None


def _error_detail(answer: FaceAnswer) -> tuple[str | None, str]:
    code = answer.headers.get("x-ms-error-code")
    message = f"Face answered {answer.status}."
    try:
        error = answer.json()["error"]
        code = error.get("code") or code
        detail = error.get("message") or ""
        message = f"{message} {detail if isinstance(detail, str) else ''}".strip()
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return (bounded_text(code, MAX_FACE_CODE_CHARS) if isinstance(code, str) else None,
            bounded_text(message, MAX_FACE_MESSAGE_CHARS))


def _describe_body(answer: FaceAnswer) -> str:
    content_type = answer.header("Content-Type") or "no Content-Type"
    if answer.body is None:
        return f"{content_type}, not read whole: over {MAX_ANSWER_BYTES} bytes or past the read timeout"
    return f"{content_type}, {len(answer.body)} bytes"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return parts.scheme, parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _redact(url: str, *, with_origin: bool = True) -> str:
    """Scheme, host, port and path only (user info or a query string may carry a password, a SAS or a key), and
    bounded, since the URL may come from an operation-Location header."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    origin = f"{parts.scheme}://{parts.hostname or ''}{port}" if with_origin else ""
    return bounded_text(origin + parts.path, MAX_QUOTED_HEADER_CHARS)
