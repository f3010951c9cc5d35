"""HTTP API: POST /items stores a JSON item, GET /items/{id} reads it back."""

import uuid

from deployer.runtime import Response, stores


def handle(request):
    items = stores.table("items")
    if request.method == "POST":
        item = request.json() or {}
        item.setdefault("id", uuid.uuid4().hex)
        items.put(item["id"], item)
        return Response(201, item)
    found = items.get(request.params["id"])
    return found if found is not None else Response(404, {"error": "not found"})
