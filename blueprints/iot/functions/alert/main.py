"""Archive every alert as a JSON object in the archive bucket."""

import json

from deployer.runtime import stores


def run(message):
    alert = message.data
    key = f"alerts/{alert['device']}/{message.id}.json"
    stores.bucket("archive").put(key, json.dumps(alert).encode())
