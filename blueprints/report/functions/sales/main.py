"""Record a sale; serve a written report."""

import uuid

from deployer.runtime import Response, stores


def record(request):
    sale = request.json()
    if not isinstance(sale, dict) or not isinstance(sale.get("amount"), (int, float)):
        return Response(400, {"error": "a sale needs a numeric amount"})
    sale_id = sale.get("id") or uuid.uuid4().hex[:12]
    stores.table("sales").put(sale_id, {"id": sale_id, "amount": sale["amount"],
                                        "product": sale.get("product", "unknown")})
    return Response(201, {"id": sale_id})


def read_report(request):
    data = stores.bucket("reports").get(f"reports/{request.params['name']}")
    if data is None:
        return Response(404, {"error": "no such report"})
    return Response(200, data, {"Content-Type": "application/json"})
