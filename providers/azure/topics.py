"""Topics -> one Service Bus namespace (Standard) per stage, a topic per store, a subscription per consumer.

Storage queues have no fan-out, so topics use Service Bus: every consumer function gets its own
subscription (delivery count 10, then Service Bus's own dead-letter sub-queue) and a serviceBusTrigger
on it. The trigger holds a message under a lock (1 minute by default) that it renews for at most
`maxAutoLockRenewalDuration` (5 minutes by default); a consumer whose timeout is longer gets it raised
to its timeout in host.json (`lock_renewal`), or a long run would lose its lock and the message would
be delivered again (and count towards the 10 deliveries) while the first run still works on it. Local (SAS key) auth is disabled on the namespace: publishers and consumers use their managed
identity (Sender on the topic, Receiver on their own subscription).

An existing topic (`existing:` its ARM id, providers/azure/existing.py) is read, never created,
changed or deleted, and the stage's namespace is not declared for it. Each consumer's subscription on
it is deployer's own (created, and deleted by destroy) in the topic's namespace and resource group,
named `<name>-<stage>-<function>` since other apps and stages may subscribe to the same topic; its
trigger connects through `DeployerServiceBus_<namespace>__fullyQualifiedNamespace`. A subscription is
created through the stack's own subscription (`azure-native:subscriptionId`), so `check` refuses a
topic trigger on an existing topic in another Azure subscription.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.blueprint.model import Blueprint, TopicStore, TopicTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import function, store
from providers.azure import existing, names

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

CONNECTION = "DeployerServiceBus"
#: What the Service Bus trigger renews a message's lock for by default (ServiceBusProcessorOptions.
#: MaxAutoLockRenewalDuration): a consumer running longer loses the lock and gets the message again.
LOCK_RENEWAL = 300
TOPIC = "azure-native:servicebus:Topic"
SUBSCRIPTION = "azure-native:servicebus:Subscription"
MAX_DELIVERY = 10


def namespace_name(ctx: "AzureContext") -> str:
    return names.servicebus(ctx.subscription, ctx.bp.name, ctx.bp.stage)


def namespace(ctx: "AzureContext"):
    """The stage's Service Bus namespace, declared on first use."""
    return ctx.once("servicebus", lambda: ctx.add(
        "azure-native:servicebus:Namespace", "app-servicebus", namespace_name=namespace_name(ctx),
        location=ctx.location, sku={"name": "Standard", "tier": "Standard"}, disable_local_auth=True,
        minimum_tls_version="1.2", public_network_access="Enabled"))


def host(namespace: str) -> str:
    return f"{namespace}.servicebus.windows.net"


def declare(ctx: "AzureContext", name: str, spec: TopicStore) -> StoreRef:
    found = existing.of(ctx.bp, name)
    if found:  # read by id; the subscriptions are this stage's own, in the topic's namespace
        topic = ctx.g.add(TOPIC, f"store-{name}-topic", store(name), read_id=found.id)
        parent = {"namespace_name": found.account, "resource_group_name": found.group, "topic_name": found.name}
        return StoreRef(name, "topic", topic, found.id, found.url,
                        extra={"subscriptions": _subscriptions(ctx, name, found.id, parent)})
    ns = namespace(ctx)
    physical = names.topic(ctx.bp.name, ctx.bp.stage, name)
    topic = ctx.add(TOPIC, f"store-{name}-topic", store(name), topic_name=physical, namespace_name=ns.out("name"))
    topic_id = ctx.arm_id(f"Microsoft.ServiceBus/namespaces/{namespace_name(ctx)}/topics/{physical}")
    parent = {"namespace_name": ns.out("name"), "topic_name": topic.out("name")}
    return StoreRef(name, "topic", topic, topic_id, physical,
                    extra={"subscriptions": _subscriptions(ctx, name, topic_id, parent)})


def _subscriptions(ctx: "AzureContext", name: str, topic_id: str, parent: dict) -> dict:
    """{consumer: (its subscription resource, its ARM id)}: one per consuming function."""
    subscriptions = {}
    for consumer, _trigger in ctx.consumers(name):
        if consumer in subscriptions:  # two triggers of one function on one topic share its subscription
            continue
        sub_name = subscription_name(ctx.bp, consumer, name)
        res = ctx.add(SUBSCRIPTION, f"fn-{consumer}-subscription-{name}", function(consumer),
                      subscription_name=sub_name, **parent, max_delivery_count=MAX_DELIVERY,
                      dead_lettering_on_message_expiration=True)
        subscriptions[consumer] = (res, f"{topic_id}/subscriptions/{sub_name}")
    return subscriptions


def subscription_name(bp: Blueprint, fn: str, topic: str) -> str:
    """A function's subscription: its name on the stage's topic, `<name>-<stage>-<fn>` on an existing one."""
    if existing.of(bp, topic):
        return names.shared_subscription(bp.name, bp.stage, fn)
    return names.subscription(fn)


def lock_renewal(timeout: int) -> int:
    """Seconds a topic consumer's message lock is renewed for (host.json `extensions.serviceBus.
    maxAutoLockRenewalDuration`): as long as the function may run (its timeout, at least the
    extension's default 5 minutes), so a message is not delivered again while its first run works."""
    return max(timeout, LOCK_RENEWAL)


def connection(bp: Blueprint, topic: str) -> str:
    """The app setting prefix of a topic trigger's connection: the stage's namespace, or the existing
    topic's (`DeployerServiceBus_<namespace>`, hyphens as `_`: Linux app setting names allow none)."""
    found = existing.of(bp, topic)
    return f"{CONNECTION}_{found.account.replace('-', '_')}" if found else CONNECTION


def binding(bp, fn: str, trigger: TopicTrigger) -> tuple[str, dict]:
    found = existing.of(bp, trigger.topic)
    return "servicebus", {"type": "serviceBusTrigger", "direction": "in", "name": "msg",
                          "topicName": found.name if found else names.topic(bp.name, bp.stage, trigger.topic),
                          "subscriptionName": subscription_name(bp, fn, trigger.topic),
                          "connection": connection(bp, trigger.topic)}
