"""Queues: a Pub/Sub topic and ONE subscription of deployer's own, pushing to the consumer, with a dead-letter topic.

A topic keeps nothing: a queue's undelivered messages wait in its subscription. So every queue has one
subscription, `store-<q>-sub`, stateful like the topic (kept by `destroy` unless --delete-data), declared
whether or not the queue has a consumer: without one it is a PULL subscription (no push config), so what
is sent before a consumer exists is kept; with one it PUSHES to the consumer. Pub/Sub changes a
subscription's push config, ack deadline, dead-letter and retry policies in place (the provider PATCHes
them), so a queue that gains or loses its consumer keeps the same subscription and its backlog.

A keeping `destroy` must not leave a push subscription aimed at a function it deletes (Pub/Sub would
retry every message into the dead-letter topic within minutes): it first runs one update of the graph
compiled with `ctx.detach` (engine.PulumiEngine._destroy_keeping), where every subscription is PULL;
the next `up` adopts the kept subscription and sets its push config again.

Why push and not an Eventarc trigger: Eventarc owns the subscription it creates, so no dead-letter
policy can be set on it. Our subscription carries a dead-letter policy, an exponential `retry_policy`,
and an OIDC token of the function's invoker account (which holds run.invoker on that function only). It
pushes to `PUSH_PATH` of the function's URL, a path the API Gateway never routes, and the shim checks
the token's account there. Push delivers ONE message per request: a `batch` above 1 is a warning in
`check`.

Retries mean the same on every cloud: a message is dead-lettered after exactly `retries` deliveries.
Pub/Sub's `max_delivery_attempts` is 5 to 100; where `retries` is below 5 the shim dead-letters the
message itself on its last attempt (it publishes it with its error and attempt count to the dead-letter
topic, then acknowledges), and Pub/Sub's own policy (5 attempts) stays the backstop. The consumer reads
each queue's `retries` and dead-letter topic from DEPLOYER_GCP_QUEUES (keyed by the subscription name a
push envelope carries) and may publish to that topic.

The dead-letter topic gets a pull subscription of its own (a topic keeps nothing without one), and
the Pub/Sub service agent needs publisher on the dead-letter topic and subscriber on the queue's
subscription to move failed messages (iam.py). Subscriptions never expire (`ttl: ""`).
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


def subscription_name(ctx: GcpContext, queue: str) -> str:
    return ctx.name(queue, "sub", max_length=PUBSUB_NAME_MAX)


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
    """DEPLOYER_GCP_QUEUES for a consumer: subscription name -> retries and dead-letter topic."""
    out = {}
    for trigger in ctx.bp.functions[function].triggers:
        if isinstance(trigger, QueueTrigger):
            spec: QueueStore = ctx.bp.stores[trigger.queue]
            dead = topic_id(ctx, dlq_name(ctx, trigger.queue)) if spec.dead_letter else None
            out[subscription_name(ctx, trigger.queue)] = {"queue": trigger.queue, "retries": spec.retries,
                                                          "dead_letter": dead}
    return out


def subscribe(ctx: GcpContext, queue: str, after: tuple[Resource, ...] = ()) -> Resource:
    """The queue's one subscription (module docstring): PUSH to its consumer, created after the grants
    it needs (`after`: run.invoker, token creator); PULL without a consumer or when `ctx.detach`."""
    spec: QueueStore = ctx.bp.stores[queue]
    ref, owner = ctx.store(queue), store_owner(queue)
    consumer = next((function for function, _ in ctx.consumers(queue)), None)
    dlq = ref.extra.get("dlq")
    grants = [*after]
    if dlq is not None:
        grants.append(iam.dead_letter_agent_publisher(ctx, queue, dlq))
        if consumer is not None and shim_dead_letters(spec):
            grants.append(shim_publisher(ctx, consumer, queue, dlq))
    labels = {"deployer-store": queue, **({"deployer-function": consumer} if consumer else {})}
    timeout = ctx.bp.functions[consumer].timeout if consumer else None
    subscription = ctx.add(
        "gcp:pubsub/subscription:Subscription", f"store-{queue}-sub", owner, stateful=True,
        depends_on=tuple(grants), name=subscription_name(ctx, queue), topic=ref.locator, project=ctx.project,
        ack_deadline_seconds=min(max(timeout, 10), 600) if timeout else 60,
        message_retention_duration=RETENTION, expiration_policy=NEVER,
        retry_policy={"minimum_backoff": "10s", "maximum_backoff": "600s"},
        dead_letter_policy={"dead_letter_topic": dlq.out("id"), "max_delivery_attempts": delivery_attempts(spec)}
        if dlq is not None else None,
        push_config=push_config(ctx, consumer) if consumer and not ctx.detach else None,
        labels=ctx.labels(**labels))
    if dlq is not None:
        iam.dead_letter_agent_subscriber(ctx, queue, subscription)
    return subscription


def push_config(ctx: GcpContext, function: str) -> dict:
    """Push to the function's PUSH_PATH with an OIDC token of its invoker account."""
    fn = ctx.fn(function)
    return {"push_endpoint": Template.of(fn.physical, PUSH_PATH),
            "oidc_token": {"service_account_email": invoker(fn).out("email"), "audience": fn.physical}}


def shim_publisher(ctx: GcpContext, function: str, queue: str, dlq: Resource) -> Resource:
    """With `retries` below 5 the consumer's shim dead-letters itself: publisher on the dead-letter topic."""
    return ctx.add("gcp:pubsub/topicIAMMember:TopicIAMMember", f"fn-{function}-{queue}-dlq-publisher",
                   fn_owner(function), topic=dlq.out("name"), project=ctx.project, role="roles/pubsub.publisher",
                   member=iam.member(account(ctx.fn(function))))
