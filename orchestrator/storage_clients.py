"""Clients for the app's storage, the same for the function app and the CLI: from a connection string, or from the
identity-based service URIs with an Entra credential (the user-assigned identity when its client id is given)."""

from __future__ import annotations

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient

from .settings import StorageSettings


def credential(managed_identity_client_id: str | None = None):
    """Managed identity in Azure (the user-assigned one when its client id is given), developer logins locally.
    Imported when first asked for: the CLI with a connection string never needs it."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=managed_identity_client_id)


def queue_client(storage: StorageSettings, name: str) -> QueueClient:
    if storage.connection_string:
        return QueueClient.from_connection_string(storage.connection_string, name)
    return QueueClient(storage.queue_service_uri, name, credential=credential(storage.client_id))


def table_client(storage: StorageSettings, name: str) -> TableClient:
    if storage.connection_string:
        return TableClient.from_connection_string(storage.connection_string, name)
    return TableClient(storage.table_service_uri, name, credential=credential(storage.client_id))


def check_readable(storage: StorageSettings) -> None:
    """ValueError, with the SDK's reason, when a client cannot be made from the connection string (a value cut at
    its first `;`, say). Making a client does no I/O, so this costs nothing."""
    if storage.connection_string:
        queue_client(storage, "unused")
        table_client(storage, "unused")


def ensure_exists(client: QueueClient | TableClient) -> None:
    """Create the queue or table unless it exists."""
    try:
        if isinstance(client, QueueClient):
            client.create_queue()
        else:
            client.create_table()
    except ResourceExistsError:
        pass
