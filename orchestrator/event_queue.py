"""The events queue at the edge: CloudEvents as UTF-8 JSON text, one event per message."""

from __future__ import annotations

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from .events import TrainingEvent


def ensure_queue(queue: QueueClient) -> None:
    """Create the queue unless it exists."""
    try:
        queue.create_queue()
    except ResourceExistsError:
        pass


class EventQueue:
    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue

    def create_queue(self) -> None:
        ensure_queue(self._queue)

    def publish(self, event: TrainingEvent) -> None:
        # Events never expire (-1): a consumer that is down for a week must still learn how its training ended.
        self._queue.send_message(event.to_message(), time_to_live=-1)
