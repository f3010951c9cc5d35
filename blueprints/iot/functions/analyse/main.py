"""Analyse readings: keep count, last and max temperature per device; alert over the threshold."""

import os

from deployer.runtime import stores


def run(message):
    reading = message.data
    metrics = stores.table("metrics")
    current = metrics.get(reading["device"]) or {"device": reading["device"], "count": 0, "max": None}
    temperature = reading["temperature"]
    current.update(count=current["count"] + 1, last=temperature,
                   max=temperature if current["max"] is None else max(current["max"], temperature))
    metrics.put(reading["device"], current)
    if temperature > float(os.environ.get("ALERT_THRESHOLD", "80")):
        stores.topic("alerts").publish({"device": reading["device"], "temperature": temperature})
