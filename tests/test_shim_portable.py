"""One portable handler module (fixtures/events/portable/code/portable_app.py), unchanged, behind the
AWS, GCP and Azure shims and the local cloud: every scenario must give the same portable view and the
same answer on every cloud. The local cloud's HTTP leg is the real thing (its daemon, gateway and worker
processes, over HTTP), so its routing, query parsing and error answers are checked too; its event legs
use the worker's in-process runner.

Each cloud's adapter turns a scenario into that cloud's native input (API Gateway 2.0 events from the
SAM template, functions-framework requests and CloudEvents, azure.functions objects from the worker's
converters) and the native answer back into (status, content type, body) or "did it fail".
The HTTP function's bucket is real per cloud: moto S3, gcp-storage-emulator, Azurite.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import time
import uuid

import httpx
import pytest
from fixtures.events.shimkit import PORTABLE, azurite, build_package, gcs_emulator, load_portable, load_shim
from fixtures.events.shimkit import portable_module
from fixtures.events.shimkit import sam_event, store_env

from deployer.runtime.invoke import match_path

FUNCTIONS = ("api", "worker", "listener", "files", "tick")
CLOUDS = ("aws", "gcp", "azure")


class _Logged(logging.Handler):
    """Collects the handler exceptions the runtime logs (`deployer.runtime`, with their exc_info)."""

    def __init__(self):
        super().__init__()
        self.errors: list[str] = []

    def emit(self, record):
        if record.exc_info:
            self.errors.append(f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}")


def outcome(adapter, call, failed) -> str:
    """Run `call` under the cloud's env: "ok", or the HANDLER's exception as "Type: text".

    `failed(answer)` reads the platform's native answer ("this message failed?"); a raise counts as the
    platform being told of a failure. The failure must be the handler's own (the runtime logged it): a
    shim that crashes before, after or instead of the handler is an error of the test, never the
    expected failure, and so is a handler failure the platform is not told of.
    """
    logged = _Logged()
    logger = logging.getLogger("deployer.runtime")
    logger.addHandler(logged)
    try:
        with adapter:
            try:
                platform_failed = failed(call())
            except RuntimeError as exc:  # the shims' way of telling the platform "this message failed"
                if not logged.errors or "see the log above" not in str(exc):
                    raise  # a crash of the shim, not the handler's failure reported to the platform
                platform_failed = True
    finally:
        logger.removeHandler(logged)
    assert platform_failed == bool(logged.errors), \
        f"{adapter.cloud}: platform told failed={platform_failed}, handler errors {logged.errors}"
    return logged.errors[-1] if logged.errors else "ok"


class Adapter:
    """Common part: one package per function, the cloud's env applied around each invocation."""

    cloud = ""

    def __init__(self, tmp, bp, env):
        self.env = {**store_env(self.cloud), **env}
        self.packages = {fn: build_package(tmp, fn, self.cloud, bp) for fn in FUNCTIONS}
        self.routes = [(t["http"] if isinstance(t["http"], str) else f"{t['http']['method']} {t['http']['path']}")
                       for t in json.loads((self.packages["api"] / "deployer_function.json").read_text())["triggers"]]

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Aws(Adapter):
    cloud = "aws"

    def __init__(self, tmp, bp, env):
        super().__init__(tmp, bp, env)
        self.shims = {fn: load_shim(p) for fn, p in self.packages.items()}

    class Context:
        aws_request_id = "aws-req-1"

        def get_remaining_time_in_millis(self):
            return 9000

    def http(self, method, path, body=b"", headers=None, query=""):
        event = sam_event("HttpApi", method=method, path=path.lstrip("/"), body="")
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        cookies = headers.pop("cookie", None)  # API Gateway 2.0 moves the Cookie header into `cookies`
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True, rawQueryString=query,
                     headers=headers, cookies=cookies.split("; ") if cookies else [])
        for route in self.routes:  # what API Gateway does with one route per blueprint trigger
            route_method, template = route.split(" ", 1)
            params = match_path(template, path)
            if params is not None and route_method == method:
                event["routeKey"], event["pathParameters"] = route, params
        with self:
            answer = self.shims["api"].handler(event, self.Context())
        data = base64.b64decode(answer["body"]) if answer["isBase64Encoded"] else answer["body"].encode()
        return answer["statusCode"], answer["headers"].get("Content-Type"), data

    def message(self, function, msg_id, data: bytes, attempt):
        if function == "worker":
            record = sam_event("Sqs", body=data.decode(), queue_name="jobs")["Records"][0]
            record["messageId"], record["attributes"]["ApproximateReceiveCount"] = msg_id, str(attempt)

            def failed(answer):
                assert answer["batchItemFailures"] in ([], [{"itemIdentifier": msg_id}]), answer
                return answer["batchItemFailures"] != []
            return outcome(self, lambda: self.shims["worker"].handler({"Records": [record]}, self.Context()), failed)
        event = sam_event("Sns", topic="events", subject="", message=data.decode())
        event["Records"][0]["Sns"]["MessageId"] = msg_id
        event["Records"][0]["Sns"]["MessageAttributes"] = {"origin": {"Type": "String", "Value": "api"}}
        return outcome(self, lambda: self.shims["listener"].handler(event, self.Context()), lambda answer: False)

    def object(self, kind, key, size, when):
        name = "S3Put" if kind == "created" else "S3Delete"
        event = sam_event(name, bucket=self.env["DEPLOYER_STORE_UPLOADS"], key=key)
        event["Records"][0]["eventTime"] = when
        event["Records"][0]["s3"]["object"]["size"] = size
        with self:
            self.shims["files"].handler(event, self.Context())

    def schedule(self, expression, when):
        with self:
            self.shims["tick"].handler({"deployer": "schedule", "schedule": expression, "time": when}, self.Context())


class Gcp(Adapter):
    """Pub/Sub push and Cloud Scheduler post to the shim's own paths with an OIDC token of the function's
    invoker account, signed here with a key whose certificate a local certs endpoint serves."""

    cloud = "gcp"
    INVOKER = "portable-dev-inv@portable-demo.iam.gserviceaccount.com"

    def __init__(self, tmp, bp, env):
        import functions_framework
        import gcp_oidc

        key, cert = gcp_oidc.keys("google")["google"]
        self._certs = gcp_oidc.certs_server({"k1": cert})
        env = {**env, "DEPLOYER_GCP_INVOKER": self.INVOKER, "DEPLOYER_GCP_CERTS_URL": self._certs.__enter__()}
        self.token = gcp_oidc.sign(key, "k1", self.INVOKER)
        super().__init__(tmp, bp, env)
        target = {"listener": "event_entry", "files": "event_entry"}
        self.clients = {}
        for fn, package in self.packages.items():
            app = functions_framework.create_app(target.get(fn, "http_entry"), str(package / "deployer_shim.py"))
            app.config["PROPAGATE_EXCEPTIONS"] = True  # what the shim raises reaches the test, not a bare 500
            self.clients[fn] = app.test_client()

    def close(self) -> None:
        """Stop the certificates server now: left to the garbage collector at interpreter exit, its
        shutdown() waits forever for a serving thread that no longer runs (a failed run would hang)."""
        self._certs.__exit__(None, None, None)

    def http(self, method, path, body=b"", headers=None, query=""):
        headers = dict(headers or {})
        client = self.clients["api"]
        for pair in filter(None, headers.pop("Cookie", "").split("; ")):  # werkzeug's client owns Cookie
            client.set_cookie(*pair.split("=", 1))
        with self:
            answer = client.open(path, method=method, data=body, headers=headers, query_string=query)
        for pair in filter(None, (headers.get("Cookie") or "").split("; ")):
            client.delete_cookie(pair.split("=", 1)[0])
        return answer.status_code, answer.headers.get("Content-Type"), answer.data

    def message(self, function, msg_id, data: bytes, attempt):
        message = {"data": base64.b64encode(data).decode(), "messageId": msg_id, "attributes": {"origin": "api"},
                   "publishTime": "2026-11-23T08:00:00Z"}
        if function == "worker":
            call = lambda: self.clients["worker"].post(  # noqa: E731
                "/_deployer/push", headers={"Authorization": self.token},
                json={"message": message, "deliveryAttempt": attempt, "subscription": "projects/p/subscriptions/jobs"})
        else:
            call = lambda: self._event("listener", "google.cloud.pubsub.topic.v1.messagePublished",  # noqa: E731
                                       {"message": message, "subscription": "projects/p/subscriptions/s"})
        return outcome(self, call, self._failed)

    @staticmethod
    def _failed(answer) -> bool:
        """A push answered 204, or 500 with the shim's own body (a crash would answer Flask's 500 page)."""
        if 200 <= answer.status_code < 300:
            return False
        assert answer.status_code == 500 and answer.get_json()["error"] == "message failed", answer.data
        return True

    def _event(self, function, kind, data, time="2026-11-23T08:00:00Z"):
        headers = {"ce-specversion": "1.0", "ce-id": uuid.uuid4().hex, "ce-type": kind, "ce-time": time,
                   "ce-source": "//pubsub.googleapis.com/projects/p/topics/events"}
        return self.clients[function].post("/", data=json.dumps(data), headers=headers,
                                           content_type="application/json")

    def object(self, kind, key, size, when):
        bucket = self.env["DEPLOYER_STORE_UPLOADS"]
        data = {"kind": "storage#object", "bucket": bucket, "name": key, "size": str(size), "updated": when}
        with self:
            answer = self._event("files", f"google.cloud.storage.object.v1.{'finalized' if kind == 'created' else 'deleted'}",
                                 data, when)
        assert answer.status_code == 200

    def schedule(self, expression, when):
        with self:
            answer = self.clients["tick"].post("/_deployer/schedule", json={"deployer": "schedule", "schedule": expression},
                                               headers={"X-CloudScheduler-ScheduleTime": when, "Authorization": self.token})
        assert answer.status_code == 204


class Azure(Adapter):
    cloud = "azure"

    def __init__(self, tmp, bp, env):
        super().__init__(tmp, bp, env)
        self.shims = {fn: load_shim(p) for fn, p in self.packages.items()}

    class Context:
        def __init__(self, name):
            self.invocation_id, self.function_name = "azure-inv-1", name

    def http(self, method, path, body=b"", headers=None, query=""):
        from azure.functions import meta
        from azure.functions.http import HttpRequestConverter

        s = lambda v: meta.Datum(v, "string")  # noqa: E731
        url = f"https://portable.azurewebsites.net/api{path}" + (f"?{query}" if query else "")
        value = {"method": s(method), "url": s(url), "headers": {k: s(v) for k, v in (headers or {}).items()},
                 "query": {}, "params": {}, "body": meta.Datum(body, "bytes")}
        request = HttpRequestConverter.decode(meta.Datum(value, "http"), trigger_metadata={})
        with self:
            answer = self.shims["api"].http(request, self.Context("api"))
        return answer.status_code, answer.headers.get("Content-Type"), answer.get_body()

    def message(self, function, msg_id, data: bytes, attempt):
        from azure.functions import meta
        from azure.functions.queue import QueueMessageInConverter
        from azure.functions.servicebus import ServiceBusMessageInConverter

        s = lambda v: meta.Datum(v, "string")  # noqa: E731
        if function == "worker":
            msg = QueueMessageInConverter.decode(s(data.decode()), trigger_metadata={
                "Id": s(msg_id), "DequeueCount": meta.Datum(attempt, "int")})
            return outcome(self, lambda: self.shims["worker"].queue(msg, self.Context("worker")), lambda a: False)
        props = meta.Datum('{"origin": "api"}', "json")
        msg = ServiceBusMessageInConverter.decode(s(data.decode()), trigger_metadata={
            "MessageId": s(msg_id), "DeliveryCount": meta.Datum(attempt, "int"), "UserProperties": props,
            "ApplicationProperties": props})
        return outcome(self, lambda: self.shims["listener"].servicebus(msg, self.Context("listener")),
                       lambda answer: False)

    def object(self, kind, key, size, when):
        """Event Grid writes the storage event to the trigger's queue; the queueTrigger delivers it."""
        from azure.functions import meta
        from azure.functions.queue import QueueMessageInConverter

        container = self.env["DEPLOYER_STORE_UPLOADS"]
        data = {"api": "PutBlob", "contentLength": size} if kind == "created" else {"api": "DeleteBlob"}
        body = {"id": "e1", "topic": "t", "subject": f"/blobServices/default/containers/{container}/blobs/{key}",
                "eventType": f"Microsoft.Storage.Blob{kind.capitalize()}", "eventTime": when, "dataVersion": "",
                "data": data}
        msg = QueueMessageInConverter.decode(meta.Datum(json.dumps(body), "string"), trigger_metadata={
            "Id": meta.Datum("e1", "string"), "DequeueCount": meta.Datum(1, "int")})
        with self:
            self.shims["files"].bucketevent(msg, self.Context("bucket0" if kind == "created" else "bucket1"))

    def schedule(self, expression, when):
        from azure.functions import meta
        from azure.functions.timer import TimerRequestConverter

        index = [t.get("schedule") for t in json.loads((self.packages["tick"] / "deployer_function.json")
                                                       .read_text())["triggers"]].index(expression)
        timer = TimerRequestConverter.decode(meta.Datum('{"IsPastDue": false}', "json"), trigger_metadata={})
        with self:
            self.shims["tick"].timer(timer, self.Context(f"tick-{index}"))


class Local:
    """The local cloud's in-process runner (providers.local.worker.Runner: what its worker process runs
    around the handler), for the event scenarios; HTTP goes through the real local cloud (LocalGateway)."""

    cloud = "local"

    def __init__(self, bp):
        from providers.local import worker

        load = worker.load_function
        self.runners = {fn: worker.Runner(load(str(bp.code_dir(fn)), "", bp.functions[fn].handler, fn))
                        for fn in FUNCTIONS}
        self.bucket_triggers = bp.functions["files"].triggers

    def message(self, function, msg_id, data: bytes, attempt):
        item = {"row": 1, "msg_id": msg_id, "data": data, "attempt": attempt,
                "attributes": {"origin": "api"} if function == "listener" else {}}
        source = "queue" if function == "worker" else "topic"
        failed = self.runners[function].messages({"source": source, "items": [item]}, "local-req-1", time.time() + 10)
        assert [row for row, _ in failed] in ([], [1]), failed  # only this message failed, if any
        return failed[0][1] if failed else "ok"

    def object(self, kind, key, size, when):
        from deployer.runtime.invoke import parse_time

        if not any(t.on == kind and key.startswith(t.prefix) and key.endswith(t.suffix)
                   for t in self.bucket_triggers):
            return  # the local cloud applies the filters before queueing the event
        data = json.dumps({"store": "uploads", "key": key, "size": size, "type": kind,
                           "time": parse_time(when).timestamp()})
        item = {"row": 1, "msg_id": "b-1", "data": data, "attempt": 1, "attributes": {}}
        assert self.runners["files"].messages({"source": "bucket", "items": [item]}, "local-req-1", time.time() + 10) == []

    def schedule(self, expression, when):
        from deployer.runtime.invoke import parse_time

        self.runners["tick"].schedule({"schedule": expression, "time": parse_time(when).isoformat()},
                                      "local-req-1", time.time() + 10)


class LocalGateway:
    """The portable blueprint running on the local cloud, reached over real HTTP."""

    cloud = "local"

    def __init__(self, tmp):
        from test_local_helpers import Stage

        target = tmp / "local-portable"
        shutil.copytree(PORTABLE.parent, target, ignore=shutil.ignore_patterns(".deployer", "__pycache__"))
        self.stage = Stage(target / "deployer.yaml").start()

    def http(self, method, path, body=b"", headers=None, query=""):
        url = self.stage.url + path + (f"?{query}" if query else "")
        answer = httpx.request(method, url, content=body, headers=headers, timeout=30)
        return answer.status_code, answer.headers.get("Content-Type"), answer.content


@pytest.fixture(scope="module")
def local_gateway(tmp_path_factory):
    gateway = LocalGateway(tmp_path_factory.mktemp("local"))
    yield gateway
    gateway.stage.stop()


@pytest.fixture(scope="module")
def http_everywhere(clouds, local_gateway):
    """The three clouds plus the local cloud over HTTP."""
    return {**clouds, "local": local_gateway}


@pytest.fixture(scope="module")
def clouds(tmp_path_factory):
    from moto import mock_aws

    from deployer.runtime.clients import aws, azure, gcp

    bp, tmp = load_portable(), tmp_path_factory.mktemp("portable")
    try:
        conn = azurite()
    except FileNotFoundError:  # the other clouds still run; test_the_azure_leg_runs says Azure did not
        conn = None
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "STORAGE_EMULATOR_HOST": gcs_emulator(), "DEPLOYER_GCP_PROJECT": "portable-demo"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    for module in (aws, azure, gcp):
        module.reset()
    made = {}
    try:
        with mock_aws():
            made = make_clouds(tmp, bp, conn)
            yield made
    finally:
        if "gcp" in made:
            made["gcp"].close()
        for key, value in old.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        for module in (aws, azure, gcp):
            module.reset()


def make_clouds(tmp, bp, conn) -> dict:
    """Buckets on moto, gcp-storage-emulator and Azurite, and one adapter per cloud (no Azure without Azurite)."""
    import boto3
    from azure.storage.blob import BlobServiceClient
    from google.cloud import storage

    boto3.client("s3").create_bucket(Bucket="aws-uploads")
    storage.Client(project="portable-demo").create_bucket("gcp-uploads")
    clouds = {"aws": Aws(tmp, bp, store_env("aws", uploads="aws-uploads")),
              "gcp": Gcp(tmp, bp, store_env("gcp", uploads="gcp-uploads"))}
    if conn is not None:
        BlobServiceClient.from_connection_string(conn).create_container("azure-uploads")
        clouds["azure"] = Azure(tmp, bp, {"DEPLOYER_AZURE_CONNECTION_STRING": conn,
                                          **store_env("azure", uploads="azure-uploads")})
    return clouds


@pytest.fixture(scope="module")
def everywhere(clouds):
    """The three clouds plus the local cloud's in-process runner (an error there is an error of the test)."""
    return {**clouds, "local": Local(load_portable())}


def test_the_azure_leg_runs(clouds):
    """Without Azurite every scenario above runs on the other clouds only: this skip says so (and fails in CI)."""
    if "azure" not in clouds:
        pytest.skip("Azurite needs node and `npm install --prefix .tools azurite@3` (scripts/test-tools.sh): "
                    "the portable scenarios ran without Azure")
    assert set(clouds) == set(CLOUDS)


def same_everywhere(clouds, scenario):
    """Run the scenario on every cloud; return the one result they all agree on."""
    results = {}
    for name, adapter in clouds.items():
        seen = portable_module().SEEN
        seen.clear()
        answer = scenario(adapter)
        results[name] = (answer, list(seen))
    first = results[CLOUDS[0]]
    for name, result in results.items():
        assert result == first, f"{name} differs from {CLOUDS[0]}: {result!r} != {first!r}"
    return first


def test_http_json_round_trip(http_everywhere):
    answer, _ = same_everywhere(http_everywhere, lambda c: c.http("POST", "/items", b'{"name": "lamp"}',
                                                                  {"Content-Type": "application/json",
                                                                   "X-Token": "t0k"}, "a=1&a=2"))
    assert answer == (201, "application/json",
                      b'{"created": {"name": "lamp"}, "query": {"a": "1,2"}, "token": "t0k"}')


def test_http_repeated_query_names_are_joined_everywhere(http_everywhere):
    answer, _ = same_everywhere(http_everywhere, lambda c: c.http("GET", "/items/7", query="tag=a&tag=b&tag=&x=1"))
    assert json.loads(answer[2])["query"] == {"tag": "a,b,", "x": "1"}


def test_http_path_params_and_context(http_everywhere):
    answer, _ = same_everywhere(http_everywhere, lambda c: c.http("GET", "/items/42", headers={"Cookie": "s=1"}))
    assert json.loads(answer[2]) == {"id": "42", "query": {}, "cookie": "s=1", "function": "api", "has_deadline": True}


def test_http_exception_is_the_same_500_everywhere(http_everywhere):
    results = {name: c.http("GET", "/boom") for name, c in http_everywhere.items()}
    for name, (status, ctype, body) in results.items():
        assert status == 500 and ctype == "application/json" and b"secret" not in body, name
        assert b"RuntimeError" not in body and b"Traceback" not in body, name
        assert set(json.loads(body)) == {"error", "request_id"} and json.loads(body)["error"] == "internal error"
    request_id = json.loads(results["local"][2])["request_id"]
    log = http_everywhere["local"].stage.log("api")  # the trace goes to the function's log instead
    assert f"(request {request_id})" in log and "RuntimeError: secret detail that must not leak" in log


def test_http_bytes_through_each_clouds_bucket(http_everywhere):
    data = bytes(range(256)) * 4
    put, _ = same_everywhere(http_everywhere, lambda c: c.http("PUT", "/files/blob.bin", data,
                                                               {"Content-Type": "application/octet-stream"}))
    assert put == (201, "application/json", b'{"stored": "blob.bin", "keys": ["files/blob.bin"]}')
    got, _ = same_everywhere(http_everywhere, lambda c: c.http("GET", "/files/blob.bin"))
    assert got == (200, "application/octet-stream", data)


def test_queue_message_success_and_failure(everywhere):
    ok, seen = same_everywhere(everywhere, lambda c: c.message("worker", "m-1", b'{"n": 1}', 2))
    assert ok == "ok" and seen == [{"id": "m-1", "data": {"n": 1}, "attempt": 2}]
    failed, seen = same_everywhere(everywhere, lambda c: c.message("worker", "m-2", b'{"poison": true}', 5))
    assert failed == "ValueError: poison message m-2" and seen == [{"id": "m-2", "data": {"poison": True}, "attempt": 5}]


def test_topic_message_success_and_failure(everywhere):
    ok, seen = same_everywhere(everywhere, lambda c: c.message("listener", "t-1", b'{"order": 7}', 1))
    assert ok == "ok" and seen == [{"data": {"order": 7}, "attributes": {"origin": "api"}}]
    failed, _ = same_everywhere(everywhere, lambda c: c.message("listener", "t-2", b'{"poison": true}', 1))
    assert failed == "ValueError: poison event"


def test_bucket_events_with_filters(everywhere):
    def scenario(c):
        c.object("created", "incoming/cat photo.jpg", 12, "2026-11-23T07:43:02Z")
        c.object("created", "incoming/notes.txt", 3, "2026-11-23T07:43:03Z")  # suffix filter
        c.object("deleted", "incoming/old.png", 0, "2026-11-23T07:50:00Z")

    _, seen = same_everywhere(everywhere, scenario)
    assert seen == [{"store": "uploads", "key": "incoming/cat photo.jpg", "size": 12, "type": "created",
                     "time": "2026-11-23T07:43:02+00:00"},
                    {"store": "uploads", "key": "incoming/old.png", "size": 0, "type": "deleted",
                     "time": "2026-11-23T07:50:00+00:00"}]


def test_schedule(clouds):
    from datetime import datetime, timedelta, timezone

    for name, adapter in clouds.items():
        seen = portable_module().SEEN
        seen.clear()
        adapter.schedule("every 5 minutes", "2026-11-23T03:00:00Z")
        assert [(e["schedule"], e["cloud"]) for e in seen] == [("every 5 minutes", name)]
        if name == "azure":  # a timer trigger carries no fire time: the shim takes the current minute
            fired = datetime.fromisoformat(seen[0]["time"])
            assert fired.second == 0 and datetime.now(timezone.utc) - fired < timedelta(minutes=2)
        else:
            assert seen[0]["time"] == "2026-11-23T03:00:00+00:00"


def test_malformed_json_body_is_a_400_everywhere(http_everywhere):
    answer, _ = same_everywhere(http_everywhere, lambda c: c.http("POST", "/items", b"{not json",
                                                             {"Content-Type": "application/json"}))
    assert answer[0] == 400 and json.loads(answer[2])["error"].startswith("malformed JSON body")


def test_local_runner_schedule(everywhere):
    seen = portable_module().SEEN
    seen.clear()
    everywhere["local"].schedule("every 5 minutes", "2026-11-23T03:00:00Z")
    assert seen == [{"schedule": "every 5 minutes", "time": "2026-11-23T03:00:00+00:00", "cloud": "local"}]
