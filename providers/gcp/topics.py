"""Topics: a Pub/Sub topic, and one Eventarc trigger per consuming function.

Fan-out is what Eventarc's `messagePublished` trigger does: each consumer's trigger creates its own
subscription, so every consumer receives every message. The trigger runs as the function's invoker
account, which holds run.invoker on that function only, and the Pub/Sub service agent may mint its
OIDC tokens (iam.token_creator). Delivery is retried on failure (RETRY_POLICY_RETRY) until Pub/Sub's
message retention runs out; a topic consumer has no dead-letter queue on any cloud in format 1.
"""

from __future__ import annotations

from deployer.blueprint.model import TopicStore, TopicTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import store as store_owner
from providers.gcp.context import PUBSUB_NAME_MAX, GcpContext

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def topic_id(ctx: GcpContext, physical: str) -> str:
    return f"projects/{ctx.project}/topics/{physical}"


def project_of(locator: str) -> str:
    """The project of a topic's full path (`projects/P/topics/T`): an existing topic may live in another
    project, and a grant on it must name that project (the topic's short name alone means this one)."""
    return locator.split("/")[1]


def read_existing(ctx: GcpContext, name: str) -> StoreRef | None:
    """An existing topic (`projects/P/topics/T` or `T` in this project), read, never created or deleted."""
    existing = ctx.bp.existing(name, "gcp")
    if not existing:
        return None
    path = existing if existing.startswith("projects/") else topic_id(ctx, existing)
    topic = ctx.g.add("gcp:pubsub/topic:Topic", f"store-{name}-topic", store_owner(name), read_id=path)
    return StoreRef(name, ctx.bp.stores[name].kind, topic, topic.out("id"), path)


def declare(ctx: GcpContext, name: str, spec: TopicStore) -> StoreRef:
    existing = read_existing(ctx, name)
    if existing is not None:
        return existing
    physical = ctx.name(name, max_length=PUBSUB_NAME_MAX)
    topic = ctx.add("gcp:pubsub/topic:Topic", f"store-{name}-topic", store_owner(name), name=physical,
                    project=ctx.project, labels=ctx.labels(**{"deployer-store": name}))
    return StoreRef(name, "topic", topic, topic.out("id"), topic_id(ctx, physical))


def event_trigger(ctx: GcpContext, trigger: TopicTrigger, account_email) -> dict:
    return {"event_type": MESSAGE_PUBLISHED, "pubsub_topic": ctx.store(trigger.topic).locator,
            "trigger_region": ctx.region, "retry_policy": "RETRY_POLICY_RETRY",
            "service_account_email": account_email}
