"""A generated Azure package runs: unzip the artifact and call its shim as the Python worker would.

The worker imports `scriptFile` and calls `entryPoint` with one keyword argument per binding `name`
of function.json (plus `context`). This test does the same with real `azure.functions` objects, in a
subprocess whose sys.path starts at the unzipped package (as on Azure), so the package's own
`deployer/runtime` is the one imported. It checks that the generated bindings and the shim agree.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from deployer.blueprint.load import load_blueprint
from providers.azure import package

pytest.importorskip("azure.functions")

BLUEPRINT = """\
name: shimtest
stores:
  uploads: {kind: bucket}
  jobs: {kind: queue, retries: 4}
  news: {kind: topic}
functions:
  all:
    code: functions/all
    handler: main.handle
    timeout: 20
    max_instances: 50
    uses: {uploads: read, jobs: publish, news: publish}
    triggers:
      - http: GET /items/{id}
      - queue: jobs
        batch: 8
      - bucket: uploads
        prefix: in/
        suffix: .txt
      - bucket: uploads
        on: deleted
      - schedule: "0 3 * * *"
      - topic: news
      - schedule: "0 3 * * *"
        timezone: Europe/Paris
"""

HANDLER = """\
import json, os
from deployer.runtime import Request, Response

def handle(event, context=None):
    with open(os.environ["SEEN"], "a") as fh:
        fh.write(json.dumps({"type": type(event).__name__, "repr": repr(event)[:300]}) + "\\n")
    if isinstance(event, Request):
        return {"id": event.params.get("id"), "path": event.path}
"""

DRIVER = r"""
import datetime, importlib, json, sys
sys.path.insert(0, sys.argv[1])
import azure.functions as func
import azure.functions.queue, azure.functions.servicebus, azure.functions.timer  # the worker's concrete types
import deployer_shim

def call(folder, **kwargs):
    spec = json.load(open(f"{sys.argv[1]}/{folder}/function.json"))
    module = importlib.import_module(spec["scriptFile"].removeprefix("../").removesuffix(".py"))
    entry = getattr(module, spec["entryPoint"])
    name = spec["bindings"][0]["name"]
    class Ctx:
        invocation_id = "inv-1"
        function_name = folder
    return entry(**{name: kwargs["value"]}, context=Ctx())

out = {}
req = func.HttpRequest("GET", "https://app.azurewebsites.net/api/items/42", headers={"x": "1"},
                       route_params={"id": "42"}, body=b"")
resp = call("http0", value=req)
out["http"] = [resp.status_code, json.loads(resp.get_body())]
call("queue1", value=azure.functions.queue.QueueMessage(id="m1", body=b'{"n": 1}', dequeue_count=2))
def blob_event(kind, size):  # what Event Grid writes to the trigger's queue (Event Grid schema)
    return json.dumps({"id": "e1", "topic": "/subscriptions/x/resourceGroups/g/providers/Microsoft.Storage/"
                       "storageAccounts/shimtest", "subject": "/blobServices/default/containers/"
                       "shimtest-dev-uploads/blobs/in/a.txt", "eventType": f"Microsoft.Storage.Blob{kind}",
                       "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "", "metadataVersion": "1",
                       "data": {"api": "PutBlob", "contentLength": size, "blobType": "BlockBlob"}}).encode()
call("bucket2", value=azure.functions.queue.QueueMessage(id="b1", body=blob_event("Created", 5), dequeue_count=1))
call("bucket3", value=azure.functions.queue.QueueMessage(id="b2", body=blob_event("Deleted", 0), dequeue_count=1))
call("timer4", value=azure.functions.timer.TimerRequest(past_due=False))
import inspect
given = dict(body=b'{"headline": "hi"}', message_id="s1", delivery_count=1, application_properties={"k": "v"},
             user_properties={})
required = [p.name for p in inspect.signature(azure.functions.servicebus.ServiceBusMessage).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind is inspect.Parameter.KEYWORD_ONLY]
call("topic5", value=azure.functions.servicebus.ServiceBusMessage(**{**{n: None for n in required}, **given}))
import deployer_timezone  # the guard: fires hourly in UTC, runs at 03:00 in Paris
for hour in range(24):
    deployer_timezone._now = lambda hour=hour: datetime.datetime(2026, 1, 15, hour, 0, 2, tzinfo=datetime.timezone.utc)
    call("timer6", value=azure.functions.timer.TimerRequest(past_due=False))
print(json.dumps(out))
"""


def built(tmp_path_factory, blueprint: str) -> Path:
    root = tmp_path_factory.mktemp("bp")
    (root / "deployer.yaml").write_text(blueprint)
    (root / "functions" / "all").mkdir(parents=True)
    (root / "functions" / "all" / "main.py").write_text(HANDLER)
    bp = load_blueprint(root / "deployer.yaml")
    artifact = package.build(bp, "all")
    target = root / "unzipped"
    with zipfile.ZipFile(artifact.path) as zf:
        zf.extractall(target)
    return target


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory) -> Path:
    return built(tmp_path_factory, BLUEPRINT)


def requirement_names(unzipped: Path) -> set[str]:
    lines = (unzipped / "requirements.txt").read_text().splitlines()
    return {re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower() for line in lines if line and not line.startswith("-")}


def test_a_remote_build_package_holds_requirements_not_wheels(unzipped):
    """The default (`clouds.azure.build: remote`): the app's build service installs requirements.txt."""
    assert {"azure-identity", "azure-storage-blob", "azure-storage-queue", "azure-servicebus"} <= \
        requirement_names(unzipped)
    assert not (unzipped / package.DEPS_DIR).exists()
    assert sum(1 for p in unzipped.rglob("*") if p.is_file()) < 60


def test_a_local_build_package_vendors_linux_wheels(tmp_path_factory):
    local = built(tmp_path_factory, BLUEPRINT + "clouds: {azure: {build: local}}\n")
    site = local / package.DEPS_DIR
    assert (site / "azure" / "storage" / "queue" / "__init__.py").is_file()
    assert (site / "azure" / "identity" / "__init__.py").is_file()
    assert any(p.name.endswith("manylinux2014_x86_64.so") or "x86_64-linux-gnu" in p.name
               for p in site.rglob("*.so")), "no Linux x86_64 extension: the wheels are not the app's platform"
    assert "azure-storage-queue" in requirement_names(local)


def test_package_layout(unzipped):
    assert (unzipped / "deployer_shim.py").is_file() and (unzipped / "deployer" / "runtime").is_dir()
    host = json.loads((unzipped / "host.json").read_text())
    assert host["functionTimeout"] == "00:00:20"
    assert host["extensions"]["queues"] == {"batchSize": 8, "newBatchThreshold": 0, "maxDequeueCount": 4}
    folders = sorted(p.parent.name for p in unzipped.glob("*/function.json"))
    assert folders == ["bucket2", "bucket3", "http0", "queue1", "timer4", "timer6", "topic5"]
    assert json.loads((unzipped / "deployer_timezone.json").read_text()) == {
        "timer6": {"cron": "0 3 * * *", "timezone": "Europe/Paris"}}
    assert json.loads((unzipped / "deployer_function.json").read_text())["handler"] == "main.handle"


def test_shim_runs_every_binding_with_azure_functions_types(unzipped, tmp_path):
    seen = tmp_path / "seen.jsonl"
    env = {"SEEN": str(seen), "DEPLOYER_CLOUD": "azure", "DEPLOYER_STORE_UPLOADS": "shimtest-dev-uploads",
           "DEPLOYER_STORE_JOBS": "shimtest-dev-jobs", "DEPLOYER_STORE_NEWS": "shimtest-dev-news",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(DRIVER), str(unzipped)], cwd=unzipped,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"http": [200, {"id": "42", "path": "/items/42"}]}
    events = [json.loads(line) for line in seen.read_text().splitlines()]
    assert [e["type"] for e in events] == ["Request", "Message", "ObjectEvent", "ObjectEvent", "ScheduleEvent",
                                           "Message", "ScheduleEvent"]  # 24 hourly firings, one run
    assert "0 3 * * *" in events[6]["repr"]
    assert "'type': 'created'" in events[2]["repr"] or "type='created'" in events[2]["repr"]
    assert "size=5" in events[2]["repr"] and "key='in/a.txt'" in events[2]["repr"]
    assert "deleted" in events[3]["repr"] and "0 3 * * *" in events[4]["repr"]
    assert "attempt=2" in events[1]["repr"] and "'n': 1" in events[1]["repr"]
    assert "headline" in events[5]["repr"]


def test_deployer_plan_cli_for_azure(cli, unzipped):
    """`deployer plan --cloud azure --json` end to end: load, check, package, the rendered graph."""
    blueprint = unzipped.parent / "deployer.yaml"
    done = cli("plan", "--cloud", "azure", "--json", "-f", str(blueprint))
    assert done.returncode == 0, done.stderr[-2000:]
    plan = json.loads(done.stdout)
    assert plan["cloud"] == "azure" and plan["app"] == "shimtest-dev"
    kinds = {r["type"].split(":", 1)[1] for r in plan["resources"]}
    assert {"web:WebApp", "web:AppServicePlan", "apimanagement:ApiOperation",
            "eventgrid:SystemTopicEventSubscription", "servicebus:Subscription"} <= kinds
    assert "storage:Blob" not in kinds  # the package is published after `up` (providers/azure/deploy.py)
    app = next(r for r in plan["resources"] if r["type"] == "azure-native:web:WebApp")
    assert app["inputs"]["functionAppConfig"]["scaleAndConcurrency"]["maximumInstanceCount"] == 50
    assert re.fullmatch(r"shimtest-dev-all-[0-9a-f]{10}", app["inputs"]["name"])
