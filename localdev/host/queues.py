"""Queue triggers as the Storage Queues extension (5.x) runs them.

- Receives up to `batchSize` messages with a 10-minute lease, and receives again once no more than
  `newBatchThreshold` are still running.
- After an empty receive it waits 100 ms, growing with randomized exponential backoff up to `maxPollingInterval`.
- Decodes per `messageEncoding`. With base64, a message that is not base64 goes to `<queue>-poison` unrun.
- Hands the message to the worker runtime with the binding data the host gives it (binding_data.queue_trigger).
- Renews the lease every half lease while the function runs.
- On success it deletes the message. On failure it makes the message visible again after `visibilityTimeout`,
  or, once `maxDequeueCount` is reached, moves it to `<queue>-poison`.
- A message already over `maxDequeueCount` (its runs crashed the host) goes to poison unrun.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage as StoredMessage

from orchestrator.storage_clients import ensure_exists

from .binding_data import queue_trigger
from .config import QueueFunction, QueueOptions
from .invocations import InvocationFailed, Invoker

log = logging.getLogger("localdev.host")
MIN_POLL_SECONDS = 0.1
LEASE = timedelta(minutes=10)
RENEWAL_WAIT_SECONDS = 30


def polling_delay(empty_polls: int, max_polling_interval: timedelta) -> float:
    """Seconds to wait after that many empty receives in a row: randomized exponential growth from 100 ms."""
    grown = MIN_POLL_SECONDS + random.uniform(0.8, 1.2) * MIN_POLL_SECONDS * 2 ** (empty_polls - 1)
    return min(grown, max_polling_interval.total_seconds())


class QueueListener:
    def __init__(self, function: QueueFunction, invoker: Invoker, options: QueueOptions, connection_string: str,
                 stop: threading.Event, lease: timedelta = LEASE) -> None:
        self.function = function
        self.invoker = invoker
        self.options = options
        self.stop = stop
        self.lease_seconds = int(lease.total_seconds())
        self.queue = QueueClient.from_connection_string(connection_string, function.queue_name)
        self.poison = QueueClient.from_connection_string(connection_string, f"{function.queue_name}-poison")
        self._pool = ThreadPoolExecutor(max_workers=options.batch_size + options.threshold,
                                        thread_name_prefix=f"queue-{function.name}")
        self._in_flight = 0
        self._lock = threading.Condition()

    def run(self) -> None:
        empty_polls = 0
        while not self.stop.is_set():
            with self._lock:
                # Receive again only once the batch has drained to the threshold, as the extension does.
                self._lock.wait_for(lambda: self._in_flight <= self.options.threshold or self.stop.is_set())
            if self.stop.is_set():
                break
            try:
                # messages_per_page, not max_messages, is what one request fetches (the SDK's default is 1).
                page = self.queue.receive_messages(messages_per_page=self.options.batch_size,
                                                   max_messages=self.options.batch_size,
                                                   visibility_timeout=self.lease_seconds).by_page()
                messages = list(next(page, []))
            except ResourceNotFoundError:
                messages = []  # the host never creates its trigger queue; it waits for it
            if messages:
                empty_polls = 0
                for message in messages:
                    with self._lock:
                        self._in_flight += 1
                    self._pool.submit(self._process, message)
                continue
            empty_polls += 1
            self.stop.wait(polling_delay(empty_polls, self.options.max_polling_interval))
        self._pool.shutdown(wait=True)

    def _process(self, message: StoredMessage) -> None:
        try:
            self._handle(message)
        except Exception:  # noqa: BLE001 - a storage failure must not end the listener; the lease brings it back
            log.exception("queue %s: message %s could not be settled", self.function.queue_name, message.id)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def _handle(self, message: StoredMessage) -> None:
        if message.dequeue_count > self.options.max_dequeue_count:
            self._to_poison(message, message.content, "it was dequeued more often than maxDequeueCount")
            return
        body = self._decode(message.content)
        if body is None:
            self._to_poison(message, message.content, "it is not valid base64 (host.json messageEncoding)")
            return
        data, metadata = queue_trigger(
            self.invoker.protos, body=body, message_id=message.id, pop_receipt=message.pop_receipt,
            dequeue_count=message.dequeue_count, insertion_time=message.inserted_on,
            expiration_time=message.expires_on, next_visible_time=message.next_visible_on)
        receipt = _Receipt(message.pop_receipt)
        renewals = threading.Thread(target=self._renew, args=(message, receipt), daemon=True)
        renewals.start()
        try:
            self.invoker.invoke(self.function.name, self.function.function_id, {self.function.arg_name: data},
                                metadata, trigger="queue", messageId=message.id, dequeueCount=message.dequeue_count)
            succeeded = True
        except InvocationFailed:
            succeeded = False
        finally:
            receipt.done.set()
            # A renewal under way changes the pop receipt the settlement needs. Should storage hang it, the
            # settlement fails on the old receipt and the message comes back after its lease: nothing is lost.
            renewals.join(RENEWAL_WAIT_SECONDS)
        if succeeded:
            self.queue.delete_message(message.id, receipt.value)
        else:
            self._failed(message, receipt, body)

    def _decode(self, content: str) -> bytes | None:
        if self.options.message_encoding == "none":
            return content.encode("utf-8")
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            return None

    def _encode(self, body: bytes) -> str:
        if self.options.message_encoding == "none":
            return body.decode("utf-8", errors="replace")
        return base64.b64encode(body).decode("ascii")

    def _renew(self, message: StoredMessage, receipt: "_Receipt") -> None:
        while not receipt.done.wait(self.lease_seconds / 2):
            updated = self.queue.update_message(message.id, receipt.value, visibility_timeout=self.lease_seconds)
            receipt.value = updated.pop_receipt

    def _failed(self, message: StoredMessage, receipt: "_Receipt", body: bytes) -> None:
        if message.dequeue_count >= self.options.max_dequeue_count:
            self._to_poison(message, self._encode(body), f"it reached maxDequeueCount "
                                                         f"({self.options.max_dequeue_count})", receipt.value)
        else:
            self.queue.update_message(message.id, receipt.value,
                                      visibility_timeout=int(self.options.visibility_timeout.total_seconds()))

    def _to_poison(self, message: StoredMessage, content: str, why: str, pop_receipt: str | None = None) -> None:
        ensure_exists(self.poison)
        self.poison.send_message(content)  # a new message: new id, dequeue count 0, default time to live
        self.queue.delete_message(message.id, pop_receipt or message.pop_receipt)
        log.warning("queue %s: message %s moved to %s: %s", self.function.queue_name, message.id,
                    self.poison.queue_name, why)


class _Receipt:
    """The pop receipt, which changes with every lease renewal."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.done = threading.Event()  # set when the invocation ends: renewals stop

