"""The runtime's shared pieces: stdlib-only import, handler calling, routing, time and query parsing,
response encoding, and what bundle.py adds to a package."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fixtures.events.shimkit import load_portable

from deployer.runtime.invoke import Function, accepts_context, match_path, parse_query, parse_time
from deployer.runtime.types import Message, Request, Response


def test_importing_the_runtime_pulls_in_only_the_standard_library():
    code = textwrap.dedent("""
        import json, sys
        before = set(sys.modules)
        import deployer.runtime, deployer.runtime.invoke, deployer.runtime.stores
        import deployer.runtime.clients.aws, deployer.runtime.clients.gcp, deployer.runtime.clients.azure
        print(json.dumps(sorted(set(sys.modules) - before)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    new = json.loads(out)
    banned = ("boto3", "botocore", "google", "azure", "pydantic", "yaml", "typer", "pulumi")
    assert [m for m in new if m.split(".")[0] in banned] == []
    assert [m for m in new if m.startswith("deployer.") and not m.startswith("deployer.runtime")] == []


def test_handler_gets_a_context_only_when_it_takes_two_arguments():
    def one(event): ...
    def two(event, context): ...
    def star(*args): ...
    def keyword_only(event, *, context=None): ...
    assert [accepts_context(f) for f in (one, two, star, keyword_only)] == [False, True, True, False]

    fn = Function({"function": "f", "cloud": "aws", "timeout": 5, "handler": "x.y"})
    fn.set_handler(lambda message, context: (message.id, context.function, context.cloud, context.remaining() <= 5))
    assert fn.call(Message("m1", {}), fn.context("r1")) == ("m1", "f", "aws", True)


def test_handler_is_imported_from_its_module_path(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "handlers_mod_x.py").write_text("def run(event):\n    return event * 2\n")
    (tmp_path / "deployer_function.json").write_text(json.dumps(
        {"function": "f", "cloud": "local", "handler": "pkg.handlers_mod_x.run", "timeout": 3, "triggers": []}))
    monkeypatch.setattr(sys, "path", list(sys.path))
    fn = Function.load(tmp_path)
    assert fn.call(21, fn.context()) == 42


def test_lazy_loads_the_package_on_the_first_call_only(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    function = Function.lazy(tmp_path)  # what every shim's `function()` is: nothing is read yet
    (tmp_path / "deployer_function.json").write_text(json.dumps({"function": "f", "handler": "m.run"}))
    first = function()
    (tmp_path / "deployer_function.json").write_text(json.dumps({"function": "g", "handler": "m.run"}))
    assert first.name == "f" and function() is first


def test_store_variables_are_spelled_alike_by_providers_and_the_runtime(monkeypatch):
    from deployer import naming
    from deployer.runtime import stores

    for store in ("orders", "a-b", "x9"):
        assert naming.env_key(store) == stores.env_name("DEPLOYER_STORE_", store)
        assert naming.key_env(store) == stores.env_name("DEPLOYER_KEY_", store)
    from deployer.blueprint.load import load_blueprint

    bp = load_blueprint(Path(__file__).resolve().parent.parent / "blueprints" / "orders" / "deployer.yaml", env={})
    assert naming.store_env(bp, "api", lambda store: f"loc:{store}") == {
        "DEPLOYER_STORE_ORDERS": "loc:orders", "DEPLOYER_KEY_ORDERS": "id", "DEPLOYER_STORE_EVENTS": "loc:events",
        "DEPLOYER_STORE_FULFILMENT": "loc:fulfilment"}


def returning(value):
    return lambda request: value


def test_http_errors_and_return_values():
    fn = Function({"function": "f", "cloud": "gcp"})
    request = Request("GET", "/x")
    for result, expected in [({"a": 1}, (200, b'{"a": 1}', "application/json")), ("hi", (200, b"hi", "text/plain; charset=utf-8")),
                             (None, (204, b"", None)), (Response(201, b"\x00", {"content-type": "image/png"}),
                                                        (201, b"\x00", "image/png"))]:
        fn.set_handler(returning(result))
        status, headers, body = fn.call_http(request, fn.context("r")).encode()
        assert (status, body, {k.lower(): v for k, v in headers.items()}.get("content-type")) == expected
    fn.set_handler(lambda req: object())  # an unsupported return value is a handler error too
    assert fn.call_http(request, fn.context("r9")).body == {"error": "internal error", "request_id": "r9"}


@pytest.mark.parametrize("template, path, params", [
    ("/orders/{id}", "/orders/42", {"id": "42"}),
    ("/orders/{id}", "/orders/42/", {"id": "42"}),
    ("/orders/{id}", "/orders/42/items", None),
    ("/orders", "/orders", {}),
    ("/files/{path+}", "/files/a/b/c.txt", {"path": "a/b/c.txt"}),
    ("/a.b/{x}", "/aXb/1", None),
])
def test_match_path(template, path, params):
    assert match_path(template, path) == params


def test_route_prefers_method_and_reports_405():
    fn = Function({"triggers": [{"http": "POST /orders"}, {"http": {"method": "GET", "path": "/orders/{id}"}},
                                {"http": "ANY /any/{x}"}]})
    assert fn.route("GET", "/orders/1") == (200, {"id": "1"})
    assert fn.route("HEAD", "/orders/1") == (200, {"id": "1"})
    assert fn.route("DELETE", "/orders/1") == (405, {})
    assert fn.route("PATCH", "/any/2") == (200, {"x": "2"})
    assert fn.route("GET", "/nope") == (404, {})


def test_parse_time_and_query():
    utc = timezone.utc
    assert parse_time("2026-11-23T08:01:01.123456789Z") == datetime(2026, 11, 23, 8, 1, 1, 123456, utc)
    assert parse_time("2026-11-23T08:01:01+02:00").utcoffset().total_seconds() == 7200
    assert parse_time(1583348638390) == datetime(2020, 3, 4, 19, 3, 58, 390000, utc)
    assert parse_time("2026-11-23T08:00:00") == datetime(2026, 11, 23, 8, tzinfo=utc)
    assert parse_query("a=1&a=2&b=&c=x%20y") == {"a": "1,2", "b": "", "c": "x y"}


def test_bucket_filters_and_schedule_choice(monkeypatch):
    fn = Function({"triggers": [{"bucket": "uploads", "on": "created", "prefix": "in/", "suffix": ".jpg"},
                                {"bucket": "uploads", "on": "deleted", "prefix": "", "suffix": ""},
                                {"schedule": "0 3 * * *"}, {"schedule": "every 5 minutes"}]})
    monkeypatch.setenv("DEPLOYER_STORE_UPLOADS", "app-dev-uploads")
    assert fn.bucket_store("app-dev-uploads") == "uploads"
    assert fn.object_matches("uploads", "in/a.jpg", "created") and not fn.object_matches("uploads", "in/a.png", "created")
    assert fn.object_matches("uploads", "x", "deleted")
    assert fn.schedule_for("every 5 minutes") == "every 5 minutes" and fn.schedule_for(None) == "0 3 * * *"


def test_client_requirements_follow_the_stores_a_function_uses():
    from deployer.bundle import client_requirements

    bp = load_portable()
    assert client_requirements(bp, "api", "aws") == [] and client_requirements(bp, "api", "local") == []
    assert client_requirements(bp, "api", "gcp") == ["google-cloud-storage>=2.14,<4"]
    assert client_requirements(bp, "api", "azure") == ["azure-identity>=1.15,<2", "azure-storage-blob>=12.19,<13"]
    assert client_requirements(bp, "worker", "gcp") == []  # consuming a trigger needs no SDK


def test_every_example_function_gets_requirements_on_each_cloud():
    from pathlib import Path

    from deployer.blueprint.load import load_blueprint
    from deployer.bundle import client_requirements

    orders = load_blueprint(Path(__file__).parent.parent / "blueprints" / "orders" / "deployer.yaml",
                            env={"GCP_PROJECT": "p"})
    assert client_requirements(orders, "api", "gcp") == ["google-cloud-firestore>=2.14,<3",
                                                          "google-cloud-pubsub>=2.19,<3"]
    assert client_requirements(orders, "api", "azure") == [
        "azure-data-tables>=12.5,<13", "azure-identity>=1.15,<2", "azure-servicebus>=7.11,<8",
        "azure-storage-queue>=12.9,<13"]


def test_a_packaged_aws_function_runs_on_its_own_files_and_the_standard_library(tmp_path):
    """Unpacked as on Lambda, with no site-packages at all (-S -I): the shim and the runtime it carries."""
    from fixtures.events.shimkit import build_package, sam_event

    package = build_package(tmp_path, "worker", "aws")
    event = sam_event("Sqs", body='{"poison": true}', queue_name="jobs")
    driver = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import deployer_shim, deployer.runtime
        class Ctx:
            aws_request_id = "r1"
            def get_remaining_time_in_millis(self):
                return 3000
        answer = deployer_shim.handler(json.loads(sys.argv[2]), Ctx())
        print(json.dumps({"answer": answer, "runtime": deployer.runtime.__file__,
                          "third_party": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))}))
    """)
    out = subprocess.run([sys.executable, "-S", "-I", "-c", driver, str(package), json.dumps(event)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["answer"] == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert result["runtime"].startswith(str(package)) and result["third_party"] == []
    assert "poison message" in out.stderr  # the handler's exception, logged with its traceback
