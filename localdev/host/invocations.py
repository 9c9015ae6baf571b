"""Invocations through the worker runtime, each logged as one structured line: function, invocation id, start, end,
duration and outcome; with `--invocations FILE`, also appended to FILE as JSON Lines, for the harnesses to read
without parsing logs."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from orchestrator.bounds import bounded_text
from orchestrator.iso_time import to_iso

from .worker_runtime import WorkerRuntime

log = logging.getLogger("localdev.host")
MAX_LOGGED_ERROR_CHARS = 2000


class InvocationFailed(RuntimeError):
    """The function raised, or ran past `functionTimeout`: the trigger's failure rules apply."""


class Invoker:
    def __init__(self, runtime: WorkerRuntime, function_timeout: timedelta | None,
                 journal: Path | None = None) -> None:
        self.runtime = runtime
        self.protos = runtime.protos
        self._timeout = function_timeout
        self._journal = journal
        self._journal_lock = threading.Lock()

    def invoke(self, function_name: str, function_id: str, inputs: dict[str, Any], trigger_metadata: dict[str, Any],
               **context: Any) -> Any:
        """The function's `$return` value (a `TypedData`, or None); `InvocationFailed` if it did not succeed."""
        invocation_id = str(uuid.uuid4())
        started_at, started = datetime.now(timezone.utc), time.perf_counter()
        try:
            invocation = self.runtime.invoke(invocation_id, function_id, inputs, trigger_metadata,
                                             self._timeout.total_seconds() if self._timeout else None)
            failure = None if invocation.succeeded else invocation.error or "the function failed"
        except TimeoutError:
            failure = f"Timeout value of {self._timeout} (host.json functionTimeout) exceeded"
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        record = {"function": function_name, "invocationId": invocation_id, "startedAt": to_iso(started_at),
                  "endedAt": to_iso(started_at + timedelta(milliseconds=duration_ms)), "durationMs": duration_ms,
                  **context}
        # An exception's message is the app's to size: the log line keeps it bounded.
        record |= ({"outcome": "Succeeded"} if failure is None
                   else {"outcome": "Failed", "error": bounded_text(failure, MAX_LOGGED_ERROR_CHARS)})
        line = json.dumps(record, default=str)
        log.info(line)
        if self._journal is not None:
            with self._journal_lock, self._journal.open("a") as journal:
                journal.write(line + "\n")
        if failure is not None:
            raise InvocationFailed(record["error"])
        return invocation.return_value
