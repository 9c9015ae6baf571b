"""The Face API's failures as types, each saying whether it is worth retrying and when.

Raised by the HTTP edge (`face_client.py`) and read by the pure core (`machine.py`), which decides on
`retryable` and `retry_after_seconds` instead of inspecting status codes.
"""

from __future__ import annotations


class FaceApiError(Exception):
    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after_seconds = retry_after_seconds


class Throttled(FaceApiError):
    """429: the resource's rate limit; retry when `retry_after_seconds` says."""

    retryable = True


class Transient(FaceApiError):
    """5xx, a timeout or a dropped connection: retry with jittered exponential backoff."""

    retryable = True


class AuthFailed(FaceApiError):
    """401/403: retryable for a while, because a new role assignment takes minutes to apply."""

    retryable = True


class NotFound(FaceApiError):
    """404: the list does not exist (or was deleted)."""


class TrainingConflict(FaceApiError):
    """409 LargeFaceListTrainingNotFinished / ConcurrentOperationConflict: a training is already running."""


class Rejected(FaceApiError):
    """Any other 4xx: the service refuses the call as made; retrying would not change that."""


class ProtocolError(FaceApiError):
    """The answer breaks the contract in a way that retrying would not mend: an operation-Location that points
    away from FACE_ENDPOINT (refused: no credential is sent there), or a redirect."""


class MalformedAnswer(ProtocolError):
    """A success that is not what the contract promises: a training status that is no status (a gateway's HTML
    page), a status the contract does not list, a train call answered with another success than 202. Usually a
    gateway's glitch, no more final than its 502: retried as a transient fault, within the same count
    (`Policy.max_transient_attempts`) and the training's deadline, before the run fails as a protocol error."""

    retryable = True
