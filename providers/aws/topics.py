"""Topics -> SNS: a topic, and per consumer a Lambda subscription and an invoke permission.

SNS invokes Lambda asynchronously: Lambda retries a failing consumer twice, then sends the event to the
function's failure queue (functions.py), so nothing is dropped silently. The permission names the
topic's ARN so no other topic can invoke the function, and the subscription depends on it.
"""

from __future__ import annotations

from deployer.blueprint.model import TopicStore, TopicTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import function as fn_owner, store as owner
from providers.aws import iam, names
from providers.aws.context import Context


def declare(ctx: Context, name: str, store: TopicStore) -> StoreRef:
    existing = ctx.bp.existing(name, "aws")
    if existing:  # an existing topic, read by its ARN
        topic = ctx.g.add("aws:sns/topic:Topic", f"store-{name}-topic", owner(name), read_id=existing)
        return StoreRef(name, "topic", topic, topic.out("id"), topic.out("id"))  # SNS's id is the ARN
    topic = ctx.g.add("aws:sns/topic:Topic", f"store-{name}-topic", owner(name), name=names.topic_name(ctx.bp, name))
    return StoreRef(name, "topic", topic, topic.out("arn"), topic.out("arn"))


def subscribe(ctx: Context, topic: str) -> None:
    """One subscription and one permission per consuming function."""
    ref = ctx.store(topic)
    for function in sorted({fn for fn, t in ctx.consumers(topic) if isinstance(t, TopicTrigger)}):
        target = ctx.function(function)
        permission = iam.invoke_permission(ctx, function, names.fn(function, "topic", topic, "permission"),
                                           "sns.amazonaws.com", ref.ident)
        ctx.g.add("aws:sns/topicSubscription:TopicSubscription", names.fn(function, "topic", topic, "subscription"),
                  fn_owner(function), depends_on=[permission], topic=ref.ident, protocol="lambda",
                  endpoint=target.resource.out("arn"))
