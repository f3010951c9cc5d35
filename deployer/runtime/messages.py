"""The portable message size limit, enforced by every cloud's client on `send` and `publish`.

A message that works locally must work on every cloud, so every client (local, aws, gcp, azure) refuses
the same payloads: more than MAX_MESSAGE_BYTES bytes once encoded (bytes as they are, anything else as
JSON, `deployer.runtime.types.encode_data`). The figure is the smallest that every cloud carries:

- Azure Storage queues: a message of at most 64 KiB; the Azure client sends queue messages
  base64-encoded (the encoding the Functions queue trigger expects), which makes 4 characters of 3
  bytes, so 48 KiB (49,152 bytes) of payload become exactly 65,536 characters.
  https://learn.microsoft.com/rest/api/storageservices/queue-service-rest-api
- Azure Service Bus (topics), Standard tier: 256 KB per message (Premium: 100 MB).
  https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas
- Amazon SQS: `MaximumMessageSize` 1,024 to 1,048,576 bytes (1 MiB), 262,144 (256 KiB) by default;
  Amazon SNS: 256 KiB by default, up to 1 MiB per topic. The AWS client sends a payload that is not
  UTF-8 as base64 text (48 KiB -> 64 KiB).
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
  https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html
- Google Pub/Sub: 10 MB per message (and per publish request). https://cloud.google.com/pubsub/quotas

Larger payloads belong in a bucket, with the object's key in the message (what every cloud's
documentation recommends). Standard library only: this module ships inside every function package.
"""

from __future__ import annotations

from typing import Any

from deployer.runtime.types import encode_data

#: The largest payload `send`/`publish` accept, in bytes, on every cloud (see the module doc).
MAX_MESSAGE_BYTES = 48 * 1024


class MessageTooLarge(ValueError):
    """A payload larger than the portable limit: refused before it leaves the function, on every cloud."""


def encode_message(data: Any, kind: str, name: str) -> bytes:
    """The payload's bytes (encode_data), or MessageTooLarge naming the store, the size and the limit."""
    raw = encode_data(data)
    if len(raw) > MAX_MESSAGE_BYTES:
        verb = "send to queue" if kind == "queue" else "publish to topic"
        raise MessageTooLarge(
            f"cannot {verb} {name!r}: the message is {len(raw):,} bytes, more than {MAX_MESSAGE_BYTES:,} bytes "
            f"(48 KiB), the largest message every cloud carries (Azure Storage queues: 64 KiB after base64); "
            f"put the payload in a bucket and send its key instead")
    return raw
