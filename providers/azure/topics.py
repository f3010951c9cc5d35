"""Topics -> one Service Bus namespace (Standard) per stage, a topic per store, a subscription per consumer.

Storage queues have no fan-out, so topics use Service Bus: every consumer function gets its own
subscription (delivery count 10, then Service Bus's own dead-letter sub-queue) and a serviceBusTrigger
on it. Local (SAS key) auth is disabled on the namespace: publishers and consumers use their managed
identity (Sender on the topic, Receiver on their own subscription).
"""

from __future__ import annotations

from deployer.blueprint.model import TopicStore, TopicTrigger
from deployer.blueprint.refs import consumers
from providers.azure import names
from providers.azure.context import Context, StoreRef

CONNECTION = "DeployerServiceBus"
MAX_DELIVERY = 10


def namespace(ctx: Context):
    """The stage's Service Bus namespace, declared on first use."""
    from pulumi_azure_native import servicebus

    if ctx.servicebus is None:
        ctx.servicebus_name = names.servicebus(ctx.bp.name, ctx.bp.stage)
        ctx.servicebus = servicebus.Namespace(
            "app-servicebus", namespace_name=ctx.servicebus_name, resource_group_name=ctx.rg_name,
            location=ctx.location, sku=servicebus.SBSkuArgs(name="Standard", tier="Standard"),
            disable_local_auth=True, minimum_tls_version="1.2")
    return ctx.servicebus


def host(namespace_name: str) -> str:
    return f"{namespace_name}.servicebus.windows.net"


def declare(ctx: Context, name: str, store: TopicStore) -> StoreRef:
    from pulumi_azure_native import servicebus

    ns = namespace(ctx)
    physical = names.topic(ctx.bp.name, ctx.bp.stage, name)
    topic = servicebus.Topic(f"store-{name}-topic", topic_name=physical, namespace_name=ns.name,
                             resource_group_name=ctx.rg_name)
    subscriptions = {}
    for function, _trigger in consumers(ctx.bp, name):
        subscriptions[function] = servicebus.Subscription(
            f"fn-{function}-subscription-{name}", subscription_name=names.subscription(function),
            topic_name=topic.name, namespace_name=ns.name, resource_group_name=ctx.rg_name,
            max_delivery_count=MAX_DELIVERY, dead_lettering_on_message_expiration=True)
    return StoreRef(name, "topic", physical, topic.id, topic, subscriptions=subscriptions)


def binding(bp, function: str, trigger: TopicTrigger) -> tuple[str, dict]:
    return "servicebus", {"type": "serviceBusTrigger", "direction": "in", "name": "msg",
                          "topicName": names.topic(bp.name, bp.stage, trigger.topic),
                          "subscriptionName": names.subscription(function), "connection": CONNECTION}
