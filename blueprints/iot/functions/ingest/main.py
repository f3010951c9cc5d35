"""Ingest device readings: check the device token, validate, queue for analysis."""

import hmac
import os

from deployer.runtime import Response, stores


def handle(request):
    token = request.headers.get("x-device-token", "")
    if not hmac.compare_digest(token, os.environ.get("INGEST_TOKEN", "")) or not token:
        return Response(401, {"error": "bad device token"})
    reading = request.json()
    if not isinstance(reading, dict) or not isinstance(reading.get("device"), str) \
            or not isinstance(reading.get("temperature"), (int, float)):
        return Response(400, {"error": "a reading needs device (string) and temperature (number)"})
    stores.queue("readings").send({"device": reading["device"], "temperature": reading["temperature"]})
    return Response(202, {"queued": True})
