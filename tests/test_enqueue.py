"""The project's own enqueue helper speaks the intake's encoding, through a real queue."""

from __future__ import annotations

import uuid

import pytest
from azure.storage.queue import QueueClient

from facetrain.enqueue import enqueue, request_message
from orchestrator.containers import Container
from orchestrator.intake import RequestRejected, TrainingRequest, parse_message


def test_a_request_goes_through_a_real_queue_into_the_intake(world) -> None:
    queue = QueueClient.from_connection_string(world.storage_connection_string, f"requests-{uuid.uuid4().hex[:8]}")
    queue.create_queue()
    message_id = enqueue(queue, "celebs", request_id="upload-7", reason="bulk", settle_seconds=30)
    (message,) = queue.receive_messages(max_messages=1)
    assert message.id == message_id
    assert parse_message(message.content.encode(), message.id) == TrainingRequest(Container.large_face_list("celebs"), "upload-7", "bulk", 30.0)


def test_a_bad_request_is_refused_before_it_is_sent() -> None:
    with pytest.raises(RequestRejected, match="not a Large Face List id"):
        request_message("Celebs")
