"""The AWS shim's cold start and HTTP answers that the portable blueprint does not exercise:

- secrets: the Lambda environment names SSM SecureString parameters (never values); the shim reads
  them from SSM (moto) before the user's module is imported, so the handler, and code run at import,
  see each secret as an environment variable of its own name;
- several `Set-Cookie` headers go out through payload 2.0's `cookies` list (API Gateway would fold
  repeated headers into one).
"""

from __future__ import annotations

import json
import os

import pytest
from fixtures.events.shimkit import build_package, load_shim, sam_event, set_env

pytest.importorskip("moto")
from moto import mock_aws  # noqa: E402

CODE = '''\
import os
from deployer.runtime import Response

AT_IMPORT = os.environ.get("STRIPE_KEY")


def handle(request):
    return {"at_import": AT_IMPORT, "now": os.environ.get("STRIPE_KEY"), "other": os.environ.get("API_TOKEN")}


def cookies(request):
    return Response(200, "ok", [("Set-Cookie", "a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
                                ("Set-Cookie", "b=2; HttpOnly"), ("X-One", "1")])
'''

BLUEPRINT = """\
name: sec
secrets: {STRIPE_KEY: {from: env}, API_TOKEN: {from: env}}
functions:
  pay: {code: fn, handler: main.handle, secrets: [STRIPE_KEY, API_TOKEN], triggers: [{http: GET /pay}]}
  jar: {code: fn, handler: main.cookies, triggers: [{http: GET /jar}]}
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    set_env(monkeypatch, {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                          "AWS_SECRET_ACCESS_KEY": "testing", "DEPLOYER_CLOUD": "aws"})
    monkeypatch.delenv("STRIPE_KEY", raising=False)
    monkeypatch.delenv("API_TOKEN", raising=False)
    from deployer.blueprint.load import load_blueprint

    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.py").write_text(CODE)
    (tmp_path / "deployer.yaml").write_text(BLUEPRINT)
    bp = load_blueprint(tmp_path / "deployer.yaml")
    return lambda function: build_package(tmp_path / "pkg", function, "aws", bp)


class Context:
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self):
        return 5000


def http(path):
    event = sam_event("HttpApi", method="GET", path=path.lstrip("/"), body="")
    event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
    event.pop("pathParameters")
    event.pop("cookies")
    return event


def test_secrets_come_from_ssm_at_cold_start_before_the_module_is_imported(package, monkeypatch):
    from providers.aws import names

    monkeypatch.setenv(names.SECRETS_ENV, "/sec-dev/secrets/STRIPE_KEY,/sec-dev/secrets/API_TOKEN")
    with mock_aws():
        import boto3

        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/sec-dev/secrets/STRIPE_KEY", Value="sk_live_1", Type="SecureString")
        ssm.put_parameter(Name="/sec-dev/secrets/API_TOKEN", Value="tok-2", Type="SecureString")
        answer = load_shim(package("pay")).handler(http("/pay"), Context())
    assert json.loads(answer["body"]) == {"at_import": "sk_live_1", "now": "sk_live_1", "other": "tok-2"}
    monkeypatch.delenv("STRIPE_KEY")
    monkeypatch.delenv("API_TOKEN")


def test_a_missing_parameter_stops_the_invocation_naming_it(package, monkeypatch):
    monkeypatch.setenv("DEPLOYER_SECRET_PARAMETERS", "/sec-dev/secrets/STRIPE_KEY")
    with mock_aws():
        with pytest.raises(RuntimeError, match="cannot read secret parameter.s. /sec-dev/secrets/STRIPE_KEY"):
            load_shim(package("pay")).handler(http("/pay"), Context())
    assert "STRIPE_KEY" not in os.environ


def test_more_than_ten_secrets_are_read_in_batches_of_ten(tmp_path, monkeypatch):
    names = [f"/app-dev/secrets/S{i}" for i in range(23)]
    monkeypatch.setenv("DEPLOYER_SECRET_PARAMETERS", ",".join(names))
    for i in range(23):
        monkeypatch.delenv(f"S{i}", raising=False)
    calls = []

    class FakeSsm:
        def get_parameters(self, Names, WithDecryption):
            assert WithDecryption is True and len(Names) <= 10
            calls.append(len(Names))
            return {"Parameters": [{"Name": n, "Value": "v-" + n.rsplit("/", 1)[-1]} for n in Names],
                    "InvalidParameters": []}

    from providers.aws import shim

    monkeypatch.setattr(shim, "_secrets_loaded", False)
    shim.load_secrets(FakeSsm())
    assert calls == [10, 10, 3]
    assert [os.environ[f"S{i}"] for i in (0, 9, 22)] == ["v-S0", "v-S9", "v-S22"]
    for i in range(23):
        monkeypatch.delenv(f"S{i}")


def test_several_set_cookie_headers_go_out_as_the_cookies_list(package):
    answer = load_shim(package("jar")).handler(http("/jar"), Context())
    assert answer["cookies"] == ["a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2; HttpOnly"]
    assert answer["headers"] == {"X-One": "1", "Content-Type": "text/plain; charset=utf-8"}
