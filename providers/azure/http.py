"""HTTP: httpTrigger bindings in each function's app, and ONE base URL through API Management.

Every blueprint function is its own Function App (its own host.json, timeout and identity), so HTTP
functions live on different host names. One base URL for the blueprint's API comes from an API
Management instance on the Consumption tier (billed per call, no fixed cost): one API at path `api`,
one operation per route (`ANY` becomes one operation per method) whose policy sends the call to the
owning app's `https://<site>.azurewebsites.net/api`. The CORS settings become the API's `<cors>` policy.

What the user sees: `api_url` = `https://<gateway>.azure-api.net/api`, so `POST {api_url}/orders` works
as on the other clouds. The apps' own URLs also answer (authLevel anonymous: the blueprint has no
auth of its own to map); the `functions` output lists them. The front end closes requests after
230 s whatever the function timeout.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from deployer.blueprint.model import HttpTrigger
from deployer.blueprint.refs import http_routes
from deployer.naming import short_hash
from providers.azure import names
from providers.azure.context import Context

ROUTE_PREFIX = "api"
ANY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PUBLISHER_EMAIL = "noreply@example.com"


def route(path: str) -> str:
    """Blueprint path -> Functions route template: `/orders/{id}` -> `orders/{id}`, `{rest+}` -> `{*rest}`."""
    return re.sub(r"\{(\w+)\+\}", r"{*\1}", path.lstrip("/"))


def params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\+?\}", path)


def binding(trigger: HttpTrigger) -> tuple[str, list[dict]]:
    """(entry point, [httpTrigger in, http out]) of one HTTP trigger."""
    spec = {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous",
            "route": route(trigger.path)}
    if trigger.method != "ANY":
        spec["methods"] = [trigger.method.lower()]
    return "http", [spec, {"type": "http", "direction": "out", "name": "$return"}]


def operations(bp) -> list[tuple[str, str, str, str]]:
    """(operation id, method, APIM url template, function) for every route, ANY expanded.

    Ids hash the method and path, so adding a route never renames the operations of the others."""
    out = []
    for method, path, function in http_routes(bp):
        template = re.sub(r"\{(\w+)\+\}", r"{\1}", path)
        for m in (ANY_METHODS if method == "ANY" else (method,)):
            out.append((f"{m.lower()}-{short_hash(m + ' ' + path)}", m, template, function))
    return out


def backend_policy(base_url: str) -> str:
    return (f"<policies><inbound><base /><set-backend-service base-url={quoteattr(base_url)} /></inbound>"
            "<backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>")


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


def declare(ctx: Context) -> None:
    """The API Management gateway, when the blueprint has HTTP triggers; sets ctx.api_url."""
    from pulumi_azure_native import apimanagement as apim

    bp = ctx.bp
    if not http_routes(bp):
        return
    service = apim.ApiManagementService(
        "app-gateway", service_name=names.apim(bp.name, bp.stage), resource_group_name=ctx.rg_name,
        location=ctx.location, publisher_email=PUBLISHER_EMAIL, publisher_name=bp.stage_name(),
        sku=apim.ApiManagementServiceSkuPropertiesArgs(name="Consumption", capacity=0))
    common = dict(resource_group_name=ctx.rg_name, service_name=service.name)
    api = apim.Api("app-gateway-api", api_id="deployer", path=ROUTE_PREFIX, display_name=bp.stage_name(),
                   protocols=["https"], subscription_required=False, **common)
    policy = cors_policy(bp)
    if policy:
        apim.ApiPolicy("app-gateway-cors", api_id=api.name, policy_id="policy", format="xml", value=policy,
                       **common)
    for op_id, method, template, function in operations(bp):
        _operation(ctx, apim, common, api, op_id, method, template, function)
    ctx.api_url = service.gateway_url.apply(lambda url: f"{url}/{ROUTE_PREFIX}")


def _operation(ctx: Context, apim, common: dict, api, op_id: str, method: str, template: str, function: str):
    op = apim.ApiOperation(
        f"fn-{function}-route-{op_id}", api_id=api.name, operation_id=op_id, display_name=f"{method} {template}",
        method=method, url_template=template,
        template_parameters=[apim.ParameterContractArgs(name=p, type="string", required=True)
                             for p in params(template)], **common)
    base = ctx.app(function).host.apply(lambda host: f"https://{host}/{ROUTE_PREFIX}")
    apim.ApiOperationPolicy(f"fn-{function}-route-{op_id}-policy", api_id=api.name, operation_id=op.name,
                            policy_id="policy", format="xml", value=base.apply(backend_policy), **common)
