"""Queues: a Pub/Sub topic delivered by a PUSH subscription to its consumer, with a dead-letter topic.

Why push and not an Eventarc trigger: Eventarc owns the subscription it creates, so no dead-letter
policy can be set on it. A push subscription of our own carries the blueprint's delivery attempts
(`dead_letter_policy.max_delivery_attempts` = `retries`, which Pub/Sub allows between 5 and 100;
`check` rejects fewer), an exponential `retry_policy`, and an OIDC token of the function's invoker
account (which holds run.invoker on that function only). Push delivers ONE message per request: a
`batch` above 1 is a warning in `check`.

The dead-letter topic gets a pull subscription of its own (a topic keeps nothing without one), and
the Pub/Sub service agent needs publisher on the dead-letter topic and subscriber on the push
subscription to move failed messages (iam.py). A queue without a consumer gets a pull subscription,
so what is sent before a consumer exists is kept. Subscriptions never expire (`ttl: ""`).
"""

from __future__ import annotations

from pulumi_gcp import pubsub

from deployer.blueprint.model import QueueStore, QueueTrigger
from providers.gcp import iam
from providers.gcp.context import PUBSUB_NAME_MAX, Gcp, StoreRef

RETENTION = "604800s"  # 7 days, Pub/Sub's maximum for subscriptions
NEVER = pubsub.SubscriptionExpirationPolicyArgs(ttl="")


def delivery_attempts(store: QueueStore) -> int:
    """Pub/Sub's allowed range is 5-100; check() reports a blueprint outside it as an error."""
    return min(max(store.retries, 5), 100)


def declare(gcp: Gcp, name: str, store: QueueStore) -> StoreRef:
    topic = pubsub.Topic(f"store-{name}-topic", name=gcp.name(name, max_length=PUBSUB_NAME_MAX),
                         project=gcp.project, labels=gcp.labels(**{"deployer-store": name}),
                         opts=gcp.opts(stateful=True))
    extra = {}
    if store.dead_letter:
        dlq = pubsub.Topic(f"store-{name}-dlq", name=gcp.name(name, "dlq", max_length=PUBSUB_NAME_MAX),
                           project=gcp.project, labels=gcp.labels(**{"deployer-store": name}),
                           opts=gcp.opts(stateful=True))
        pubsub.Subscription(f"store-{name}-dlq-sub", name=gcp.name(name, "dlq", max_length=PUBSUB_NAME_MAX),
                            topic=dlq.id, project=gcp.project, message_retention_duration=RETENTION,
                            expiration_policy=NEVER, ack_deadline_seconds=60,
                            labels=gcp.labels(**{"deployer-store": name}), opts=gcp.opts(stateful=True))
        extra["dlq"] = dlq
    return StoreRef("queue", topic, topic.id, extra=extra)


def consume(gcp: Gcp, function: str, trigger: QueueTrigger) -> pubsub.Subscription:
    """The push subscription that delivers the queue to `function`, with its dead-letter wiring."""
    store: QueueStore = gcp.bp.stores[trigger.queue]
    ref, fn = gcp.store(trigger.queue), gcp.function(function)
    dlq = ref.extra.get("dlq")
    timeout = gcp.bp.functions[function].timeout
    subscription = pubsub.Subscription(
        f"store-{trigger.queue}-push",
        name=gcp.name(trigger.queue, "push", max_length=PUBSUB_NAME_MAX),
        topic=ref.locator,
        project=gcp.project,
        ack_deadline_seconds=min(max(timeout, 10), 600),
        message_retention_duration=RETENTION,
        expiration_policy=NEVER,
        retry_policy=pubsub.SubscriptionRetryPolicyArgs(minimum_backoff="10s", maximum_backoff="600s"),
        dead_letter_policy=pubsub.SubscriptionDeadLetterPolicyArgs(
            dead_letter_topic=dlq.id, max_delivery_attempts=delivery_attempts(store)) if dlq else None,
        push_config=pubsub.SubscriptionPushConfigArgs(
            push_endpoint=fn.uri,
            oidc_token=pubsub.SubscriptionPushConfigOidcTokenArgs(
                service_account_email=fn.invoker.email, audience=fn.uri)),
        labels=gcp.labels(**{"deployer-store": trigger.queue, "deployer-function": function}),
        opts=gcp.opts(),
    )
    iam.pubsub_agent_roles(gcp, trigger.queue, subscription, dlq)
    return subscription


def keep_unconsumed(gcp: Gcp, name: str) -> pubsub.Subscription:
    """A pull subscription for a queue nobody consumes: without one, Pub/Sub drops what is sent."""
    return pubsub.Subscription(
        f"store-{name}-pull", name=gcp.name(name, "pull", max_length=PUBSUB_NAME_MAX),
        topic=gcp.store(name).locator, project=gcp.project, message_retention_duration=RETENTION,
        expiration_policy=NEVER, ack_deadline_seconds=60,
        labels=gcp.labels(**{"deployer-store": name}), opts=gcp.opts(stateful=True))
