"""Topics -> SNS: a topic, and per consumer a Lambda subscription and an invoke permission.

SNS invokes Lambda asynchronously, so retries of a failing consumer are Lambda's (two, then dropped);
the permission names the topic's ARN so no other topic can invoke the function.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deployer.blueprint.model import TopicStore, TopicTrigger
from providers.aws import names
from providers.aws.context import Context, StoreRef


def declare(ctx: Context, name: str, store: TopicStore) -> StoreRef:
    topic = aws.sns.Topic(f"store-{name}-topic", name=names.topic_name(ctx.bp, name))
    return StoreRef(name, "topic", topic.arn, topic.arn, topic)


def subscribe(ctx: Context, topic: str) -> None:
    """One subscription and one permission per consuming function."""
    ref = ctx.store(topic)
    for function in sorted({fn for fn, t in ctx.consumers(topic) if isinstance(t, TopicTrigger)}):
        target = ctx.function(function)
        permission = aws.lambda_.Permission(
            f"fn-{function}-topic-{topic}-permission",
            action="lambda:InvokeFunction", function=target.physical,
            principal="sns.amazonaws.com", source_arn=ref.arn,
            opts=pulumi.ResourceOptions(depends_on=[target.resource]))
        aws.sns.TopicSubscription(
            f"fn-{function}-topic-{topic}-subscription",
            topic=ref.arn, protocol="lambda", endpoint=target.arn,
            opts=pulumi.ResourceOptions(depends_on=[permission]))
