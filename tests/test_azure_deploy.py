"""After `up` on Azure: every package published through OneDeploy, triggers synced, every function known
to the platform, the gateway's key named value filled (providers/azure/deploy.py), against a fake
ARM/SCM that answers like Azure's REST APIs and records every call. No real waiting: the poller's
sleep is replaced by a counter.
"""

from __future__ import annotations

import hashlib
import threading
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
    functions after `list_polls` more (the platform indexes them asynchronously). Apps are published
    from several threads at once: every mutation takes the lock."""

    def __init__(self, bp, deploy_polls=2, list_polls=1, deployment_status=4, remote="true"):
        self.bp, self.calls = bp, []
        self.python = "3.12"  # functionAppConfig.runtime.version of every site
        self.deploy_polls, self.list_polls, self.status, self.remote = deploy_polls, list_polls, deployment_status, remote
        self.published: dict[str, bytes] = {}
        self.synced: set[str] = set()
        self.polled: dict[str, int] = {}
        self.deployments: dict[str, str] = {}  # site -> its last deployment id
        self.metadata: dict[str, dict] = {}
        self.unlisted: dict[str, int] = {}
        self.named_values: dict[str, dict] = {}
        self.lock = threading.Lock()

    def site_of(self, url: str) -> str:
        return url.split("/sites/", 1)[-1].split("/", 1)[0].split("?", 1)[0]

    def request(self, method, url, *, body=None, content_type=None):
        with self.lock:
            self.calls.append((method, url.split("?", 1)[0]))
            if url.startswith("https://") and ".scm." in url:
                return self.scm(method, url, body, content_type)
            return self.arm(method, url, body)

    def arm(self, method, url, body):
        path, site = url.removeprefix(ARM).split("?", 1)[0], self.site_of(url)
        if method == "GET" and path.count("/") == 8:  # the site
            return 200, {"properties": {"hostNameSslStates": [
                {"name": f"{site}-a1b2.westeurope-01.azurewebsites.net", "hostType": "Standard"},
                {"name": f"{site}-a1b2.scm.westeurope-01.azurewebsites.net", "hostType": "Repository"}],
                "functionAppConfig": {"deployment": {"storage": {"value": f"https://acct/{site}-package"}},
                                      "runtime": {"name": "python", "version": self.python}}}}
        if path.endswith("/config/metadata/list"):
            return 200, {"properties": dict(self.metadata.get(site, {"CURRENT_STACK": "python"}))}
        if method == "PUT" and path.endswith("/config/metadata"):
            self.metadata[site] = dict(body["properties"])
            return 200, body
        if path.endswith("/syncfunctiontriggers"):
            self.synced.add(site)
            return 200, None
        if path.endswith("/functions"):
            return 200, self.functions(site)
        if path.endswith("/host/default/listkeys"):
            return 200, {"masterKey": "m", "functionKeys": {"default": f"key-of-{site}"}}
        if method == "PUT" and "/namedValues/" in path:
            self.named_values[path.rsplit("/", 1)[1]] = body
            return 200, body
        return 404, {"error": {"code": "NotFound", "message": path}}

    def scm(self, method, url, body, content_type):
        site = url.removeprefix("https://").split("-a1b2.scm.", 1)[0]
        if method == "POST" and "/api/publish" in url:
            assert content_type == "application/zip" and f"RemoteBuild={self.remote}" in url
            self.published[site] = body
            self.polled[site] = 0
            self.deployments[site] = f"d{len(self.published)}-{site[-6:]}"
            return 202, self.deployments[site]
        if method == "GET" and url.endswith(f"/api/deployments/{self.deployments.get(site)}"):
            self.polled[site] += 1
            done = self.polled[site] > self.deploy_polls
            return 200, {"status": self.status if done else 1, "complete": done, "status_text": "Build failed"}
        if method == "GET" and "/api/deployments/" in url:  # "latest" would be an earlier deployment
            return 200, {"status": SUCCESS, "complete": True}
        return 404, None

    def functions(self, site: str) -> dict:
        left = self.unlisted.setdefault(site, self.list_polls)  # per site: apps are published at once
        if site not in self.synced or left > 0:
            self.unlisted[site] = left - 1
            return {"value": []}
        fn = next(f for f in self.bp.functions if deploy.site_id(SUB, self.bp, f).endswith("/" + site))
        return {"value": [{"name": f"{site}/{folder}"} for folder in deploy.folders(self.bp, fn)]}


SUCCESS = deploy.SUCCESS


@pytest.fixture
def orders(tmp_path):
    bp = load_blueprint(ROOT / "blueprints" / "orders" / "deployer.yaml")
    return bp, artifacts_of(bp, tmp_path)


def artifacts_of(bp, folder: Path, version: str = "") -> dict:
    artifacts = {}
    for fn in bp.functions:
        path = folder / f"{fn}{version}.zip"
        path.write_bytes(f"zip of {fn}{version}".encode())
        artifacts[fn] = Artifact(fn, path, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    return artifacts


def sites(bp) -> dict[str, str]:
    return {fn: deploy.site_id(SUB, bp, fn).rsplit("/", 1)[1] for fn in bp.functions}


def test_every_function_is_published_synced_and_known(orders, monkeypatch):
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUB)
    bp, artifacts = orders
    fake, waits, lines = FakeAzure(bp), [], []
    assert deploy.publish_all(bp, artifacts, SUB, fake, lines.append, wait=waits.append) == ["api", "notify", "worker"]
    site = sites(bp)
    assert fake.published == {site[fn]: f"zip of {fn}".encode() for fn in bp.functions}
    assert fake.synced == set(site.values())
    api = [c for c in fake.calls if site["api"] in c[1]]
    steps = [(m, u.rsplit("/", 1)[1] if "/api/" not in u else u.split(".net", 1)[1]) for m, u in api]
    deployment = f"/api/deployments/{fake.deployments[site['api']]}"
    assert steps == [("GET", site["api"]), ("POST", "list"), ("POST", "/api/publish"), ("GET", deployment),
                     ("GET", deployment), ("GET", deployment), ("POST", "syncfunctiontriggers"),
                     ("GET", "functions"), ("GET", "functions"), ("PUT", "metadata"), ("POST", "listkeys")]
    # the marker joins what the app's metadata held; only the HTTP function is behind the gateway
    assert fake.metadata[site["api"]]["CURRENT_STACK"] == "python"
    assert fake.metadata[site["api"]][deploy.MARKER] == deploy.marker(
        artifacts["api"], "remote", f"https://acct/{site['api']}-package", "python 3.12")
    assert fake.named_values == {"fn-api-key": {"properties": {"displayName": "fn-api-key",
                                                               "value": f"key-of-{site['api']}", "secret": True}}}
    assert "worker: 1 function(s) known to the platform" in lines
    assert waits and set(waits) == {deploy.POLL}


def test_an_unchanged_package_is_not_published_again_a_changed_one_is(orders, tmp_path):
    bp, artifacts = orders
    fake = FakeAzure(bp)
    deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None)
    fake.published.clear()
    lines: list[str] = []
    assert deploy.publish_all(bp, artifacts, SUB, fake, lines.append, wait=lambda _: None) == []
    assert fake.published == {} and "notify: 1 function(s) known to the platform, code unchanged" in lines
    assert ("POST", f"{ARM}{deploy.site_id(SUB, bp, 'api')}/host/default/listkeys") in fake.calls[-30:]
    changed = {**artifacts, "worker": artifacts_of(bp, tmp_path, "-v2")["worker"]}
    assert deploy.publish_all(bp, changed, SUB, fake, lambda _: None, wait=lambda _: None) == ["worker"]
    assert fake.published == {sites(bp)["worker"]: b"zip of worker-v2"}


def test_a_runtime_change_publishes_again_the_same_package(orders):
    """A function's zip is the same for Python 3.11 and 3.12 (the remote build installs the requirements),
    but what the build installed fits one Python: after `up` moved the app to another version, the
    package is built and published again."""
    bp, artifacts = orders
    fake = FakeAzure(bp)
    fake.python = "3.11"
    deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None)
    fake.published.clear()
    fake.python = "3.12"
    assert deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None) == [
        "api", "notify", "worker"]
    assert set(fake.published) == set(sites(bp).values())


def test_an_app_that_lost_its_functions_is_published_again_whatever_its_marker_says(orders):
    bp, artifacts = orders
    fake = FakeAzure(bp)
    deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None)
    fake.synced.discard(sites(bp)["notify"])  # the platform lists none of its functions
    fake.published.clear()
    assert deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None) == ["notify"]


def test_a_local_build_publishes_without_a_remote_build(orders, monkeypatch):
    bp, artifacts = orders
    local = bp.model_copy(update={"clouds": bp.clouds.model_copy(update={
        "azure": bp.clouds.azure.model_copy(update={"build": "local"})})})
    fake = FakeAzure(local, remote="false")
    assert deploy.publish_all(local, artifacts, SUB, fake, lambda _: None, wait=lambda _: None) == [
        "api", "notify", "worker"]
    site = sites(bp)["api"]
    assert fake.metadata[site][deploy.MARKER] == deploy.marker(artifacts["api"], "local", f"https://acct/{site}-package",
                                                               "python 3.12")


def test_a_failed_deployment_stops_with_its_message_and_is_retried_next_time(orders):
    bp, artifacts = orders
    fake = FakeAzure(bp, deployment_status=3)
    with pytest.raises(DeploymentError, match="3 of 3 apps were not published") as err:
        deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None)
    assert "function 'api': the deployment failed: Build failed" in str(err.value)
    assert fake.metadata == {}  # no marker: the next `up` publishes again
    fake.status = SUCCESS
    assert deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None) == [
        "api", "notify", "worker"]


def test_one_failing_app_does_not_stop_the_others(orders):
    bp, artifacts = orders

    class OneBroken(FakeAzure):
        def arm(self, method, url, body):
            if "syncfunctiontriggers" in url and sites(bp)["notify"] in url:
                return 403, {"error": {"code": "AuthorizationFailed"}}
            return super().arm(method, url, body)

    fake = OneBroken(bp)
    with pytest.raises(DeploymentError, match=r"function 'notify': POST .*/syncfunctiontriggers answered 403"):
        deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None)
    assert set(fake.published) == set(sites(bp).values())
    assert set(fake.metadata) == {sites(bp)["api"], sites(bp)["worker"]}


def test_functions_the_platform_never_lists_are_an_error_not_a_silent_success(orders):
    bp, artifacts = orders
    fake = FakeAzure(bp, list_polls=10_000)
    with pytest.raises(DeploymentError, match=r"gave up waiting 30 s for functions http0, http1, http2 to be listed"):
        deploy.publish_all(bp, artifacts, SUB, fake, lambda _: None, wait=lambda _: None, timeout=30)


def test_an_arm_error_names_the_call(orders):
    bp, artifacts = orders

    class Forbidden(FakeAzure):
        def arm(self, method, url, body):
            if "syncfunctiontriggers" in url:
                return 403, {"error": {"code": "AuthorizationFailed"}}
            return super().arm(method, url, body)

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
