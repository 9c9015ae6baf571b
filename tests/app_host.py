"""The product's own function app on the dev host, each invocation through Microsoft's worker runtime, as in
Azure: for tests that must see what the host and the runtime do to a message before our code gets it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from localdev.world import REPO_ROOT, free_port, http_ready

START_SECONDS = 30


@contextmanager
def app_on_dev_host(settings: dict, log_path: Path, port: int | None = None) -> Iterator[subprocess.Popen]:
    """The app running with `settings` until the block ends; stopped with SIGTERM, which must end it cleanly."""
    port = port or free_port()
    with log_path.open("ab") as log:
        host = subprocess.Popen([sys.executable, "-m", "localdev.host", "--port", str(port), "--settings",
                                 "/nonexistent"], cwd=REPO_ROOT, env={**os.environ, **settings}, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not http_ready(f"http://127.0.0.1:{port}/api/trainings", also_ready=(401,)):  # up, wants its key
            assert host.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
        yield host
    finally:
        host.send_signal(signal.SIGTERM)
        assert host.wait(30) == 0


def events_until(connection_string: str, queue_name: str, done, timeout_seconds: float) -> list[dict]:
    """Events received (and removed) from the queue until `done(events)` holds or the time is up."""
    queue = QueueClient.from_connection_string(connection_string, queue_name)
    deadline, received = time.monotonic() + timeout_seconds, []
    while not done(received) and time.monotonic() < deadline:
        try:
            for message in queue.receive_messages(messages_per_page=32, max_messages=32):
                received.append(json.loads(message.content))
                queue.delete_message(message)
        except ResourceNotFoundError:  # the app creates the events queue on its first start
            pass
        time.sleep(0.2)
    return received
