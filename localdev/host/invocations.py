"""One structured log line per invocation: function, invocation id, duration and outcome."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from typing import Any, Callable

log = logging.getLogger("localdev.host")


def invoke(function_name: str, user_function: Callable, kwargs: dict[str, Any], **context: Any) -> Any:
    """Call the user's function (sync, or async on a fresh loop) and log the invocation; re-raise its error."""
    invocation_id = str(uuid.uuid4())
    started = time.perf_counter()
    outcome, error = "Succeeded", None
    try:
        result = user_function(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(result)
        return result
    except BaseException as exc:
        outcome, error = "Failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        record = {"function": function_name, "invocationId": invocation_id,
                  "durationMs": round((time.perf_counter() - started) * 1000, 1), "outcome": outcome, **context}
        if error:
            record["error"] = error
        log.info(json.dumps(record, default=str))
