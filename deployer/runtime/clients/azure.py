"""Azure store clients: Blob containers, Table storage, Storage queues, Service Bus topics.

Identity: in a function app, its managed identity (ManagedIdentityCredential when the host exposes
IDENTITY_ENDPOINT/MSI_ENDPOINT, else DefaultAzureCredential) with the account named by
DEPLOYER_AZURE_STORAGE_ACCOUNT and the Service Bus namespace host DEPLOYER_AZURE_SERVICEBUS. For
emulators and tests DEPLOYER_AZURE_CONNECTION_STRING (Azurite's) replaces the identity for storage,
and a DEPLOYER_AZURE_SERVICEBUS value that is a connection string (`Endpoint=sb://...`) is used as one.

Where a store is: a locator that is a bare name is a container, table or queue of the stage's account
(or a topic of the stage's namespace); a locator that is a URL is a store that already existed
(providers/azure/existing.py), in an account or namespace of its own:
`https://<account>.blob.core.windows.net/<container>` (table, queue alike; an emulator's path-style
`http://127.0.0.1:10000/<account>/<container>` too) or `https://<namespace>.servicebus.windows.net/<topic>`.
Such a store is always reached with the credential (the identity), never the connection string,
which names the stage's account only.
Every SDK is imported on first use; `deployer.bundle.client_requirements` adds them to requirements.

Wire formats:
- Queue messages are sent base64-encoded (BinaryBase64EncodePolicy), the encoding the Functions queue
  trigger expects; the trigger hands the decoded bytes to the shim.
- A table row is one entity per key: PartitionKey = the key percent-encoded where Table storage forbids
  characters (`/ \\ # ?`, control characters, and `%` itself, which keeps prefixes and order),
  RowKey "item", and the item as JSON in the property `item` (so nested values and numbers come back
  exactly as stored; Table storage limits a property to 64 KiB).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from deployer.runtime.messages import encode_message
from deployer.runtime.types import object_key, table_key

_clients: dict[str, Any] = {}
ROW_KEY = "item"


def reset() -> None:
    """Forget cached clients (tests switch emulators)."""
    _clients.clear()


def credential():
    if "credential" not in _clients:
        if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
            from azure.identity import ManagedIdentityCredential

            _clients["credential"] = ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID"))
        else:
            from azure.identity import DefaultAzureCredential

            _clients["credential"] = DefaultAzureCredential()
    return _clients["credential"]


def _connection_string() -> str | None:
    return os.environ.get("DEPLOYER_AZURE_CONNECTION_STRING") or None


def _account_url(service: str) -> str:
    account = os.environ.get("DEPLOYER_AZURE_STORAGE_ACCOUNT")
    if not account:
        raise RuntimeError("DEPLOYER_AZURE_STORAGE_ACCOUNT is not set; the Azure provider sets it on every function")
    return f"https://{account}.{service}.core.windows.net"


def is_url(locator: str) -> bool:
    """Whether a locator is a store's URL (an existing store in an account of its own)."""
    return "://" in locator


def _by_url(kind: str, url: str, make):
    key = f"{kind}:{url}"
    if key not in _clients:
        _clients[key] = make()
    return _clients[key]


def blob_service():
    if "blob" not in _clients:
        from azure.storage.blob import BlobServiceClient

        cs = _connection_string()
        _clients["blob"] = BlobServiceClient.from_connection_string(cs) if cs else \
            BlobServiceClient(_account_url("blob"), credential=credential())
    return _clients["blob"]


def table_service():
    if "table" not in _clients:
        from azure.data.tables import TableServiceClient

        cs = _connection_string()
        _clients["table"] = TableServiceClient.from_connection_string(cs) if cs else \
            TableServiceClient(_account_url("table"), credential=credential())
    return _clients["table"]


def queue_client(locator: str):
    """A queue of the stage's account by name, or any account's by URL."""
    key = "queue:" + locator
    if key not in _clients:
        from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient

        policies = {"message_encode_policy": BinaryBase64EncodePolicy(),
                    "message_decode_policy": BinaryBase64DecodePolicy()}
        cs = _connection_string()
        if is_url(locator):
            _clients[key] = QueueClient.from_queue_url(locator, credential=credential(), **policies)
        elif cs:
            _clients[key] = QueueClient.from_connection_string(cs, locator, **policies)
        else:
            _clients[key] = QueueClient(_account_url("queue"), locator, credential=credential(), **policies)
    return _clients[key]


def servicebus(host: str | None = None):
    """The stage's Service Bus client, or (host) the client of an existing topic's namespace."""
    from azure.servicebus import ServiceBusClient

    if host:
        return _by_url("servicebus", host, lambda: ServiceBusClient(host, credential=credential()))
    if "servicebus" not in _clients:
        target = os.environ.get("DEPLOYER_AZURE_SERVICEBUS", "")
        if target.startswith("Endpoint="):
            _clients["servicebus"] = ServiceBusClient.from_connection_string(target)
        elif target:
            _clients["servicebus"] = ServiceBusClient(target, credential=credential())
        else:
            raise RuntimeError("DEPLOYER_AZURE_SERVICEBUS is not set; the Azure provider sets it for topics")
    return _clients["servicebus"]


class Bucket:
    def __init__(self, name: str, locator: str):
        self.name, self.container = name, locator

    def _container(self):
        if is_url(self.container):
            from azure.storage.blob import ContainerClient

            return _by_url("container", self.container,
                           lambda: ContainerClient.from_container_url(self.container, credential=credential()))
        return blob_service().get_container_client(self.container)

    def put(self, key: str, data: bytes) -> None:
        key = object_key(key)
        self._container().upload_blob(key, bytes(data), overwrite=True)

    def get(self, key: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        key = object_key(key)
        try:
            return self._container().download_blob(key).readall()
        except ResourceNotFoundError:
            return None

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        key = object_key(key)
        try:
            self._container().delete_blob(key)
        except ResourceNotFoundError:
            pass

    def list(self, prefix: str = "") -> list[str]:
        return sorted(self._container().list_blob_names(name_starts_with=prefix or None))


_FORBIDDEN = re.compile(r"[%/\\#?\x00-\x1f\x7f-\x9f]")


def entity_key(key: str) -> str:
    return _FORBIDDEN.sub(lambda m: "%{:02X}".format(ord(m.group())), key)


def _upper_bound(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Table:
    def __init__(self, name: str, locator: str, key: str = "id"):
        self.name, self.table, self.key = name, locator, key

    def _client(self):
        if is_url(self.table):
            from azure.data.tables import TableClient

            return _by_url("table", self.table, lambda: TableClient.from_table_url(self.table, credential=credential()))
        return table_service().get_table_client(self.table)

    def put(self, key: str, item: dict) -> None:
        partition = entity_key(table_key(key))
        entity = {"PartitionKey": partition, "RowKey": ROW_KEY, "item": json.dumps({**item, self.key: key})}
        self._client().upsert_entity(entity, mode="replace")

    def get(self, key: str) -> dict | None:
        from azure.core.exceptions import ResourceNotFoundError

        partition = entity_key(table_key(key))
        try:
            entity = self._client().get_entity(partition, ROW_KEY)
        except ResourceNotFoundError:
            return None
        return json.loads(entity["item"])

    def delete(self, key: str) -> None:
        partition = entity_key(table_key(key))
        self._client().delete_entity(partition, ROW_KEY)  # absent: no error

    def scan(self, prefix: str = "") -> list[dict]:
        client = self._client()
        if prefix:
            low = entity_key(prefix)
            entities = client.query_entities("PartitionKey ge @low and PartitionKey lt @high",
                                             parameters={"low": low, "high": _upper_bound(low)})
        else:
            entities = client.list_entities()
        items = [json.loads(e["item"]) for e in entities if "item" in e]
        return sorted(items, key=lambda item: str(item.get(self.key, "")))


class Queue:
    def __init__(self, name: str, locator: str):
        self.name, self.queue = name, locator

    def send(self, data: Any) -> str:
        return queue_client(self.queue).send_message(encode_message(data, "queue", self.name)).id


class Topic:
    def __init__(self, name: str, locator: str):
        self.name, self.topic, self.host = name, locator, None
        if is_url(locator):  # https://<namespace>.servicebus.windows.net/<topic>
            from urllib.parse import urlsplit

            parts = urlsplit(locator)
            self.host, self.topic = parts.hostname, parts.path.strip("/")

    def publish(self, data: Any) -> str:
        import uuid

        from azure.servicebus import ServiceBusMessage

        body = encode_message(data, "topic", self.name)
        message = ServiceBusMessage(body, message_id=uuid.uuid4().hex,
                                    content_type=None if isinstance(data, (bytes, bytearray)) else "application/json")
        with servicebus(self.host).get_topic_sender(self.topic) as sender:
            sender.send_messages(message)
        return message.message_id
