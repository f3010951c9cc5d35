"""After `up` on Azure: every package published through OneDeploy, triggers synced, every function known
to the platform, the gateway's key named value filled (providers/azure/deploy.py), against a fake
ARM/SCM that answers like Azure's REST APIs and records every call. No real waiting: the poller's
sleep is replaced by a counter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.blueprint.load import load_blueprint
from deployer.errors import DeploymentError, PrerequisiteError
from deployer.providers import Artifact
from providers.azure import deploy
from providers.azure.provider import AzureProvider

ROOT = Path(__file__).resolve().parent.parent
SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
ARM = "https://management.azure.com"


class FakeAzure:
    """ARM + each app's SCM site. Deployments finish after `deploy_polls` polls; a synced app lists its
    functions after `list_polls` more (the platform indexes them asynchronously)."""

    def __init__(self, bp, deploy_polls=2, list_polls=1, deployment_status=4):
        self.bp, self.calls = bp, []
        self.deploy_polls, self.list_polls, self.status = deploy_polls, list_polls, deployment_status
        self.published: dict[str, bytes] = {}
        self.synced: set[str] = set()
        self.polled: dict[str, int] = {}
        self.named_values: dict[str, dict] = {}

    def site_of(self, url: str) -> str:
        return url.split("/sites/", 1)[1].split("/", 1)[0].split("?", 1)[0]

    def request(self, method, url, *, body=None, content_type=None):
        self.calls.append((method, url.split("?", 1)[0]))
        if url.startswith("https://") and ".scm." in url:
            return self.scm(method, url, body, content_type)
        path = url.removeprefix(ARM).split("?", 1)[0]
        if method == "GET" and path.count("/") == 8:  # the site
            site = self.site_of(url)
            return 200, {"properties": {"hostNameSslStates": [
                {"name": f"{site}-a1b2.westeurope-01.azurewebsites.net", "hostType": "Standard"},
                {"name": f"{site}-a1b2.scm.westeurope-01.azurewebsites.net", "hostType": "Repository"}]}}
        if path.endswith("/syncfunctiontriggers"):
            self.synced.add(self.site_of(url))
            return 200, None
        if path.endswith("/functions"):
            return 200, self.functions(self.site_of(url))
        if path.endswith("/host/default/listkeys"):
            return 200, {"masterKey": "m", "functionKeys": {"default": f"key-of-{self.site_of(url)}"}}
        if method == "PUT" and "/namedValues/" in path:
            self.named_values[path.rsplit("/", 1)[1]] = body
            return 200, body
        return 404, {"error": {"code": "NotFound", "message": path}}

    def scm(self, method, url, body, content_type):
        site = url.removeprefix("https://").split("-a1b2.scm.", 1)[0]
        if method == "POST" and "/api/publish" in url:
            assert content_type == "application/zip" and "RemoteBuild=false" in url
            self.published[site] = body
            self.polled[site] = 0
            return 202, None
        if method == "GET" and url.endswith("/api/deployments/latest"):
            self.polled[site] += 1
            done = self.polled[site] > self.deploy_polls
            return 200, {"status": self.status if done else 1, "complete": done, "status_text": "Build failed"}
        return 404, None

    def functions(self, site: str) -> dict:
        if site not in self.synced or self.list_polls > 0:
            self.list_polls -= 1
            return {"value": []}
        fn = next(f for f in self.bp.functions if deploy.site_id(SUB, self.bp, f).endswith("/" + site))
        return {"value": [{"name": f"{site}/{folder}"} for folder in deploy.folders(self.bp, fn)]}


@pytest.fixture
def orders(tmp_path):
    bp = load_blueprint(ROOT / "blueprints" / "orders" / "deployer.yaml")
    artifacts = {}
    for fn in bp.functions:
        path = tmp_path / f"{fn}.zip"
        path.write_bytes(f"zip of {fn}".encode())
        artifacts[fn] = Artifact(fn, path, "0" * 64, path.stat().st_size)
    return bp, artifacts


def test_every_function_is_published_synced_and_known(orders, monkeypatch):
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUB)
    bp, artifacts = orders
    fake, waits, lines = FakeAzure(bp), [], []
    assert deploy.publish_all(bp, artifacts, SUB, fake, lines.append, wait=waits.append) == ["api", "notify", "worker"]
    sites = {fn: deploy.site_id(SUB, bp, fn).rsplit("/", 1)[1] for fn in bp.functions}
    assert fake.published == {sites[fn]: f"zip of {fn}".encode() for fn in bp.functions}
    assert fake.synced == set(sites.values())
    api = [c for c in fake.calls if sites["api"] in c[1]]
    steps = [(m, u.rsplit("/", 1)[1] if "/api/" not in u else u.split(".net", 1)[1]) for m, u in api]
    assert steps == [("GET", sites["api"]), ("POST", "/api/publish"), ("GET", "/api/deployments/latest"),
                     ("GET", "/api/deployments/latest"), ("GET", "/api/deployments/latest"),
                     ("POST", "syncfunctiontriggers"), ("GET", "functions"), ("GET", "functions"),
                     ("POST", "listkeys")]
    # only the HTTP function is behind the gateway: its key goes to the gateway's named value
    assert fake.named_values == {"fn-api-key": {"properties": {"displayName": "fn-api-key",
                                                               "value": f"key-of-{sites['api']}", "secret": True}}}
    assert lines[-1] == "worker: 1 function(s) known to the platform"
    assert waits and set(waits) == {deploy.POLL}


def test_a_failed_deployment_stops_with_its_message(orders):
    bp, artifacts = orders
    with pytest.raises(DeploymentError, match="function 'api': the deployment failed: Build failed"):
        deploy.publish_all(bp, artifacts, SUB, FakeAzure(bp, deployment_status=3), lambda _: None,
                           wait=lambda _: None)


def test_functions_the_platform_never_lists_are_an_error_not_a_silent_success(orders):
    bp, artifacts = orders
    fake = FakeAzure(bp, list_polls=10_000)
    with pytest.raises(DeploymentError, match=r"gave up waiting 30 s for functions http0, http1, http2 to be listed"):
        deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None, timeout=30)


def test_an_arm_error_names_the_call(orders):
    bp, artifacts = orders

    class Forbidden(FakeAzure):
        def request(self, method, url, *, body=None, content_type=None):
            if "syncfunctiontriggers" in url:
                return 403, {"error": {"code": "AuthorizationFailed"}}
            return super().request(method, url, body=body, content_type=content_type)

    with pytest.raises(DeploymentError, match=r"POST .*/syncfunctiontriggers answered 403: .*AuthorizationFailed"):
        deploy.publish_all(bp, artifacts, SUB, Forbidden(bp), lambda _: None, wait=lambda _: None)


def test_after_up_needs_the_subscription(orders, monkeypatch):
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    bp, artifacts = orders
    with pytest.raises(PrerequisiteError):
        AzureProvider().after_up(bp, artifacts, arm=FakeAzure(bp))


def test_after_up_uses_the_given_client(orders, monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUB.upper())
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    bp, artifacts = orders
    fake, waits = FakeAzure(bp), []
    assert AzureProvider().after_up(bp, artifacts, arm=fake, log=lambda _: None, wait=waits.append) == [
        "api", "notify", "worker"]
    assert len(fake.published) == 3 and waits
