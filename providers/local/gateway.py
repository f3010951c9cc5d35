"""The HTTP gateway: a Starlette router over the blueprint's HTTP triggers, served by uvicorn
(with the protocol of providers/local/httpproto.py: a response's head and body in one write).

Starlette does the routing the way the blueprint means it: `{id}` path parameters, several methods on
one path, 404 for an unknown path and 405 (with `Allow`) for a known path and another method. Each
route's endpoint is a bare ASGI callable (no Request/Response objects on the hot path): it reads the
body with a size limit (413), hands the portable request to a warm worker of the function and maps
the outcome: the handler's response (a raise is already the runtime's 500 `{"error": "internal error",
"request_id"}`, as on every cloud), 502 when its worker crashed, 504 when it timed out. The gateway itself
never runs user code, so a bad handler cannot take it down.

Routing is API Gateway's: `{name}` is one path segment, a greedy `{name+}` (last) takes the rest of the
path (one or more segments: `/files/{path+}` serves `/files/a/b`), a literal path wins over a `{name}`
path and both over a greedy one, whatever their order in the blueprint. Routing looks at the path as
the client sent it: an encoded slash (`%2F`) inside a segment stays inside that segment
(`/echo/a%2Fb` matches `/echo/{id}` with id `a/b`), and path parameters are decoded after matching.

A handler's answer that HTTP cannot carry (a status outside 200-599, a body on 204/304, a header with
CR/LF or outside Latin-1, a body of another type) is refused by the runtime (Response.check) in the
worker: a 500 with the request id, and the function's log says what was wrong.

Query strings and CORS follow deployer.runtime.invoke, the rules every cloud's shim uses: a repeated
query name's values are joined with "," (API Gateway's rule), and `http.cors` is applied by `Cors` below
with the same functions the GCP shim uses (a preflight for a served path is answered 204 before
routing could say 405; an allowed Origin gets Access-Control-Allow-Origin on every answer). A request
without an Origin header, like every request of the benchmark, passes through it untouched.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from urllib.parse import unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Match, Route, Router

from deployer.runtime.invoke import cors_headers, error_response, is_preflight, merge_cors, parse_query, preflight
from deployer.runtime.types import Headers
from providers.local import spin
from providers.local.workers import HandlerFailed, InvocationError, Pool, log_line

MAX_BODY = int(os.environ.get("DEPLOYER_LOCAL_MAX_BODY", str(6 * 1024 * 1024)))  # Lambda's payload limit
JSON = [(b"content-type", b"application/json")]
_BOOT = uuid.uuid4().hex[:12]
_COUNTER = itertools.count(1)


GREEDY = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\+\}")
RAW_PATH = "deployer.path"  # scope key: the decoded path, when routing used the encoded one


class Greedy(Convertor):
    """`{name+}`: one or more whole segments (API Gateway's greedy path variable)."""

    regex = ".+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("deployer_greedy", Greedy())


def route_path(path: str) -> str:
    """A blueprint path in Starlette's syntax: `{path+}` -> `{path:deployer_greedy}`."""
    return GREEDY.sub(r"{\1:deployer_greedy}", path)


def specificity(path: str) -> int:
    """API Gateway's precedence: literal paths, then `{name}` paths, then greedy ones."""
    return 2 if GREEDY.search(path) else 1 if "{" in path else 0


def encoded_slashes(scope) -> dict | None:
    """For a path with `%2F` in it, a scope whose `path` keeps each segment's slashes encoded (and
    `%` as `%25`), so routing sees the client's segments; None for every other path."""
    raw = scope.get("raw_path") or b""
    if b"%2" not in raw or (b"%2F" not in raw and b"%2f" not in raw):
        return None
    segments = raw.split(b"?", 1)[0].decode("latin-1").split("/")
    path = "/".join(unquote(s).replace("%", "%25").replace("/", "%2F") for s in segments)
    return {**scope, "path": path, RAW_PATH: scope["path"]}


def request_id() -> str:
    """Unique per local cloud run, without a getrandom syscall per request."""
    return f"{_BOOT}{next(_COUNTER):012x}"


async def send_json(send, status: int, data: dict, extra: list | None = None) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": JSON + [(b"content-length", str(len(body)).encode())] + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than `limit`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class FunctionEndpoint:
    """ASGI endpoint of one path: by method to a function's pool; portable request in and response out."""

    def __init__(self, pools: dict[str, Pool]):
        self.pools = pools  # method (or "ANY") -> pool

    async def __call__(self, scope, receive, send) -> None:
        method = scope["method"]
        pool = self.pools.get(method) or self.pools.get("GET" if method == "HEAD" else "") or self.pools["ANY"]
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                return await send_json(send, 413, {"error": f"request body larger than {MAX_BODY} bytes"})
        try:
            body = await read_body(receive, MAX_BODY)
        except ConnectionResetError:  # the client left (or was answered 408) mid-body: nothing to answer or log
            return
        if body is None:
            return await send_json(send, 413, {"error": f"request body larger than {MAX_BODY} bytes"})
        rid = request_id()
        params = scope.get("path_params", {})
        if RAW_PATH in scope:  # routed on the encoded path: decode each parameter now
            params = {name: unquote(value) for name, value in params.items()}
        payload = {
            "method": scope["method"], "path": scope.get(RAW_PATH, scope["path"]), "params": dict(params),
            "query": parse_query(scope["query_string"]),
            "headers": [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]], "body": body,
        }
        try:
            status, headers, data = await pool.invoke("http", payload, rid)
        except HandlerFailed:  # its handler would not load, or its answer would not encode (logged by the worker)
            return await send_json(send, 500, error_response(rid).body, [(b"x-deployer-request-id", rid.encode())])
        except InvocationError as exc:
            return await send_json(send, exc.status, {"error": str(exc), "request_id": rid},
                                   [(b"x-deployer-request-id", rid.encode())])
        try:
            raw = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
                   if k.lower() != "content-length"]
        except (UnicodeError, AttributeError) as exc:  # Response.check in the worker should have said so
            log_line(pool.spec, f"BAD RESPONSE {rid}: a header HTTP cannot carry ({exc}): answered 500")
            return await send_json(send, 500, error_response(rid).body, [(b"x-deployer-request-id", rid.encode())])
        raw.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data if scope["method"] != "HEAD" else b""})
        spin.poke()  # the client's next request usually follows at once


class FunctionRoute(Route):
    """A route whose 405 (a known path, another method) is JSON with `Allow`, like the 404s."""

    async def handle(self, scope, receive, send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allow = ", ".join(sorted(self.methods))
            path = scope.get(RAW_PATH, scope["path"])
            return await send_json(send, 405, {"error": f"method {scope['method']} not allowed for {path}",
                                               "allow": sorted(self.methods)}, [(b"allow", allow.encode())])
        await super().handle(scope, receive, send)


class Health:
    """GET /_deployer/health: what `deployer up` waits for (an ASGI callable, like every endpoint here)."""

    def __init__(self, info: dict):
        self.info = info

    async def __call__(self, scope, receive, send) -> None:
        await send_json(send, 200, {"ok": True, **self.info})


async def not_found(scope, receive, send) -> None:
    if scope["type"] == "http":
        await send_json(send, 404, {"error": f"no route for {scope['method']} {scope.get(RAW_PATH, scope['path'])}"})


class Cors:
    """ASGI wrapper applying the blueprint's `http.cors` like API Gateway does on AWS, with the runtime's
    functions (deployer.runtime.invoke), so the local cloud answers browsers as GCP's shim does."""

    def __init__(self, app, router: Router, cors: dict):
        self.app, self.router, self.cors = app, router, cors

    async def __call__(self, scope, receive, send) -> None:
        origin = None
        if scope["type"] == "http":
            origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None:
            return await self.app(scope, receive, send)
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        if is_preflight(scope["method"], headers) and self.serves(scope):
            status, answer, _ = preflight(self.cors, headers).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.items()]})
            return await send({"type": "http.response.body", "body": b""})
        extra = cors_headers(self.cors, origin.decode("latin-1"))
        if not extra:
            return await self.app(scope, receive, send)

        async def send_with_cors(message) -> None:
            if message["type"] == "http.response.start":
                raw = {k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]}  # no repeats here
                merged = merge_cors(raw, extra).items()
                message = {**message, "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def serves(self, scope) -> bool:
        """Is the path one of the blueprint's (any method)? Preflights of other paths get the 404."""
        scope = encoded_slashes(scope) or scope
        return any(isinstance(r.endpoint, FunctionEndpoint) and r.matches(scope)[0] is not Match.NONE
                   for r in self.router.routes)


class StaticRoutes:
    """Starlette's routing, with a dict lookup first for paths without parameters.

    Starlette tries every route's regex in order and copies the scope on the way, per request; a dict
    lookup costs a fraction of that. A path without `{...}` that no earlier route matches
    (so Starlette would pick the same route) and a method the route takes go straight to its endpoint
    with the scope Starlette would have given it; everything else (path parameters, 404, 405 with
    `Allow`) goes through the Router unchanged."""

    def __init__(self, router: Router):
        self.router = router
        self.static: dict[str, tuple] = {}
        for n, route in enumerate(router.routes):
            if not isinstance(route, Route) or "{" in route.path:
                continue
            earlier = router.routes[:n]
            if not any(getattr(r, "path_regex", None) and r.path_regex.match(route.path) for r in earlier):
                self.static.setdefault(route.path, (route.endpoint, route.methods))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and (encoded := encoded_slashes(scope)) is not None:
            return await self.router(encoded, receive, send)
        if scope["type"] == "http" and not scope.get("root_path"):
            hit = self.static.get(scope["path"])
            if hit is not None and (hit[1] is None or scope["method"] in hit[1]):
                scope["router"], scope["endpoint"], scope["path_params"] = self.router, hit[0], {}
                return await hit[0](scope, receive, send)
        await self.router(scope, receive, send)


def build(bp, pools: dict[str, Pool], info: dict):
    """The ASGI app: the health endpoint plus one route per (path, method) of the blueprint."""
    from deployer.blueprint.refs import http_routes

    routes = [Route("/_deployer/health", Health(info), methods=["GET"])]
    by_path: dict[str, dict[str, Pool]] = {}
    for method, path, function in http_routes(bp):
        by_path.setdefault(path, {})[method] = pools[function]
    for path, methods in sorted(by_path.items(), key=lambda item: specificity(item[0])):  # stable
        allowed = None if "ANY" in methods else list(methods)
        routes.append(FunctionRoute(route_path(path), FunctionEndpoint(methods), methods=allowed))
    router = Router(routes, redirect_slashes=False, default=not_found)
    app = StaticRoutes(router)
    cors = bp.http.cors
    return app if cors is None else Cors(app, router, cors.model_dump(mode="json"))
