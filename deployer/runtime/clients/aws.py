"""AWS store clients (boto3): S3 buckets, DynamoDB tables, SQS queues, SNS topics.

boto3 ships in the Lambda runtime, so nothing is added to a package's requirements; it is imported
on first use only (importing this module stays standard-library only, and the shim imports it for
`unwire_body`). One boto3 client per service is kept for the life of the process so warm invocations
reuse connections. `AWS_ENDPOINT_URL` (boto3's own variable) points every client at an emulator.

Wire formats chosen here and read back by the AWS shim:
- SQS and SNS carry text only: a payload that is not UTF-8 travels base64-encoded with the message
  attribute `deployer-encoding: base64`.
- DynamoDB holds numbers as Decimal: items go in through JSON with `parse_float=Decimal` and come back
  as int when integral, else float, so a handler sees the JSON it stored.
"""

from __future__ import annotations

import base64
import json
import os
from decimal import Decimal
from typing import Any

from deployer.runtime.messages import encode_message
from deployer.runtime.types import encode_data, object_key, table_key

ENCODING_ATTRIBUTE = "deployer-encoding"
_clients: dict[str, Any] = {}


def client(service: str):
    if service not in _clients:
        import boto3

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        _clients[service] = boto3.client(service, region_name=region)
    return _clients[service]


def reset() -> None:
    """Forget cached clients (tests switch between emulators and credentials)."""
    _clients.clear()


def wire_body(data: Any) -> tuple[str, dict[str, str]]:
    """Payload -> (text body, attributes) for SQS/SNS."""
    raw = encode_data(data)
    try:
        return raw.decode("utf-8"), {}
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), {ENCODING_ATTRIBUTE: "base64"}


def _message(data: Any) -> tuple[str, dict]:
    """(body, extra arguments) of an SQS send_message or SNS publish: `MessageAttributes`, spelled alike
    by both, only for a payload that travels base64."""
    body, attributes = wire_body(data)
    if not attributes:
        return body, {}
    return body, {"MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}}


def unwire_body(body: str, attributes: dict[str, str]) -> bytes:
    if attributes.get(ENCODING_ATTRIBUTE) == "base64":
        return base64.b64decode(body)
    return body.encode("utf-8")


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class Bucket:
    def __init__(self, name: str, locator: str):
        self.name, self.bucket = name, locator

    def put(self, key: str, data: bytes) -> None:
        key = object_key(key)
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=bytes(data))

    def get(self, key: str) -> bytes | None:
        key = object_key(key)
        s3 = client("s3")
        try:
            return s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except s3.exceptions.ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def delete(self, key: str) -> None:
        key = object_key(key)
        client("s3").delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str = "") -> list[str]:
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def to_dynamo(item: dict) -> dict:
    """JSON-compatible dict -> DynamoDB attribute values (floats as Decimal, via JSON)."""
    from boto3.dynamodb.types import TypeSerializer

    plain = json.loads(json.dumps(item), parse_float=Decimal)
    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in plain.items()}


def from_dynamo(record: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return _plain({k: deserializer.deserialize(v) for k, v in record.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, bytes):  # Binary attributes written by someone else
        return value.decode("utf-8", errors="replace")
    return value


class Table:
    def __init__(self, name: str, locator: str, key: str = "id"):
        self.name, self.table, self.key = name, locator, key

    def put(self, key: str, item: dict) -> None:
        key = table_key(key)
        client("dynamodb").put_item(TableName=self.table, Item=to_dynamo({**item, self.key: key}))

    def get(self, key: str) -> dict | None:
        key = table_key(key)
        found = client("dynamodb").get_item(TableName=self.table, Key={self.key: {"S": key}},
                                            ConsistentRead=True)
        return from_dynamo(found["Item"]) if "Item" in found else None

    def delete(self, key: str) -> None:
        key = table_key(key)
        client("dynamodb").delete_item(TableName=self.table, Key={self.key: {"S": key}})

    def scan(self, prefix: str = "") -> list[dict]:
        args: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        if prefix:
            args.update(FilterExpression="begins_with(#k, :p)", ExpressionAttributeNames={"#k": self.key},
                        ExpressionAttributeValues={":p": {"S": prefix}})
        pages = client("dynamodb").get_paginator("scan").paginate(**args)
        items = [from_dynamo(rec) for page in pages for rec in page.get("Items", [])]
        return sorted(items, key=lambda item: str(item.get(self.key, "")))


class Queue:
    def __init__(self, name: str, locator: str):
        self.name, self.url = name, locator

    def send(self, data: Any) -> str:
        body, extra = _message(encode_message(data, "queue", self.name))
        return client("sqs").send_message(QueueUrl=self.url, MessageBody=body, **extra)["MessageId"]


class Topic:
    def __init__(self, name: str, locator: str):
        self.name, self.arn = name, locator

    def publish(self, data: Any) -> str:
        body, extra = _message(encode_message(data, "topic", self.name))
        return client("sns").publish(TopicArn=self.arn, Message=body, **extra)["MessageId"]
