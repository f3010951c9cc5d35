"""The portable message size limit (deployer/runtime/messages.py): every cloud's client refuses the same
payloads on `send` and `publish`, with the same clear error, before anything leaves the function; the
local cloud does it end to end (the handler sees the error, nothing is queued), dead-letters oversize rows
left from before, and a worker reads a large frame in linear time."""

from __future__ import annotations

import base64
import socket
import sqlite3
import struct
import threading
import time
import uuid

import httpx
import pytest
from fixtures.events.shimkit import set_env, store_env
from test_local_helpers import Stage, wait_for, write_blueprint
from test_runtime_clients import azure_storage, moto  # noqa: F401 - fixtures shared with the client tests

from deployer.runtime import MAX_MESSAGE_BYTES, MessageTooLarge, stores

LIMIT = 48 * 1024


def test_the_limit_is_what_an_azure_storage_queue_carries_after_base64():
    assert MAX_MESSAGE_BYTES == LIMIT
    assert len(base64.b64encode(b"\xff" * LIMIT)) == 64 * 1024  # Azure Storage queues: 64 KiB a message


def check_refused(send, sent: list) -> None:
    """send(payload) refuses one byte over the limit (bytes) and a JSON payload over it; nothing is sent."""
    before = len(sent)
    with pytest.raises(MessageTooLarge, match=r"the message is 49,153 bytes, more than 49,152 bytes \(48 KiB\)"):
        send(b"\xff" * (LIMIT + 1))
    with pytest.raises(MessageTooLarge, match="put the payload in a bucket and send its key instead"):
        send({"text": "x" * LIMIT})
    assert len(sent) == before
    send(b"\xff" * LIMIT)  # exactly the limit goes through
    assert len(sent) == before + 1


def test_local_client(tmp_path, monkeypatch):
    from deployer.runtime.clients import local

    monkeypatch.setenv("DEPLOYER_LOCAL_STATE", str(tmp_path))
    set_env(monkeypatch, store_env("local", jobs="jobs", events="events"))
    conn = local.queues_db()
    conn.execute("INSERT INTO subscriptions VALUES ('events', 't:events:f')")

    class Rows(list):
        def __len__(self):
            return conn.execute("SELECT count(*) FROM messages").fetchone()[0]

    rows = Rows()
    check_refused(stores.queue("jobs").send, rows)
    with pytest.raises(MessageTooLarge, match="cannot publish to topic 'events'"):
        stores.topic("events").publish(b"x" * (LIMIT + 1))


def test_aws_clients(moto, monkeypatch):
    sqs, sns = moto.client("sqs"), moto.client("sns")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    arn = sns.create_topic(Name="events")["TopicArn"]
    set_env(monkeypatch, store_env("aws", jobs=url, events=arn))
    sent: list = []

    def send(data):
        sent.append(stores.queue("jobs").send(data))

    check_refused(send, sent)
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    assert base64.b64decode(body) == b"\xff" * LIMIT  # not UTF-8: base64, 64 KiB on the wire
    with pytest.raises(MessageTooLarge, match="cannot publish to topic 'events'"):
        stores.topic("events").publish("x" * LIMIT)  # a JSON string: two quotes over


class FakePublisher:
    """Stands in for Pub/Sub's PublisherClient: keeps what it is asked to publish."""

    def __init__(self):
        self.sent = []

    def publish(self, topic, data):
        self.sent.append((topic, data))

        class Done:
            def result(self, timeout=None):
                return "id"

        return Done()


def test_gcp_clients(monkeypatch):
    from deployer.runtime.clients import gcp

    gcp.reset()
    fake = gcp._clients["pubsub"] = FakePublisher()
    set_env(monkeypatch, store_env("gcp", jobs="projects/p/topics/jobs", events="projects/p/topics/events"))
    check_refused(stores.queue("jobs").send, fake.sent)
    check_refused(stores.topic("events").publish, fake.sent)
    gcp.reset()


class FakeBus:
    def __init__(self):
        self.sent = []

    def get_topic_sender(self, topic):
        bus = self

        class Sender:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def send_messages(self, message):
                bus.sent.append(message)

        return Sender()


def test_azure_topic_client(monkeypatch):
    from deployer.runtime.clients import azure

    azure.reset()
    bus = azure._clients["servicebus"] = FakeBus()
    set_env(monkeypatch, store_env("azure", events="orders-dev-events"))
    check_refused(stores.topic("events").publish, bus.sent)
    azure.reset()


def test_azure_queue_client_against_azurite(monkeypatch, azure_storage):
    from azure.storage.queue import QueueClient

    name = f"jobs-{uuid.uuid4().hex[:10]}"
    raw = QueueClient.from_connection_string(azure_storage, name)
    raw.create_queue()
    set_env(monkeypatch, store_env("azure", jobs=name))
    sent: list = []

    def send(data):
        sent.append(stores.queue("jobs").send(data))

    check_refused(send, sent)
    (message,) = list(raw.receive_messages(messages_per_page=10))
    assert base64.b64decode(message.content) == b"\xff" * LIMIT  # the largest payload Azure carries


# -- the local cloud, end to end -----------------------------------------------------------------------

BLUEPRINT = """
name: sizes
stores:
  jobs: {kind: queue, retries: 1}
  got: {kind: table}
functions:
  web:
    code: fn
    handler: main.web
    uses: {jobs: publish}
    triggers:
      - http: "POST /send/{n}"
      - http: GET /ping
  work:
    code: fn
    handler: main.work
    uses: {got: write}
    triggers: [{queue: jobs}]
"""
CODE = '''
from deployer.runtime import MessageTooLarge, Response, stores

def web(request):
    if request.path == "/ping":
        return "pong"
    n = int(request.params["n"])
    try:
        stores.queue("jobs").send(b"m" * n)
    except MessageTooLarge as exc:
        return Response(413, {"error": str(exc)})
    return "sent"

def work(message):
    stores.table("got").put(str(len(message.data)), {"n": len(message.data)})
'''


@pytest.mark.slow
def test_the_local_cloud_refuses_oversize_sends_and_dead_letters_old_oversize_rows(tmp_path):
    file = write_blueprint(tmp_path, BLUEPRINT, {"fn/main.py": CODE})
    stage = Stage(file)
    stage.state.mkdir(parents=True)
    from deployer.runtime.clients import local

    conn = sqlite3.connect(stage.state / "queues.db")
    conn.executescript(local.SCHEMA)  # a 2 MB row from before the limit was enforced
    conn.execute("INSERT INTO messages (queue, msg_id, data, created) VALUES ('q:jobs', 'big', ?, ?)",
                 (b"b" * (2 << 20), time.time()))
    conn.commit()
    conn.close()
    stage.start()
    try:
        refused = httpx.post(f"{stage.url}/send/{LIMIT + 1}")
        assert refused.status_code == 413
        assert "cannot send to queue 'jobs': the message is 49,153 bytes" in refused.json()["error"]
        assert httpx.post(f"{stage.url}/send/{LIMIT}").text == "sent"
        wait_for(lambda: str(LIMIT) in stage.table("got"), what="the message at the limit")
        assert str(2 << 20) not in stage.table("got")
        dead = stage.dead_letters()
        assert [(q, m) for q, m, *_ in dead] == [("q:jobs", "big")] and "MessageTooLarge" in dead[0][3]
        assert "dead-lettered 1 pending message(s) larger than" in (stage.state / "cloud.log").read_text()
        wait_for(lambda: stage.pending() == 0, what="the delivered row to be deleted")
    finally:
        stage.stop()


def test_a_worker_reads_a_large_frame_whole_and_keeps_what_follows():
    from providers.local.worker import read_frame

    header = struct.Struct("!I")
    big, small = b"x" * (8 << 20), b"after"
    a, b = socket.socketpair()
    writer = threading.Thread(target=lambda: a.sendall(header.pack(len(big)) + big + header.pack(len(small)) + small))
    writer.start()
    buf = bytearray()
    assert bytes(read_frame(b, buf)) == big
    assert bytes(read_frame(b, buf)) == small
    writer.join()
    a.close()
    assert read_frame(b, buf) is None
    b.close()


def test_invoke_refuses_a_message_no_cloud_would_deliver():
    from deployer.blueprint.model import QueueTrigger
    from deployer.errors import UsageError
    from providers.local.invoke import build

    kind, payload = build(QueueTrigger(queue="jobs"), "m" * LIMIT)  # a plain string: sent as it is
    assert kind == "messages" and len(payload["items"][0]["data"]) == LIMIT
    with pytest.raises(UsageError, match="--data is 49,153 bytes, more than 49,152 bytes"):
        build(QueueTrigger(queue="jobs"), "m" * (LIMIT + 1))
