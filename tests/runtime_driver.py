"""Run in a process of its own by tests/test_worker_runtime.py: index an app through the worker runtime, invoke its
queue function `work` once per body given, shaped as the host shapes a queue trigger, and print each result."""

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from localdev.host.binding_data import queue_trigger
from localdev.host.worker_runtime import WorkerRuntime

INSERTED = datetime(2026, 12, 2, 6, 50, 12, 345600, tzinfo=timezone.utc)

runtime = WorkerRuntime(Path(sys.argv[1]))
work = next(f for f in runtime.start() if f.name == "work")
results = []
for body in sys.argv[2:]:
    data, metadata = queue_trigger(runtime.protos, body=body.encode(), message_id="queue-id", pop_receipt="receipt",
                                   dequeue_count=2, insertion_time=INSERTED,
                                   expiration_time=INSERTED + timedelta(days=7),
                                   next_visible_time=INSERTED + timedelta(minutes=10))
    response = runtime.invoke(work.function_id, {"msg": data}, metadata)
    results.append({"succeeded": response.result.status == runtime.protos.StatusResult.Success,
                    "error": response.result.exception.message})
print(json.dumps(results))
