"""After `up`: publish each function's package, sync its triggers, check the platform knows every function.

Why a step after `up` rather than a resource. Flex Consumption deploys code one way: OneDeploy, which
writes the package to the app's deployment container (with the app's identity) and then syncs the
app's triggers with the platform; it takes no WEBSITE_RUN_FROM_PACKAGE. Microsoft's IaC path is either
the `Microsoft.Web/sites/extensions` `onedeploy` resource with a `packageUri` the service can fetch, or
the app's SCM `POST /api/publish` endpoint (what Core Tools, azd and the GitHub action use). azure-native
models neither, and cannot upload a blob to an account whose shared keys are off (pulumi-azure-native
#2015), and a `packageUri` would need a SAS, which the account no longer signs. So the engine calls
`AzureProvider.after_up` once `up` succeeded; for every function app it:

1. reads the site (ARM) for its SCM host name;
2. `POST https://<scm>/api/publish?RemoteBuild=false` with the zip (Bearer token for ARM), then polls
   `GET https://<scm>/api/deployments/latest` until the deployment succeeded (status 4) or failed (3);
3. `POST <site id>/syncfunctiontriggers` (ARM; Microsoft's documented trigger sync), then polls
   `GET <site id>/functions` until every function folder of the package is listed: only then do
   queue, timer, topic and bucket-event triggers fire with no request ever reaching the app
   (azure-functions-host#3522);
4. for a function behind API Management: `POST <site id>/host/default/listkeys` and writes the default
   function key into the gateway's secret named value `fn-<function>-key` (http.py).

The client is an object with `request(method, url, *, body=None, content_type=None) -> (status, json)`:
`default_client()` authenticates with azure-identity's DefaultAzureCredential; tests pass a fake.
Nothing here imports Pulumi.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Protocol

from deployer.blueprint.model import HttpTrigger
from deployer.errors import DeploymentError, PrerequisiteError
from providers.azure import names, package

ARM = "https://management.azure.com"
WEB_API = "2024-04-01"
APIM_API = "2024-05-01"
SUCCESS, FAILED = 4, 3
TIMEOUT = 600.0  # seconds to wait for one deployment or its functions to appear
POLL = 3.0


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
                wait: Callable[[float], None] | None = None, timeout: float = TIMEOUT) -> list[str]:
    """Publish every function; returns the names published. Raises DeploymentError on the first failure."""
    done = []
    for fn in bp.functions:
        Publisher(bp, fn, subscription, client, wait or time.sleep, timeout).run(artifacts[fn].path, log)
        done.append(fn)
    return done


class Publisher:
    """The four steps of the module docstring for one function app."""

    def __init__(self, bp, fn: str, subscription: str, client: Client, wait, timeout: float):
        self.bp, self.fn, self.subscription, self.client = bp, fn, subscription, client
        self.wait, self.timeout = wait, timeout
        self.site = site_id(subscription, bp, fn)

    def run(self, zip_path, log) -> None:
        scm = self.scm_host()
        log(f"{self.fn}: publishing {zip_path.name} to {scm}")
        self.publish(scm, zip_path.read_bytes())
        self.call("POST", f"{ARM}{self.site}/syncfunctiontriggers?api-version={WEB_API}")
        self.until_known()
        if any(isinstance(t, HttpTrigger) for t in self.bp.functions[self.fn].triggers):
            self.share_key()
        log(f"{self.fn}: {len(folders(self.bp, self.fn))} function(s) known to the platform")

    def call(self, method: str, url: str, body: Any = None, content_type: str | None = None) -> Any:
        status, answer = self.client.request(method, url, body=body, content_type=content_type)
        if status >= 400:
            raise DeploymentError(f"function {self.fn!r}: {method} {url.split('?')[0]} answered {status}: "
                                  f"{json.dumps(answer)[:300]}")
        return answer

    def scm_host(self) -> str:
        site = self.call("GET", f"{ARM}{self.site}?api-version={WEB_API}")
        for state in (site.get("properties") or {}).get("hostNameSslStates") or []:
            if state.get("hostType") == "Repository":
                return state["name"]
        raise DeploymentError(f"function {self.fn!r}: the app has no SCM host name to publish to")

    def publish(self, scm: str, data: bytes) -> None:
        self.call("POST", f"https://{scm}/api/publish?RemoteBuild=false", body=data, content_type="application/zip")
        latest = self.poll(lambda: self.call("GET", f"https://{scm}/api/deployments/latest"),
                           lambda d: (d or {}).get("status") in (SUCCESS, FAILED), "its deployment to finish")
        if latest.get("status") != SUCCESS:
            raise DeploymentError(f"function {self.fn!r}: the deployment failed: "
                                  f"{latest.get('status_text') or latest.get('message') or latest}")

    def until_known(self) -> None:
        wanted = set(folders(self.bp, self.fn))

        def listed() -> set[str]:
            answer = self.call("GET", f"{ARM}{self.site}/functions?api-version={WEB_API}")
            return {item["name"].rsplit("/", 1)[-1] for item in (answer or {}).get("value", [])}

        self.poll(listed, lambda names_: wanted <= names_, f"functions {', '.join(sorted(wanted))} to be listed")

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
