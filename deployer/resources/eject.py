"""Eject: the third interpreter of the graph, writing a standalone Pulumi Python project the user keeps.

    deployer eject --cloud aws -o infra/

writes Pulumi.yaml, Pulumi.<stage>.yaml (the stack config deployer sets), requirements.txt pinned to the
Pulumi SDK versions the index was generated from, the function packages under packages/, and a readable
`__main__.py`: one statement per resource, a variable per logical name, grouped by owner with a comment,
importing only pulumi and the cloud's SDK. Project, stack, types, logical names and inputs are those of
deployer's own stack, so `pulumi up` of the ejected project over that stack changes nothing.

Secrets become `config.require_secret(NAME)`; `Ejected.secret_commands` are the `pulumi config set
--secret` lines to run (the values are never written). Resources come in dependency order (Python needs
a variable before its use), preferring the plan's grouping (app, stores, functions) among those ready.
"""

from __future__ import annotations

import heapq
import json
import keyword
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.resources.execute import sdk_argument
from deployer.resources.graph import Graph, Resource
from deployer.resources.index import Index
from deployer.resources.values import Archive, Asset, Base64, CallOut, Json, Out, Secret, Template

GROUP_ORDER = {"app": 0, "store": 1, "function": 2}
ALIASES = {"pulumi_aws": "aws", "pulumi_gcp": "gcp", "pulumi_azure_native": "azure_native"}
WIDTH = 110


@dataclass
class Ejected:
    directory: Path
    files: list[str] = field(default_factory=list)
    secret_commands: list[str] = field(default_factory=list)


def alias(package: str) -> str:
    return ALIASES.get(package, package.removeprefix("pulumi_"))


class Writer:
    """Python source for one graph (see the module docstring)."""

    def __init__(self, graph: Graph, index: Index):
        self.graph, self.index = graph, index
        self.package = index.class_path(graph.resources[0].type).split(".")[0] if graph.resources else "pulumi"
        self.names: dict[str, str] = {}
        self.uses_base64 = False
        self.uses_config = False

    def variable(self, logical: str) -> str:
        if logical not in self.names:
            base = re.sub(r"\W", "_", re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", logical)).lower()
            base = f"r_{base}" if not base or base[0].isdigit() or keyword.iskeyword(base) else base
            name, n = base, 2
            while name in self.names.values() or name in ("pulumi", "config", "base64", alias(self.package)):
                name, n = f"{base}_{n}", n + 1
            self.names[logical] = name
        return self.names[logical]

    def cls(self, token: str) -> str:
        path = self.index.class_path(token)
        return alias(path.split(".")[0]) + path[len(path.split(".")[0]):]

    def expr(self, v: Any, indent: int = 0) -> str:
        pad = " " * indent
        match v:
            case dict():
                items = [f"{json.dumps(k)}: {self.expr(x, indent + 4)}" for k, x in v.items()]
                return _wrap("{", items, "}", pad)
            case list() | tuple():
                return _wrap("[", [self.expr(x, indent + 4) for x in v], "]", pad)
            case Out(resource, attr):
                return f"{self.variable(resource)}.{attr}"
            case CallOut(call, attr):
                return f"{self.variable(call)}.{attr}"
            case Template(parts):
                return _wrap("pulumi.Output.concat(", [self.expr(p, indent + 4) for p in parts], ")", pad)
            case Json(inner):
                return f"pulumi.Output.json_dumps({self.expr(inner, indent)})"
            case Base64(inner):
                self.uses_base64 = True
                return (f"pulumi.Output.from_input({self.expr(inner, indent)})"
                        ".apply(lambda text: base64.b64encode(text.encode()).decode())")
            case Secret(name):
                self.uses_config = True
                return f"config.require_secret({json.dumps(name)})"
            case Archive(path):
                return f"pulumi.FileArchive({json.dumps('packages/' + Path(path).name)})"
            case Asset(path):
                return f"pulumi.FileAsset({json.dumps('packages/' + Path(path).name)})"
            case bool() | None:
                return repr(v)
            case str():
                return json.dumps(v, ensure_ascii=False)
            case int() | float():
                return repr(v)
        raise TypeError(f"eject cannot write a {type(v).__name__}: {v!r}")

    def options(self, res: Resource) -> str | None:
        o = res.options
        parts = []
        if o.depends_on:
            parts.append(f"depends_on=[{', '.join(self.variable(d) for d in o.depends_on)}]")
        if o.retain_on_delete:
            parts.append("retain_on_delete=True")
        if o.import_id is not None:
            parts.append(f"import_={json.dumps(o.import_id)}")
        if o.ignore_changes:
            parts.append(f"ignore_changes={json.dumps(list(o.ignore_changes))}")
        if o.replace_on_changes:
            parts.append(f"replace_on_changes={json.dumps(list(o.replace_on_changes))}")
        if o.delete_before_replace:
            parts.append("delete_before_replace=True")
        return f"pulumi.ResourceOptions({', '.join(parts)})" if parts else None

    def statement(self, res: Resource) -> str:
        if res.options.read_id is not None:
            read = f"{self.cls(res.type)}.get({json.dumps(res.name)}, {json.dumps(res.options.read_id)})"
            return f"{self.variable(res.name)} = {read}  # exists already: read, never managed"
        args = [json.dumps(res.name)] + [f"{sdk_argument(k)}={self.expr(v, 4)}" for k, v in res.inputs.items()]
        opts = self.options(res)
        if opts:
            args.append(f"opts={opts}")
        return f"{self.variable(res.name)} = " + _wrap(f"{self.cls(res.type)}(", args, ")", "", force=True)

    def program(self, header: str) -> str:
        body: list[str] = []
        for call in self.graph.calls:
            fn = self.index.call(call.token)["function"]
            fn = alias(fn.split(".")[0]) + fn[len(fn.split(".")[0]):]
            args = ", ".join(f"{k}={self.expr(v)}" for k, v in call.args.items())
            body.append(f"{self.variable(call.name)} = {fn}({args})")
        group = None
        for res in ordered(self.graph):
            if res.owner.label != group:
                group = res.owner.label
                body.append(f"\n# {group}")
            body.append(self.statement(res))
        body.append("")
        for name, value in self.graph.outputs.items():
            body.append(f"pulumi.export({json.dumps(name)}, {self.expr(value)})")
        imports = ["import base64"] if self.uses_base64 else []
        imports += ["", "import pulumi", f"import {self.package} as {alias(self.package)}"]
        config = ["", "config = pulumi.Config()"] if self.uses_config else []
        return "\n".join([header, *imports, *config, "", *body]).strip() + "\n"


def _wrap(open_: str, items: list[str], close: str, pad: str, force: bool = False) -> str:
    one_line = open_ + ", ".join(items) + close
    if not items or (not force and len(one_line) + len(pad) <= WIDTH and "\n" not in one_line):
        return one_line
    inner = pad + "    "
    return open_ + "\n" + "".join(f"{inner}{item},\n" for item in items) + pad + close


def ordered(graph: Graph) -> list[Resource]:
    """Dependency order; among the resources ready, the plan's group order, then the provider's order."""
    by_name = graph.by_name()
    position = {r.name: i for i, r in enumerate(graph.resources)}
    waiting = {r.name: {d for d in r.dependencies() if d in by_name} for r in graph.resources}
    dependants: dict[str, list[str]] = {}
    for name, deps in waiting.items():
        for dep in deps:
            dependants.setdefault(dep, []).append(name)

    def key(name: str) -> tuple:
        owner = by_name[name].owner
        return GROUP_ORDER[owner.kind], owner.name, position[name], name

    ready = [key(n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    out: list[Resource] = []
    while ready:
        name = heapq.heappop(ready)[-1]
        out.append(by_name[name])
        for other in dependants.get(name, []):
            waiting[other].discard(name)
            if not waiting[other]:
                heapq.heappush(ready, key(other))
    if len(out) != len(graph.resources):
        raise ValueError("the graph has a dependency cycle")
    return out


def eject(graph: Graph, index: Index, directory: Path, *, blueprint: str, pulumi_version: str) -> Ejected:
    """Write the project (module docstring) into `directory`, which must be empty or absent."""
    directory.mkdir(parents=True, exist_ok=True)
    result = Ejected(directory)
    header = (f'"""{graph.project} (stack {graph.stack}) on {graph.cloud}: ejected by deployer from {blueprint}.\n\n'
              f"Deploy with `pulumi up --stack {graph.stack}`. The project, stack, types and logical names are\n"
              f"deployer's own, so over deployer's stack (same backend) this program changes nothing.\n"
              '"""\n')
    writer = Writer(graph, index)
    files = {"__main__.py": writer.program(header),
             "Pulumi.yaml": _pulumi_yaml(graph),
             f"Pulumi.{graph.stack}.yaml": _stack_yaml(graph),
             "requirements.txt": f"pulumi=={pulumi_version}\n{index.sdk}=={index.version}\n"}
    for name, text in files.items():
        (directory / name).write_text(text)
        result.files.append(name)
    for res in graph.resources:
        for path in _files(res.inputs):
            (directory / "packages").mkdir(exist_ok=True)
            shutil.copyfile(path, directory / "packages" / Path(path).name)
            result.files.append(f"packages/{Path(path).name}")
    result.secret_commands = [f'pulumi config set --secret {name} "${name}" --stack {graph.stack}'
                              for name in graph.secrets()]
    return result


def _files(value: Any) -> list[str]:
    match value:
        case Archive(path) | Asset(path):
            return [path]
        case dict():
            return [p for v in value.values() for p in _files(v)]
        case list() | tuple():
            return [p for v in value for p in _files(v)]
    return []


def _pulumi_yaml(graph: Graph) -> str:
    return (f"name: {graph.project}\n"
            "runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n"
            f"description: {graph.project} on {graph.cloud}, ejected from deployer\n")


def _stack_yaml(graph: Graph) -> str:
    if not graph.config:
        return "config: {}\n"
    lines = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in sorted(graph.config.items()))
    return "config:\n" + lines
