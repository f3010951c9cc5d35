"""The GCP shim's platform paths, served by functions-framework: who may deliver events, and retries.

Pub/Sub push and Cloud Scheduler reach `/_deployer/push` and `/_deployer/schedule`, paths the API
Gateway never routes, and the shim accepts them only with a Google-signed OIDC token of the function's
invoker account. Here the "Google" certificates endpoint is a local HTTP server holding a test key's
certificate (DEPLOYER_GCP_CERTS_URL), so google-auth's real signature, expiry and claim checks run on
tokens this test signs. Dead-lettering below Pub/Sub's minimum of 5 deliveries publishes to the gcloud
Pub/Sub emulator.
"""

from __future__ import annotations

import base64
import json

import gcp_oidc
import pytest
from fixtures.events.shimkit import build_package, set_env
from fixtures.gcp_fakes import fake

functions_framework = pytest.importorskip("functions_framework")

INVOKER = "secure-dev-api-inv@demo-project.iam.gserviceaccount.com"
APP = '''
import json, os
from deployer.runtime import Response


def record(kind, value):
    with open(os.environ["SEEN_FILE"], "a") as out:
        out.write(json.dumps({"kind": kind, **value}) + "\\n")


def api(event, context=None):
    if hasattr(event, "method"):
        record("http", {"path": event.path, "authorization": event.headers.get("authorization"),
                        "params": dict(event.params)})
        return {"authorization": event.headers.get("authorization"), "params": dict(event.params)}
    if hasattr(event, "attempt"):
        record("message", {"data": event.data, "attempt": event.attempt})
        if isinstance(event.data, dict) and event.data.get("poison"):
            raise ValueError("poison message")
        return None
    record("schedule", {"schedule": event.schedule})
'''
BLUEPRINT = """\
name: secure
clouds: {gcp: {project: demo-project}}
stores:
  jobs: {kind: queue}
  slow: {kind: queue, retries: 6}
functions:
  api:
    code: code
    handler: app.api
    triggers:
      - http: POST /hook
      - http: GET /files/{path+}
      - queue: jobs
      - schedule: "0 3 * * *"
  other:
    code: code
    handler: app.api
    triggers: [{queue: slow}]
"""
SUBSCRIPTIONS = {"secure-dev-jobs-sub": {"queue": "jobs", "retries": 3,
                                          "dead_letter": "projects/demo-project/topics/secure-dev-jobs-dlq"},
                 "secure-dev-slow-sub": {"queue": "slow", "retries": 6,
                                          "dead_letter": "projects/demo-project/topics/secure-dev-slow-dlq"}}


# ------------------------------------------------------------------------- a key, its certificate, tokens

@pytest.fixture(scope="module")
def keys():
    """Two keys: `google` is served by the certs endpoint, `other` is not."""
    return gcp_oidc.keys("google", "other")


@pytest.fixture(scope="module")
def certs_url(keys):
    with gcp_oidc.certs_server({"kid-google": keys["google"][1]}) as url:
        yield url


def token(keys, *, key="google", kid="kid-google", email=INVOKER, **claims):
    return gcp_oidc.sign(keys[key][0], kid, email, **claims)


# ------------------------------------------------------------------------------------------ the app

@pytest.fixture
def served(tmp_path, monkeypatch, certs_url):
    from deployer.blueprint.load import load_blueprint

    (tmp_path / "bp" / "code").mkdir(parents=True)
    (tmp_path / "bp" / "code" / "app.py").write_text(APP)
    (tmp_path / "bp" / "deployer.yaml").write_text(BLUEPRINT)
    bp = load_blueprint(tmp_path / "bp" / "deployer.yaml", env={})
    seen_file = tmp_path / "seen.jsonl"
    set_env(monkeypatch, {"DEPLOYER_CLOUD": "gcp", "DEPLOYER_GCP_PROJECT": "demo-project",
                          "DEPLOYER_GCP_INVOKER": INVOKER, "DEPLOYER_GCP_CERTS_URL": certs_url,
                          "DEPLOYER_GCP_QUEUES": json.dumps(SUBSCRIPTIONS), "SEEN_FILE": str(seen_file)})

    package = build_package(tmp_path / "pkg", "api", "gcp", bp)
    client = functions_framework.create_app(target="http_entry", source=str(package / "deployer_shim.py")).test_client()

    def seen() -> list[dict]:
        return [json.loads(line) for line in seen_file.read_text().splitlines()] if seen_file.exists() else []

    return client, seen


def envelope(data: dict, attempt: int, subscription: str = "secure-dev-jobs-sub") -> dict:
    return {"message": {"data": base64.b64encode(json.dumps(data).encode()).decode(), "messageId": "m-1",
                        "attributes": {"origin": "test"}, "publishTime": "2026-11-30T10:00:00Z"},
            "subscription": f"projects/demo-project/subscriptions/{subscription}", "deliveryAttempt": attempt}


SCHEDULE = {"deployer": "schedule", "function": "api", "trigger": 3, "schedule": "0 3 * * *", "timezone": "UTC"}


# ------------------------------------------------------------------------------------- forged events

def test_a_forged_envelope_through_the_public_paths_is_never_an_event(served):
    client, seen = served
    assert client.post("/", json=envelope({"n": 1}, 1)).status_code == 404  # no such route
    assert client.post("/", json=SCHEDULE).status_code == 404
    hook = client.post("/hook", json=envelope({"n": 1}, 1))  # a real route: an HTTP call, not a message
    assert hook.status_code == 200
    assert [s["kind"] for s in seen()] == ["http"]


def test_platform_paths_need_a_google_signed_token_of_the_invoker_account(served, keys):
    client, seen = served
    push = envelope({"n": 1}, 1)
    refused = {
        "no token": {},
        "not a bearer": {"Authorization": "Basic dXNlcjpwdw=="},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "signed by another key": {"Authorization": token(keys, key="other")},
        "unknown key id": {"Authorization": token(keys, key="other", kid="kid-other")},
        "another account": {"Authorization": token(keys, email="attacker@evil-project.iam.gserviceaccount.com")},
        "expired": {"Authorization": token(keys, expires_in=-3600)},
        "not Google's issuer": {"Authorization": token(keys, issuer="https://evil.example")},
    }
    for why, headers in refused.items():
        assert client.post("/_deployer/push", json=push, headers=headers).status_code == 403, why
        assert client.post("/_deployer/schedule", json=SCHEDULE, headers=headers).status_code == 403, why
    assert seen() == []
    good = {"Authorization": token(keys)}
    assert client.post("/_deployer/push", json=push, headers=good).status_code == 204
    assert client.post("/_deployer/schedule", json=SCHEDULE, headers=good).status_code == 204
    assert client.get("/_deployer/push", headers=good).status_code == 405
    failed = client.post("/_deployer/push", json=envelope({"poison": True}, 1), headers=good)
    assert failed.status_code == 500  # not 2xx: Pub/Sub redelivers
    assert client.post("/_deployer/push", json=SCHEDULE, headers=good).status_code == 400  # not an envelope
    assert seen() == [{"kind": "message", "data": {"n": 1}, "attempt": 1},
                      {"kind": "schedule", "schedule": "0 3 * * *"},
                      {"kind": "message", "data": {"poison": True}, "attempt": 1}]


# ------------------------------------------------------------------------------------ Authorization

def test_the_handler_sees_the_clients_authorization_not_the_gateways(served):
    client, seen = served
    through_gateway = client.get("/files/a/b.txt", headers={"Authorization": "Bearer gateway-token",
                                                             "X-Forwarded-Authorization": "Bearer client-token"})
    assert through_gateway.get_json() == {"authorization": "Bearer client-token", "params": {"path": "a/b.txt"}}
    anonymous = client.get("/files/x", headers={"Authorization": "Bearer gateway-token"})
    assert anonymous.get_json() == {"authorization": None, "params": {"path": "x"}}


# ----------------------------------------------------------------------------------------- retries

@pytest.fixture
def pubsub(monkeypatch):
    """Pub/Sub as the shim's publisher reaches it: the in-process gRPC fake (tests/fixtures/gcp_fakes.py; the
    gcloud emulator installs from no registry the tests can use), which keeps every message published to
    it. Answers what went to a queue's dead-letter topic during this test (the shim waits for the publish
    to be acknowledged before it answers, so nothing is still on its way)."""
    server = fake("pubsub")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", server.host)
    from deployer.runtime.clients import gcp

    gcp.reset()
    start = len(server.published)

    def dead_letters(queue: str) -> list:
        topic = SUBSCRIPTIONS[f"secure-dev-{queue}-sub"]["dead_letter"]
        return [(data, attributes) for name, data, attributes in server.published[start:] if name == topic]

    yield dead_letters
    gcp.reset()


def test_retries_below_five_the_shim_dead_letters_on_the_last_attempt(served, keys, pubsub):
    client, seen = served
    good = {"Authorization": token(keys)}
    poison = {"poison": True}
    for attempt in (1, 2):  # retries: 3 (the default): attempts 1 and 2 are redelivered by Pub/Sub
        assert client.post("/_deployer/push", json=envelope(poison, attempt), headers=good).status_code == 500
    assert pubsub("jobs") == []
    last = client.post("/_deployer/push", json=envelope(poison, 3), headers=good)
    assert last.status_code == 204  # acknowledged: Pub/Sub stops delivering it
    assert pubsub("jobs") == [(json.dumps(poison).encode(),
                               {"origin": "test", "deployer_error": "ValueError: poison message",
                                "deployer_attempts": "3", "deployer_queue": "jobs"})]
    assert [s["attempt"] for s in seen()] == [1, 2, 3]


def test_retries_of_five_or_more_are_left_to_pubsubs_own_policy(served, keys, pubsub):
    client, _ = served
    good = {"Authorization": token(keys)}
    for attempt in (3, 6, 7):  # retries: 6 -> max_delivery_attempts 6, Pub/Sub dead-letters itself
        answer = client.post("/_deployer/push", json=envelope({"poison": True}, attempt, "secure-dev-slow-sub"),
                             headers=good)
        assert answer.status_code == 500, attempt
    assert pubsub("slow") == []
