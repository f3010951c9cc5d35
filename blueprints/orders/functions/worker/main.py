"""Fulfilment worker: marks orders as fulfilled. A poison message raises, is retried and finally
lands in the dead-letter queue; in a batch only the failed messages are retried."""

from deployer.runtime import stores


class PoisonMessage(Exception):
    pass


def run(message):
    job = message.data
    if job.get("poison"):
        raise PoisonMessage(f"order {job.get('order')} cannot be fulfilled (attempt {message.attempt})")
    orders = stores.table("orders")
    order = orders.get(job["order"])
    if order is None:
        raise LookupError(f"order {job['order']} does not exist")
    orders.put(order["id"], {**order, "status": "fulfilled"})
