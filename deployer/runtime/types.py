"""The portable event types: what a handler receives and returns on every cloud.

A shim (one per cloud, and the local cloud's worker) turns the cloud's native event into one of these
and calls the user's handler; the handler never imports a cloud SDK. Standard library only: this
module ships inside every function package.
"""

from __future__ import annotations

import json as _json
import time as _time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (names are kept as first given for iteration)."""

    def __init__(self, items: Mapping[str, str] | list[tuple[str, str]] | None = None):
        self._items: dict[str, tuple[str, str]] = {}
        self._all: dict[str, list[str]] = {}
        if isinstance(items, Headers):  # keep repeated values apart
            pairs = [(items._items[k][0], v) for k, values in items._all.items() for v in values]
        else:
            pairs = items.items() if isinstance(items, Mapping) else (items or [])
        for name, value in pairs:
            key = str(name).lower()
            self._all.setdefault(key, []).append(str(value))
            if key in self._items:  # repeated headers are joined, as HTTP allows
                self._items[key] = (self._items[key][0], self._items[key][1] + ", " + str(value))
            else:
                self._items[key] = (str(name), str(value))

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeated header, unjoined (`Set-Cookie` cannot be joined with commas)."""
        return list(self._all.get(name.lower(), []))

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self):
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class BadJSON(_json.JSONDecodeError):
    """`Request.json()` met a body that is not JSON: the client's mistake, answered with 400."""


@dataclass(frozen=True)
class Request:
    """An HTTP request: `params` are the route's path parameters, `body` the raw bytes."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body decoded as JSON; None for an empty body. Raises BadJSON (a ValueError) on bad JSON,
        which the shims answer with 400 unless the handler catches it."""
        if not self.body:
            return None
        try:
            return _json.loads(self.body)
        except _json.JSONDecodeError as exc:
            raise BadJSON(exc.msg, exc.doc, exc.pos) from None
        except UnicodeDecodeError:
            raise BadJSON("body is not UTF-8 text", "", 0) from None


class Response:
    """An HTTP answer. `body` may be dict/list (sent as JSON), str or bytes."""

    def __init__(self, status: int = 200, body: Any = b"", headers: Mapping[str, str] | None = None):
        self.status = int(status)
        self.body = body
        self.headers = Headers(headers or {})

    def encode(self) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body bytes) with a Content-Type chosen from the body when none is set."""
        headers = dict(self.headers.items())
        has_type = "content-type" in self.headers
        body = self.body
        if isinstance(body, (dict, list)):
            data, default_type = _json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            data, default_type = body.encode(), "text/plain; charset=utf-8"
        elif body is None:
            data, default_type = b"", None
        else:
            data, default_type = bytes(body), "application/octet-stream"
        if not has_type and default_type and (data or isinstance(body, (dict, list))):
            headers["Content-Type"] = default_type
        return self.status, headers, data

    @classmethod
    def of(cls, result: Any) -> "Response":
        """Normalise whatever a handler returned: Response, dict/list (JSON 200), str/bytes (200), None (204)."""
        if isinstance(result, Response):
            return result
        if result is None:
            return cls(204, b"")
        if isinstance(result, (dict, list, str, bytes, bytearray)):
            return cls(200, result)
        raise TypeError(f"a handler returned {type(result).__name__}; return a dict, list, str, bytes or Response")

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.body!r}, {dict(self.headers.items())!r})"


@dataclass(frozen=True)
class Message:
    """A queue or topic message. `data` is JSON-decoded when the payload is JSON, else bytes."""

    id: str
    data: Any
    attributes: Mapping[str, str] = field(default_factory=dict)
    attempt: int = 1


@dataclass(frozen=True)
class ObjectEvent:
    """An object was created in or deleted from a bucket (`store` is the logical bucket name)."""

    store: str
    key: str
    size: int
    type: str  # "created" | "deleted"
    time: datetime


@dataclass(frozen=True)
class ScheduleEvent:
    """A schedule fired: `schedule` is the blueprint's expression, `time` when it fired."""

    schedule: str
    time: datetime


@dataclass(frozen=True)
class Context:
    """Optional second handler argument: who is running and how much time is left."""

    function: str
    request_id: str
    cloud: str
    deadline: float = 0.0  # time.time() when the invocation is cut off; 0 = unknown

    def remaining(self) -> float:
        """Seconds left before the platform stops this invocation."""
        return max(0.0, self.deadline - _time.time()) if self.deadline else float("inf")


def decode_data(raw: bytes | str) -> Any:
    """Message payload -> JSON value when it is JSON, else the raw bytes."""
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        return _json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return bytes(raw)


def encode_data(data: Any) -> bytes:
    """What `send`/`publish` put on the wire: bytes as they are, anything else as JSON."""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return _json.dumps(data).encode()
