"""Load a blueprint: YAML with a mark for every node -> interpolation -> stage -> defaults -> model.

PyYAML is used at the node level (`compose`) so that every value keeps its line and column, duplicate
keys are caught (PyYAML's own constructor silently keeps the last one) and YAML 1.1's surprises are
avoided: `on:` is a key here, not the boolean True, so only `true`/`false` are booleans.

The result is a frozen `Blueprint` bound to its stage, folder and marks. Every problem is collected as
a `Diagnostic` and raised together in one `BlueprintError`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from deployer.blueprint.model import Blueprint
from deployer.errors import BlueprintError, Diagnostic, Location, UsageError

DEFAULT_FILE = "deployer.yaml"
MAX_BYTES = 1_000_000

Marks = dict[str, tuple[int, int]]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def find_blueprint(file: str | Path | None) -> Path:
    """`-f FILE`, else `deployer.yaml` in the current folder."""
    path = Path(file) if file else Path.cwd() / DEFAULT_FILE
    if path.is_dir():
        path = path / DEFAULT_FILE
    if not path.is_file():
        raise UsageError(f"no blueprint at {path}",
                         hint="pass one with -f FILE, or create one with `deployer init`")
    return path


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def to_data(node: yaml.Node, path: str, marks: Marks, problems: list[Diagnostic], file: Path) -> Any:
    """Turn a composed node into plain data, recording the mark of every node by field path."""
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                first = marks.get(join(path, key), (None, None))
                problems.append(Diagnostic(
                    f"duplicate key {key!r} (first defined on line {first[0]})",
                    Location(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1, join(path, key)),
                    hint="YAML keeps only one of them; remove or rename the other",
                    code="duplicate-key"))
                continue
            out[key] = to_data(value_node, join(path, key), marks, problems, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [to_data(v, join(path, i), marks, problems, file) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return str(node.tag)
    loader = _Loader("")
    return loader.construct_object(node, deep=True)


def load_blueprint(file: str | Path | None = None, *, stage: str = "dev",
                   env: Mapping[str, str] | None = None) -> Blueprint:
    """Load, interpolate, apply the stage and defaults, validate. Raises BlueprintError."""
    from deployer.blueprint.resolve import resolve  # the full rule set

    path = find_blueprint(file)
    return resolve(path, stage=stage, env=os.environ if env is None else env)
