"""A change that would replace a store's data is refused by the local cloud too (exit 2), as on every
cloud; `--replace-data STORE` replaces it, deleting that store's data and nothing else."""

from __future__ import annotations

import json

import httpx
import pytest
from test_local_helpers import write_blueprint

from conftest import run_cli

pytestmark = pytest.mark.slow

BLUEPRINT = """\
name: swap
stores:
  orders: {kind: table, key: id}
  notes: {kind: table}
functions:
  api:
    code: fn
    handler: main.api
    uses: {orders: read-write, notes: read-write}
    triggers: [{http: POST /put}, {http: GET /get}]
"""
CODE = """\
from deployer.runtime import stores


def api(request):
    if request.method == "POST":
        stores.table("orders").put("o1", {"n": 1})
        stores.table("notes").put("n1", {"n": 2})
        return {"ok": True}
    return {"orders": stores.table("orders").get("o1"), "notes": stores.table("notes").get("n1")}
"""


def test_a_key_change_is_refused_locally_and_replace_data_deletes_only_that_store(tmp_path):
    file = write_blueprint(tmp_path, BLUEPRINT, {"fn/main.py": CODE})
    up = run_cli("up", "--json", "-f", str(file))
    try:
        assert up.returncode == 0, up.stderr
        url = json.loads(up.stdout)["outputs"]["api_url"]
        assert httpx.post(f"{url}/put", timeout=30).status_code == 200
        file.write_text(BLUEPRINT.replace("key: id", "key: sku"))
        refused = run_cli("up", "-f", str(file))
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert ("store 'orders' changes its key from 'id' to 'sku': that replaces the table and loses its data"
                in refused.stderr) and "deployer.yaml:3" in refused.stderr
        kept = httpx.get(f"{url}/get", timeout=30).json()  # refused: the cloud and its data are untouched
        assert kept == {"orders": {"id": "o1", "n": 1}, "notes": {"id": "n1", "n": 2}}
        replaced = run_cli("up", "--json", "--replace-data", "orders", "-f", str(file))
        assert replaced.returncode == 0, replaced.stderr
        url = json.loads(replaced.stdout)["outputs"]["api_url"]
        assert httpx.get(f"{url}/get", timeout=30).json() == {"orders": None, "notes": {"id": "n1", "n": 2}}
        assert run_cli("up", "-f", str(file)).returncode == 0  # the new key is now the stage's
    finally:
        run_cli("down", "-f", str(file))
