"""Generate a provider's SDK index from the installed Pulumi SDK package.

    python scripts/sdk_index.py aws          # writes providers/aws/sdk_index.json
    python scripts/sdk_index.py --check aws  # exit 1 when the shipped index differs from a fresh one

The index lets `deployer plan` validate a graph's inputs (unknown argument, missing required argument,
value outside an enum) and translate them to Pulumi's wire names without importing the SDK, which costs
seconds and hundreds of megabytes. It covers the resource types and data-source calls listed in the
provider's `sdk_types.txt` (one token per line, `#` comments), and every nested input type they use.

Per resource: the class path, each argument (wire name, required, type) and the output attributes
(Python name -> wire name). Types are "str", "int", "float", "bool", "any", "archive", "asset",
["list", T], ["map", T], ["obj", "<type name>"] (an entry of "types") and ["enum", [values...]].
"""

from __future__ import annotations

import argparse
import collections.abc
import enum
import importlib
import inspect
import json
import keyword
import re
import sys
import typing
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = {"aws": ("pulumi-aws", "pulumi_aws"), "gcp": ("pulumi-gcp", "pulumi_gcp"),
        "azure": ("pulumi-azure-native", "pulumi_azure_native")}


def tokens(provider: str) -> list[str]:
    text = (ROOT / "providers" / provider / "sdk_types.txt").read_text()
    return sorted({line.split("#", 1)[0].strip() for line in text.splitlines()} - {""})


def module_of(package: str, token: str) -> str:
    """`aws:sqs/queue:Queue` -> `pulumi_aws.sqs`; `aws:index/...` -> `pulumi_aws`."""
    mod = token.split(":")[1].split("/")[0]
    if mod == "index":
        return package
    mod = mod.replace("-", "_")
    return f"{package}.{mod}_" if keyword.iskeyword(mod) else f"{package}.{mod}"


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Indexer:
    def __init__(self, package: str):
        from pulumi import _types

        self._types = _types
        self.package = package
        self.types: dict[str, dict] = {}

    def type_of(self, hint) -> object:
        """A JSON description of a Python SDK type annotation (Input/Output/Awaitable stripped)."""
        import pulumi

        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is typing.Union:
            kept = [a for a in args if a is not type(None) and typing.get_origin(a) not in
                    (collections.abc.Awaitable, pulumi.Output) and a is not pulumi.Output]
            enums = [a for a in kept if inspect.isclass(a) and issubclass(a, enum.Enum)]
            if enums:
                return ["enum", sorted({str(m.value) for e in enums for m in e})]
            return self.type_of(kept[0]) if len(kept) == 1 else "any"
        if origin in (collections.abc.Sequence, list):
            return ["list", self.type_of(args[0]) if args else "any"]
        if origin in (collections.abc.Mapping, dict):
            return ["map", self.type_of(args[1]) if len(args) > 1 else "any"]
        if inspect.isclass(hint):
            if issubclass(hint, enum.Enum):
                return ["enum", sorted(str(m.value) for m in hint)]
            if self._types.is_input_type(hint):
                return ["obj", self.object(hint)]
            if issubclass(hint, pulumi.Archive):
                return "archive"
            if issubclass(hint, pulumi.Asset):
                return "asset"
            for scalar in (bool, int, float, str):
                if issubclass(hint, scalar):
                    return scalar.__name__
        return "any"

    def object(self, cls) -> str:
        name = f"{cls.__module__.removeprefix(self.package + '.')}.{cls.__name__}"
        if name not in self.types:
            self.types[name] = {}  # placeholder against recursion
            self.types[name] = self.arguments(cls)
        return name

    def arguments(self, args_cls) -> dict:
        wire = self._types.input_type_py_to_pulumi_names(args_cls)
        hints = self._types.input_type_types(args_cls)
        params = inspect.signature(args_cls.__init__).parameters
        out = {}
        for py, pulumi_name in sorted(wire.items()):
            required = py in params and params[py].default is inspect.Parameter.empty
            out[py] = {"wire": pulumi_name, "required": required, "type": self.type_of(hints.get(pulumi_name))}
        return out

    def resource(self, token: str) -> dict:
        mod = importlib.import_module(module_of(self.package, token))
        cls = getattr(mod, token.rsplit(":", 1)[-1])
        source = inspect.getsource(cls._internal_init)
        if f"'{token}'" not in source and f'"{token}"' not in source:
            raise SystemExit(f"{cls.__module__}.{cls.__name__} does not register {token}")
        # Where an input type already has the name `<Class>Args` (pulumi_aws.s3's
        # BucketServerSideEncryptionConfigurationArgs is Bucket's nested argument), the SDK names the
        # resource's own arguments class `<Class>InitArgs`, in the resource's module.
        own = importlib.import_module(cls.__module__)
        args_cls = getattr(own, cls.__name__ + "InitArgs", None) or getattr(own, cls.__name__ + "Args")
        outputs = self._types.resource_py_to_pulumi_names(cls)
        return {"class": f"{mod.__name__}.{cls.__name__}", "args": self.arguments(args_cls),
                "outputs": dict(sorted(outputs.items()))}

    def call(self, token: str) -> dict:
        mod = importlib.import_module(module_of(self.package, token))
        fn_name = snake(token.rsplit(":", 1)[-1]) + "_output"
        fn = getattr(mod, fn_name)
        params = inspect.signature(fn).parameters
        result = typing.get_args(inspect.signature(fn).return_annotation)
        result_cls = result[0] if result else inspect.signature(fn).return_annotation
        outputs = self._types.resource_py_to_pulumi_names(result_cls)
        args = {n: {"wire": n, "required": p.default is inspect.Parameter.empty, "type": "any"}
                for n, p in params.items() if n != "opts"}
        return {"function": f"{mod.__name__}.{fn_name}", "args": args, "outputs": dict(sorted(outputs.items()))}


def generate(provider: str) -> dict:
    dist, package = SDKS[provider]
    indexer = Indexer(package)
    resources, calls = {}, {}
    for token in tokens(provider):
        last = token.rsplit(":", 1)[-1]
        if last[:1].islower():
            calls[token] = indexer.call(token)
        else:
            resources[token] = indexer.resource(token)
    return {"sdk": dist, "version": metadata.version(dist), "pulumi": metadata.version("pulumi"),
            "resources": resources, "calls": calls, "types": dict(sorted(indexer.types.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("providers", nargs="+", choices=sorted(SDKS))
    parser.add_argument("--check", action="store_true", help="compare with the shipped index, write nothing")
    opts = parser.parse_args(argv)
    status = 0
    for provider in opts.providers:
        path = ROOT / "providers" / provider / "sdk_index.json"
        text = json.dumps(generate(provider), indent=1, sort_keys=True) + "\n"
        if opts.check:
            if not path.exists() or path.read_text() != text:
                print(f"{path.relative_to(ROOT)} is out of date: run python scripts/sdk_index.py {provider}")
                status = 1
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({len(text) // 1024} KiB)")
    return status


if __name__ == "__main__":
    sys.exit(main())
