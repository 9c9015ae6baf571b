"""Send training requests the way the intake reads them: UTF-8 JSON text, one request per message.

Other producers may send the same JSON, or its base64 (the Functions default): intake accepts both.
"""

from __future__ import annotations

import json

from azure.storage.queue import QueueClient

from orchestrator.containers import Container
from orchestrator.intake import parse_message


def request_message(container: Container | str, *, request_id: str | None = None, reason: str | None = None,
                    settle_seconds: float | None = None, size_hint: int | None = None) -> str:
    """The message text for one request, checked by the intake's own rules so a bad one fails here, not later.
    A plain string names a Large Face List, as it did before there were other kinds. `size_hint`: the faces (a
    list) or persons (a group) the container now holds, which an upload job knows; it times the first poll."""
    if isinstance(container, str):
        container = Container.large_face_list(container)
    fields = {container.kind.request_field: container.id, "requestId": request_id, "reason": reason,
              "settleSeconds": settle_seconds, "sizeHint": size_hint}
    text = json.dumps({k: v for k, v in fields.items() if v is not None}, separators=(",", ":"))
    parse_message(text.encode("utf-8"), message_id="local-check")  # raises RequestRejected with the reason
    return text


def enqueue(queue: QueueClient, container: Container | str, **fields) -> str:
    """Put one request on the training-requests queue; return the queue's message id."""
    return queue.send_message(request_message(container, **fields)).id
