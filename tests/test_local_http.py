"""The local cloud's HTTP path honours the portable contract of the cloud shims (deployer.runtime.invoke):
CORS from `http.cors` as GCP's shim answers it, the Context rule of `accepts_context`, and a load
failure answered like a handler error. Real daemon, real gateway, real worker processes, real HTTP.
"""

from __future__ import annotations

import httpx
import pytest
from test_local_helpers import Stage, write_blueprint

BLUEPRINT = """
name: contract
http:
  cors: {origins: ["https://app.example"], methods: [GET, POST], headers: [content-type], max_age: 300}
functions:
  api:
    code: fn
    handler: main.api
    triggers: [{http: "GET /items/{id}"}, {http: POST /items}]
  keyword:
    code: fn
    handler: main.keyword
    triggers: [{http: GET /keyword}]
  star:
    code: fn
    handler: main.star
    triggers: [{http: GET /star}]
"""

CODE = '''
from deployer.runtime import Response

def api(request):
    return Response(200, {"id": request.params.get("id")}, {"Vary": "Accept"})

def keyword(request, *, verbose=False):  # one positional parameter: no Context, as on the clouds
    return {"verbose": verbose}

def star(*args):  # *args: gets the Context, as on the clouds
    return {"args": len(args), "cloud": args[1].cloud}
'''

ASK = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
       "Access-Control-Request-Headers": "content-type"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    s = Stage(write_blueprint(tmp_path_factory.mktemp("contract"), BLUEPRINT, {"fn/main.py": CODE})).start()
    yield s
    s.stop()


def cors_of(response) -> dict:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control") or k == "vary"}


def test_a_preflight_is_answered_with_the_blueprints_cors(cloud):
    r = httpx.options(f"{cloud.url}/items", headers=ASK)  # /items serves POST only: preflight before the 405
    assert (r.status_code, r.content) == (204, b"")
    assert cors_of(r) == {"access-control-allow-origin": "https://app.example",
                          "access-control-allow-methods": "GET, POST", "access-control-allow-headers": "content-type",
                          "access-control-max-age": "300", "vary": "Origin"}
    get = httpx.options(f"{cloud.url}/items/7", headers={**ASK, "Access-Control-Request-Method": "GET"})
    assert get.status_code == 204 and get.headers["access-control-allow-origin"] == "https://app.example"


def test_a_preflight_of_an_unknown_path_is_404_and_a_refused_origin_gets_no_allow_headers(cloud):
    assert httpx.options(f"{cloud.url}/nowhere", headers=ASK).status_code == 404
    r = httpx.options(f"{cloud.url}/items", headers={**ASK, "Origin": "https://evil.example"})
    assert r.status_code == 204 and cors_of(r) == {}
    assert httpx.options(f"{cloud.url}/items").status_code == 405  # not a preflight: routed as usual


def test_answers_to_an_allowed_origin_carry_allow_origin(cloud):
    r = httpx.get(f"{cloud.url}/items/7", headers={"Origin": "https://app.example"})
    assert r.status_code == 200 and r.json() == {"id": "7"}
    assert cors_of(r) == {"access-control-allow-origin": "https://app.example", "vary": "Accept, Origin"}
    assert cors_of(httpx.get(f"{cloud.url}/items/7", headers={"Origin": "https://evil.example"})) == {"vary": "Accept"}
    assert cors_of(httpx.get(f"{cloud.url}/items/7")) == {"vary": "Accept"}
    missing = httpx.get(f"{cloud.url}/nowhere", headers={"Origin": "https://app.example"})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "https://app.example"


def test_the_context_is_passed_by_the_same_rule_as_on_the_clouds(cloud):
    assert httpx.get(f"{cloud.url}/keyword").json() == {"verbose": False}
    assert httpx.get(f"{cloud.url}/star").json() == {"args": 2, "cloud": "local"}


def test_a_handler_that_does_not_load_is_a_bare_500(tmp_path):
    code = "import not_a_module_anywhere\n\ndef api(request):\n    return {}\n"
    s = Stage(write_blueprint(tmp_path, BLUEPRINT.split("  keyword:")[0], {"fn/main.py": code})).start()
    try:
        r = httpx.get(f"{s.url}/items/1")
        assert r.status_code == 500 and set(r.json()) == {"error", "request_id"}
        assert r.json()["error"] == "internal error" and "not_a_module" not in r.text
        assert "No module named 'not_a_module_anywhere'" in s.log("api")
    finally:
        s.stop()
