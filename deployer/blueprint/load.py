"""Load a blueprint file: bytes -> text -> YAML nodes -> plain data with a mark for every node.

PyYAML is used at the node level (`compose`) so that every value keeps its line and column, duplicate
keys are caught (PyYAML's own constructor silently keeps the last one) and YAML 1.1's surprises are
avoided: `on:` is a key here, not the boolean True, so only `true`/`false` are booleans.

A blueprint is user input that editors, CI and colleagues feed us, so this layer refuses what would
hang or crash a parser before parsing: files over MAX_BYTES (checked with stat, never read whole),
binary files (NUL bytes, invalid UTF-8), and alias bombs ("billion laughs": aliases are shared nodes
that expand when turned into data, so the expansion is counted and cut at MAX_NODES). Every problem
becomes a located `Diagnostic`; `deployer.blueprint.resolve` takes the data from here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from deployer.blueprint.model import NAME_PATTERN, Blueprint
from deployer.errors import BlueprintError, Diagnostic, Location, UsageError

DEFAULT_FILE = "deployer.yaml"
MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64
STAGE_MAX = 63  # a stage names a folder, a stack and a part of every physical name

Marks = dict[str, tuple[int, int]]

def _yaml12(base: type) -> type:
    """A safe loader class with YAML 1.2 booleans (only true/false) on top of `base`."""
    cls = type(f"Blueprint{base.__name__}", (base,), {})
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
    return cls


# libyaml (10x faster) for ordinary files. Its composer recurses in C and crashes the process on
# nesting some 30 000 levels deep, so text that could nest that deep goes to the pure-Python loader,
# whose recursion ends in a RecursionError we report.
_Loader = _yaml12(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
_PyLoader = _yaml12(yaml.SafeLoader)
C_NESTING_BUDGET = 10_000
_CONSTRUCTOR = yaml.SafeLoader("")  # builds scalar values from resolved tags; never parses
MAP_TAG, SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}


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


def _problem(file: Path, message: str, line: int | None = 1, col: int | None = 1, path: str = "",
             hint: str | None = None, code: str = "yaml") -> BlueprintError:
    return BlueprintError([Diagnostic(message, Location(file, line, col, path), hint=hint, code=code)])


def read_text(file: Path) -> str:
    """The file's text, refusing huge, binary and non-UTF-8 files before any parsing."""
    try:
        size = file.stat().st_size
        data = file.read_bytes() if size <= MAX_BYTES else b""
    except OSError as exc:
        raise _problem(file, f"cannot read the blueprint: {exc.strerror}", None, None, code="file") from None
    if size > MAX_BYTES:
        raise _problem(file, f"the blueprint is {size / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:g} MB",
                       hint="a blueprint describes functions; it should be a few kilobytes",
                       code="file")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise _problem(file, "this is not a text file (it contains NUL bytes)", line, col,
                       hint="a blueprint is a YAML text file", code="file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise _problem(file, f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})", line, col,
                       hint="save the blueprint as UTF-8", code="file") from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def compose(text: str, file: Path) -> yaml.Node | None:
    """YAML text -> the root node, with YAML errors turned into located diagnostics."""
    openers = sum(text.count(c) for c in ("[", "{", "- ", "? "))
    try:
        return yaml.compose(text, Loader=_Loader if openers <= C_NESTING_BUDGET else _PyLoader)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_problem(exc, text, file) from None
    except yaml.YAMLError as exc:  # unmarked: rare (e.g. reader errors)
        raise _problem(file, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _problem(file, f"the blueprint is nested more than {MAX_DEPTH} levels deep",
                       hint="blueprints are a few levels deep") from None


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str, file: Path) -> BlueprintError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    lines = text.splitlines()
    char = lines[line - 1][col - 1:col] if 0 < line <= len(lines) else ""
    if char == "\t":
        return _problem(file, "a tab character is used for indentation", line, col,
                        hint="YAML indents with spaces only; replace the tab with spaces")
    message = f"invalid YAML: {exc.problem}" if exc.problem else "invalid YAML"
    hint = None
    if exc.context and exc.context_mark and exc.context_mark is not mark:
        hint = f"{exc.context} (line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
    elif exc.context:
        hint = exc.context
    if "another document" in message:
        message, hint = "the file holds more than one YAML document", "a blueprint is one document: remove the `---`"
    return _problem(file, message, line, col, hint=hint)


class _Walk:
    """Turns nodes into data; records marks of values (`marks`) and keys (`key_marks`)."""

    def __init__(self, file: Path):
        self.file = file
        self.marks: Marks = {}
        self.key_marks: Marks = {}
        self.problems: list[Diagnostic] = []
        self.count = 0

    def data(self, node: yaml.Node, path: str, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _problem(self.file, f"the blueprint expands to more than {MAX_NODES} values", *_mark(node),
                           _short(path), code="yaml",
                           hint="YAML aliases (*name) of anchors (&name) that hold aliases multiply; write the values out")
        if depth > MAX_DEPTH:
            raise _problem(self.file, f"the blueprint is nested more than {MAX_DEPTH} levels deep", *_mark(node),
                           _short(path), code="yaml",
                           hint="blueprints are a few levels deep; look for an alias that refers to itself")
        self.marks.setdefault(path, _mark(node))
        if node.tag not in (MAP_TAG, SEQ_TAG) and not isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.data(v, join(path, i), depth + 1) for i, v in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(Diagnostic("YAML merge keys (<<) are not supported", Location(
                    self.file, *_mark(key_node), path), hint="write the keys out", code="yaml"))
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)) or key is None:
                self.problems.append(Diagnostic("a key must be a plain string", Location(
                    self.file, *_mark(key_node), path), code="yaml"))
                continue
            key = str(key)
            sub = join(path, key)
            if key in out:
                first = self.key_marks.get(sub, (None, None))
                self.problems.append(Diagnostic(
                    f"duplicate key '{key}' (first defined on line {first[0]})",
                    Location(self.file, *_mark(key_node), sub),
                    hint="YAML keeps only one of them; remove or rename the other", code="duplicate-key"))
                continue
            self.key_marks[sub] = _mark(key_node)
            out[key] = self.data(value_node, sub, depth + 1)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        if node.tag not in SCALAR_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(Diagnostic(f"unsupported YAML tag '{tag}'", Location(
                self.file, *_mark(node), path), hint="remove the tag; blueprints hold plain values", code="yaml"))
            return None
        try:
            return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
        except (yaml.YAMLError, ValueError) as exc:
            self.problems.append(Diagnostic(f"invalid value {node.value!r}: {exc}", Location(
                self.file, *_mark(node), path), code="yaml"))
            return node.value


def _short(path: str) -> str:
    """The first two segments of a runaway path (a bomb's path is as long as its expansion)."""
    parts = re.split(r"(?=[.\[])", path)
    return "".join(parts[:2])


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def parse(file: Path) -> tuple[Any, Marks, Marks]:
    """(data, value marks, key marks) of a blueprint file; raises BlueprintError on any YAML problem."""
    text = read_text(file)
    node = compose(text, file)
    if node is None:
        raise _problem(file, "the blueprint is empty", hint="start with `deployer init`, or write at least `name:`",
                       code="structure")
    walk = _Walk(file)
    data = walk.data(node, "")
    if walk.problems:
        raise BlueprintError(walk.problems)
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"the value {data!r}"
        raise _problem(file, f"the blueprint must be a mapping of keys, got {got}",
                       hint="start with `name: my-app`, then `stores:` and `functions:`", code="structure")
    return data, walk.marks, walk.key_marks


def load_blueprint(file: str | Path | None = None, *, stage: str = "dev",
                   env: Mapping[str, str] | None = None) -> Blueprint:
    """Load, interpolate, apply the stage and defaults, validate. Raises BlueprintError."""
    from deployer.blueprint.resolve import resolve  # the full rule set

    check_stage(stage)
    path = find_blueprint(file)
    return resolve(path, stage=stage, env=os.environ if env is None else env)


def check_stage(stage: str) -> None:
    """A stage is a name like the keys under `stages:` (it becomes a folder and a stack): UsageError if not."""
    if not re.fullmatch(NAME_PATTERN, stage) or len(stage) > STAGE_MAX:
        raise UsageError(f"bad stage {stage!r}: a stage is lower-case letters, digits and '-', starts with a "
                         f"letter and has at most {STAGE_MAX} characters",
                         hint="it names the stack and prefixes every resource name, e.g. --stage prod")
