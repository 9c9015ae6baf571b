"""The events queue at the edge: CloudEvents as UTF-8 JSON text, one event per message."""

from __future__ import annotations

from azure.core.exceptions import AzureError
from azure.storage.queue import QueueClient

from .bounds import first_line
from .ports import EventSink
from .events import TrainingEvent


class EventNotSent(Exception):
    """The queue did not take the event (storage down, a role missing, the queue deleted): the decision that
    produced it is not stored, so the step is retried with its event."""


class EventQueue(EventSink):
    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue

    def publish(self, event: TrainingEvent) -> None:
        try:
            # Events never expire (-1): a consumer that is down for a week must still learn how its training ended.
            self._queue.send_message(event.to_message(), time_to_live=-1)
        except AzureError as error:
            raise EventNotSent(f"event {event.event_id}: {first_line(error)}") from None
