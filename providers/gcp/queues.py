"""Queues: a Pub/Sub topic delivered by a PUSH subscription to its consumer, with a dead-letter topic.

Why push and not an Eventarc trigger: Eventarc owns the subscription it creates, so no dead-letter
policy can be set on it. A push subscription of our own carries a dead-letter policy, an exponential
`retry_policy`, and an OIDC token of the function's invoker account (which holds run.invoker on that
function only). It pushes to `PUSH_PATH` of the function's URL, a path the API Gateway never routes,
and the shim checks the token's account there. Push delivers ONE message per request: a `batch` above
1 is a warning in `check`.

Retries mean the same on every cloud: a message is dead-lettered after exactly `retries` deliveries.
Pub/Sub's `max_delivery_attempts` is 5 to 100; where `retries` is below 5 the shim dead-letters the
message itself on its last attempt (it publishes it with its error and attempt count to the dead-letter
topic, then acknowledges), and Pub/Sub's own policy (5 attempts) stays the backstop. The consumer reads
each queue's `retries` and dead-letter topic from DEPLOYER_GCP_QUEUES and may publish to that topic.

The dead-letter topic gets a pull subscription of its own (a topic keeps nothing without one), and
the Pub/Sub service agent needs publisher on the dead-letter topic and subscriber on the push
subscription to move failed messages (iam.py). A queue without a consumer gets a pull subscription,
so what is sent before a consumer exists is kept. Subscriptions never expire (`ttl: ""`).
"""

from __future__ import annotations

from deployer.blueprint.model import QueueStore, QueueTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import Resource, function as fn_owner, store as store_owner
from deployer.resources.values import Template
from providers.gcp import iam
from providers.gcp.context import PUBSUB_NAME_MAX, PUSH_PATH, GcpContext, account, invoker
from providers.gcp.topics import read_existing, topic_id

RETENTION = "604800s"  # 7 days, Pub/Sub's maximum for subscriptions
NEVER = {"ttl": ""}
ATTEMPTS = (5, 100)


def delivery_attempts(spec: QueueStore) -> int:
    """Pub/Sub's own dead-letter policy: `retries` within 5-100 (below 5, the shim dead-letters first)."""
    low, high = ATTEMPTS
    return min(max(spec.retries, low), high)


def shim_dead_letters(spec: QueueStore) -> bool:
    return spec.dead_letter and spec.retries < ATTEMPTS[0]


def push_name(ctx: GcpContext, queue: str) -> str:
    return ctx.name(queue, "push", max_length=PUBSUB_NAME_MAX)


def dlq_name(ctx: GcpContext, queue: str) -> str:
    return ctx.name(queue, "dlq", max_length=PUBSUB_NAME_MAX)


def declare(ctx: GcpContext, name: str, spec: QueueStore) -> StoreRef:
    owner, physical = store_owner(name), ctx.name(name, max_length=PUBSUB_NAME_MAX)
    labels = ctx.labels(**{"deployer-store": name})
    existing = read_existing(ctx, name)  # an existing topic: read; its dead-letter topic is still ours
    topic = existing.resource if existing else ctx.add("gcp:pubsub/topic:Topic", f"store-{name}-topic", owner,
                                                       stateful=True, name=physical, project=ctx.project,
                                                       labels=labels)
    extra = {}
    if spec.dead_letter:
        dlq = ctx.add("gcp:pubsub/topic:Topic", f"store-{name}-dlq", owner, stateful=True, name=dlq_name(ctx, name),
                      project=ctx.project, labels=labels)
        ctx.add("gcp:pubsub/subscription:Subscription", f"store-{name}-dlq-sub", owner, stateful=True,
                name=dlq_name(ctx, name), topic=dlq.out("id"), project=ctx.project,
                message_retention_duration=RETENTION, expiration_policy=NEVER, ack_deadline_seconds=60, labels=labels)
        extra["dlq"] = dlq
    locator = existing.locator if existing else topic_id(ctx, physical)
    return StoreRef(name, "queue", topic, topic.out("id"), locator, extra=extra)


def settings(ctx: GcpContext, function: str) -> dict[str, dict]:
    """DEPLOYER_GCP_QUEUES for a consumer: push subscription name -> retries and dead-letter topic."""
    out = {}
    for trigger in ctx.bp.functions[function].triggers:
        if isinstance(trigger, QueueTrigger):
            spec: QueueStore = ctx.bp.stores[trigger.queue]
            dead = topic_id(ctx, dlq_name(ctx, trigger.queue)) if spec.dead_letter else None
            out[push_name(ctx, trigger.queue)] = {"queue": trigger.queue, "retries": spec.retries, "dead_letter": dead}
    return out


def consume(ctx: GcpContext, function: str, trigger: QueueTrigger, after: list[Resource]) -> Resource:
    """The push subscription that delivers the queue to `function`, with its dead-letter wiring; it is
    created after the grants it needs (`after`: run.invoker, token creator)."""
    spec: QueueStore = ctx.bp.stores[trigger.queue]
    ref, fn = ctx.store(trigger.queue), ctx.fn(function)
    dlq = ref.extra.get("dlq")
    owner = store_owner(trigger.queue)
    grants = [*after]
    if dlq is not None:
        grants.append(iam.dead_letter_agent_publisher(ctx, trigger.queue, dlq))
        if shim_dead_letters(spec):
            grants.append(ctx.add("gcp:pubsub/topicIAMMember:TopicIAMMember",
                                  f"fn-{function}-{trigger.queue}-dlq-publisher", fn_owner(function),
                                  topic=dlq.out("name"), project=ctx.project, role="roles/pubsub.publisher",
                                  member=iam.member(account(fn))))
    endpoint = Template.of(fn.physical, PUSH_PATH)
    timeout = ctx.bp.functions[function].timeout
    subscription = ctx.add(
        "gcp:pubsub/subscription:Subscription", f"store-{trigger.queue}-push", owner, depends_on=tuple(grants),
        name=push_name(ctx, trigger.queue), topic=ref.locator, project=ctx.project,
        ack_deadline_seconds=min(max(timeout, 10), 600), message_retention_duration=RETENTION,
        expiration_policy=NEVER, retry_policy={"minimum_backoff": "10s", "maximum_backoff": "600s"},
        dead_letter_policy={"dead_letter_topic": dlq.out("id"), "max_delivery_attempts": delivery_attempts(spec)}
        if dlq is not None else None,
        push_config={"push_endpoint": endpoint,
                     "oidc_token": {"service_account_email": invoker(fn).out("email"), "audience": fn.physical}},
        labels=ctx.labels(**{"deployer-store": trigger.queue, "deployer-function": function}))
    if dlq is not None:
        iam.dead_letter_agent_subscriber(ctx, trigger.queue, subscription)
    return subscription


def keep_unconsumed(ctx: GcpContext, name: str) -> Resource:
    """A pull subscription for a queue nobody consumes: without one, Pub/Sub drops what is sent."""
    return ctx.add("gcp:pubsub/subscription:Subscription", f"store-{name}-pull", store_owner(name), stateful=True,
                   name=ctx.name(name, "pull", max_length=PUBSUB_NAME_MAX), topic=ctx.store(name).locator,
                   project=ctx.project, message_retention_duration=RETENTION, expiration_policy=NEVER,
                   ack_deadline_seconds=60, labels=ctx.labels(**{"deployer-store": name}))
