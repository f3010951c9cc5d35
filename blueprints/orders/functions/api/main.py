"""Orders API: create, read and list orders. Portable: runs unchanged on every cloud and locally."""

import uuid

from deployer.runtime import Response, stores


def handle(request):
    orders = stores.table("orders")
    if request.method == "POST":
        body = request.json() or {}
        items = body.get("items")
        if not isinstance(items, list) or not items:
            return Response(400, {"error": "an order needs a non-empty list of items"})
        order = {"id": body.get("id") or uuid.uuid4().hex[:12], "items": items,
                 "customer": body.get("customer", "anonymous"), "status": "received"}
        orders.put(order["id"], order)
        stores.topic("events").publish({"type": "order.created", "order": order["id"],
                                        "customer": order["customer"]})
        stores.queue("fulfilment").send({"order": order["id"], "poison": bool(body.get("poison"))})
        return Response(201, order, {"Location": f"/orders/{order['id']}"})
    if "id" in request.params:
        order = orders.get(request.params["id"])
        return order if order is not None else Response(404, {"error": "no such order"})
    return {"orders": sorted(orders.scan(), key=lambda o: o["id"])}
