"""The closed set of values a resource input may hold besides plain JSON.

A provider compiles a blueprint into plain data; where a value is only known once the cloud has
answered (an ARN, a URL, an id) or must never be written in plain text (a secret), it writes one of the
expressions below instead. Each has exactly three interpreters, and only three:

    plan rendering   deployer/resources/render.py   `${fn-api-role.arn}`, `[secret]`, `{"$archive": ...}`
    the executor     deployer/resources/execute.py  pulumi Outputs, `Output.secret`, `FileArchive`
    eject            deployer/resources/eject.py    Python source text of the same expressions

A new kind of value means a new class here and a case in each of the three (`match` fails loudly on an
unknown one). Expressions are frozen; structures around them are plain dicts and lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator


@dataclass(frozen=True)
class Out:
    """An output attribute (Python SDK name, e.g. `arn`, `invoke_arn`) of another resource."""

    resource: str
    attr: str


@dataclass(frozen=True)
class CallOut:
    """A field (Python SDK name) of a data-source call's result, e.g. the account id."""

    call: str
    attr: str


@dataclass(frozen=True)
class Template:
    """A string made of parts: plain strings and Out/CallOut references, joined."""

    parts: tuple

    @staticmethod
    def of(*parts: Any) -> "Template":
        return Template(tuple(p for p in parts if p != ""))


@dataclass(frozen=True)
class Json:
    """The JSON text (json.dumps with default separators) of a structure that may hold expressions."""

    value: Any


@dataclass(frozen=True)
class Base64:
    """The base64 text of a UTF-8 string (which may be a Template or Json)."""

    value: Any


@dataclass(frozen=True)
class Secret:
    """A blueprint secret by name. The graph never holds the value: the executor reads it from the
    environment at deploy time, eject from the stack's secret configuration, plan shows `[secret]`."""

    name: str


@dataclass(frozen=True)
class Archive:
    """A zip file (a function's package) as a Pulumi FileArchive."""

    path: str


@dataclass(frozen=True)
class Asset:
    """A file as a Pulumi FileAsset (e.g. a package uploaded as a storage object)."""

    path: str


EXPRESSIONS = (Out, CallOut, Template, Json, Base64, Secret, Archive, Asset)


def references(value: Any) -> Iterator[Out | CallOut | Secret]:
    """Every Out, CallOut and Secret inside a value, depth first."""
    match value:
        case Out() | CallOut() | Secret():
            yield value
        case tuple() | list():
            for v in value:
                yield from references(v)
        case dict():
            for v in value.values():
                yield from references(v)
        case Template(parts):
            for v in parts:
                yield from references(v)
        case Json(inner) | Base64(inner):
            yield from references(inner)
