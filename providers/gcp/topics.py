"""Topics: a Pub/Sub topic, and one Eventarc trigger per consuming function.

Fan-out is what Eventarc's `messagePublished` trigger does: each consumer's trigger creates its own
subscription, so every consumer receives every message. The trigger runs as the function's invoker
account, which holds run.invoker on that function only (Pub/Sub-sourced triggers need no
eventarc.eventReceiver). Delivery is retried on failure (RETRY_POLICY_RETRY) until Pub/Sub's message
retention runs out; a topic consumer has no dead-letter queue on any cloud in format 1.
"""

from __future__ import annotations

from pulumi_gcp import cloudfunctionsv2, pubsub

from deployer.blueprint.model import TopicStore, TopicTrigger
from providers.gcp.context import PUBSUB_NAME_MAX, Gcp, StoreRef

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def declare(gcp: Gcp, name: str, store: TopicStore) -> StoreRef:
    topic = pubsub.Topic(f"store-{name}-topic", name=gcp.name(name, max_length=PUBSUB_NAME_MAX),
                         project=gcp.project, labels=gcp.labels(**{"deployer-store": name}),
                         opts=gcp.opts())
    return StoreRef("topic", topic, topic.id)


def event_trigger(gcp: Gcp, trigger: TopicTrigger, account_email) -> cloudfunctionsv2.FunctionEventTriggerArgs:
    return cloudfunctionsv2.FunctionEventTriggerArgs(
        event_type=MESSAGE_PUBLISHED,
        pubsub_topic=gcp.store(trigger.topic).locator,
        trigger_region=gcp.region,
        retry_policy="RETRY_POLICY_RETRY",
        service_account_email=account_email,
    )
