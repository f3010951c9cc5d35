"""HTTP: httpTrigger bindings in each function's app, and ONE base URL through API Management.

Every blueprint function is its own Function App (its own host.json, timeout and identity), so HTTP
functions live on different host names. One base URL for the blueprint's API comes from an API
Management instance on the Consumption tier (billed per call, no fixed cost): one API at path `api`,
one operation per route (`ANY` becomes one operation per method) whose policy sends the call to the
owning app's `https://<default host name>/api`. The CORS settings become the API's `<cors>` policy.

Greedy paths: the blueprint's `{rest+}` becomes the Functions route `{*rest}` and APIM's wildcard
template `{*rest}`, so `/files/a/b/c` reaches the function whole (a plain `{rest}` matches one segment).

Not reachable around the gateway: the httpTrigger's authLevel is `function`, so a call straight to
`<app>.azurewebsites.net` without a key gets 401; the gateway adds the app's key in an
`x-functions-key` header from a secret named value (`fn-<function>-key`). The key exists only once
the host has run, so the named value is created with a placeholder (ignored on later `up`s) and the
post-deploy step (deploy.py) writes the app's default host key into it.

Soft delete: API Management keeps a deleted instance (every tier) for 48 hours, during which its name
cannot be reused, so a plain `destroy` keeps the instance (free while idle on the Consumption tier;
its API, operations and named values are deleted) and the next `up` adopts it. After `destroy
--delete-data`, an `up` within 48 hours needs the name purged first
(`az apim deletedservice purge --service-name <name> --location <location>`). As with a store, retaining
means a gateway no route needs any more is forgotten, not deleted (docs/azure.md).

What the user sees: `api_url` = `https://<gateway>.azure-api.net/api`, so `POST {api_url}/orders` works
as on the other clouds. The front end closes requests after 230 s whatever the function timeout.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from deployer.blueprint.model import HttpTrigger
from deployer.blueprint.refs import http_routes
from deployer.naming import short_hash
from deployer.resources.graph import function
from deployer.resources.values import Template
from providers.azure import names

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

ROUTE_PREFIX = "api"
ANY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PUBLISHER_EMAIL = "noreply@example.com"
KEY_HEADER = "x-functions-key"
KEY_PLACEHOLDER = "set-by-deployer-after-deploy"
APIM = "azure-native:apimanagement:"
#: What the SDK sends when these are left out, written out so the plan shows exactly what is sent.
SDK_DEFAULTS = {"service": {"virtual_network_type": "None", "developer_portal_status": "Enabled",
                            "legacy_portal_status": "Enabled", "nat_gateway_state": "Disabled",
                            "disable_gateway": False, "enable_client_certificate": False, "restore": False}}


def route(path: str) -> str:
    """Blueprint path -> Functions route template: `/orders/{id}` -> `orders/{id}`, `{rest+}` -> `{*rest}`."""
    return re.sub(r"\{(\w+)\+\}", r"{*\1}", path.lstrip("/"))


def template(path: str) -> str:
    """Blueprint path -> APIM URL template: `{rest+}` -> APIM's wildcard `{*rest}`."""
    return re.sub(r"\{(\w+)\+\}", r"{*\1}", path)


def params(path: str) -> list[str]:
    return re.findall(r"\{\*?(\w+)\+?\}", path)


def binding(trigger: HttpTrigger) -> tuple[str, list[dict]]:
    """(entry point, [httpTrigger in, http out]) of one HTTP trigger."""
    spec = {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function",
            "route": route(trigger.path)}
    if trigger.method != "ANY":
        spec["methods"] = [trigger.method.lower()]
    return "http", [spec, {"type": "http", "direction": "out", "name": "$return"}]


def operations(bp) -> list[tuple[str, str, str, str]]:
    """(operation id, method, APIM url template, function) for every route, ANY expanded.

    Ids hash the method and path, so adding a route never renames the operations of the others."""
    out = []
    for method, path, fn in http_routes(bp):
        for m in (ANY_METHODS if method == "ANY" else (method,)):
            out.append((f"{m.lower()}-{short_hash(m + ' ' + path)}", m, template(path), fn))
    return out


def backend_policy(base_url, key_name: str) -> Template:
    """The operation policy: the owning app as backend, its key from the named value in a header."""
    return Template.of(
        "<policies><inbound><base /><set-backend-service base-url=\"", base_url, "\" />"
        f"<set-header name={quoteattr(KEY_HEADER)} exists-action=\"override\"><value>{{{{{key_name}}}}}</value>"
        "</set-header></inbound><backend><base /></backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>")


def cors_policy(bp) -> str | None:
    cors = bp.http.cors
    if cors is None:
        return None
    origins = "".join(f"<origin>{escape(o)}</origin>" for o in cors.origins)
    methods = "".join(f"<method>{escape(m)}</method>" for m in cors.methods)
    headers = "".join(f"<header>{escape(h)}</header>" for h in cors.headers)
    return (f'<policies><inbound><base /><cors allow-credentials="false"><allowed-origins>{origins}'
            f'</allowed-origins><allowed-methods preflight-result-max-age="{cors.max_age}">{methods}'
            f"</allowed-methods><allowed-headers>{headers}</allowed-headers></cors></inbound><backend><base />"
            "</backend><outbound><base /></outbound><on-error><base /></on-error></policies>")


def declare(ctx: "AzureContext") -> None:
    """The API Management gateway, when the blueprint has HTTP triggers; sets ctx.api_url."""
    bp = ctx.bp
    if not http_routes(bp):
        return
    service = ctx.add(  # kept by a plain destroy: a deleted instance holds its name for 48 hours
        APIM + "ApiManagementService", "app-gateway", retain=ctx.keep_data,
        service_name=names.apim(ctx.subscription, bp.name, bp.stage),
        location=ctx.location, publisher_email=PUBLISHER_EMAIL, publisher_name=bp.stage_name(),
        sku={"name": "Consumption", "capacity": 0}, **SDK_DEFAULTS["service"])
    common = {"service_name": service.out("name")}
    api = ctx.add(APIM + "Api", "app-gateway-api", api_id="deployer", path=ROUTE_PREFIX, display_name=bp.stage_name(),
                  protocols=["https"], subscription_required=False, **common)
    policy = cors_policy(bp)
    if policy:
        ctx.add(APIM + "ApiPolicy", "app-gateway-cors", api_id=api.out("name"), policy_id="policy", format="xml",
                value=policy, **common)
    keys = {fn: _key(ctx, fn, common) for fn in dict.fromkeys(f for _, _, f in http_routes(bp))}
    for op_id, method, url, fn in operations(bp):
        _operation(ctx, common, api, op_id, method, url, fn, keys[fn])
    ctx.api_url = Template.of(service.out("gateway_url"), f"/{ROUTE_PREFIX}")


def _key(ctx: "AzureContext", fn: str, common: dict):
    key_name = names.key_named_value(fn)
    return ctx.add(APIM + "NamedValue", f"fn-{fn}-key", function(fn), ignore_changes=["value"],
                   named_value_id=key_name, display_name=key_name, secret=True, value=KEY_PLACEHOLDER, **common)


def _operation(ctx: "AzureContext", common: dict, api, op_id: str, method: str, url: str, fn: str, key) -> None:
    owner = function(fn)
    op = ctx.add(APIM + "ApiOperation", f"fn-{fn}-route-{op_id}", owner, api_id=api.out("name"),
                 operation_id=op_id, display_name=f"{method} {url}", method=method, url_template=url,
                 template_parameters=[{"name": p, "type": "string", "required": True} for p in params(url)],
                 **common)
    base = Template.of("https://", ctx.app(fn).resource.out("default_host_name"), f"/{ROUTE_PREFIX}")
    ctx.add(APIM + "ApiOperationPolicy", f"fn-{fn}-route-{op_id}-policy", owner, depends_on=[key],
            api_id=api.out("name"), operation_id=op.out("name"), policy_id="policy", format="xml",
            value=backend_policy(base, names.key_named_value(fn)), **common)

