"""Calling the user's handler: what every shim shares.

Each cloud's shim only translates: native event -> portable type -> `Function.call_*` -> native answer.
Everything else lives here once, so the clouds cannot drift apart: loading `deployer_function.json`
and the `handler` it names, calling it with one or two arguments (the optional Context), logging an
exception with its traceback, answering a failed HTTP call with a 500 that carries the request id and
never the trace, routing a method and path to the function's HTTP triggers, and applying a bucket
trigger's prefix/suffix filters where the cloud cannot. Standard library only.

CORS (the blueprint's `http.cors`, copied into deployer_function.json as `cors`) is the gateway's job on
AWS (API Gateway) and Azure (an API Management policy), so their shims never add CORS headers. GCP's
API Gateway has none and passes preflight OPTIONS requests to the function, and the local cloud has no
platform at all: there `serve_http(..., cors=True)` and the `preflight`/`cors_headers` functions below
answer them with the same rules, so a browser sees the same answers on every cloud.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl

from deployer.runtime.stores import env_name
from deployer.runtime.types import BadJSON, BadResponse, Context, Message, Response

FUNCTION_FILE = "deployer_function.json"
log = logging.getLogger("deployer.runtime")


class EventNotRecognised(ValueError):
    """A shim received an event it has no translation for (a provider wired something unexpected)."""


class Function:
    """One packaged function: its config (deployer_function.json) and, on first use, its handler."""

    def __init__(self, config: Mapping[str, Any], root: str | os.PathLike | None = None):
        self.config = dict(config)
        self.name: str = self.config.get("function", "")
        self.cloud: str = self.config.get("cloud", os.environ.get("DEPLOYER_CLOUD", "local"))
        self.timeout: float = float(self.config.get("timeout") or 0)
        self.triggers: list[dict] = list(self.config.get("triggers") or [])
        self.cors: dict | None = self.config.get("cors")  # the blueprint's http.cors (HTTP functions only)
        self.root = Path(root) if root else None
        self._handler: Callable | None = None
        self._wants_context = False

    @classmethod
    def load(cls, root: str | os.PathLike) -> "Function":
        """Read `<root>/deployer_function.json`; put root on sys.path so the user's modules import."""
        root = Path(root).resolve()
        config = json.loads((root / FUNCTION_FILE).read_text(encoding="utf-8"))
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return cls(config, root)

    @classmethod
    def lazy(cls, root: str | os.PathLike) -> Callable[[], "Function"]:
        """A shim's `function()`: loads the package at `root` on its first call (not at import, so a
        broken config fails an invocation, not the platform's import of the shim), then returns the
        same Function."""
        loaded: list[Function] = []

        def function() -> Function:
            if not loaded:
                loaded.append(cls.load(root))
            return loaded[0]

        return function

    # ------------------------------------------------------------------------------------- handler

    @property
    def handler(self) -> Callable:
        if self._handler is None:
            self.set_handler(import_handler(self.config["handler"]))
        return self._handler  # type: ignore[return-value]

    def set_handler(self, handler: Callable) -> None:
        self._handler = handler
        self._wants_context = accepts_context(handler)

    def context(self, request_id: str | None = None, deadline: float | None = None) -> Context:
        if deadline is None:
            deadline = time.time() + self.timeout if self.timeout else 0.0
        return Context(function=self.name, request_id=request_id or uuid.uuid4().hex,
                       cloud=self.cloud, deadline=deadline)

    def call(self, event: Any, context: Context) -> Any:
        """Call the handler with the event (and the context when it takes a second argument)."""
        handler = self.handler
        return handler(event, context) if self._wants_context else handler(event)

    def call_http(self, request, context: Context) -> Response:
        """The handler's answer as a Response; an exception is logged and becomes a bare 500, except a
        malformed JSON body met by `request.json()` (400, as the local cloud answers too)."""
        try:
            return Response.of(self.call(request, context)).check()
        except BadJSON as exc:
            log.warning("function %s: malformed JSON body on %s %s (request %s): %s", self.name, request.method,
                        request.path, context.request_id, exc)
            return Response(400, {"error": f"malformed JSON body: {exc}"})
        except MemoryError:  # the platform's business: Lambda and the local cloud end the instance (502)
            raise
        except BadResponse as exc:
            log.error("function %s returned a bad response to %s %s (request %s): %s", self.name, request.method,
                      request.path, context.request_id, exc)
            return error_response(context.request_id)
        except Exception:  # noqa: BLE001 - the boundary between user code and the platform
            log.exception("function %s failed on %s %s (request %s)", self.name, request.method,
                          request.path, context.request_id)
            return error_response(context.request_id)

    def serve_http(self, request, context: Context, *, cors: bool = False) -> Response:
        """Route the request (filling `params`) and call the handler: 404/405 without a route. With
        `cors` (only where no gateway applies `http.cors`: GCP, local) a preflight for a path this
        function serves is answered here without calling the handler, and an allowed Origin gets its
        Access-Control-Allow-Origin on every answer."""
        answer = self.preflight(request.method, request.path, request.headers) if cors else None
        if answer is None:
            status, params = self.route(request.method, request.path)
            answer = self.call_http(replace(request, params=params), context) if status == 200 \
                else not_routed(status, request.method, request.path)
        if cors and self.cors and "origin" in request.headers:
            answer = with_cors(answer, self.cors, request.headers["origin"])
        return answer

    def preflight(self, method: str, path: str, headers: Mapping[str, str]) -> Response | None:
        """The 204 answer to a CORS preflight for a path this function serves; None when the request is
        not one, the blueprint has no `http.cors`, or the path is not this function's."""
        if not self.cors or not is_preflight(method, headers) or self.route("OPTIONS", path)[0] == 404:
            return None
        return preflight(self.cors, headers)

    def call_message(self, message: Message, context: Context) -> bool:
        """Run the handler on one message; False (after logging the trace) when it raised."""
        try:
            self.call(message, context)
            return True
        except Exception:  # noqa: BLE001
            log.exception("function %s failed on message %s (attempt %s, request %s)", self.name,
                          message.id, message.attempt, context.request_id)
            return False

    def call_event(self, event: Any, context: Context) -> Any:
        """Run the handler on a bucket or schedule event; log and re-raise so the platform retries."""
        try:
            return self.call(event, context)
        except Exception:
            log.exception("function %s failed on %s (request %s)", self.name, type(event).__name__,
                          context.request_id)
            raise

    # ------------------------------------------------------------------------------------ triggers

    def triggers_of(self, kind: str) -> list[dict]:
        return [t for t in self.triggers if kind in t]

    def schedule_for(self, hint: str | None = None) -> str:
        """The blueprint's schedule expression: `hint` when it is one, else the function's first."""
        schedules = [t["schedule"] for t in self.triggers_of("schedule")]
        if hint and (hint in schedules or not schedules):
            return hint
        return schedules[0] if schedules else (hint or "")

    def bucket_store(self, locator: str) -> str | None:
        """Logical name of the bucket behind a physical locator, from the trigger stores' env vars."""
        names = [t["bucket"] for t in self.triggers_of("bucket")]
        for name in names:
            if os.environ.get(env_name("DEPLOYER_STORE_", name)) == locator:
                return name
        return names[0] if len(set(names)) == 1 else None

    def object_matches(self, store: str | None, key: str, kind: str) -> bool:
        """Does a bucket trigger of this function want this object event (store, on, prefix, suffix)?"""
        for t in self.triggers_of("bucket"):
            if store is not None and t["bucket"] != store:
                continue
            if t.get("on", "created") == kind and key.startswith(t.get("prefix", "")) \
                    and key.endswith(t.get("suffix", "")):
                return True
        return False

    def routes(self) -> list[tuple[str, str]]:
        out = []
        for t in self.triggers_of("http"):
            spec = t["http"]
            if isinstance(spec, str):
                method, path = spec.split(None, 1)
            else:
                method, path = spec["method"], spec["path"]
            out.append((method.upper(), path.strip()))
        return out

    def route(self, method: str, path: str) -> tuple[int, dict[str, str]]:
        """(200, params) for the first route matching method and path, else (404|405, {})."""
        status = 404
        for route_method, template in self.routes():
            params = match_path(template, path)
            if params is None:
                continue
            if route_method in ("ANY", method.upper()) or (method.upper() == "HEAD" and route_method == "GET"):
                return 200, params
            status = 405
        return status, {}


def import_handler(spec: str) -> Callable:
    """`module.func` (module may be dotted) -> the callable."""
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {spec!r} must be module.function")
    target = getattr(importlib.import_module(module_name), attr, None)
    if not callable(target):
        raise AttributeError(f"handler {spec!r}: module {module_name!r} has no function {attr!r}")
    return target


def accepts_context(handler: Callable) -> bool:
    """True when the handler takes a second positional argument (or *args)."""
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def error_response(request_id: str) -> Response:
    return Response(500, {"error": "internal error", "request_id": request_id})


def not_routed(status: int, method: str, path: str) -> Response:
    text = "no route" if status == 404 else "method not allowed"
    return Response(status, {"error": f"{text} for {method} {path}"})


_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")


def match_path(template: str, path: str) -> dict[str, str] | None:
    """Match `/orders/{id}` (one segment) or `/files/{path+}` (the rest) against a path."""
    pattern, pos = "", 0
    for m in _PARAM.finditer(template):
        pattern += re.escape(template[pos:m.start()])
        pattern += f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    pattern += re.escape(template[pos:])
    found = re.fullmatch(pattern.rstrip("/") + "/?", path)
    return found.groupdict() if found else None


def parse_query(raw: str | bytes) -> dict[str, str]:
    """A raw query string -> {name: value}; a repeated name's values are joined with "," (as AWS does)."""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw or "", keep_blank_values=True):
        out[name] = out[name] + "," + value if name in out else value
    return out


# -- CORS: the rules of API Gateway's CORS configuration, for the clouds whose gateway has none ----------

def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """A browser's CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    return method.upper() == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def allowed_origin(cors: Mapping[str, Any], origin: str) -> str | None:
    """The Access-Control-Allow-Origin value for this Origin: "*", the origin itself, or None (refused)."""
    origins = cors.get("origins") or []
    if "*" in origins:
        return "*"
    return origin if origin.lower() in (o.lower() for o in origins) else None


def cors_headers(cors: Mapping[str, Any], origin: str) -> dict[str, str]:
    """What an allowed Origin adds to a normal (not preflight) answer; {} when it is not allowed."""
    value = allowed_origin(cors, origin)
    if value is None:
        return {}
    return {"Access-Control-Allow-Origin": value} if value == "*" else \
        {"Access-Control-Allow-Origin": value, "Vary": "Origin"}


def merge_cors(headers: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """The response headers plus the CORS ones: the blueprint's Allow-Origin replaces one the handler set
    (as API Gateway does); Origin joins an existing Vary."""
    out = {k: v for k, v in headers.items() if k.lower() not in ("access-control-allow-origin", "vary")}
    vary = next((v for k, v in headers.items() if k.lower() == "vary"), "")
    if "Vary" in extra and "origin" not in vary.lower():
        vary = f"{vary}, Origin" if vary else "Origin"
    out.update((k, v) for k, v in extra.items() if k != "Vary")
    if vary:
        out["Vary"] = vary
    return out


def with_cors(response: Response, cors: Mapping[str, Any], origin: str) -> Response:
    extra = cors_headers(cors, origin)
    return Response(response.status, response.body, merge_cors(response.headers, extra)) if extra else response


def preflight(cors: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
    """204 with the Access-Control-Allow-* headers when Origin and the requested method are allowed;
    a bare 204 otherwise (the browser then refuses the real request). `*` in methods or headers allows
    what the browser asks for (it is echoed, since a literal `*` would not cover Authorization)."""
    origin = allowed_origin(cors, headers["origin"])
    method = headers["access-control-request-method"].strip().upper()
    methods = [m.upper() for m in cors.get("methods") or []]
    if origin is None or ("*" not in methods and method not in methods):
        return Response(204, b"")
    asked = headers.get("access-control-request-headers", "").strip()
    allowed = cors.get("headers") or []
    out = {"Access-Control-Allow-Origin": origin,
           "Access-Control-Allow-Methods": method if "*" in methods else ", ".join(methods),
           "Access-Control-Max-Age": str(cors.get("max_age", 600))}
    if "*" not in allowed:
        out["Access-Control-Allow-Headers"] = ", ".join(allowed)
    elif asked:
        out["Access-Control-Allow-Headers"] = asked
    vary = ["Origin"] if origin != "*" else []
    vary += ["Access-Control-Request-Method"] if "*" in methods else []
    vary += ["Access-Control-Request-Headers"] if "*" in allowed else []
    if vary:
        out["Vary"] = ", ".join(vary)
    return Response(204, b"", out)


def parse_time(value: Any) -> datetime:
    """ISO 8601 text (any fraction length, `Z`), epoch seconds/millis or None -> aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value is None or value == "":
        return datetime.now(timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, timezone.utc)
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def is_schedule_marker(body: Any) -> bool:
    """The JSON a provider's scheduler sends: {"deployer": "schedule", "schedule": ..., "time": ...}."""
    return isinstance(body, dict) and body.get("deployer") == "schedule"


def text_or_base64(data: bytes, content_type: str | None) -> tuple[str, bool]:
    """(body, is_base64) for gateways that carry text: textual types as UTF-8, the rest base64."""
    ctype = (content_type or "").lower()
    textual = ctype.startswith("text/") or "json" in ctype or "xml" in ctype or "javascript" in ctype \
        or "x-www-form-urlencoded" in ctype or not data
    if textual:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), True
