"""Nightly report: one JSON file per run in the `reports` bucket."""

import json

from deployer.runtime import stores


def nightly(event):
    body = json.dumps({"schedule": event.schedule, "time": str(event.time)}).encode()
    stores.bucket("reports").put(f"reports/{event.time:%Y-%m-%d}.json", body)
