"""HTTP triggers -> one API Gateway HTTP API per blueprint.

One API (so one base URL, the `api_url` output) with a route per method and path, one Lambda proxy
integration per function (payload format 2.0, which the shim reads), the `$default` stage with
auto-deploy, and per function one invoke permission whose source ARN is this API's execution ARN: no
other API may invoke the function. CORS comes from the blueprint's `http.cors`.
"""

from __future__ import annotations

from typing import Any

from deployer.blueprint import refs
from deployer.naming import short_hash
from deployer.resources.graph import APP, Resource, function as owner
from deployer.resources.values import Template
from providers.aws import iam, names
from providers.aws.context import Context


def declare(ctx: Context) -> Any:
    """The API, its stage, integrations, routes and permissions; returns the base URL (or None)."""
    routes = refs.http_routes(ctx.bp)
    if not routes:
        return None
    api = ctx.g.add("aws:apigatewayv2/api:Api", "app-api", APP, name=names.api_name(ctx.bp), protocol_type="HTTP",
                    cors_configuration=_cors(ctx))
    ctx.g.add("aws:apigatewayv2/stage:Stage", "app-stage", APP, api_id=api.out("id"), name="$default",
              auto_deploy=True)
    integrations = {}
    for function in dict.fromkeys(fn for _, _, fn in routes):
        integrations[function] = _integrate(ctx, api, function)
    for (method, path, function), name in zip(routes, route_names(routes)):
        ctx.g.add("aws:apigatewayv2/route:Route", name, owner(function), api_id=api.out("id"),
                  route_key=f"{method} {path}",
                  target=Template.of("integrations/", integrations[function].out("id")))
    return api.out("api_endpoint")


def route_names(routes: list[tuple[str, str, str]]) -> list[str]:
    """`fn-<function>_route_<method>-<path slug>`; slugs that collide (`/a-b`, `/a/b`) get a hash."""
    found = [names.fn(function, "route", f"{method.lower()}-{_slug(path)}") for method, path, function in routes]
    return [name if found.count(name) == 1 else f"{name}-{short_hash(method + ' ' + path, 4)}"
            for name, (method, path, _) in zip(found, routes)]


def _integrate(ctx: Context, api: Resource, function: str) -> Resource:
    target = ctx.function(function)
    iam.invoke_permission(ctx, function, names.fn(function, "http-permission"), "apigateway.amazonaws.com",
                          Template.of(api.out("execution_arn"), "/*/*"))
    return ctx.g.add(
        "aws:apigatewayv2/integration:Integration", names.fn(function, "integration"), owner(function),
        api_id=api.out("id"), integration_type="AWS_PROXY", integration_uri=target.resource.out("invoke_arn"),
        integration_method="POST", payload_format_version="2.0",
        timeout_milliseconds=min(ctx.bp.functions[function].timeout, 30) * 1000)


def _cors(ctx: Context) -> dict | None:
    cors = ctx.bp.http.cors
    if cors is None:
        return None
    return {"allow_origins": list(cors.origins), "allow_methods": list(cors.methods),
            "allow_headers": list(cors.headers), "max_age": cors.max_age}


def _slug(path: str) -> str:
    """`/orders/{id}` -> `orders-id` (for the Pulumi logical name only)."""
    slug = "".join(c if c.isalnum() else "-" for c in path).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug or "root"
