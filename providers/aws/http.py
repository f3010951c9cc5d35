"""HTTP triggers -> one API Gateway HTTP API per blueprint.

One API (so one base URL, the `api_url` output) with a route per method and path, one Lambda proxy
integration per function (payload format 2.0, which the shim reads), the `$default` stage with
auto-deploy, and per function one invoke permission whose source ARN is this API's execution ARN: no
other API may invoke the function. CORS comes from the blueprint's `http.cors`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deployer.blueprint import refs
from deployer.naming import short_hash
from providers.aws import names
from providers.aws.context import Context


def declare(ctx: Context) -> pulumi.Output | None:
    """The API, its stage, integrations, routes and permissions; returns the base URL (or None)."""
    routes = refs.http_routes(ctx.bp)
    if not routes:
        return None
    api = aws.apigatewayv2.Api("app-api", name=names.api_name(ctx.bp), protocol_type="HTTP",
                               cors_configuration=_cors(ctx))
    ctx.api = api
    aws.apigatewayv2.Stage("app-stage", api_id=api.id, name="$default", auto_deploy=True)
    integrations = {}
    for function in dict.fromkeys(fn for _, _, fn in routes):
        integrations[function] = _integrate(ctx, api, function)
    for (method, path, function), name in zip(routes, route_names(routes)):
        aws.apigatewayv2.Route(name, api_id=api.id, route_key=f"{method} {path}",
                               target=integrations[function].id.apply(lambda i: f"integrations/{i}"))
    return api.api_endpoint


def route_names(routes: list[tuple[str, str, str]]) -> list[str]:
    """`fn-<function>-route-<method>-<path slug>`; slugs that collide (`/a-b`, `/a/b`) get a hash."""
    names = [f"fn-{function}-route-{method.lower()}-{_slug(path)}" for method, path, function in routes]
    return [name if names.count(name) == 1 else f"{name}-{short_hash(method + ' ' + path, 4)}"
            for name, (method, path, _) in zip(names, routes)]


def _integrate(ctx: Context, api, function: str):
    target = ctx.function(function)
    aws.lambda_.Permission(
        f"fn-{function}-http-permission", action="lambda:InvokeFunction", function=target.physical,
        principal="apigateway.amazonaws.com", source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
        opts=pulumi.ResourceOptions(depends_on=[target.resource]))
    return aws.apigatewayv2.Integration(
        f"fn-{function}-integration", api_id=api.id, integration_type="AWS_PROXY",
        integration_uri=target.invoke_arn, integration_method="POST", payload_format_version="2.0",
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
