"""Cross-reference rules: what a schema cannot say because it needs the whole blueprint or its folder.

Each rule gets the validated model and reports located problems; all rules run, so a user sees every
problem at once. The rules are cloud-neutral (a provider's `check` adds its cloud's limits):

- every `uses` entry and every store trigger names an existing store of a fitting kind, with an access
  word that fits that kind (model.ACCESS_BY_KIND);
- no two triggers claim the same HTTP method and path (`/orders/{id}` == `/orders/{order}`; ANY
  overlaps every method);
- schedules parse (schedule.parse_schedule) and timezones exist (zoneinfo);
- code folders exist inside the blueprint's folder (after resolving `..` and symlinks), and the handler
  module defines the handler at top level; code is parsed with `ast`, never imported (importing user
  code would run it, and pull its dependencies, on every validate);
- granted secrets are declared at the top level.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from deployer.blueprint import model as m
from deployer.blueprint.schedule import ScheduleError, parse_schedule
from deployer.blueprint.suggest import closest, did_you_mean, one_of
from deployer.errors import Diagnostic, Location

Locate = Callable[..., Location]  # (field path, *, key=False) -> Location
TRIGGER_STORE = {m.BucketTrigger: ("bucket", "bucket"), m.QueueTrigger: ("queue", "queue"),
                 m.TopicTrigger: ("topic", "topic")}
PARAM = re.compile(r"\{[^{}/]*\}")


@dataclass
class Checker:
    bp: m.Blueprint
    root: Path
    locate: Locate
    broken: frozenset[str] = frozenset()  # declared stores that failed validation: not "unknown"

    def __post_init__(self) -> None:
        self.problems: list[Diagnostic] = []
        self.root = self.root.resolve()
        self._modules: dict[Path, ast.Module | SyntaxError | OSError] = {}

    def add(self, path: str, message: str, hint: str | None = None, code: str = "reference",
            location: Location | None = None) -> None:
        self.problems.append(Diagnostic(message, location or self.locate(path), hint=hint, code=code))

    def run(self) -> list[Diagnostic]:
        for name, fn in self.bp.functions.items():
            base = f"functions.{name}"
            self.uses(base, fn)
            self.triggers(base, fn)
            self.secrets(base, fn)
            folder = self.code(base, fn)
            if folder is not None:
                self.handler(base, fn, folder)
        self.routes()
        self.existing()
        self.reserved_secrets()
        return self.problems

    def reserved_secrets(self) -> None:
        """A secret becomes an environment variable of the functions granted it: one named DEPLOYER_*
        would overwrite what deployer sets (the store locators, the cloud), on every cloud."""
        for name in self.bp.secrets:
            if name.startswith("DEPLOYER_"):
                self.add(f"secrets.{name}", f"secret '{name}' has a reserved name (DEPLOYER_*)",
                         "pick another name; deployer sets DEPLOYER_* variables itself")

    def existing(self) -> None:
        """`clouds.<cloud>.existing` names declared stores."""
        extra = self.bp.clouds.__pydantic_extra__ or {}
        for cloud, settings in extra.items():
            for name in getattr(settings, "existing", None) or {}:
                if name not in self.bp.stores and name not in self.broken:
                    self.add(f"clouds.{cloud}.existing.{name}", f"unknown store '{name}'",
                             did_you_mean(name, list(self.bp.stores)) or "declare it under `stores` first")

    # ----------------------------------------------------------------------------------- stores
    def store(self, path: str, name: str, wanted: tuple[str, ...] | None,
              at_key: bool = False) -> m.BucketStore | None:
        """The store named `name`, or None after reporting why it cannot be used here.

        `at_key`: the name is a mapping key (`uses: {order: read}`), so an unknown one is shown there."""
        stores = self.bp.stores
        if name in self.broken:
            return None
        if name not in stores:
            of_kind = [s for s, v in stores.items() if wanted is None or v.kind in wanted]
            hint = did_you_mean(name, of_kind or stores) or (
                "declare it under `stores:`" if not stores else f"stores: {', '.join(stores)}")
            self.add(path, f"unknown store '{name}'", hint, location=self.locate(path, key=True) if at_key else None)
            return None
        store = stores[name]
        if wanted is not None and store.kind not in wanted:
            fitting = [s for s, v in stores.items() if v.kind in wanted]
            hint = (f"use `{store.kind}: {name}`" if store.kind in ("bucket", "queue", "topic")
                    else f"{wanted[0]} stores: {', '.join(fitting)}" if fitting else None)
            self.add(path, f"store '{name}' is a {store.kind}, not a {' or '.join(wanted)}", hint)
            return None
        return store

    def uses(self, base: str, fn: m.Function) -> None:
        for name, access in fn.uses.items():
            store = self.store(f"{base}.uses.{name}", name, None, at_key=True)
            if store is None:
                continue
            fits = m.ACCESS_BY_KIND[store.kind]
            if access not in fits:
                self.add(f"{base}.uses.{name}", f"access '{access}' does not fit {store.kind} '{name}'",
                         f"a {store.kind} takes {one_of(fits)}")

    def triggers(self, base: str, fn: m.Function) -> None:
        for index, trigger in enumerate(fn.triggers):
            path = f"{base}.triggers[{index}]"
            match trigger:
                case m.BucketTrigger(bucket=name) | m.QueueTrigger(queue=name) | m.TopicTrigger(topic=name):
                    key, kind = TRIGGER_STORE[type(trigger)]
                    self.store(f"{path}.{key}", name, (kind,))
                case m.ScheduleTrigger():
                    self.schedule(path, trigger)
                case m.HttpTrigger():
                    self.http_path(path, trigger)

    def secrets(self, base: str, fn: m.Function) -> None:
        for index, secret in enumerate(fn.secrets):
            if secret not in self.bp.secrets:
                hint = did_you_mean(secret, self.bp.secrets) or f"declare it: `secrets: {{{secret}: {{from: env}}}}`"
                self.add(f"{base}.secrets[{index}]", f"secret '{secret}' is not declared under `secrets`", hint)
        for key in fn.env:
            if key.startswith("DEPLOYER_"):
                self.add(f"{base}.env.{key}", f"environment variable '{key}' is reserved (DEPLOYER_*)",
                         "pick another name; deployer sets DEPLOYER_* variables itself")
            elif key in fn.secrets:
                self.add(f"{base}.env.{key}", f"environment variable '{key}' is also a secret of this function",
                         "a granted secret already is an environment variable; remove it from `env`")

    # ------------------------------------------------------------------------- schedules, routes
    def schedule(self, path: str, trigger: m.ScheduleTrigger) -> None:
        try:
            parse_schedule(trigger.schedule)
        except ScheduleError as exc:
            self.add(f"{path}.schedule", str(exc), "e.g. \"0 3 * * *\" (03:00 every day) or \"every 15 minutes\"",
                     code="schedule")
        zone_problem = timezone_problem(trigger.timezone)
        if zone_problem:
            self.add(f"{path}.timezone", *zone_problem, code="schedule")

    def http_path(self, path: str, trigger: m.HttpTrigger) -> None:
        route = trigger.path
        field = f"{path}.http" + (".path" if isinstance(trigger.http, m.HttpRoute) else "")
        stripped = PARAM.sub("", route)
        if "{" in stripped or "}" in stripped:
            self.add(field, f"path '{route}' has an unbalanced '{{' or '}}'", "path parameters look like /orders/{id}",
                     code="route")
        for param in PARAM.findall(route):
            if not re.fullmatch(r"\{[A-Za-z_][A-Za-z0-9_]*\+?\}", param):
                self.add(field, f"path parameter '{param}' must be a name like {{id}}", code="route")

    def routes(self) -> None:
        """No two triggers may claim one method and path; ANY claims every method of its path."""
        claimed: dict[str, list[tuple[str, str, str, int]]] = {}
        for name, index, method, route in self._http():
            owners = claimed.setdefault(normal_path(route), [])
            clash = next((o for o in owners if method == "ANY" or o[0] in (method, "ANY")), None)
            if clash is None:
                owners.append((method, route, name, index))
                continue
            other_method, other_route, owner, owner_index = clash
            field = f"functions.{name}.triggers[{index}].http"
            see = f"see functions.{owner}.triggers[{owner_index}]"
            if (other_method, other_route) == (method, route):
                self.add(field, f"route {method} {route} is already claimed by function '{owner}'", see, code="route")
                continue
            why = ("ANY claims every method of its path" if "ANY" in (method, other_method)
                   else "path parameters match by position, whatever their names")
            self.add(field, f"route {method} {route} conflicts with {other_method} {other_route} of function "
                     f"'{owner}'", f"{why}; {see}", code="route")

    def _http(self) -> Iterator[tuple[str, int, str, str]]:
        for name, fn in self.bp.functions.items():
            for index, trigger in enumerate(fn.triggers):
                if isinstance(trigger, m.HttpTrigger):
                    yield name, index, trigger.method, trigger.path

    # ------------------------------------------------------------------------------ code, handler
    def code(self, base: str, fn: m.Function) -> Path | None:
        """The function's code folder, resolved, or None after reporting why it cannot be used."""
        root = self.root
        folder = Path(os.path.realpath(root / fn.code))
        try:
            folder.relative_to(root)
        except ValueError:
            how = "through a symlink" if ".." not in Path(fn.code).parts and not Path(fn.code).is_absolute() else ""
            self.add(f"{base}.code", f"code folder '{fn.code}' is outside the blueprint's folder"
                     + (f" ({how})" if how else ""), "keep function code in a folder next to deployer.yaml",
                     code="code")
            return None
        if not folder.is_dir():
            hint = "it is a file; `code` names a folder" if folder.exists() else _folder_hint(root, fn.code)
            self.add(f"{base}.code", f"code folder '{fn.code}' does not exist", hint, code="code")
            return None
        return folder

    def handler(self, base: str, fn: m.Function, folder: Path) -> None:
        module, _, function = fn.handler.rpartition(".")
        rel = Path(*module.split("."))
        candidates = [folder / rel.with_suffix(".py"), folder / rel / "__init__.py"]
        file = next((c for c in candidates if c.is_file()), None)
        path = f"{base}.handler"
        if file is None:
            self.add(path, f"handler module '{module}' not found: no {Path(fn.code) / rel.with_suffix('.py')}",
                     _module_hint(folder), code="handler")
            return
        tree = self._parse(file)
        if isinstance(tree, SyntaxError):
            self.add(path, f"handler module {file.name} does not parse: {tree.msg}", None, code="handler",
                     location=Location(file, tree.lineno, tree.offset, path))
            return
        if isinstance(tree, OSError):
            self.add(path, f"handler module {file.name} cannot be read: {tree.strerror}", code="handler")
            return
        names = top_level_names(tree)
        if function not in names:
            hint = did_you_mean(function, names) or (
                f"defined there: {', '.join(sorted(names))}" if names else f"add `def {function}(event):`")
            self.add(path, f"function '{function}' is not defined at the top level of "
                     f"{Path(fn.code) / rel.with_suffix('.py')}", hint, code="handler")

    def _parse(self, file: Path) -> ast.Module | SyntaxError | OSError:
        if file not in self._modules:
            try:
                self._modules[file] = ast.parse(file.read_bytes(), filename=str(file))
            except (SyntaxError, ValueError) as exc:
                self._modules[file] = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
            except OSError as exc:
                self._modules[file] = exc
        return self._modules[file]


def normal_path(path: str) -> str:
    """`/orders/{id}` -> `/orders/{}`: routes that differ only in parameter names are one route."""
    return PARAM.sub("{}", path)


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level: def, async def, assignments, imports, classes."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def timezone_problem(name: str) -> tuple[str, str | None] | None:
    """(message, hint) when `name` is not an IANA timezone, else None."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    zones = zoneinfo.available_timezones()
    hint = did_you_mean(name, zones) or "an IANA name such as UTC, Europe/Paris or America/New_York"
    return f"unknown timezone '{name}'", hint


def _folder_hint(root: Path, code: str) -> str | None:
    parent = (root / code).parent
    if parent.is_dir():
        found = closest(Path(code).name, [p.name for p in parent.iterdir() if p.is_dir()])
        if found:
            return f"did you mean '{Path(code).parent / found}'?"
    return "create it, or fix the path (relative to the blueprint's folder)"


def _module_hint(folder: Path) -> str:
    modules = sorted(p.stem for p in folder.glob("*.py"))
    return f"modules in that folder: {', '.join(modules)}" if modules else "the folder holds no .py file"
