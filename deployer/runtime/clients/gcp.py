"""GCP store clients: Cloud Storage buckets, Firestore collections as tables, Pub/Sub for queues and topics.

Each SDK (google-cloud-storage, google-cloud-firestore, google-cloud-pubsub) is imported on first use
and its client kept for the life of the instance; `deployer.bundle.client_requirements` adds the ones a
function needs to its requirements. The project comes from DEPLOYER_GCP_PROJECT (else the SDK's own
discovery). A table's locator is either a collection of the app's own Firestore database, whose id is
in DEPLOYER_GCP_DATABASE, or (an existing table) the collection's full path
`projects/P/databases/D/documents/C`, which names its own project and database; one client is kept per
(project, database). The SDKs honour their own emulator variables: STORAGE_EMULATOR_HOST,
FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST.

A queue is a Pub/Sub topic with a push subscription (see the GCP shim), so `send` and `publish` are
the same call. Firestore document ids may not contain `/`: keys are stored percent-encoded (`/` and
`%`, plus the ids Firestore reserves: `.`, `..`, `__...__`), and the key attribute is kept in the
document too, so `scan(prefix)` is a range query on it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from deployer.runtime.messages import encode_message
from deployer.runtime.types import object_key, table_key

_clients: dict[Any, Any] = {}
PUBLISH_TIMEOUT = 30.0
COLLECTION_PATH = re.compile(r"projects/(?P<project>[^/]+)/databases/(?P<database>[^/]+)/documents/(?P<collection>[^/]+)")


def _project() -> str | None:
    return os.environ.get("DEPLOYER_GCP_PROJECT") or None


def storage_client():
    if "storage" not in _clients:
        from google.cloud import storage

        _clients["storage"] = storage.Client(project=_project())
    return _clients["storage"]


def firestore_client(project: str | None = None, database: str | None = None):
    """The client of one database: the app's own (DEPLOYER_GCP_DATABASE) unless one is named."""
    project = project or _project()
    database = database or os.environ.get("DEPLOYER_GCP_DATABASE") or "(default)"
    key = ("firestore", project, database)
    if key not in _clients:
        from google.cloud import firestore

        _clients[key] = firestore.Client(project=project, database=database)
    return _clients[key]


def publisher():
    if "pubsub" not in _clients:
        from google.cloud import pubsub_v1

        _clients["pubsub"] = pubsub_v1.PublisherClient()
    return _clients["pubsub"]


def reset() -> None:
    """Forget cached clients (tests switch emulators)."""
    _clients.clear()


class Bucket:
    def __init__(self, name: str, locator: str):
        self.name, self.bucket = name, locator

    def _blob(self, key: str):
        key = object_key(key)
        return storage_client().bucket(self.bucket).blob(key)

    def put(self, key: str, data: bytes) -> None:
        self._blob(key).upload_from_string(bytes(data), content_type="application/octet-stream")

    def get(self, key: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            return self._blob(key).download_as_bytes()
        except NotFound:
            return None

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        try:
            self._blob(key).delete()
        except NotFound:
            pass

    def list(self, prefix: str = "") -> list[str]:
        return sorted(b.name for b in storage_client().list_blobs(self.bucket, prefix=prefix or None))


def document_id(key: str) -> str:
    """The Firestore document id of a table key (injective: `%` is always escaped): `/` and `%` escaped,
    and the ids Firestore reserves (`.`, `..`, `__...__`) escaped too."""
    doc = table_key(key).replace("%", "%25").replace("/", "%2F")
    if doc in (".", ".."):
        return doc.replace(".", "%2E")
    if len(doc) >= 4 and doc.startswith("__") and doc.endswith("__"):
        return "%5F" + doc[1:]
    return doc


class Table:
    def __init__(self, name: str, locator: str, key: str = "id"):
        self.name, self.key = name, key
        path = COLLECTION_PATH.fullmatch(locator)
        self.project, self.database, self.collection = path.groups() if path else (None, None, locator)

    def _collection(self):
        return firestore_client(self.project, self.database).collection(self.collection)

    def _doc(self, key: str):
        doc = document_id(key)  # a bad key is refused before any client is made
        return self._collection().document(doc)

    def put(self, key: str, item: dict) -> None:
        self._doc(key).set({**item, self.key: key})

    def get(self, key: str) -> dict | None:
        snapshot = self._doc(key).get()
        return snapshot.to_dict() if snapshot.exists else None

    def delete(self, key: str) -> None:
        self._doc(key).delete()

    def scan(self, prefix: str = "") -> list[dict]:
        query = self._collection()
        if prefix:
            from google.cloud.firestore_v1.base_query import FieldFilter

            query = query.where(filter=FieldFilter(self.key, ">=", prefix)) \
                .where(filter=FieldFilter(self.key, "<", prefix + "\uf8ff"))
        items = [snap.to_dict() for snap in query.stream()]
        return sorted(items, key=lambda item: str(item.get(self.key, "")))


class Topic:
    def __init__(self, name: str, locator: str):
        self.name, self.topic = name, locator

    def publish(self, data: Any) -> str:
        return self._publish(encode_message(data, "topic", self.name))

    def _publish(self, raw: bytes) -> str:
        return publisher().publish(self.topic, raw).result(timeout=PUBLISH_TIMEOUT)


class Queue(Topic):
    def send(self, data: Any) -> str:
        return self._publish(encode_message(data, "queue", self.name))
