"""Write sales reports: a nightly summary by product and an hourly snapshot of the totals."""

import json

from deployer.runtime import stores


def summarise():
    sales = stores.table("sales").scan()
    by_product = {}
    for sale in sales:
        by_product[sale["product"]] = by_product.get(sale["product"], 0) + sale["amount"]
    return {"count": len(sales), "total": sum(s["amount"] for s in sales), "by_product": by_product}


def nightly(event):
    report = {"schedule": event.schedule, "time": event.time.isoformat(), **summarise()}
    name = f"nightly-{event.time:%Y-%m-%d}.json"
    stores.bucket("reports").put(f"reports/{name}", json.dumps(report, sort_keys=True).encode())
    return name


def snapshot(event):
    summary = summarise()
    stores.bucket("reports").put("reports/latest.json", json.dumps(summary, sort_keys=True).encode())
