"""Store clients against real implementations: moto (AWS), gcp-storage-emulator (GCS), Azurite (Azure).

The same contract checks run on every cloud that has an emulator here, through
`deployer.runtime.stores` exactly as a handler reaches them (environment variables as the providers
set them). Firestore and Pub/Sub have no emulator that installs from PyPI, npm or Debian (the gcloud
CLI's are Java from Google's own repository), so their clients talk real gRPC to the in-process fakes of
tests/fixtures/gcp_fakes.py, which keep what went over the wire. Service Bus
has no emulator here: its messages are checked at a stand-in sender, and the Azure clients' identity
configuration is checked offline.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from fixtures.events.shimkit import OTHER_ACCOUNT, OTHER_KEY, azurite, azurite_other_urls, gcs_emulator, set_env, store_env
from fixtures.gcp_fakes import fake

from deployer.runtime import stores

AWS_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def moto(monkeypatch):
    mock_aws = pytest.importorskip("moto").mock_aws
    set_env(monkeypatch, AWS_ENV)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from deployer.runtime.clients import aws

    aws.reset()
    with mock_aws():
        import boto3

        yield boto3
    aws.reset()


@pytest.fixture
def azure_storage(monkeypatch):
    try:
        conn = azurite()
    except FileNotFoundError:
        pytest.skip("Azurite needs node and `npm install --prefix .tools azurite@3` (scripts/test-tools.sh)")
    monkeypatch.setenv("DEPLOYER_AZURE_CONNECTION_STRING", conn)
    from deployer.runtime.clients import azure

    azure.reset()
    yield conn
    azure.reset()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def gcloud(name: str, monkeypatch):
    """The fake Firestore or Pub/Sub service, with the SDK pointed at it as at an emulator."""
    server = fake(name)
    monkeypatch.setenv(f"{name.upper()}_EMULATOR_HOST", server.host)
    monkeypatch.setenv("DEPLOYER_GCP_PROJECT", "portable-demo")
    from deployer.runtime.clients import gcp

    gcp.reset()
    return server


@pytest.fixture(params=["aws", "gcp", "azure"])
def bucket(request, monkeypatch):
    name = unique("bkt-")
    if request.param == "aws":
        request.getfixturevalue("moto").client("s3").create_bucket(Bucket=name)
    elif request.param == "gcp":
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator())
        monkeypatch.setenv("DEPLOYER_GCP_PROJECT", "portable-demo")
        from google.cloud import storage

        from deployer.runtime.clients import gcp

        gcp.reset()
        storage.Client(project="portable-demo").create_bucket(name)
    else:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(request.getfixturevalue("azure_storage")).create_container(name)
    set_env(monkeypatch, store_env(request.param, uploads=name))
    return stores.bucket("uploads")


def test_bucket_contract(bucket):
    assert bucket.get("missing/key") is None
    bucket.put("incoming/a b.jpg", b"\x00\xffjpeg")
    bucket.put("incoming/z.txt", b"z")
    bucket.put("other/x", b"x")
    bucket.put("incoming/z.txt", b"zz")  # overwrite
    assert bucket.get("incoming/a b.jpg") == b"\x00\xffjpeg"
    assert bucket.get("incoming/z.txt") == b"zz"
    assert bucket.list("incoming/") == ["incoming/a b.jpg", "incoming/z.txt"]
    assert bucket.list() == ["incoming/a b.jpg", "incoming/z.txt", "other/x"]
    bucket.delete("incoming/z.txt")
    bucket.delete("incoming/never-there")
    assert bucket.get("incoming/z.txt") is None and bucket.list("incoming/") == ["incoming/a b.jpg"]


@pytest.fixture(params=["aws", "gcp", "azure"])
def table(request, monkeypatch):
    name = unique("tbl")
    if request.param == "gcp":
        gcloud("firestore", monkeypatch)  # collections need no creation
    elif request.param == "aws":
        request.getfixturevalue("moto").client("dynamodb").create_table(
            TableName=name, KeySchema=[{"AttributeName": "device", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "device", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    else:
        from azure.data.tables import TableServiceClient

        TableServiceClient.from_connection_string(request.getfixturevalue("azure_storage")).create_table(name)
    set_env(monkeypatch, {**store_env(request.param, metrics=name), "DEPLOYER_KEY_METRICS": "device"})
    return stores.table("metrics")


def test_table_contract(table):
    assert table.get("dev-1") is None
    item = {"count": 3, "max": 81.5, "last": 79, "tags": ["a", "b"], "meta": {"ok": True, "ratio": 0.25},
            "note": None}
    table.put("dev-1", item)
    table.put("dev-2", {"count": 1})
    table.put("room/7#a?", {"count": 2})  # characters some stores forbid in keys
    table.put("other", {"count": 0})
    assert table.get("dev-1") == {**item, "device": "dev-1"}
    assert isinstance(table.get("dev-1")["count"], int) and isinstance(table.get("dev-1")["max"], float)
    assert table.get("room/7#a?") == {"count": 2, "device": "room/7#a?"}
    assert [i["device"] for i in table.scan("dev-")] == ["dev-1", "dev-2"]
    assert [i["device"] for i in table.scan()] == ["dev-1", "dev-2", "other", "room/7#a?"]
    table.put("dev-2", {"count": 5})
    assert table.get("dev-2") == {"count": 5, "device": "dev-2"}
    table.delete("dev-2")
    table.delete("never-there")
    assert table.get("dev-2") is None and [i["device"] for i in table.scan("dev")] == ["dev-1"]


def test_aws_queue_and_topic(moto, monkeypatch):
    sqs, sns = moto.client("sqs"), moto.client("sns")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    arn = sns.create_topic(Name="events")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    set_env(monkeypatch, store_env("aws", jobs=url, events=arn))
    stores.queue("jobs").send({"order": 7})
    stores.topic("events").publish({"type": "order.created"})
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    assert json.loads(body) == {"order": 7}
    assert json.loads(sqs.receive_message(QueueUrl=inbox)["Messages"][0]["Body"]) == {"type": "order.created"}


def test_gcp_queue_and_topic_publish_to_pubsub(monkeypatch):
    pubsub = gcloud("pubsub", monkeypatch)
    jobs, events = f"projects/portable-demo/topics/{unique('jobs-')}", f"projects/portable-demo/topics/{unique('ev-')}"
    set_env(monkeypatch, store_env("gcp", jobs=jobs, events=events))
    message_id = stores.queue("jobs").send({"order": 7})
    stores.topic("events").publish(b"\xff\x00")
    sent = [(topic, data, attributes) for topic, data, attributes in pubsub.published if topic in (jobs, events)]
    assert sent == [(jobs, b'{"order": 7}', {}), (events, b"\xff\x00", {})]
    assert message_id == str(pubsub.published.index((jobs, b'{"order": 7}', {})) + 1)  # the id the service gave


def test_azure_queue_messages_are_base64_as_the_functions_trigger_expects(azure_storage, monkeypatch):
    from azure.storage.queue import QueueClient

    name = unique("jobs-")
    raw = QueueClient.from_connection_string(azure_storage, name)
    raw.create_queue()
    set_env(monkeypatch, store_env("azure", jobs=name))
    stores.queue("jobs").send({"order": 7})
    stores.queue("jobs").send(b"\xff\x00")
    texts = [m.content for m in raw.receive_messages(messages_per_page=10)]
    assert [base64.b64decode(t) for t in texts] == [b'{"order": 7}', b"\xff\x00"]


def test_azure_existing_stores_in_another_account_are_reached_by_url(azure_storage, monkeypatch):
    """Stores that already exist live in an account of their own (Azurite's second account here): the
    locator is their URL, opened with the credential, while the stage's stores keep the connection."""
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    from deployer.runtime.clients import azure

    other, key = azurite_other_urls(), AzureNamedKeyCredential(OTHER_ACCOUNT, OTHER_KEY)
    container, table, queue = unique("uploads-"), unique("customers"), unique("jobs-")
    BlobServiceClient(other["blob"], credential=key).create_container(container)
    TableServiceClient(endpoint=other["table"], credential=key).create_table(table)
    raw = QueueServiceClient(other["queue"], credential=key).create_queue(queue)
    own = unique("own-")
    BlobServiceClient.from_connection_string(azure_storage).create_container(own)
    azure._clients["credential"] = key  # what the function's identity is on Azure
    set_env(monkeypatch, store_env("azure", uploads=f"{other['blob']}/{container}", own=own,
                                   customers=f"{other['table']}/{table}", jobs=f"{other['queue']}/{queue}"))
    monkeypatch.setenv("DEPLOYER_KEY_CUSTOMERS", "id")
    stores.bucket("uploads").put("a/b.txt", b"kept")
    stores.bucket("own").put("mine.txt", b"own")
    stores.table("customers").put("c1", {"name": "Ada"})
    stores.queue("jobs").send({"order": 7})
    assert BlobServiceClient(other["blob"], credential=key).get_container_client(container).download_blob(
        "a/b.txt").readall() == b"kept"
    assert stores.bucket("uploads").list() == ["a/b.txt"] and stores.bucket("own").list() == ["mine.txt"]
    assert [c.name for c in BlobServiceClient.from_connection_string(azure_storage).list_containers()
            if c.name == container] == []  # not in the stage's account
    assert stores.table("customers").get("c1") == {"name": "Ada", "id": "c1"}
    assert [base64.b64decode(m.content) for m in raw.receive_messages()] == [b'{"order": 7}']


def test_azure_existing_topic_publishes_through_its_own_namespace(monkeypatch):
    from deployer.runtime.clients import azure

    azure.reset()
    monkeypatch.delenv("DEPLOYER_AZURE_SERVICEBUS", raising=False)  # the stage has no namespace
    bus = azure._clients["servicebus:company-bus.servicebus.windows.net"] = FakeBus()
    set_env(monkeypatch, store_env("azure", events="https://company-bus.servicebus.windows.net/company-events"))
    stores.topic("events").publish({"type": "order.created"})
    assert [(topic, b"".join(m.body)) for topic, m in bus.sent] == [("company-events", b'{"type": "order.created"}')]
    azure.reset()


def test_missing_store_names_the_fix(monkeypatch):
    monkeypatch.setenv("DEPLOYER_CLOUD", "aws")
    with pytest.raises(stores.StoreNotAvailable, match="add it to the function's `uses`"):
        stores.bucket("nowhere")


class FakeSender:
    """Stands in for a Service Bus topic sender (no emulator here); keeps the real messages it is given."""

    def __init__(self, topic, sent):
        self.topic, self.sent = topic, sent

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_messages(self, message):
        self.sent.append((self.topic, message))


class FakeBus:
    def __init__(self):
        self.sent = []

    def get_topic_sender(self, topic):
        return FakeSender(topic, self.sent)


def test_azure_topic_builds_service_bus_messages(monkeypatch):
    from deployer.runtime.clients import azure

    azure.reset()
    bus = azure._clients["servicebus"] = FakeBus()
    set_env(monkeypatch, store_env("azure", events="orders-dev-events"))
    message_id = stores.topic("events").publish({"type": "order.created"})
    stores.topic("events").publish(b"\x00raw")
    (topic, first), (_, second) = bus.sent
    assert topic == "orders-dev-events" and first.message_id == message_id
    assert b"".join(first.body) == b'{"type": "order.created"}' and first.content_type == "application/json"
    assert b"".join(second.body) == b"\x00raw" and second.content_type is None
    azure.reset()


def test_azure_clients_use_the_managed_identity_without_a_connection_string(monkeypatch):
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    from deployer.runtime.clients import azure

    monkeypatch.delenv("DEPLOYER_AZURE_CONNECTION_STRING", raising=False)
    set_env(monkeypatch, {"DEPLOYER_AZURE_STORAGE_ACCOUNT": "ordersdev",
                          "DEPLOYER_AZURE_SERVICEBUS": "orders-dev.servicebus.windows.net"})
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    azure.reset()
    assert isinstance(azure.credential(), DefaultAzureCredential)
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://localhost:8081/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "secret-header")
    azure.reset()
    assert isinstance(azure.credential(), ManagedIdentityCredential)
    assert azure.blob_service().url.startswith("https://ordersdev.blob.core.windows.net")
    assert azure.queue_client("jobs").url == "https://ordersdev.queue.core.windows.net/jobs"
    assert azure.table_service().url.startswith("https://ordersdev.table.core.windows.net")
    assert azure.servicebus().fully_qualified_namespace == "orders-dev.servicebus.windows.net"
    # an existing store: its own account or namespace, by URL, with the same identity
    assert azure.queue_client("https://companydata.queue.core.windows.net/jobs").url == \
        "https://companydata.queue.core.windows.net/jobs"
    assert azure.servicebus("company-bus.servicebus.windows.net").fully_qualified_namespace == \
        "company-bus.servicebus.windows.net"
    azure.reset()
    monkeypatch.setenv("DEPLOYER_AZURE_SERVICEBUS", "Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;"
                                                    "SharedAccessKey=v;UseDevelopmentEmulator=true")
    assert azure.servicebus().fully_qualified_namespace == "127.0.0.1"
    azure.reset()
