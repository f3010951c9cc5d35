"""The AWS Lambda shim fed AWS's own sample events (SAM CLI templates), with S3 behind moto.

Each test packages a function of the portable blueprint with bundle.runtime_files, imports the
package's deployer_shim.py and calls `handler(event, context)` as the Lambda runtime would.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from fixtures.events.shimkit import (
    build_package, load_shim, sam_event, set_env, store_env,
)

pytest.importorskip("moto")
from moto import mock_aws  # noqa: E402


class LambdaContext:
    """The attributes of the Lambda runtime's context object that the shim reads."""

    def __init__(self, request_id="c6af9ac6-7b61-11e6-9a41-93e812345678", remaining_ms=9000):
        self.aws_request_id = request_id
        self.function_name = "portable-dev-api"
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self):
        return self._remaining


@pytest.fixture
def shim(tmp_path, portable_bp, monkeypatch):
    set_env(monkeypatch, {**store_env("aws", uploads="portable-uploads"), "AWS_DEFAULT_REGION": "us-east-1",
                          "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    from deployer.runtime.clients import aws

    aws.reset()
    return lambda function: load_shim(build_package(tmp_path, function, "aws", portable_bp))


def http_event(method, path, body="", route_key=None, params=None, query="", cookies=None):
    event = sam_event("HttpApi", method=method, path=path.lstrip("/"), body=body)
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key or "$default"
    event["rawQueryString"] = query
    event["headers"] = {"content-type": "application/json", "x-token": "t0k"}
    if params is None:
        event.pop("pathParameters")
    else:
        event["pathParameters"] = params
    if cookies is None:
        event.pop("cookies")
    else:
        event["cookies"] = cookies
    return event


def test_http_post_decodes_base64_body_and_answers_payload_2(shim):
    event = http_event("POST", "/items", json.dumps({"name": "lamp"}), route_key="POST /items", query="a=1&a=2&b=")
    answer = shim("api").handler(event, LambdaContext())
    assert answer["statusCode"] == 201
    assert answer["headers"] == {"Location": "/items/1", "Content-Type": "application/json"}
    assert answer["isBase64Encoded"] is False
    assert json.loads(answer["body"]) == {"created": {"name": "lamp"}, "query": {"a": "1,2", "b": ""},
                                          "token": "t0k"}


def test_http_path_parameters_and_cookies(shim):
    event = http_event("GET", "/items/42", route_key="GET /items/{id}", params={"id": "42"},
                       cookies=["session=abc", "theme=dark"])
    answer = shim("api").handler(event, LambdaContext())
    assert json.loads(answer["body"]) == {"id": "42", "query": {}, "cookie": "session=abc; theme=dark",
                                          "function": "api", "has_deadline": True}


def test_http_default_route_is_routed_by_the_shim(shim):
    module = shim("api")
    answer = module.handler(http_event("GET", "/items/7"), LambdaContext())
    assert json.loads(answer["body"])["id"] == "7"
    missing = module.handler(http_event("GET", "/nowhere"), LambdaContext())
    assert (missing["statusCode"], json.loads(missing["body"])) == (404, {"error": "no route for GET /nowhere"})
    wrong = module.handler(http_event("DELETE", "/items/7"), LambdaContext())
    assert wrong["statusCode"] == 405


def test_http_exception_is_a_500_with_request_id_and_no_trace(shim, caplog):
    with caplog.at_level(logging.ERROR, logger="deployer.runtime"):
        answer = shim("api").handler(http_event("GET", "/boom", route_key="GET /boom"), LambdaContext("req-1"))
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {"error": "internal error", "request_id": "req-1"}
    assert "secret" not in answer["body"] and "Traceback" not in answer["body"]
    assert "secret detail that must not leak" in caplog.text and "Traceback" in caplog.text


def test_http_binary_round_trip_through_s3(shim):
    png = bytes(range(256))
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="portable-uploads")
        module = shim("api")
        put = http_event("PUT", "/files/a.bin", route_key="PUT /files/{name}", params={"name": "a.bin"})
        put["body"], put["isBase64Encoded"] = base64.b64encode(png).decode(), True
        created = module.handler(put, LambdaContext())
        got = module.handler(http_event("GET", "/files/a.bin", route_key="GET /files/{name}",
                                        params={"name": "a.bin"}), LambdaContext())
    assert json.loads(created["body"]) == {"stored": "a.bin", "keys": ["files/a.bin"]}
    assert got["isBase64Encoded"] is True and base64.b64decode(got["body"]) == png
    assert got["headers"]["Content-Type"] == "application/octet-stream"


def sqs_record(message_id, body, receive_count):
    record = sam_event("Sqs", body=body, queue_name="portable-dev-jobs")["Records"][0]
    record["messageId"] = message_id
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return record


def test_sqs_batch_reports_only_the_failed_messages(shim, seen):
    records = [sqs_record("m-1", '{"n": 1}', 1), sqs_record("m-2", '{"poison": true}', 3),
               sqs_record("m-3", "plain text", 1)]
    answer = shim("worker").handler({"Records": records}, LambdaContext())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert seen == [{"id": "m-1", "data": {"n": 1}, "attempt": 1},
                    {"id": "m-2", "data": {"poison": True}, "attempt": 3},
                    {"id": "m-3", "data": b"plain text", "attempt": 1}]


def test_sqs_binary_payload_sent_by_the_client_arrives_as_bytes(shim, seen):
    from deployer.runtime.clients.aws import Queue

    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        Queue("jobs", url).send(b"\xff\x00binary")
        received = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                                       AttributeNames=["All"])["Messages"][0]
    record = sqs_record(received["MessageId"], received["Body"], 1)
    record["messageAttributes"] = {k: {"stringValue": v["StringValue"], "dataType": v["DataType"],
                                       "stringListValues": [], "binaryListValues": []}
                                   for k, v in received["MessageAttributes"].items()}
    assert shim("worker").handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    assert seen[0]["data"] == b"\xff\x00binary"


def test_sns_message_and_attributes(shim, seen):
    event = sam_event("Sns", topic="portable-dev-events", subject="", message=json.dumps({"order": 7}))
    assert shim("listener").handler(event, LambdaContext()) is None
    assert seen == [{"data": {"order": 7}, "attributes": {"Test": "TestString"}}]


def test_sns_failure_raises_so_lambda_retries(shim):
    event = sam_event("Sns", topic="t", subject="", message=json.dumps({"poison": True}))
    with pytest.raises(RuntimeError, match="failed"):
        shim("listener").handler(event, LambdaContext())


def test_s3_put_and_delete_with_url_encoded_keys_and_filters(shim, seen):
    module = shim("files")
    module.handler(sam_event("S3Put", bucket="portable-uploads", key="incoming/my photo.jpg"), LambdaContext())
    plus = sam_event("S3Put", bucket="portable-uploads", key="x")
    plus["Records"][0]["s3"]["object"]["key"] = "incoming/a+b%2Bc.jpg"  # how S3 really encodes " " and "+"
    module.handler(plus, LambdaContext())
    module.handler(sam_event("S3Put", bucket="portable-uploads", key="incoming/notes.txt"), LambdaContext())
    module.handler(sam_event("S3Delete", bucket="portable-uploads", key="incoming/old.png"), LambdaContext())
    assert seen == [
        {"store": "uploads", "key": "incoming/my photo.jpg", "size": 1024, "type": "created",
         "time": "1970-01-01T00:00:00+00:00"},
        {"store": "uploads", "key": "incoming/a b+c.jpg", "size": 1024, "type": "created",
         "time": "1970-01-01T00:00:00+00:00"},
        {"store": "uploads", "key": "incoming/old.png", "size": 0, "type": "deleted",
         "time": "1970-01-01T00:00:00+00:00"},
    ]


def test_scheduler_input_and_eventbridge_scheduled_event(shim, seen):
    module = shim("tick")
    module.handler({"deployer": "schedule", "schedule": "every 5 minutes", "time": "2026-11-23T03:00:00Z"},
                   LambdaContext())
    module.handler(sam_event("ScheduledEvent", rule="portable-dev-tick"), LambdaContext())
    assert seen == [{"schedule": "every 5 minutes", "time": "2026-11-23T03:00:00+00:00", "cloud": "aws"},
                    {"schedule": "0 3 * * *", "time": "1970-01-01T00:00:00+00:00", "cloud": "aws"}]


def test_unknown_event_is_an_error(shim):
    from deployer.runtime.invoke import EventNotRecognised

    with pytest.raises(EventNotRecognised):
        shim("worker").handler({"hello": "world"}, LambdaContext())
