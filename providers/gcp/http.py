"""HTTP: one base URL for the blueprint's API, through API Gateway.

A gen2 function has a URL of its own, but a blueprint's routes span several functions and users expect
one base URL (as on AWS and Azure). API Gateway gives that: an `Api`, an `ApiConfig` holding an
OpenAPI 2.0 document (JSON) with one operation per route whose `x-google-backend` is the serving
function's URL with `path_translation: APPEND_PATH_TO_ADDRESS` (the function sees the original path,
and the shim routes method + path to the handler), and a `Gateway` whose `default_hostname` is the
`api_url`. The gateway calls the functions as its own service account, which holds run.invoker on each
HTTP function; the functions are never public (no allUsers). The API's managed service is enabled
too, or the gateway answers "API not enabled".

The document: a greedy `{name+}` becomes API Gateway's `{name=**}` (a plain `{name}` matches one
segment); a GET route also declares HEAD (the runtime answers it); operationIds are unique (a hash of
the exact path is appended where two paths would share one); only declared paths are routed, so
`/_deployer/*` (Pub/Sub push and Cloud Scheduler, context.py) is never reachable through the gateway.
The gateway replaces the client's `Authorization` with its own token and forwards the client's as
`X-Forwarded-Authorization`; the shim maps it back.

API configs are immutable: a changed document is a new config (`api_config_id_prefix` gives each a
unique id) that the gateway switches to. CORS: API Gateway does not answer preflight requests itself;
with `http.cors` set, `x-google-endpoints.allowCors` and an OPTIONS operation per path send them to the
path's function, whose shim answers them from the `cors` of its deployer_function.json.
"""

from __future__ import annotations

import re
from typing import Any

from deployer import naming
from deployer.blueprint.refs import http_routes
from deployer.resources.graph import APP
from deployer.resources.values import Base64, Json, Template
from providers.gcp import iam
from providers.gcp.context import API_ID_MAX, GATEWAY_ID_MAX, GcpContext

EVERY_METHOD = ("get", "post", "put", "patch", "delete", "head", "options")
PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")


def operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
    return f"{method}_{words}"


def spec_path(path: str) -> str:
    """A blueprint path as API Gateway's template: `{p}` one segment, `{p+}` -> `{p=**}` any depth."""
    return PARAM.sub(lambda m: "{" + m.group(1) + ("=**" if m.group(2) else "") + "}", path)


def template_key(path: str) -> str:
    """The path with parameter names erased: two routes with one key are one template to the gateway."""
    return PARAM.sub(lambda m: "{" + m.group(2) + "}", path)


def verbs(method: str) -> tuple[str, ...]:
    if method == "ANY":
        return EVERY_METHOD
    return ("get", "head") if method == "GET" else (method.lower(),)


def openapi(title: str, routes: list[tuple[str, str, str]], backends: dict[str, Any],
            deadlines: dict[str, int], managed_service: Any = None) -> dict:
    """The OpenAPI 2.0 document (a structure that may hold references): each method + path routed to
    its function's URL. Pure, for tests."""
    paths: dict[str, dict] = {}
    for method, path, function in routes:
        params = [{"name": p, "in": "path", "required": True, "type": "string"} for p, _ in PARAM.findall(path)]
        spec = spec_path(path)
        for verb in verbs(method):
            op = {"operationId": operation_id(verb, spec),
                  "x-google-backend": {"address": backends[function], "path_translation": "APPEND_PATH_TO_ADDRESS",
                                       "jwt_audience": backends[function], "deadline": deadlines[function]},
                  "responses": {"default": {"description": "the function's response"}}}
            if params:
                op["parameters"] = params
            paths.setdefault(spec, {}).setdefault(verb, op)
    if managed_service is not None:  # CORS: preflights go to the path's function (API Gateway cannot answer them)
        for spec, ops in paths.items():
            if "options" not in ops:
                first = next(iter(ops.values()))
                ops["options"] = {**first, "operationId": operation_id("options", spec)}
    unique_operation_ids(paths)
    doc = {"swagger": "2.0", "info": {"title": title, "version": "1.0.0"}, "schemes": ["https"],
           "produces": ["application/json"], "paths": paths}
    if managed_service is not None:
        doc["x-google-endpoints"] = [{"name": managed_service, "allowCors": True}]
    return doc


def unique_operation_ids(paths: dict[str, dict]) -> None:
    """API Gateway rejects a config where two operations share an id (`/orders/{id}`, `/orders/id`)."""
    seen: dict[str, int] = {}
    for ops in paths.values():
        for op in ops.values():
            seen[op["operationId"]] = seen.get(op["operationId"], 0) + 1
    for spec, ops in paths.items():
        for op in ops.values():
            if seen[op["operationId"]] > 1:
                op["operationId"] = f"{op['operationId']}_{naming.short_hash(spec)[:6]}"


def declare(ctx: GcpContext) -> Any:
    """The API Gateway for every HTTP route; sets ctx.api_url (nothing without routes)."""
    routes = http_routes(ctx.bp)
    if not routes:
        return None
    functions = sorted({fn for _, _, fn in routes})
    gateway_account = iam.account(ctx, "app-gateway-account", APP, "gateway",
                                  description=f"deployer {ctx.app} API Gateway")
    invokers = [iam.run_invoker(ctx, f"fn-{function}-gateway-invoker", function, iam.member(gateway_account))
                for function in functions]
    api = ctx.add("gcp:apigateway/api:Api", "app-api", APP, api_id=ctx.name("api", max_length=API_ID_MAX),
                  project=ctx.project, labels=ctx.labels())
    managed = ctx.add("gcp:projects/service:Service", "app-api-managed-service", APP, project=ctx.project,
                      service=api.out("managed_service"), disable_on_destroy=False)
    backends = {f: ctx.fn(f).physical for f in functions}
    deadlines = {f: ctx.bp.functions[f].timeout for f in functions}
    cors = api.out("managed_service") if ctx.bp.http.cors is not None else None
    document = openapi(ctx.app, routes, backends, deadlines, cors)
    config = ctx.add(
        "gcp:apigateway/apiConfig:ApiConfig", "app-api-config", APP, depends_on=(managed, *invokers),
        api=api.out("api_id"), api_config_id_prefix=ctx.name("cfg", max_length=API_ID_MAX - 27) + "-",
        project=ctx.project, labels=ctx.labels(),
        openapi_documents=[{"document": {"path": "openapi.json", "contents": Base64(Json(document))}}],
        gateway_config={"backend_config": {"google_service_account": gateway_account.out("email")}})
    gateway = ctx.add("gcp:apigateway/gateway:Gateway", "app-api-gateway", APP, api_config=config.out("id"),
                      region=ctx.region, project=ctx.project, gateway_id=ctx.name("gw", max_length=GATEWAY_ID_MAX),
                      labels=ctx.labels())
    ctx.api_url = Template.of("https://", gateway.out("default_hostname"))
    return ctx.api_url
