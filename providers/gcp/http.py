"""HTTP: one base URL for the blueprint's API, through API Gateway.

A gen2 function has a URL of its own, but a blueprint's routes span several functions and users expect
one base URL (as on AWS and Azure). API Gateway gives that: an `Api`, an `ApiConfig` holding an
OpenAPI 2.0 document with one operation per route whose `x-google-backend` is the serving function's
Cloud Run URL with `path_translation: APPEND_PATH_TO_ADDRESS` (the function sees the original path,
and the shim routes method + path to the handler), and a `Gateway` whose `default_hostname` is the
`api_url`. The gateway calls the functions as its own service account, which holds run.invoker on each
HTTP function; the functions are never public (no allUsers). The API's managed service is enabled
too, or the gateway answers "API not enabled".

API configs are immutable: a changed document is a new config (`api_config_id_prefix` gives each a
unique id) that the gateway switches to. CORS: API Gateway does not answer preflight requests itself;
with `http.cors` set, `x-google-endpoints.allowCors` and an OPTIONS operation per path send them to the
path's function, whose shim answers them from the `cors` of its deployer_function.json.
"""

from __future__ import annotations

import base64
import re

import pulumi
import yaml
from pulumi_gcp import apigateway, projects

from deployer.blueprint.refs import http_routes
from providers.gcp import iam
from providers.gcp.context import API_ID_MAX, GATEWAY_ID_MAX, Gcp

EVERY_METHOD = ("get", "post", "put", "patch", "delete", "head", "options")
PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\+?\}")


class _PlainDumper(yaml.SafeDumper):
    """Every operation written out in full: no YAML anchors/aliases for shared parts."""

    def ignore_aliases(self, data) -> bool:
        return True


def operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
    return f"{method}_{words}"


def openapi(title: str, routes: list[tuple[str, str, str]], backends: dict[str, str],
            deadlines: dict[str, int], managed_service: str | None) -> str:
    """The OpenAPI 2.0 document: each method + path routed to its function's URL (pure, for tests)."""
    paths: dict[str, dict] = {}
    for method, path, function in routes:
        params = [{"name": p, "in": "path", "required": True, "type": "string"} for p in PARAM.findall(path)]
        spec_path = PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
        for verb in (EVERY_METHOD if method == "ANY" else (method.lower(),)):
            op = {"operationId": operation_id(verb, spec_path),
                  "x-google-backend": {"address": backends[function], "path_translation": "APPEND_PATH_TO_ADDRESS",
                                       "jwt_audience": backends[function], "deadline": float(deadlines[function])},
                  "responses": {"default": {"description": "the function's response"}}}
            if params:
                op["parameters"] = params
            paths.setdefault(spec_path, {})[verb] = op
    if managed_service:  # CORS: preflight requests go to the path's function (API Gateway cannot answer them)
        for spec_path, ops in paths.items():
            if "options" not in ops:
                first = next(iter(ops.values()))
                ops["options"] = {**first, "operationId": operation_id("options", spec_path)}
    doc = {"swagger": "2.0", "info": {"title": title, "version": "1.0.0"}, "schemes": ["https"],
           "produces": ["application/json"], "paths": paths}
    if managed_service:
        doc["x-google-endpoints"] = [{"name": managed_service, "allowCors": True}]
    return yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False)


def declare(gcp: Gcp) -> pulumi.Output[str] | None:
    """The API Gateway for every HTTP route; returns the base URL (None without routes)."""
    routes = http_routes(gcp.bp)
    if not routes:
        return None
    functions = sorted({fn for _, _, fn in routes})
    gateway_account = iam.account(gcp, "app-gateway-account", "gateway", description=f"deployer {gcp.app} API Gateway")
    for function in functions:
        iam.invoker(gcp, f"fn-{function}-gateway-invoker", function, iam.member(gateway_account))
    api = apigateway.Api("app-api", api_id=gcp.name("api", max_length=API_ID_MAX), project=gcp.project,
                         labels=gcp.labels(), opts=gcp.opts())
    projects.Service("app-api-managed-service", project=gcp.project, service=api.managed_service,
                     disable_on_destroy=False, opts=gcp.opts())
    uris = {f: gcp.function(f).uri for f in functions}
    deadlines = {f: gcp.bp.functions[f].timeout for f in functions}
    cors = gcp.bp.http.cors is not None
    document = pulumi.Output.all(api.managed_service, uris).apply(
        lambda args: openapi(gcp.app, routes, args[1], deadlines, args[0] if cors else None))
    config = apigateway.ApiConfig(
        "app-api-config", api=api.api_id, api_config_id_prefix=gcp.name("cfg", max_length=API_ID_MAX - 27) + "-",
        project=gcp.project, labels=gcp.labels(),
        openapi_documents=[apigateway.ApiConfigOpenapiDocumentArgs(
            document=apigateway.ApiConfigOpenapiDocumentDocumentArgs(
                path="openapi.yaml", contents=document.apply(lambda d: base64.b64encode(d.encode()).decode())))],
        gateway_config=apigateway.ApiConfigGatewayConfigArgs(
            backend_config=apigateway.ApiConfigGatewayConfigBackendConfigArgs(
                google_service_account=gateway_account.email)),
        opts=gcp.opts())
    gateway = apigateway.Gateway("app-api-gateway", api_config=config.id, region=gcp.region, project=gcp.project,
                                 gateway_id=gcp.name("gw", max_length=GATEWAY_ID_MAX), labels=gcp.labels(),
                                 opts=gcp.opts())
    return gateway.default_hostname.apply(lambda host: f"https://{host}")
