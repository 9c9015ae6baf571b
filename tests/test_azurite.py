"""Azurite, as the project starts it, serves queues and tables to the real storage SDKs."""

from __future__ import annotations

import uuid

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import TableServiceClient, UpdateMode
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from localdev.world import LocalWorld


def test_a_queue_message_round_trips(world: LocalWorld) -> None:
    name = f"q{uuid.uuid4().hex[:12]}"
    sender = QueueClient.from_connection_string(world.storage_connection_string, name,
                                                message_encode_policy=TextBase64EncodePolicy())
    sender.create_queue()
    sender.send_message('{"listId": "celebs"}')
    receiver = QueueClient.from_connection_string(world.storage_connection_string, name,
                                                  message_decode_policy=TextBase64DecodePolicy())
    (message,) = receiver.receive_messages(max_messages=5, visibility_timeout=5)
    assert message.content == '{"listId": "celebs"}'
    assert message.dequeue_count == 1
    receiver.delete_message(message)
    assert list(receiver.receive_messages(max_messages=5)) == []


def test_a_table_entity_round_trips_with_etag_concurrency(world: LocalWorld) -> None:
    service = TableServiceClient.from_connection_string(world.storage_connection_string)
    table = service.create_table(f"t{uuid.uuid4().hex[:12]}")
    table.create_entity({"PartitionKey": "celebs", "RowKey": "state", "status": "running"})
    entity = table.get_entity("celebs", "state")
    entity["status"] = "succeeded"
    stale_etag = entity.metadata["etag"]
    table.update_entity(entity, mode=UpdateMode.REPLACE, etag=stale_etag, match_condition=MatchConditions.IfNotModified)
    assert table.get_entity("celebs", "state")["status"] == "succeeded"
    with pytest.raises(ResourceModifiedError):
        table.update_entity(entity, mode=UpdateMode.REPLACE, etag=stale_etag,
                            match_condition=MatchConditions.IfNotModified)
