"""Resolution: from YAML text to a validated, bound Blueprint, collecting every problem.

(First version: parsing, interpolation, stages, defaults and model validation. The cross-reference
rules are added by the foundation issue's validation work.)
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from deployer.blueprint.load import Marks, to_data, _Loader, join
from deployer.blueprint.model import Blueprint
from deployer.errors import BlueprintError, Diagnostic, Location

INTERPOLATION = re.compile(r"\$\{(env:([A-Za-z_][A-Za-z0-9_]*)(?:\s*,\s*([^}]*))?|stage)\}")


def parse(path: Path) -> tuple[Any, Marks]:
    text = path.read_text(encoding="utf-8")
    marks: Marks = {}
    problems: list[Diagnostic] = []
    node = yaml.compose(text, Loader=_Loader)
    data = to_data(node, "", marks, problems, path) if node is not None else None
    if problems:
        raise BlueprintError(problems)
    return data, marks


def interpolate(value: Any, path: str, stage: str, env: Mapping[str, str], problems: list, file: Path,
                marks: Marks) -> Any:
    if isinstance(value, dict):
        return {k: interpolate(v, join(path, k), stage, env, problems, file, marks) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, join(path, i), stage, env, problems, file, marks) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match) -> str:
        if m.group(1) == "stage":
            return stage
        name, default = m.group(2), m.group(3)
        if name in env:
            return env[name]
        if default is not None:
            return default.strip()
        line, col = marks.get(path, (None, None))
        problems.append(Diagnostic(f"environment variable {name} is not set", Location(file, line, col, path),
                                   hint=f"set {name}, or give a default: ${{env:{name}, value}}",
                                   code="interpolation"))
        return ""

    return INTERPOLATION.sub(repl, value)


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def apply_defaults(data: dict) -> dict:
    defaults = data.get("defaults") or {}
    functions = data.get("functions")
    if not isinstance(defaults, dict) or not isinstance(functions, dict):
        return data
    merged = {}
    for name, fn in functions.items():
        if isinstance(fn, dict):
            fn = {**{k: v for k, v in defaults.items() if k != "env"}, **fn}
            if isinstance(defaults.get("env"), dict) and isinstance(fn.get("env", {}), dict):
                fn["env"] = {**defaults["env"], **fn.get("env", {})}
        merged[name] = fn
    return {**data, "functions": merged}


def resolve(path: Path, *, stage: str, env: Mapping[str, str]) -> Blueprint:
    data, marks = parse(path)
    problems: list[Diagnostic] = []
    data = interpolate(data, "", stage, env, problems, path, marks)
    stages = data.get("stages") if isinstance(data, dict) else None
    if isinstance(stages, dict) and isinstance(stages.get(stage), dict):
        data = merge(data, stages[stage])
    data = apply_defaults(data) if isinstance(data, dict) else data
    try:
        bp = Blueprint.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ""
            for part in err["loc"]:
                loc = join(loc, part)
            line, col = marks.get(loc, (None, None))
            problems.append(Diagnostic(err["msg"], Location(path, line, col, loc)))
        raise BlueprintError(problems)
    if problems:
        raise BlueprintError(problems)
    return bp.bind(stage=stage, root=path.parent.resolve(), source=path, marks=marks)
