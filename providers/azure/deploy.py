"""After `up`: publish each function's package, sync its triggers, check the platform knows every function.

Why a step after `up` rather than a resource. Flex Consumption deploys code one way: OneDeploy, which
writes the package to the app's deployment container (with the app's identity) and then syncs the
app's triggers with the platform; it takes no WEBSITE_RUN_FROM_PACKAGE. Microsoft's IaC path is either
the `Microsoft.Web/sites/extensions` `onedeploy` resource with a `packageUri` the service can fetch, or
the app's SCM `POST /api/publish` endpoint (what Core Tools, azd and the GitHub action use). azure-native
models neither, and cannot upload a blob to an account whose shared keys are off (pulumi-azure-native
#2015), and a `packageUri` would need a SAS, which the account no longer signs. So the engine calls
`AzureProvider.after_up` once `up` succeeded; for every function app (several apps at once,
PUBLISH_WORKERS, since a remote build takes minutes) it:

1. reads the site (ARM) for its SCM host name, deployment container and runtime, and the app's
   metadata (`config/metadata/list`): when its `deployer_package` marker names this package (its
   sha256, the build mode, the deployment container and the runtime it was built for) and the
   platform lists every function, the app already runs this code and is not published again (an
   unchanged function is never redeployed). The runtime is part of it because a remote build installs
   requirements for the app's Python: the zip of a function is the same for 3.11 and 3.12, but wheels
   built for one (compiled extensions) do not load in the other, so a runtime change publishes again;
2. `POST https://<scm>/api/publish?RemoteBuild=true|false` with the zip (Bearer token for ARM):
   `true` (the default, `clouds.azure.build: remote`) lets the app's build service install
   requirements.txt for the app's own Linux and Python, as Core Tools does for Python; `false`
   (`build: local`) publishes the wheels vendored in the package as they are. Then polls the
   deployment the 202 named (`/api/deployments/<id>`; `latest` when the answer names none) until it
   succeeded (status 4) or failed (3);
3. `POST <site id>/syncfunctiontriggers` (ARM; Microsoft's documented trigger sync), then polls
   `GET <site id>/functions` until every function folder of the package is listed: only then do
   queue, timer, topic and bucket-event triggers fire with no request ever reaching the app
   (azure-functions-host#3522); then writes the marker into the app's metadata (read, merged, put
   back: the API replaces the whole dictionary), so a failed publish is retried by the next `up`;
4. for a function behind API Management: `POST <site id>/host/default/listkeys` and writes the default
   function key into the gateway's secret named value `fn-<function>-key` (http.py), on every `up`
   (a gateway created anew holds the placeholder again).

The client is an object with `request(method, url, *, body=None, content_type=None) -> (status, json)`:
`default_client()` authenticates with azure-identity's DefaultAzureCredential; tests pass a fake.
Nothing here imports Pulumi.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

from deployer.blueprint.model import HttpTrigger
from deployer.errors import DeploymentError, PrerequisiteError
from providers.azure import names, package

ARM = "https://management.azure.com"
WEB_API = "2024-04-01"
APIM_API = "2024-05-01"
SUCCESS, FAILED = 4, 3
TIMEOUT = 900.0  # seconds to wait for one deployment (a remote build takes minutes) or its functions
POLL = 3.0
PUBLISH_WORKERS = 8  # apps published at once
MARKER = "deployer_package"  # the app metadata key naming the package the app runs
DEPLOYMENT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # what a 202 from /api/publish carries


class Client(Protocol):
    def request(self, method: str, url: str, *, body: Any = None,
                content_type: str | None = None) -> tuple[int, Any]: ...


def site_id(subscription: str, bp, fn: str) -> str:
    rg = names.resource_group(bp.name, bp.stage)
    return (f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Web/sites/"
            f"{names.site(subscription, bp.name, bp.stage, fn)}")


def folders(bp, fn: str) -> list[str]:
    """The function folders of a function's package: what the platform must list after the sync."""
    return sorted(path.split("/", 1)[0] for path in package.generated(bp, fn) if path.endswith("/function.json"))


def publish_all(bp, artifacts: dict, subscription: str, client: Client, log: Callable[[str], None] = print,
                wait: Callable[[float], None] | None = None, timeout: float = TIMEOUT,
                workers: int = PUBLISH_WORKERS) -> list[str]:
    """Publish every function whose app does not run its package yet; returns the names published.
    Every app is tried; a DeploymentError names each one that failed."""
    def one(fn: str) -> bool:
        return Publisher(bp, fn, subscription, client, wait or time.sleep, timeout).run(artifacts[fn], log)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(bp.functions)))) as pool:
        futures = {fn: pool.submit(one, fn) for fn in bp.functions}
    failed = {fn: f.exception() for fn, f in futures.items() if f.exception() is not None}
    if len(failed) == 1:
        raise next(iter(failed.values()))
    if failed:
        raise DeploymentError(f"{len(failed)} of {len(futures)} apps were not published:\n" +
                              "\n".join(f"  {exc}" for exc in failed.values()),
                              hint="run `deployer up` again; it publishes what is not published yet")
    return [fn for fn, f in futures.items() if f.result()]


def marker(artifact, build: str, storage: str, runtime: str) -> str:
    """What the app's metadata says once it runs this package: the zip's sha256, the build mode, the
    deployment container (a new container holds no package, whatever the metadata says) and the
    runtime the package was built for (`python 3.12`: a remote build's wheels fit one Python)."""
    return hashlib.sha256(f"{artifact.sha256}\0{build}\0{storage}\0{runtime}".encode()).hexdigest()[:40]


class Publisher:
    """The four steps of the module docstring for one function app."""

    def __init__(self, bp, fn: str, subscription: str, client: Client, wait, timeout: float):
        self.bp, self.fn, self.subscription, self.client = bp, fn, subscription, client
        self.wait, self.timeout = wait, timeout
        self.site = site_id(subscription, bp, fn)
        self.wanted = set(folders(bp, fn))  # what the platform must list once the app runs the package
        self.build = getattr(bp.clouds.azure, "build", "remote")

    def run(self, artifact, log) -> bool:
        """Publish when needed; True when it published."""
        site = self.call("GET", f"{ARM}{self.site}?api-version={WEB_API}")
        scm, wanted = self.scm_host(site), marker(artifact, self.build, _storage(site), _runtime(site))
        metadata = self.metadata()
        published = not (metadata.get(MARKER) == wanted and self.known())
        if published:
            log(f"{self.fn}: publishing {artifact.path.name} to {scm} ({self.build} build)")
            self.publish(scm, artifact.path.read_bytes())
            self.call("POST", f"{ARM}{self.site}/syncfunctiontriggers?api-version={WEB_API}")
            self.until_known()
            self.call("PUT", f"{ARM}{self.site}/config/metadata?api-version={WEB_API}",
                      body={"properties": {**metadata, MARKER: wanted}})
        if any(isinstance(t, HttpTrigger) for t in self.bp.functions[self.fn].triggers):
            self.share_key()
        count = len(self.wanted)
        log(f"{self.fn}: {count} function(s) known to the platform" + ("" if published else ", code unchanged"))
        return published

    def call(self, method: str, url: str, body: Any = None, content_type: str | None = None) -> Any:
        status, answer = self.client.request(method, url, body=body, content_type=content_type)
        if status >= 400:
            raise DeploymentError(f"function {self.fn!r}: {method} {url.split('?')[0]} answered {status}: "
                                  f"{json.dumps(answer)[:300]}")
        return answer

    def scm_host(self, site: dict) -> str:
        for state in (site.get("properties") or {}).get("hostNameSslStates") or []:
            if state.get("hostType") == "Repository":
                return state["name"]
        raise DeploymentError(f"function {self.fn!r}: the app has no SCM host name to publish to")

    def metadata(self) -> dict:
        answer = self.call("POST", f"{ARM}{self.site}/config/metadata/list?api-version={WEB_API}")
        return dict((answer or {}).get("properties") or {})

    def publish(self, scm: str, data: bytes) -> None:
        remote = "true" if self.build == "remote" else "false"
        answer = self.call("POST", f"https://{scm}/api/publish?RemoteBuild={remote}", body=data,
                           content_type="application/zip")
        which = answer.strip() if isinstance(answer, str) and DEPLOYMENT_ID.fullmatch(answer.strip()) else "latest"
        done = self.poll(lambda: self.call("GET", f"https://{scm}/api/deployments/{which}"),
                         lambda d: (d or {}).get("status") in (SUCCESS, FAILED), "its deployment to finish")
        if done.get("status") != SUCCESS:
            raise DeploymentError(f"function {self.fn!r}: the deployment failed: "
                                  f"{done.get('status_text') or done.get('message') or done}",
                                  hint=f"its log: https://{scm}/api/deployments/{done.get('id') or which}/log")

    def listed(self) -> set[str]:
        answer = self.call("GET", f"{ARM}{self.site}/functions?api-version={WEB_API}")
        return {item["name"].rsplit("/", 1)[-1] for item in (answer or {}).get("value", [])}

    def known(self) -> bool:
        return self.wanted <= self.listed()

    def until_known(self) -> None:
        self.poll(self.listed, lambda names_: self.wanted <= names_,
                  f"functions {', '.join(sorted(self.wanted))} to be listed")

    def share_key(self) -> None:
        keys = self.call("POST", f"{ARM}{self.site}/host/default/listkeys?api-version={WEB_API}")
        key = ((keys or {}).get("functionKeys") or {}).get("default")
        if not key:
            raise DeploymentError(f"function {self.fn!r}: the app has no default function key yet")
        rg = names.resource_group(self.bp.name, self.bp.stage)
        service = names.apim(self.subscription, self.bp.name, self.bp.stage)
        value = names.key_named_value(self.fn)
        url = (f"{ARM}/subscriptions/{self.subscription}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/"
               f"service/{service}/namedValues/{value}?api-version={APIM_API}")
        self.call("PUT", url, body={"properties": {"displayName": value, "value": key, "secret": True}})

    def poll(self, get: Callable[[], Any], ready: Callable[[Any], bool], what: str) -> Any:
        waited = 0.0
        while True:
            answer = get()
            if ready(answer):
                return answer
            if waited >= self.timeout:
                raise DeploymentError(f"function {self.fn!r}: gave up waiting {int(self.timeout)} s for {what}",
                                      hint="run `deployer up` again; it publishes again and waits anew")
            self.wait(POLL)
            waited += POLL


def _storage(site: dict) -> str:
    config = (site.get("properties") or {}).get("functionAppConfig") or {}
    return str(((config.get("deployment") or {}).get("storage") or {}).get("value") or "")


def _runtime(site: dict) -> str:
    """`python 3.12`: the runtime the site's functionAppConfig says the app runs."""
    runtime = ((site.get("properties") or {}).get("functionAppConfig") or {}).get("runtime") or {}
    return f"{runtime.get('name') or ''} {runtime.get('version') or ''}".strip()


class ArmClient:
    """HTTPS with a bearer token for ARM from DefaultAzureCredential (az login, environment, identity)."""

    def __init__(self, credential: Any):
        self.credential = credential

    def request(self, method: str, url: str, *, body: Any = None, content_type: str | None = None):
        import urllib.error
        import urllib.request

        token = self.credential.get_token(f"{ARM}/.default").token
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token}",
                   "Content-Type": content_type or "application/json"}
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def default_client() -> ArmClient:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        raise PrerequisiteError("publishing to Azure needs the azure-identity package",
                                hint="pip install azure-identity") from exc
    return ArmClient(DefaultAzureCredential())
