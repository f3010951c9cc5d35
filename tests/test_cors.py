"""CORS (`http.cors`) where the platform does not apply it: the runtime's rules (deployer.runtime.invoke),
what bundle.py puts in deployer_function.json, and that the AWS and Azure shims leave CORS to their
gateways (API Gateway's CORS configuration, API Management's policy) instead of adding it twice.
The GCP package under functions-framework is in test_gcp_package.py, the local cloud in test_local_http.py.
"""

from __future__ import annotations

import json
import shutil

import pytest
from fixtures.events.shimkit import PORTABLE, build_package, load_shim, sam_event, set_env, store_env

from deployer.blueprint.load import load_blueprint
from deployer.bundle import function_config
from deployer.runtime.invoke import Function, merge_cors, preflight
from deployer.runtime.types import Headers, Request, Response

CORS = {"origins": ["https://app.example"], "methods": ["GET", "POST"], "headers": ["content-type"], "max_age": 300}
ASK = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
       "Access-Control-Request-Headers": "content-type"}


def api(routes=("GET /items/{id}", "POST /items"), cors=CORS) -> Function:
    fn = Function({"function": "api", "cloud": "gcp", "cors": cors, "triggers": [{"http": r} for r in routes]})
    fn.set_handler(lambda request: Response(200, {"id": request.params.get("id")}, {"Vary": "Accept"}))
    return fn


def serve(fn, method, path, headers, cors=True) -> tuple[int, dict, bytes]:
    request = Request(method, path, headers=Headers(headers))
    return fn.serve_http(request, fn.context("r1"), cors=cors).encode()


def test_preflight_for_a_served_path_is_answered_without_the_handler():
    fn = api()
    fn.set_handler(lambda request: pytest.fail("a preflight must not reach the handler"))
    status, headers, body = serve(fn, "OPTIONS", "/items", ASK)
    assert (status, body) == (204, b"")
    assert headers == {"Access-Control-Allow-Origin": "https://app.example",
                       "Access-Control-Allow-Methods": "GET, POST",
                       "Access-Control-Allow-Headers": "content-type", "Access-Control-Max-Age": "300",
                       "Vary": "Origin"}
    assert serve(fn, "OPTIONS", "/items/7", ASK)[0] == 204  # a path with a parameter; GET only there


def test_preflight_of_an_unknown_path_or_without_cors_is_routed_as_usual():
    assert serve(api(), "OPTIONS", "/nowhere", ASK)[0] == 404
    assert serve(api(cors=None), "OPTIONS", "/items", ASK)[0] == 405
    assert serve(api(), "OPTIONS", "/items", {"Origin": "https://app.example"})[0] == 405  # not a preflight


def test_a_refused_origin_or_method_gets_a_bare_204():
    for asked in ({**ASK, "Origin": "https://evil.example"}, {**ASK, "Access-Control-Request-Method": "DELETE"}):
        assert preflight(CORS, Headers(asked)).encode() == (204, {}, b"")


def test_wildcards_allow_any_origin_and_echo_what_the_browser_asks():
    wild = {"origins": ["*"], "methods": ["*"], "headers": ["*"], "max_age": 600}
    asked = {**ASK, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization, x-a"}
    _, headers, _ = preflight(wild, Headers(asked)).encode()
    assert headers == {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PATCH",
                       "Access-Control-Allow-Headers": "authorization, x-a", "Access-Control-Max-Age": "600",
                       "Vary": "Access-Control-Request-Method, Access-Control-Request-Headers"}


def test_answers_to_an_allowed_origin_carry_allow_origin_and_vary():
    status, headers, _ = serve(api(), "GET", "/items/7", {"Origin": "https://app.example"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Vary"] == "Accept, Origin"
    assert "Access-Control-Allow-Origin" not in serve(api(), "GET", "/items/7", {"Origin": "https://evil.example"})[1]
    assert "Access-Control-Allow-Origin" not in serve(api(), "GET", "/items/7", {})[1]
    assert serve(api(), "DELETE", "/items/7", {"Origin": "https://app.example"})[1]["Access-Control-Allow-Origin"]
    wild = serve(api(cors={**CORS, "origins": ["*"]}), "GET", "/items/7", {"Origin": "https://x.example"})[1]
    assert wild["Access-Control-Allow-Origin"] == "*" and wild["Vary"] == "Accept"


def test_without_the_option_nothing_is_added():
    status, headers, _ = serve(api(), "GET", "/items/7", {"Origin": "https://app.example"}, cors=False)
    assert status == 200 and headers == {"Vary": "Accept", "Content-Type": "application/json"}
    assert serve(api(), "OPTIONS", "/items", ASK, cors=False)[0] == 405


def test_the_blueprints_allow_origin_replaces_the_handlers():
    merged = merge_cors({"access-control-allow-origin": "https://evil.example", "Vary": "Origin", "X": "1"},
                        {"Access-Control-Allow-Origin": "https://app.example", "Vary": "Origin"})
    assert merged == {"X": "1", "Access-Control-Allow-Origin": "https://app.example", "Vary": "Origin"}


@pytest.fixture
def cors_blueprint(tmp_path):
    """The portable blueprint with http.cors set."""
    root = tmp_path / "portable"
    shutil.copytree(PORTABLE.parent, root, ignore=shutil.ignore_patterns(".deployer", "__pycache__"))
    text = (root / "deployer.yaml").read_text()
    (root / "deployer.yaml").write_text(text + "http:\n  cors: {origins: [\"https://app.example\"], methods: [GET]}\n")
    return load_blueprint(root / "deployer.yaml", env={})


def test_function_config_carries_cors_for_http_functions_only(cors_blueprint):
    assert function_config(cors_blueprint, "api", "gcp")["cors"] == {
        "origins": ["https://app.example"], "methods": ["GET"], "headers": ["*"], "max_age": 600}
    assert "cors" not in function_config(cors_blueprint, "worker", "gcp")
    plain = load_blueprint(PORTABLE, env={})
    assert function_config(plain, "api", "aws")["cors"] is None


def test_aws_shim_leaves_cors_to_api_gateway(cors_blueprint, tmp_path, monkeypatch):
    set_env(monkeypatch, store_env("aws"))
    shim = load_shim(build_package(tmp_path, "api", "aws", cors_blueprint))
    event = sam_event("HttpApi", method="GET", path="items/42", body="")
    event.update(body="", isBase64Encoded=False, routeKey="GET /items/{id}", pathParameters={"id": "42"},
                 headers={"origin": "https://app.example"})
    answer = shim.handler(event, None)
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["id"] == "42"
    assert not any(k.lower().startswith("access-control-") for k in answer["headers"])


def test_azure_shim_leaves_cors_to_api_management(cors_blueprint, tmp_path, monkeypatch):
    pytest.importorskip("azure.functions")
    from test_shim_azure import WorkerContext, http_request

    set_env(monkeypatch, store_env("azure"))
    shim = load_shim(build_package(tmp_path, "api", "azure", cors_blueprint))
    answer = shim.http(http_request("GET", "https://h/api/items/42", headers={"origin": "https://app.example"},
                                    route_params={"id": "42"}), WorkerContext())
    assert answer.status_code == 200
    assert not any(k.lower().startswith("access-control-") for k in dict(answer.headers))
    preflight_answer = shim.http(http_request("OPTIONS", "https://h/api/items/42", headers={
        "origin": "https://app.example", "access-control-request-method": "GET"}), WorkerContext())
    assert preflight_answer.status_code == 405  # API Management answers preflights before they get here

