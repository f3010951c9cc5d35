"""A function's dependencies, from whichever files its code folder has: requirements.txt, pyproject.toml, uv.lock.

Python projects keep their dependencies in one of three places, and a function folder may hold several:

- `requirements.txt`, with `-r other.txt` and `-c constraints.txt` includes (paths relative to the
  including file) and the pip options a file may carry (`--index-url`, `--extra-index-url`,
  `--find-links`, `--pre`, `--hash` on a line);
- `pyproject.toml`: the `[project] dependencies` list (PEP 621); dynamic dependencies are left to the
  requirements file they come from;
- `uv.lock`: the exact versions `uv lock` chose. When it is there it decides: its pins are walked from
  the project's own entry, with each edge's marker evaluated for the *target* (Linux, its machine, its
  Python), and installed with `--no-deps`, so uv and pip vendor exactly the same versions.

The files must agree: a lock made for other dependencies than pyproject.toml lists (stale), a
requirement the lock does not satisfy, or two exact pins that differ stop packaging with an error at the
file and line (exit 2). A malformed file does too. The result, `Dependencies`, is flat and canonical:
its text is what the installer reads, what the zip's requirements.txt holds, and what the vendoring
cache is keyed by, so comments, ordering of includes or reformatting do not re-vendor anything.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from deployer.errors import EXIT_USAGE, DeployerError, Location

REQUIREMENTS, PYPROJECT, LOCK = "requirements.txt", "pyproject.toml", "uv.lock"
PYPI = "https://pypi.org/simple"
#: pip options a requirements file may carry, passed on to the installer (uv reads them as well).
OPTIONS = {"-i": "--index-url", "--index-url": "--index-url", "--extra-index-url": "--extra-index-url",
           "-f": "--find-links", "--find-links": "--find-links", "--pre": "--pre",
           "--only-binary": "--only-binary", "--prefer-binary": "--prefer-binary", "--no-index": "--no-index"}
INCLUDES = {"-r": "r", "--requirement": "r", "-c": "c", "--constraint": "c"}


class DependencyError(DeployerError):
    """A dependency file is malformed, or two of them disagree (exit 2)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Line:
    """One requirement and where it was written."""

    requirement: Requirement
    where: Location

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True)
class Dependencies:
    """What to install: requirement lines, constraint lines, installer options, and whether the lines
    are a lock's complete set of exact pins (installed with --no-deps). `sources` are the files read."""

    requirements: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    locked: bool = False
    sources: tuple[Path, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.requirements)

    def text(self) -> str:
        """requirements.txt form: options, then requirements, sorted (the cache key's text)."""
        lines = [*self.options, *self.requirements]
        return "".join(f"{line}\n" for line in lines)

    def constraints_text(self) -> str:
        return "".join(f"{line}\n" for line in self.constraints)


def environment(platform: str | None, python_version: str) -> dict[str, str]:
    """PEP 508 marker values of the target: Linux on the platform tag's machine, the runtime's Python."""
    machine = "aarch64" if platform and "aarch64" in platform else "x86_64"
    full = python_version if python_version.count(".") >= 2 else f"{python_version}.0"
    return {"implementation_name": "cpython", "platform_python_implementation": "CPython",
            "os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
            "platform_machine": machine, "python_version": ".".join(full.split(".")[:2]),
            "python_full_version": full, "implementation_version": full, "platform_release": "",
            "platform_version": "", "extra": ""}


def host_environment() -> dict[str, str]:
    """PEP 508 marker values of this machine (the local cloud runs functions here)."""
    from packaging.markers import default_environment

    return {**default_environment(), "extra": ""}


def read(code_dir: Path, env: dict[str, str], extra: Iterable[str] = ()) -> Dependencies:
    """The function's dependencies for the target environment `env` (see the module docstring), plus
    `extra` requirement lines (the clients a provider adds)."""
    req_file, project_file, lock_file = (code_dir / REQUIREMENTS, code_dir / PYPROJECT, code_dir / LOCK)
    options: list[str] = []
    constraints: list[Line] = []
    reqs = _requirements_file(req_file, options, constraints, set()) if req_file.is_file() else None
    project = _pyproject(project_file) if project_file.is_file() else None
    extras = [Line(_parse(text, Location(path="client requirements")), Location(path="client requirements"))
              for text in extra]
    sources = tuple(p for p in (lock_file, req_file, project_file) if p.is_file())  # the deciding one first
    if lock_file.is_file():
        pins, lock_options = _lock(lock_file, project, env)
        for lines in (project.lines if project else [], reqs or []):
            _agree_with_lock(lines, pins, lock_file, env)
        missing = [e for e in extras if e.name not in pins]
        _agree_with_lock([e for e in extras if e.name in pins], pins, lock_file, env)
        requirements = [f"{name}=={version}" for name, version in sorted(pins.items())]
        requirements += [str(e.requirement) for e in missing]
        return Dependencies(tuple(requirements), tuple(str(c.requirement) for c in constraints),
                            tuple(dict.fromkeys(options + lock_options)), locked=not missing, sources=sources)
    lines = [*(reqs or []), *(project.lines if project else []), *extras]
    _agree(lines, env)
    applicable = [ln for ln in lines if ln.requirement.marker is None or ln.requirement.marker.evaluate(env)]
    unique = sorted(dict.fromkeys(_without_marker(ln.requirement) for ln in applicable), key=str.lower)
    return Dependencies(tuple(unique), tuple(str(c.requirement) for c in constraints),
                        tuple(dict.fromkeys(options)), sources=sources)


# ------------------------------------------------------------------------------------ requirements.txt

def _logical_lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) with comments dropped and backslash continuations joined."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DependencyError(f"{path} cannot be read: {exc}", location=Location(file=path)) from None
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, line in enumerate(raw, 1):
        line = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text:
            out.append((start, text))
    return out


def _requirements_file(path: Path, options: list[str], constraints: list[Line], seen: set[Path],
                       kind: str = "r") -> list[Line]:
    """The requirement lines of a requirements file and of the files it includes (-r, -c)."""
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    found: list[Line] = []
    for number, text in _logical_lines(path):
        where = Location(file=path, line=number)
        if text.startswith("-"):
            found += _option(path, text, where, options, constraints, seen, kind)
            continue
        text, _, _hashes = text.partition(" --hash")
        line = Line(_parse(text.strip(), where), where)
        (constraints if kind == "c" else found).append(line)
    return found


def _option(path: Path, text: str, where: Location, options: list[str], constraints: list[Line],
            seen: set[Path], kind: str) -> list[Line]:
    flag = re.split(r"[=\s]", text, maxsplit=1)[0]
    value = text[len(flag):].lstrip(" =").strip()
    if flag in INCLUDES:
        included = (path.parent / value).resolve()
        if not value or not included.is_file():
            raise DependencyError(f"{flag} {value}: no such file (relative to {path.parent})", location=where,
                                  hint="fix the path of the included requirements file")
        sub = INCLUDES[flag] if kind == "r" else "c"
        return _requirements_file(included, options, constraints, seen, sub)
    if flag in OPTIONS:
        options.append(f"{OPTIONS[flag]} {value}".strip())
        return []
    if flag in ("-e", "--editable"):
        raise DependencyError(f"an editable requirement cannot be vendored into a package: {text}", location=where,
                              hint="install it as a regular requirement (a name and version, or a wheel URL)")
    raise DependencyError(f"unsupported option in a requirements file: {flag}", location=where,
                          hint=f"supported: {', '.join(sorted(set(INCLUDES) | set(OPTIONS)))}")


def _without_marker(req: Requirement) -> str:
    """The requirement with its marker dropped: it was evaluated for the target already, and pip would
    evaluate it again for this machine (its platform_machine, not the target's)."""
    copy = Requirement(str(req))
    copy.marker = None
    return str(copy)


def _parse(text: str, where: Location) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise DependencyError(f"not a valid requirement: {text!r} ({exc})", location=where,
                              hint="write a requirement as in PEP 508, e.g. `requests>=2.31`") from None


# -------------------------------------------------------------------------------------- pyproject.toml

@dataclass(frozen=True)
class Project:
    name: str | None
    lines: list[Line]


def _toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DependencyError(f"{path} cannot be read: {exc}", location=Location(file=path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = Location(file=path, line=int(found[1]), column=int(found[2])) if found else \
            Location(file=path, line=max(1, len(text.splitlines())))  # "(at end of document)"
        raise DependencyError(f"{path.name} is not valid TOML: {re.sub(r' [(]at .*[)]$', '', str(exc))}",
                              location=where) from None


def _line_of(path: Path, needle: str, default: int | None = None) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    return default


def _pyproject(path: Path) -> Project | None:
    data = _toml(path)
    project = data.get("project")
    if not isinstance(project, dict):
        return None  # a tool-only pyproject.toml (ruff, pytest settings): no dependencies from it
    deps = project.get("dependencies", [])
    if "dependencies" in project.get("dynamic", []):
        return Project(project.get("name"), [])  # they come from the requirements file they name
    anchor = _line_of(path, "dependencies")
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise DependencyError("[project] dependencies must be a list of requirement strings",
                              location=Location(file=path, line=anchor, path="project.dependencies"))
    lines = []
    for text in deps:
        where = Location(file=path, line=_line_of(path, text, anchor), path="project.dependencies")
        lines.append(Line(_parse(text, where), where))
    return Project(project.get("name"), lines)


# ---------------------------------------------------------------------------------------------- uv.lock

def _lock(path: Path, project: Project | None, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """{name: version} of every package the lock installs for env, and the extra indexes it uses."""
    data = _toml(path)
    packages = data.get("package")
    if not isinstance(packages, list) or not all(isinstance(p, dict) and "name" in p for p in packages):
        raise DependencyError("uv.lock has no [[package]] entries", location=Location(file=path),
                              hint="regenerate it with `uv lock`")
    root = _root(path, packages, project)
    if project is not None:
        _lock_is_current(path, root, project)
    by_name: dict[str, list[dict]] = {}
    for package in packages:
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)
    pins: dict[str, str] = {}
    indexes: list[str] = []
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    todo = list(root.get("dependencies", []))
    while todo:
        dep = todo.pop()
        marker = dep.get("marker")
        if marker and not Marker(marker).evaluate(env):
            continue
        package = _pick(path, by_name, dep)
        name = canonicalize_name(package["name"])
        extras = tuple(dep.get("extra", ()))
        if (name, str(package.get("version")), extras) in seen:
            continue
        seen.add((name, str(package.get("version")), extras))
        pins[name] = _pinned_version(path, package)
        registry = package.get("source", {}).get("registry", PYPI)
        if registry.rstrip("/") != PYPI:
            indexes.append(f"--extra-index-url {registry}")
        todo += package.get("dependencies", [])
        for extra in extras:
            todo += package.get("optional-dependencies", {}).get(extra, [])
    return pins, list(dict.fromkeys(indexes))


def _root(path: Path, packages: list[dict], project: Project | None) -> dict:
    roots = [p for p in packages if set(p.get("source", {})) & {"virtual", "editable"}
             and p.get("source", {}).get("virtual", p.get("source", {}).get("editable")) == "."]
    if project is not None and project.name:
        named = [p for p in roots if canonicalize_name(p["name"]) == canonicalize_name(project.name)]
        roots = named or roots
    if len(roots) != 1:
        raise DependencyError("uv.lock has no single project entry for this folder (source = { virtual = \".\" })",
                              location=Location(file=path),
                              hint="run `uv lock` in the function's folder, beside its pyproject.toml")
    return roots[0]


def _pick(path: Path, by_name: dict[str, list[dict]], dep: dict) -> dict:
    candidates = by_name.get(canonicalize_name(dep["name"]), [])
    if "version" in dep:
        candidates = [p for p in candidates if str(p.get("version")) == str(dep["version"])]
    if not candidates:
        raise DependencyError(f"uv.lock names {dep['name']} as a dependency but has no entry for it",
                              location=Location(file=path, line=_line_of(path, f'name = "{dep["name"]}"')),
                              hint="regenerate it with `uv lock`")
    return candidates[0]


def _pinned_version(path: Path, package: dict) -> str:
    source = package.get("source", {})
    if "registry" not in source:
        kind = next(iter(source), "unknown")
        raise DependencyError(f"uv.lock takes {package['name']} from a {kind} source; only packages from an "
                              "index can be vendored as wheels for the target platform",
                              location=Location(file=path, line=_line_of(path, f'name = "{package["name"]}"')),
                              hint="depend on a released version from PyPI (or your index) instead")
    return str(package["version"])


def _lock_is_current(path: Path, root: dict, project: Project) -> None:
    """The lock was made for exactly the dependencies pyproject.toml lists (what `uv lock --check` says)."""
    locked: dict[str, set[str]] = {}
    for item in root.get("metadata", {}).get("requires-dist", []):
        locked.setdefault(canonicalize_name(item["name"]), set()).add(str(SpecifierSet(item.get("specifier", ""))))
    wanted = {ln.name: ln for ln in project.lines}
    for line in project.lines:
        if str(line.requirement.specifier) not in locked.get(line.name, set()):
            made = ", ".join(f"{line.name}{s}" for s in sorted(locked[line.name])) if line.name in locked else \
                f"no {line.name}"
            raise DependencyError(f"uv.lock is out of date: pyproject.toml asks for {line.requirement}, the lock "
                                  f"was made for {made}", location=line.where, hint="run `uv lock` and package again")
    for name in sorted(set(locked) - set(wanted)):
        raise DependencyError(f"uv.lock is out of date: it was made for {name}, which pyproject.toml no longer "
                              "lists", location=Location(file=path, line=_line_of(path, f'name = "{name}"')),
                              hint="run `uv lock` and package again")


def _agree_with_lock(lines: list[Line], pins: dict[str, str], lock: Path, env: dict[str, str]) -> None:
    for line in lines:
        req = line.requirement
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        if line.name not in pins:
            raise DependencyError(f"{_file(line)} asks for {req}, which uv.lock does not pin", location=line.where,
                                  hint=f"add it to pyproject.toml and run `uv lock`, or remove it from {_file(line)}")
        if not req.specifier.contains(pins[line.name], prereleases=True):
            raise DependencyError(f"{_file(line)} asks for {req}, but uv.lock pins {line.name} {pins[line.name]}",
                                  location=line.where, hint="make the two agree (then run `uv lock`)")


def _agree(lines: list[Line], env: dict[str, str]) -> None:
    """Exact pins (==X) must satisfy every other file's specifier for the same package."""
    for pin in lines:
        exact = _exact(pin.requirement.specifier)
        if exact is None:
            continue
        for other in lines:
            if other is pin or other.name != pin.name:
                continue
            if not other.requirement.specifier.contains(exact, prereleases=True):
                raise DependencyError(f"{_file(pin)} pins {pin.requirement} but {_file(other)} asks for "
                                      f"{other.requirement} (at {other.where})", location=pin.where,
                                      hint="make the two files agree, or keep one of them")


def _exact(spec: SpecifierSet) -> str | None:
    for item in spec:
        if item.operator in ("==", "===") and "*" not in item.version:
            try:
                return str(Version(item.version))
            except InvalidVersion:
                return None
    return None


def _file(line: Line) -> str:
    return line.where.file.name if line.where.file else line.where.path or "a requirement"
