"""Topics -> one Service Bus namespace (Standard) per stage, a topic per store, a subscription per consumer.

Storage queues have no fan-out, so topics use Service Bus: every consumer function gets its own
subscription (delivery count 10, then Service Bus's own dead-letter sub-queue) and a serviceBusTrigger
on it. Local (SAS key) auth is disabled on the namespace: publishers and consumers use their managed
identity (Sender on the topic, Receiver on their own subscription).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.blueprint.model import TopicStore, TopicTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import function, store
from providers.azure import names

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

CONNECTION = "DeployerServiceBus"
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
    ns = namespace(ctx)
    physical = names.topic(ctx.bp.name, ctx.bp.stage, name)
    topic = ctx.add("azure-native:servicebus:Topic", f"store-{name}-topic", store(name), topic_name=physical,
                    namespace_name=ns.out("name"))
    topic_id = ctx.arm_id(f"Microsoft.ServiceBus/namespaces/{namespace_name(ctx)}/topics/{physical}")
    subscriptions = {}
    for consumer, _trigger in ctx.consumers(name):
        if consumer in subscriptions:  # two triggers of one function on one topic share its subscription
            continue
        sub_name = names.subscription(consumer)
        res = ctx.add("azure-native:servicebus:Subscription", f"fn-{consumer}-subscription-{name}",
                      function(consumer), subscription_name=sub_name, topic_name=topic.out("name"),
                      namespace_name=ns.out("name"), max_delivery_count=MAX_DELIVERY,
                      dead_lettering_on_message_expiration=True)
        subscriptions[consumer] = (res, f"{topic_id}/subscriptions/{sub_name}")
    return StoreRef(name, "topic", topic, topic_id, physical, extra={"subscriptions": subscriptions})


def binding(bp, fn: str, trigger: TopicTrigger) -> tuple[str, dict]:
    return "servicebus", {"type": "serviceBusTrigger", "direction": "in", "name": "msg",
                          "topicName": names.topic(bp.name, bp.stage, trigger.topic),
                          "subscriptionName": names.subscription(fn), "connection": CONNECTION}
