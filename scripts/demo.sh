#!/usr/bin/env bash
# The README's main job on a fresh machine: install deployer, run the orders example on the local cloud
# (no account, no network beyond PyPI), create an order over HTTP and read it back.
# The local cloud is LEFT RUNNING so you can keep trying it; stop it with:
#   .venv/bin/deployer down -f blueprints/orders/deployer.yaml
# Set DEMO_STOP=1 to stop it at the end instead.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .   # the core: the local cloud needs no cloud SDK
BP=blueprints/orders/deployer.yaml

.venv/bin/deployer up --cloud local -f "$BP"
URL=$(.venv/bin/deployer outputs --cloud local -f "$BP" --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["api_url"])')

echo "--- POST $URL/orders"
curl -sS -X POST "$URL/orders" -H 'content-type: application/json' \
     -d '{"id": "demo-1", "items": ["coffee", "croissant"], "customer": "ada"}'
echo
sleep 1   # the fulfilment worker (a queue consumer) marks it fulfilled, the notifier (a topic) records a note
echo "--- GET $URL/orders/demo-1"
curl -sS "$URL/orders/demo-1"
echo
echo "--- deployer logs api / worker / notify show each function's log; deployer dev runs it in the foreground"

if [ "${DEMO_STOP:-0}" = "1" ]; then
  .venv/bin/deployer down --cloud local -f "$BP"
else
  echo "the local cloud keeps running at $URL; stop it with: .venv/bin/deployer down -f $BP"
fi
