"""Consume jobs; raising makes the message fail (retried, then dead-lettered)."""

import json

from deployer.runtime import stores


def run(message):
    job = message.data
    result = {"id": job["id"], "attempt": message.attempt, "ok": True}
    stores.bucket("results").put(f"jobs/{job['id']}.json", json.dumps(result).encode())
