"""The SDK index: what the installed Pulumi SDK accepts, read from a JSON file instead of the SDK.

Importing pulumi_aws costs seconds and hundreds of megabytes; `plan` only needs to know, per type token,
the class to instantiate, each argument's wire name, whether it is required, its type (nested input
types, enums) and the output attributes. scripts/sdk_index.py generates that from the installed SDK for
the tokens a provider lists in its `sdk_types.txt`; the file ships beside the provider
(`providers/<cloud>/sdk_index.json`) and a test fails when it no longer matches the installed SDK.

`Index.problems(resource)` validates a resource's inputs; `Index.wire(type, inputs)` translates Python
argument names to the wire names Pulumi registers (nested input types too, map keys never), which is
what plan shows and what Pulumi's mocks receive.
"""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path
from typing import Any

from deployer.resources.values import EXPRESSIONS


class Index:
    def __init__(self, data: dict[str, Any]):
        self.sdk: str = data["sdk"]
        self.version: str = data["version"]
        self.pulumi: str = data.get("pulumi", "")
        self.resources: dict[str, dict] = data["resources"]
        self.calls: dict[str, dict] = data["calls"]
        self.types: dict[str, dict] = data["types"]

    def class_path(self, token: str) -> str:
        return self.resource(token)["class"]

    def resource(self, token: str) -> dict:
        try:
            return self.resources[token]
        except KeyError:
            raise KeyError(f"{token} is not in the {self.sdk} index: add it to the provider's sdk_types.txt "
                           "and run scripts/sdk_index.py") from None

    def call(self, token: str) -> dict:
        try:
            return self.calls[token]
        except KeyError:
            raise KeyError(f"{token} is not in the {self.sdk} index") from None

    def outputs(self, token: str) -> dict[str, str]:
        """Output attributes (Python name -> wire name) of a resource type or a call."""
        entry = self.resources.get(token) or self.calls.get(token)
        return entry["outputs"] if entry else {}

    # -- validation ---------------------------------------------------------------------------------

    def problems(self, token: str, inputs: dict[str, Any]) -> list[str]:
        """What the SDK would refuse in these inputs, each naming the argument's path."""
        if token not in self.resources:
            return [f"type {token} is not in the {self.sdk} {self.version} index"]
        return self._check_args(self.resources[token]["args"], inputs, "")

    def _check_args(self, spec: dict[str, dict], inputs: dict[str, Any], where: str) -> list[str]:
        found = []
        for name, value in inputs.items():
            if name not in spec:
                close = difflib.get_close_matches(name, list(spec), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                found.append(f"unknown argument {where}{name}{hint}")
            else:
                found += self._check_value(spec[name]["type"], value, f"{where}{name}")
        for name, arg in spec.items():
            if arg["required"] and inputs.get(name) is None:
                found.append(f"missing required argument {where}{name}")
        return found

    def _check_value(self, typ: Any, value: Any, where: str) -> list[str]:
        if isinstance(value, EXPRESSIONS) or value is None:
            return []
        match typ:
            case ["enum", allowed]:
                if str(value) not in allowed:
                    close = difflib.get_close_matches(str(value), allowed, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    return [f"{where}: {value!r} is not one of the SDK's values{hint}"]
            case ["obj", name]:
                if not isinstance(value, dict):
                    return [f"{where}: expected an object, got {type(value).__name__}"]
                return self._check_args(self.types[name], value, f"{where}.")
            case ["list", inner]:
                if not isinstance(value, (list, tuple)):
                    return [f"{where}: expected a list, got {type(value).__name__}"]
                return [p for i, v in enumerate(value) for p in self._check_value(inner, v, f"{where}[{i}]")]
            case ["map", inner]:
                if not isinstance(value, dict):
                    return [f"{where}: expected a mapping, got {type(value).__name__}"]
                return [p for k, v in value.items() for p in self._check_value(inner, v, f"{where}.{k}")]
            case "str" if not isinstance(value, str):
                return [f"{where}: expected a string, got {type(value).__name__}"]
            case "int" | "float" if isinstance(value, bool) or not isinstance(value, (int, float)):
                return [f"{where}: expected a number, got {type(value).__name__}"]
            case "bool" if not isinstance(value, bool):
                return [f"{where}: expected true or false, got {type(value).__name__}"]
        return []

    # -- wire names ---------------------------------------------------------------------------------

    def wire(self, token: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Inputs keyed by wire names, nested input types translated, map keys untouched."""
        return self._wire_args(self.resource(token)["args"], inputs)

    def _wire_args(self, spec: dict[str, dict], inputs: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in inputs.items():
            arg = spec.get(name)
            out[arg["wire"] if arg else name] = self._wire_value(arg["type"] if arg else "any", value)
        return out

    def _wire_value(self, typ: Any, value: Any) -> Any:
        match typ, value:
            case ["obj", name], dict():
                return self._wire_args(self.types[name], value)
            case ["list", inner], list() | tuple():
                return [self._wire_value(inner, v) for v in value]
            case ["map", inner], dict():
                return {k: self._wire_value(inner, v) for k, v in value.items()}
        return value


@functools.lru_cache(maxsize=None)
def load(path: str) -> Index:
    return Index(json.loads(Path(path).read_text()))
