"""The Face API's error answers: `{"error": {"code", "message"}}` plus the `x-ms-error-code` header."""

from __future__ import annotations


class FaceError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    @classmethod
    def bad_argument(cls, message: str) -> "FaceError":
        return cls(400, "BadArgument", message)

    @classmethod
    def list_not_found(cls, list_id: str) -> "FaceError":
        return cls(404, "LargeFaceListNotFound", f"Large face list '{list_id}' is not found.")

    @classmethod
    def resource_not_found(cls) -> "FaceError":
        # What the Azure gateway answers for a path or API version it does not serve.
        return cls(404, "404", "Resource not found.")

    @classmethod
    def unauthorized(cls, message: str) -> "FaceError":
        return cls(401, "401", message)


def check_start(start: str | None) -> None:
    """A listing's `start`. The spec states the limit only in prose ("no more than 64 characters"); the docs give the
    message."""
    if start is not None and len(start) > 64:
        raise FaceError.bad_argument("'start' is too long.")
