"""Plan rendering: the first interpreter of the graph's values (see values.py), with no Pulumi import.

What is known before deploy is shown as it will be; what the cloud answers is shown as a reference
(`${fn-api-role.arn}`, `${getCallerIdentity.account_id}`); a secret is `[secret]` and can be nothing
else, since the graph holds only its name; a package is `{"$archive": "api-1a2b3c.zip"}`.

The executor under Pulumi's mocks resolves every output to exactly this reference text (see
execute.py's `ReferenceMocks`), so the inputs it registers equal the rendered ones: that equality is
the test that keeps the interpreters honest.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Mapping

from deployer.resources.values import Archive, Asset, Base64, CallOut, Json, Out, Secret, Template

MASK = "[secret]"


def reference(name: str, attr: str) -> str:
    return "${" + f"{name}.{attr}" + "}"


def known_ids(graph: Any) -> dict[tuple[str, str], str]:
    """Outputs known before deploy: the id of an existing resource that is read (it is the id given)."""
    return {(r.name, "id"): r.options.read_id for r in graph.resources if r.options.read_id is not None}


def value(v: Any, known: Mapping[tuple[str, str], Any] | None = None) -> Any:
    """A graph value as plain JSON; `known` outputs are shown as their values, not as references."""
    known = known or {}
    match v:
        case dict():
            return {k: value(x, known) for k, x in v.items()}
        case list() | tuple():
            return [value(x, known) for x in v]
        case Out(resource, attr):
            return known.get((resource, attr), reference(resource, attr))
        case CallOut(call, attr):
            return reference(call, attr)
        case Template(parts):
            return "".join(str(value(p, known)) for p in parts)
        case Json(inner):
            return json.dumps(value(inner, known))
        case Base64(inner):
            return base64.b64encode(str(value(inner, known)).encode()).decode()
        case Secret():
            return MASK
        case Archive(path):
            return {"$archive": path.rsplit("/", 1)[-1]}
        case Asset(path):
            return {"$asset": path.rsplit("/", 1)[-1]}
        case float() if v.is_integer():
            return int(v)
        case str() | int() | float() | bool() | None:
            return v
    raise TypeError(f"a resource graph value cannot be a {type(v).__name__}: {v!r}")
