"""`deployer invoke | logs --cloud aws`: the events the AWS shim recognises, Lambda Invoke and CloudWatch
Logs through the real boto3 against moto's server (its Docker-free Lambda backend), on 127.0.0.1.

The shim round trips feed each native event to the real shim (providers/aws/shim.py) of a packaged
portable function and read its native answer back as the CLI does; the CLI tests run `deployer` in a
subprocess with AWS_ENDPOINT_URL pointing at moto.
"""

from __future__ import annotations

import base64
import io
import json
import signal
import time
import zipfile

import pytest
from fixtures.events.shimkit import build_package, free_port, load_shim, set_env, store_env
from remote_support import Lines, clean_env, deployed

from conftest import run_cli

pytest.importorskip("moto")

OUTPUTS = {"api_url": "https://example.execute-api.us-east-1.amazonaws.com",
           "functions": {"api": "portable-dev-api", "worker": "portable-dev-worker", "tick": "portable-dev-tick"},
           "stores": {"uploads": "portable-uploads", "jobs": "https://sqs.us-east-1.amazonaws.com/123456789012/portable-dev-jobs",
                      "events": "arn:aws:sns:us-east-1:123456789012:portable-dev-events"}}


def options(outputs=OUTPUTS):
    from deployer.remote import RemoteOptions

    return RemoteOptions(stage="dev", outputs=lambda: outputs, cloud="aws")


@pytest.fixture
def through_shim(tmp_path, portable_bp, monkeypatch):
    """(function, portable event) -> the CLI's portable result, through the real shim of the package."""
    from providers.aws import remote

    set_env(monkeypatch, {**store_env("aws", uploads="portable-uploads"), "AWS_DEFAULT_REGION": "us-east-1"})

    class Context:
        aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

        def get_remaining_time_in_millis(self):
            return 9000

    def run(function, event):
        shim = load_shim(build_package(tmp_path, function, "aws", portable_bp))
        native = json.loads(json.dumps(remote.native_event(event, options(), "us-east-1")))  # as it travels
        answer = shim.handler(native, Context())
        response = {"StatusCode": 200, "Payload": json.dumps(answer).encode(),
                    "ResponseMetadata": {"RequestId": Context.aws_request_id}}
        return remote.result_of(event, response)

    return run


def test_http_requests_reach_the_handler_as_the_api_would_send_them(through_shim, portable_bp):
    from deployer.remote import build_event

    event = build_event(portable_bp, "api", {"method": "POST", "body": {"a": 1}, "query": {"q": "x y"},
                                             "headers": {"X-Token": "t0k"}})
    result = through_shim("api", event)
    assert (result.ok, result.status, result.request_id) == (True, 201, "c6af9ac6-7b61-11e6-9a41-93e812345678")
    assert result.body == {"created": {"a": 1}, "query": {"q": "x y"}, "token": "t0k"}
    event = build_event(portable_bp, "api", {"method": "GET", "params": {"id": "7"}}, 1)
    assert (event.path, event.route) == ("/items/7", "/items/{id}")
    result = through_shim("api", event)
    assert result.status == 200 and result.body["id"] == "7"
    broken = through_shim("api", build_event(portable_bp, "api", {"method": "GET"}, 4))
    assert (broken.ok, broken.status) == (False, 500) and "secret detail" not in json.dumps(broken.body)


def test_queue_topic_bucket_and_schedule_events_reach_their_handlers(through_shim, portable_bp, seen):
    from deployer.remote import build_event

    assert through_shim("worker", build_event(portable_bp, "worker", {"n": 1})).ok
    assert seen[-1]["data"] == {"n": 1} and seen[-1]["attempt"] == 1
    poisoned = through_shim("worker", build_event(portable_bp, "worker", {"poison": True}))
    assert not poisoned.ok and "batchItemFailures" in poisoned.error
    assert through_shim("listener", build_event(portable_bp, "listener", ["a", 2])).ok
    assert seen[-1] == {"data": ["a", 2], "attributes": {}}
    assert through_shim("files", build_event(portable_bp, "files", {"key": "incoming/a b.jpg", "size": 5})).ok
    assert {k: seen[-1][k] for k in ("store", "key", "size", "type")} == \
        {"store": "uploads", "key": "incoming/a b.jpg", "size": 5, "type": "created"}
    assert through_shim("files", build_event(portable_bp, "files", {"key": "incoming/x"}, "1")).ok
    assert seen[-1]["type"] == "deleted"
    assert through_shim("tick", build_event(portable_bp, "tick", {"time": "2026-01-01T03:00:00+01:00"})).ok
    assert seen[-1] == {"schedule": "0 3 * * *", "time": "2026-01-01T03:00:00+01:00", "cloud": "aws"}


def test_a_function_error_and_the_log_tail_are_shown():
    from deployer.remote import MessageEvent
    from providers.aws import remote

    tail = "START RequestId: r1 Version: $LATEST\n[ERROR] ValueError: poison event\nEND RequestId: r1\n"
    response = {"StatusCode": 200, "FunctionError": "Unhandled", "LogResult": base64.b64encode(tail.encode()).decode(),
                "Payload": json.dumps({"errorType": "ValueError", "errorMessage": "poison event"}).encode(),
                "ResponseMetadata": {"RequestId": "r1"}}
    result = remote.result_of(MessageEvent("topic", "events", b"{}", {}, "m1"), response)
    assert (result.ok, result.error, result.request_id, result.log) == (False, "ValueError: poison event", "r1", tail)


# ------------------------------------------------------------------------------------ against moto
@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    import requests

    requests.post(f"{url}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=30).raise_for_status()
    yield url
    server.stop()


@pytest.fixture
def aws(moto_server, tmp_path):
    """boto3 on moto, the portable app deployed (its functions and log groups exist in moto)."""
    import boto3
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=30)
    env = clean_env(AWS_ENDPOINT_URL=moto_server, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                    DEPLOYER_LOGS_POLL="0.2")
    clients = {s: boto3.client(s, region_name="us-east-1", endpoint_url=moto_server, aws_access_key_id="testing",
                               aws_secret_access_key="testing") for s in ("lambda", "logs", "iam")}
    role = clients["iam"].create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    package = io.BytesIO()
    zipfile.ZipFile(package, "w").writestr("deployer_shim.py", "")
    for name in OUTPUTS["functions"].values():
        clients["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                          Handler="deployer_shim.handler", Code={"ZipFile": package.getvalue()})
        clients["logs"].create_log_group(logGroupName=f"/aws/lambda/{name}")
    file = deployed(tmp_path, "aws", OUTPUTS)
    return {"env": env, "file": str(file), "url": moto_server, **clients}


def answer_next(url: str, *answers: dict) -> None:
    """What moto's Docker-free Lambda returns for the next invocations (it echoes the event otherwise)."""
    import requests

    requests.post(f"{url}/moto-api/static/lambda-simple/response",
                  json={"results": [json.dumps(a) for a in answers], "region": "us-east-1"}, timeout=30)


def test_invoke_calls_lambda_through_boto3(aws):
    answer_next(aws["url"], {"statusCode": 201, "headers": {"content-type": "application/json"},
                             "body": json.dumps({"created": 1}), "isBase64Encoded": False})
    r = run_cli("invoke", "api", "--cloud", "aws", "-f", aws["file"], "--data", '{"a": 1}', "--json", env=aws["env"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["status"], out["body"], out["kind"]) == (201, {"created": 1}, "http") and out["request_id"]
    # with no answer queued, moto's Lambda echoes the event it was given: the schedule marker the shim expects
    r = run_cli("invoke", "tick", "--cloud", "aws", "-f", aws["file"], "--data", '{"time": "2026-01-01T03:00:00Z"}',
                env=aws["env"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"deployer": "schedule", "schedule": "0 3 * * *", "time": "2026-01-01T03:00:00Z"}
    assert "ok (" in r.stderr and "(request " in r.stderr


def test_invoke_of_a_function_the_stack_lacks_is_a_usage_error_with_a_suggestion(aws):
    r = run_cli("invoke", "listener", "--cloud", "aws", "-f", aws["file"], env=aws["env"])
    assert r.returncode == 2 and "the deployed stack (stage dev) has no function 'listener'" in r.stderr
    r = run_cli("invoke", "workr", "--cloud", "aws", "-f", aws["file"], env=aws["env"])
    assert r.returncode == 2 and "no function 'workr'" in r.stderr and "did you mean 'worker'?" in r.stderr
    r = run_cli("logs", "--cloud", "aws", "-f", aws["file"], env=aws["env"])
    assert r.returncode == 2 and "`deployer logs` needs a function on this cloud" in r.stderr


def test_missing_credentials_exit_3_naming_the_chain(aws, tmp_path):
    env = clean_env(AWS_ENDPOINT_URL=aws["url"], HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"),
                    AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    for args in (["invoke", "api"], ["logs", "api"]):
        r = run_cli(*args, "--cloud", "aws", "-f", aws["file"], env=env)
        assert r.returncode == 3, r.stderr
        assert "no AWS credentials found; looked for boto3's chain: AWS_ACCESS_KEY_ID" in r.stderr


def put(aws, stream: str, *lines: str, at: float | None = None) -> None:
    logs, group = aws["logs"], "/aws/lambda/portable-dev-worker"
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    start = int((at or time.time()) * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": start + i, "message": line} for i, line in enumerate(lines)])


RID = "0f5cdd1e-1111-2222-3333-444455556666"


def test_logs_reads_cloudwatch_as_portable_records(aws):
    put(aws, "2026/01/01/[$LATEST]a", f"START RequestId: {RID} Version: $LATEST", "printed by the handler\n",
        f"[ERROR]\t2026-01-01T00:00:00.000Z\t{RID}\tpoison message m1\n", f"END RequestId: {RID}")
    put(aws, "old", "from an hour ago", at=time.time() - 3600)
    r = run_cli("logs", "worker", "--cloud", "aws", "-f", aws["file"], "--json", env=aws["env"])
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["level"], x["request_id"], x["message"]) for x in records] == [
        ("INFO", RID, f"START RequestId: {RID} Version: $LATEST"), ("INFO", RID, "printed by the handler"),
        ("ERROR", RID, "poison message m1"), ("INFO", RID, f"END RequestId: {RID}")]
    assert all(x["time"].endswith("Z") for x in records)
    r = run_cli("logs", "worker", "--cloud", "aws", "-f", aws["file"], "--since", "2h", "--filter", "hour",
                env=aws["env"])
    assert r.returncode == 0 and r.stdout.splitlines()[0].endswith("from an hour ago") and len(r.stdout.splitlines()) == 1


def test_logs_follow_streams_new_records_until_ctrl_c(aws):
    put(aws, "s1", "before following")
    follow = Lines(["logs", "worker", "--cloud", "aws", "-f", aws["file"], "--follow"], aws["env"])
    try:
        follow.wait_for(lambda line: line.endswith("before following"), what="the backlog")
        put(aws, "s1", "arrived while following")
        follow.wait_for(lambda line: line.endswith("arrived while following"), what="the new record")
        follow.proc.send_signal(signal.SIGINT)
        assert follow.proc.wait(timeout=30) == 130
    finally:
        follow.stop()
    assert sum("before following" in line for line in follow.lines) == 1  # shown once, not at every poll
