"""What Microsoft's worker runtime adds to each invocation on the dev host: a no-op queue function invoked through
the runtime as the dev host invokes it (binding data shaped as the host shapes it, the invocation request, the
runtime's converters and thread pool, the response), against the same function called directly with a
`func.QueueMessage` built by hand, which is what the dev host did before it ran the runtime. Runs in a process of its
own, since the runtime keeps one app per process.

    python -m bench.runtime_cost [--invocations N]   prints the figures as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import mean, median
from time import perf_counter

from localdev.world import REPO_ROOT

NO_OP_APP = '''
import azure.functions as func

app = func.FunctionApp()


def no_op(msg: func.QueueMessage) -> None:
    msg.get_body()


# Not applied as `@`: the module keeps the plain function, for the direct calls.
app.queue_trigger(arg_name="msg", queue_name="requests", connection="AzureWebJobsStorage")(no_op)
'''
BODY = json.dumps({"listId": "celebrities", "kind": "largefacelist"}).encode()  # a typical training request
WARM_UP = 200


def run(invocations: int) -> dict:
    """The figures, measured in a fresh process."""
    done = subprocess.run([sys.executable, "-m", "bench.runtime_cost", "--invocations", str(invocations)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(invocations: int) -> dict:
    from azure.functions.queue import QueueMessage

    from localdev.host.binding_data import queue_trigger
    from localdev.host.config import HOST_THREADPOOL_DEFAULT, THREADPOOL_SETTING
    from localdev.host.worker_runtime import WorkerRuntime

    inserted = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as app_dir:
        (Path(app_dir) / "function_app.py").write_text(NO_OP_APP)
        os.environ.setdefault(THREADPOOL_SETTING, HOST_THREADPOOL_DEFAULT)
        runtime = WorkerRuntime(Path(app_dir))
        (function,) = runtime.start()
        user_function = sys.modules["function_app"].no_op

        def through_runtime() -> None:
            data, metadata = queue_trigger(runtime.protos, body=BODY, message_id=str(uuid.uuid4()),
                                           pop_receipt="receipt", dequeue_count=1, insertion_time=inserted,
                                           expiration_time=inserted + timedelta(days=7),
                                           next_visible_time=inserted + timedelta(minutes=10))
            if not runtime.invoke(str(uuid.uuid4()), function.function_id, {"msg": data}, metadata).succeeded:
                raise RuntimeError("the no-op function failed")

        def direct() -> None:
            user_function(msg=QueueMessage(body=BODY, id=str(uuid.uuid4()), dequeue_count=1,
                                                pop_receipt="receipt", insertion_time=inserted,
                                                expiration_time=inserted + timedelta(days=7),
                                                time_next_visible=inserted + timedelta(minutes=10)))

        figures = {name: _timed(call, invocations) for name, call in (("runtime", through_runtime),
                                                                       ("direct", direct))}
    return {"invocations": invocations, **figures,
            "added_per_invocation_us": round(figures["runtime"]["p50_us"] - figures["direct"]["p50_us"], 1)}


def _timed(call, invocations: int) -> dict:
    for _ in range(WARM_UP):
        call()
    seconds = []
    for _ in range(invocations):
        started = perf_counter()
        call()
        seconds.append(perf_counter() - started)
    return {"p50_us": round(median(seconds) * 1e6, 1), "mean_us": round(mean(seconds) * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=5000)
    args = parser.parse_args(argv)
    print(json.dumps(_measure(args.invocations)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
