"""Notifier: hears every order event on the topic and records the notification it would send."""

from deployer.runtime import stores


def run(message):
    event = message.data
    stores.table("notifications").put(message.id, {
        "id": message.id, "order": event["order"], "customer": event.get("customer"),
        "text": f"Thank you, order {event['order']} is confirmed",
    })
