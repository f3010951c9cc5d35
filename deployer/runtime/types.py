"""The portable event types: what a handler receives and returns on every cloud.

A shim (one per cloud, and the local cloud's worker) turns the cloud's native event into one of these
and calls the user's handler; the handler never imports a cloud SDK. Standard library only: this
module ships inside every function package.
"""

from __future__ import annotations

import json as _json
import re as _re
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
        except RecursionError:  # `[` x 100000: the client's mistake too, not the handler's
            raise BadJSON("JSON nested too deeply", "", 0) from None


class BadResponse(ValueError):
    """A handler's answer that HTTP cannot carry (the runtime logs why and answers 500 with the request id)."""


_TOKEN = _re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_BAD_VALUE = _re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but tab: CR/LF would split headers
BODY_TYPES = (dict, list, str, bytes, bytearray, memoryview, type(None))
_PLAIN_BODIES = frozenset({dict, list, str, bytes})


class Response:
    """An HTTP answer. `body` may be dict/list (sent as JSON), str or bytes."""

    def __init__(self, status: int = 200, body: Any = b"", headers: Mapping[str, str] | None = None):
        if status.__class__ is not int and (isinstance(status, bool) or not isinstance(status, (int, str))
                                            or not str(status).strip().isdigit()):
            raise BadResponse(f"status {status!r} is not an integer")
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

    def check(self) -> "Response":
        """Self, when HTTP can carry it: a final status (200-599), no body on 204/304, a body of a
        supported type, header names that are tokens and values without control characters that
        Latin-1 can encode. Else BadResponse saying what is wrong."""
        status, body = self.status, self.body
        if 200 <= status <= 599 and body.__class__ in _PLAIN_BODIES and status != 204 and status != 304:
            for name, value in self.headers._items.values():  # the common case, at C speed
                if not (value.isascii() and value.isprintable() and _TOKEN.fullmatch(name)):
                    break
            else:
                return self
        if not 200 <= status <= 599:
            raise BadResponse(f"status {status} is not a final HTTP status (200-599)")
        if not isinstance(body, BODY_TYPES):
            raise BadResponse(f"a body of type {type(body).__name__}; use dict, list, str, bytes or None")
        if status in (204, 304) and body not in (None, b"", ""):
            raise BadResponse(f"status {status} has no body, but the handler gave one ({type(body).__name__})")
        for name, value in self.headers.items():
            if not _TOKEN.fullmatch(name):
                raise BadResponse(f"header name {name!r} is not an HTTP token")
            if _BAD_VALUE.search(value):
                raise BadResponse(f"header {name!r} has a control character (CR, LF, NUL...) in its value")
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise BadResponse(f"header {name!r} has a value HTTP cannot carry (not Latin-1): {value!r}") from None
        return self

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


# -- store keys: one rule per kind, enforced alike by every cloud's client ----------------------------

#: A table key is a non-empty string of at most this many characters. The bound is the most that every
#: cloud stores: Azure Table storage takes a PartitionKey of 1 KiB of UTF-16 (512 units), and its client
#: escapes `/ \ # ? %` as three characters each, so 170 characters fit whatever they are; Firestore
#: document ids take 1,500 bytes (the GCP client escapes `/` and `%` likewise) and DynamoDB partition
#: keys 2,048 bytes, which 170 characters of up to 4 UTF-8 bytes (escaped: 3 x 3) never reach.
TABLE_KEY_MAX = 170
#: An object key is at most 1,024 bytes of UTF-8: S3's and Cloud Storage's limit (Blob storage: 1,024
#: characters), and at most 254 `/`-separated segments (Blob storage's limit on path segments).
OBJECT_KEY_MAX_BYTES = 1024
OBJECT_KEY_MAX_SEGMENTS = 254
_CONTROL = _re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidKey(ValueError):
    """A table or object key that some cloud would refuse (or silently change): refused on every cloud."""


def _bad(kind: str, key: Any, problem: str, rule: str) -> InvalidKey:
    shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
    return InvalidKey(f"bad {kind} key {shown}: {problem}; {rule}")


def _text_key(kind: str, key: Any, rule: str) -> str:
    if not isinstance(key, str):
        raise _bad(kind, key, f"not a string but {type(key).__name__}", rule)
    if not key:
        raise _bad(kind, key, "empty", rule)
    if _CONTROL.search(key):
        raise _bad(kind, key, "it has a control character", rule)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(kind, key, "not valid Unicode text", rule) from None
    return key


def table_key(key: Any) -> str:
    """The key, when every cloud's table accepts it as it is; else InvalidKey saying why."""
    rule = f"table keys are non-empty strings of at most {TABLE_KEY_MAX} characters, without control characters"
    _text_key("table", key, rule)
    if len(key) > TABLE_KEY_MAX:
        raise _bad("table", key, f"{len(key)} characters", rule)
    return key


def object_key(key: Any) -> str:
    """The key, when every cloud's bucket accepts it as it is; else InvalidKey saying why."""
    rule = (f"object keys are relative names like 'incoming/a.jpg' of at most {OBJECT_KEY_MAX_BYTES} UTF-8 bytes "
            f"and {OBJECT_KEY_MAX_SEGMENTS} segments, without control characters, a leading '/', '\\\\', or empty, "
            "'.' or '..' segments")
    _text_key("object", key, rule)
    size = len(key.encode("utf-8"))
    if size > OBJECT_KEY_MAX_BYTES:
        raise _bad("object", key, f"{size} bytes", rule)
    if key.count("/") >= OBJECT_KEY_MAX_SEGMENTS:
        raise _bad("object", key, f"{key.count('/') + 1} segments", rule)
    if key.startswith("/") or "\\" in key or any(part in ("", ".", "..") for part in key.split("/")):
        raise _bad("object", key, "not a plain relative name", rule)
    return key
