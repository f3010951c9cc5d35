"""Resolution: from a blueprint file to a validated, bound Blueprint, collecting every problem.

Steps: parse (load.py) -> interpolate `${env:..}`/`${stage}` -> apply the stage's overrides -> merge
`defaults` into functions -> validate the model (pydantic; errors translated by explain.py) -> cross
references (checks.py). Every step runs and collects diagnostics; the whole list is raised at the end.
When the model does not validate, the cross references are still checked on the parts that do
(`partial_blueprint`), and a later step's problem at a path an earlier step already reported is
dropped (it would repeat the same problem in other words).

Values move between steps: an override under `stages.prod.functions.api.memory` ends up at
`functions.api.memory`, and a default at every function. `Origins` remembers where each final path
came from, so a problem is reported at the line the user wrote, with the path they wrote it under.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from deployer.blueprint import explain
from deployer.blueprint.load import Marks, join, parse
from deployer.blueprint.model import Blueprint
from deployer.blueprint.suggest import did_you_mean
from deployer.errors import BlueprintError, Diagnostic, Location

INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
ENV_REF = re.compile(r"^env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,(.*))?$", re.DOTALL)
NAMED = ("functions", "stores", "secrets")


class Source:
    """Marks and origins of one blueprint file: turns a final field path into a Location."""

    def __init__(self, file: Path, marks: Marks, key_marks: Marks):
        self.file, self.marks, self.key_marks = file, marks, key_marks
        self.origins: dict[str, str] = {}

    def origin(self, path: str) -> str:
        """The path the user wrote for a final path (longest prefix with a recorded origin)."""
        probe = path
        while probe:
            if probe in self.origins:
                return self.origins[probe] + path[len(probe):]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return path

    def locate(self, path: str, *, key: bool = False) -> Location:
        src = self.origin(path)
        probe = src
        while True:
            mark = (self.key_marks.get(probe) if key else None) or self.marks.get(probe)
            if mark or not probe:
                break
            cut = max(probe.rfind("."), probe.rfind("["))
            probe, key = (probe[:cut] if cut > 0 else ""), True
        line, col = mark or (None, None)
        return Location(self.file, line, col, src)


def interpolate(value: Any, path: str, stage: str, env: Mapping[str, str], src: Source,
                problems: list[Diagnostic]) -> Any:
    """`${env:NAME}`, `${env:NAME, default}` and `${stage}` in every string, each problem located."""
    if isinstance(value, dict):
        return {k: interpolate(v, join(path, k), stage, env, src, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, join(path, i), stage, env, src, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def repl(match: re.Match) -> str:
        body = match.group(1).strip()
        if body == "stage":
            return stage
        ref = ENV_REF.match(body)
        if ref is None:
            problems.append(Diagnostic(f"unknown interpolation '{match.group(0)}'", src.locate(path),
                                       hint="write ${env:NAME}, ${env:NAME, default} or ${stage}",
                                       code="interpolation"))
            return ""
        name, default = ref.group(1), ref.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default.strip()
        problems.append(Diagnostic(f"environment variable {name} is not set", src.locate(path),
                                   hint=f"set {name}, or give a default: ${{env:{name}, value}}",
                                   code="interpolation"))
        return ""

    return INTERPOLATION.sub(repl, value)


def apply_stage(data: dict, stage: str, src: Source, problems: list[Diagnostic]) -> dict:
    """Merge `stages.<stage>` over the blueprint; every stage's overrides are checked, not only this one."""
    stages = data.get("stages")
    if not isinstance(stages, dict):
        return data
    for name, override in stages.items():
        if isinstance(override, dict):
            problems += _unknown_overrides(data, name, override, src)
            if name != stage:  # the selected stage gets the full model validation after merging
                problems += _unknown_keys(override, Blueprint, f"stages.{name}", src)
    override = stages.get(stage)
    if not isinstance(override, dict):
        return data
    _record(override, "", f"stages.{stage}", src)
    return merge(data, override)


def _unknown_overrides(data: dict, stage: str, override: dict, src: Source) -> list[Diagnostic]:
    """An override of a function, store or secret the blueprint does not declare is a typo."""
    found = []
    for section in NAMED:
        entries = override.get(section)
        if not isinstance(entries, dict):
            continue
        known = data.get(section) if isinstance(data.get(section), dict) else {}
        for name in entries:
            if name not in known:
                found.append(Diagnostic(
                    f"stage '{stage}' overrides {section[:-1]} '{name}', which is not declared under `{section}`",
                    src.locate(f"stages.{stage}.{section}.{name}", key=True),
                    hint=did_you_mean(name, known) or f"declare it under `{section}` first", code="stage"))
    return found


def _unknown_keys(value: Any, tp: Any, path: str, src: Source) -> list[Diagnostic]:
    """Unknown keys in another stage's overrides (walked along the model's types; lists and unions
    of several models, whose shape depends on a `kind`, are left to that stage's own validation)."""
    from pydantic import BaseModel

    from deployer.blueprint import model as m

    tp = explain._unwrap(tp)
    if not isinstance(value, dict):
        return []
    if tp is m.Clouds:  # keys are cloud names, each with its provider's model
        return [d for key, sub in value.items() if m.settings_model(key) is not None
                for d in _unknown_keys(sub, m.settings_model(key), join(path, key), src)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        found, keys = [], [info.alias or name for name, info in tp.model_fields.items()]
        for key, sub in value.items():
            if key not in keys:
                found.append(Diagnostic(f"unknown key '{key}'", src.locate(join(path, key), key=True),
                                        hint=explain.did_you_mean(key, keys) or f"allowed keys here: {', '.join(keys)}",
                                        code="schema"))
            else:
                found += _unknown_keys(sub, explain._step(tp, key), join(path, key), src)
        return found
    if getattr(tp, "__origin__", None) is dict:
        value_type = explain._step(tp, "")
        return [d for key, sub in value.items() for d in _unknown_keys(sub, value_type, join(path, key), src)]
    return []


def _record(value: Any, path: str, origin: str, src: Source) -> None:
    """Every path an override sets comes from the override's path."""
    if path:
        src.origins[path] = f"{origin}.{path}"
    if isinstance(value, dict):
        for k, v in value.items():
            _record(v, join(path, k), origin, src)


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def apply_defaults(data: dict, src: Source) -> dict:
    defaults = data.get("defaults") or {}
    functions = data.get("functions")
    if not isinstance(defaults, dict) or not isinstance(functions, dict):
        return data
    merged = {}
    for name, fn in functions.items():
        if isinstance(fn, dict):
            inherited = {k: v for k, v in defaults.items() if k not in fn and k != "env"}
            for key in inherited:
                src.origins[f"functions.{name}.{key}"] = src.origin(f"defaults.{key}")
            fn = {**inherited, **fn}
            env = defaults.get("env")
            if isinstance(env, dict) and isinstance(fn.get("env", {}), dict):
                for key in env:
                    if key not in fn.get("env", {}):
                        src.origins[f"functions.{name}.env.{key}"] = src.origin(f"defaults.env.{key}")
                fn["env"] = {**env, **fn.get("env", {})}
        merged[name] = fn
    return {**data, "functions": merged}


def validation_problems(exc: ValidationError, data: Any, src: Source) -> list[Diagnostic]:
    """Pydantic's errors as located diagnostics, union branches folded, repeats (a default inherited
    by many functions) reported once at the line the user wrote."""
    items = []
    for err in exc.errors():
        path, is_key = explain.field_path(data, err["loc"], err["type"])
        if err["type"] == "union_tag_invalid":
            path = join(path, "kind")
        items.append((err, path, is_key))
    problems, seen = [], set()
    for err, path, is_key in explain.fold_unions(items):
        message, hint = explain.explain(err, path, is_key, data)
        key = err["type"] in ("extra_forbidden", "missing") or is_key
        location = src.locate(path, key=key)
        if (location.path, message) in seen:
            continue
        seen.add((location.path, message))
        problems.append(Diagnostic(message, location, hint=hint, code="schema"))
    return problems


def validate_clouds(data: Any, src: Source, problems: list[Diagnostic]) -> Any:
    """Each `clouds.<name>` through the settings model its provider declares; an unknown cloud, or
    settings the model refuses, are located problems (and the entry is left out)."""
    clouds = data.get("clouds") if isinstance(data, dict) else None
    if not isinstance(clouds, dict):
        return data  # absent: every cloud's defaults; not a mapping: the model says so
    from deployer import providers
    from deployer.blueprint import model as m

    known = list(providers.available())
    valid = {}
    for name, value in clouds.items():
        model = m.settings_model(name)
        if model is None:
            problems.append(Diagnostic(f"unknown cloud '{name}'", src.locate(f"clouds.{name}", key=True),
                                       hint=did_you_mean(name, known) or f"installed clouds: {', '.join(known)}",
                                       code="schema"))
            continue
        try:
            valid[name] = model.model_validate({} if value is None else value)
        except ValidationError as exc:
            problems += validation_problems(_Prefixed(exc, ("clouds", name)), data, src)
    return {**data, "clouds": valid}


class _Prefixed:
    """A ValidationError of one part of the blueprint, its locations made whole (for the explainer)."""

    def __init__(self, exc: ValidationError, prefix: tuple):
        self.exc, self.prefix = exc, prefix

    def errors(self) -> list[dict]:
        return [{**err, "loc": self.prefix + tuple(err["loc"])} for err in self.exc.errors()]


def in_order(problems: list[Diagnostic], file: Path) -> list[Diagnostic]:
    """Top to bottom through the blueprint (problems in other files, e.g. handler code, last)."""
    return sorted(problems, key=lambda d: (d.location.file != file, str(d.location.file),
                                           d.location.line or 0, d.location.column or 0))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def partial_blueprint(data: Any) -> tuple[Blueprint, frozenset[str]]:
    """The valid parts of a blueprint that failed validation, so cross references can still be checked.

    Returns a Blueprint (built without validation) holding only the stores, functions and secrets that
    validate on their own, and the names of declared stores that did not: references to those are
    not reported again as unknown stores."""
    from pydantic import TypeAdapter

    from deployer.blueprint import model as m

    section = (lambda key: data.get(key) if isinstance(data, dict) and isinstance(data.get(key), dict) else {})
    stores, broken = {}, set()
    adapter = TypeAdapter(m.Store)
    for name, value in section("stores").items():
        try:
            stores[name] = adapter.validate_python(value)
        except ValidationError:
            broken.add(name)
    functions = {}
    for name, value in section("functions").items():
        try:
            if re.match(m.LOGICAL_PATTERN, name):
                functions[name] = m.Function.model_validate(value)
        except ValidationError:
            pass
    secrets = {name: m.Secret() for name in section("secrets")}
    return Blueprint.model_construct(name="partial", stores=stores, functions=functions, secrets=secrets), \
        frozenset(broken)


def resolve(path: Path, *, stage: str, env: Mapping[str, str]) -> Blueprint:
    """Every step runs and every problem is collected; a problem found by an earlier step hides the
    later steps' problems at or under the same field path (they would say the same thing again)."""
    from deployer.blueprint.checks import Checker

    data, marks, key_marks = parse(path)
    src = Source(path, marks, key_marks)
    problems: list[Diagnostic] = []
    data = interpolate(data, "", stage, env, src, problems)
    data = apply_stage(data, stage, src, problems)
    data = apply_defaults(data, src)
    root = path.parent.resolve()
    data = validate_clouds(data, src, problems)
    try:
        bp, broken, later = Blueprint.model_validate(data), frozenset(), []
    except ValidationError as exc:
        later = validation_problems(exc, data, src)
        bp, broken = partial_blueprint(data)
    later += Checker(bp, root, src.locate, broken).run()
    found = [d.location.path for d in problems]
    problems += [d for d in later if not any(_under(d.location.path, p) for p in found)]
    if problems:
        raise BlueprintError(in_order(problems, path))
    return bp.bind(stage=stage, root=root, source=path, marks=marks)
