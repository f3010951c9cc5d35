"""The resource graph: what a provider compiles a blueprint into, as plain frozen data.

A resource is a Pulumi type token, a logical name, an explicit owner (a function, a store or the app),
inputs under the Python SDK's argument names, and options. Inputs are plain JSON (dicts, lists,
strings, numbers, booleans) or the expressions of deployer/resources/values.py. Data-source calls
(the account id, the project number) are nodes of their own that resources refer to with `CallOut`;
stack outputs are values too.

Providers build a graph with `Builder`, which refuses two resources with one logical name at once (the
place the mistake is made) and leaves every other rule to deployer/resources/checks.py, where rules
run over the whole graph. Nothing here imports Pulumi: plan, eject and cost read the graph; only the
executor turns it into SDK objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from deployer.resources.values import CallOut, Out, references


@dataclass(frozen=True)
class Owner:
    """Who a resource belongs to: `function api`, `store orders` or `app` (shared)."""

    kind: str  # "app" | "function" | "store"
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


APP = Owner("app")


def function(name: str) -> Owner:
    return Owner("function", name)


def store(name: str) -> Owner:
    return Owner("store", name)


@dataclass(frozen=True)
class Options:
    """Pulumi resource options a graph may carry (names follow pulumi.ResourceOptions)."""

    depends_on: tuple[str, ...] = ()
    retain_on_delete: bool = False
    import_id: str | None = None
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    #: an existing resource read by id (`Cls.get`): never created, changed or deleted; no inputs
    read_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.read_id is not None:
            out["read"] = self.read_id
        if self.depends_on:
            out["depends_on"] = list(self.depends_on)
        if self.retain_on_delete:
            out["retain_on_delete"] = True
        if self.import_id is not None:
            out["import"] = self.import_id
        if self.ignore_changes:
            out["ignore_changes"] = list(self.ignore_changes)
        if self.replace_on_changes:
            out["replace_on_changes"] = list(self.replace_on_changes)
        if self.delete_before_replace:
            out["delete_before_replace"] = True
        return out


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    owner: Owner
    inputs: dict[str, Any]
    options: Options = Options()

    def out(self, attr: str) -> Out:
        """A reference to one of this resource's outputs (Python SDK attribute name)."""
        return Out(self.name, attr)

    def dependencies(self) -> set[str]:
        """Logical names this resource needs first: the resources its inputs read and `depends_on`."""
        found = {ref.resource for ref in references(self.inputs) if isinstance(ref, Out)}
        return found | set(self.options.depends_on)


@dataclass(frozen=True)
class Call:
    """A data-source call (`aws:index/getCallerIdentity:getCallerIdentity`) with its arguments."""

    name: str
    token: str
    args: dict[str, Any]

    def out(self, attr: str) -> CallOut:
        return CallOut(self.name, attr)


@dataclass(frozen=True)
class Graph:
    cloud: str
    project: str
    stack: str
    resources: tuple[Resource, ...]
    calls: tuple[Call, ...] = ()
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)

    def by_name(self) -> dict[str, Resource]:
        """Logical name -> resource, built once per graph (checks ask for it once per resource)."""
        cached = self.__dict__.get("_by_name")
        if cached is None:
            cached = {r.name: r for r in self.resources}
            object.__setattr__(self, "_by_name", cached)
        return cached

    def secrets(self) -> list[str]:
        """Names of the blueprint secrets the graph reads (sorted)."""
        from deployer.resources.values import Secret

        return sorted({ref.name for r in self.resources for ref in references(r.inputs) if isinstance(ref, Secret)})

    def retained(self) -> list[Resource]:
        return [r for r in self.resources if r.options.retain_on_delete]

    def ordered(self) -> list[Resource]:
        """Resources with every dependency before its dependants (stable: the provider's order otherwise).
        A cycle or a missing dependency raises ValueError (checks.py reports them located first)."""
        names = self.by_name()
        done: set[str] = set()
        visiting: set[str] = set()
        out: list[Resource] = []

        def visit(res: Resource) -> None:
            if res.name in done:
                return
            if res.name in visiting:
                raise ValueError(f"dependency cycle through {res.name}")
            visiting.add(res.name)
            for dep in sorted(res.dependencies()):
                if dep not in names:
                    raise ValueError(f"{res.name} refers to unknown resource {dep}")
                visit(names[dep])
            visiting.discard(res.name)
            done.add(res.name)
            out.append(res)

        for res in self.resources:
            visit(res)
        return out


class Builder:
    """Collects resources, calls and outputs in the order a provider declares them."""

    def __init__(self, cloud: str, project: str, stack: str, config: dict[str, str] | None = None):
        self.cloud, self.project, self.stack = cloud, project, stack
        self.config = dict(config or {})
        self._resources: dict[str, Resource] = {}
        self._calls: dict[str, Call] = {}
        self._outputs: dict[str, Any] = {}

    def add(self, type_: str, logical: str, owner: Owner, /, *, depends_on: Iterable[Resource | str] = (),
            retain: bool = False, import_id: str | None = None, ignore_changes: Iterable[str] = (),
            replace_on_changes: Iterable[str] = (), delete_before_replace: bool = False,
            read_id: str | None = None, **inputs: Any) -> Resource:
        """Add a resource; inputs whose value is None are left out (as Pulumi does). The first three
        parameters are positional, so an input may be called `name` as so many SDK arguments are."""
        if logical in self._resources:
            raise ValueError(f"two resources are named {logical!r} ({self._resources[logical].type} and {type_})")
        deps = tuple(sorted({d.name if isinstance(d, Resource) else d for d in depends_on}))
        if read_id is not None and (inputs or retain or import_id):
            raise ValueError(f"{logical} reads an existing resource: it takes no inputs, retain or import")
        options = Options(deps, retain, import_id, tuple(ignore_changes), tuple(replace_on_changes),
                          delete_before_replace, read_id)
        res = Resource(type_, logical, owner, {k: v for k, v in inputs.items() if v is not None}, options)
        self._resources[logical] = res
        return res

    def get(self, name: str) -> Resource:
        return self._resources[name]

    def __contains__(self, name: str) -> bool:
        return name in self._resources

    def call(self, token: str, /, **args: Any) -> Call:
        """A data-source call, named after its function (`getCallerIdentity`); asked twice, one node."""
        name = token.rsplit(":", 1)[-1]
        existing = self._calls.get(name)
        if existing is None:
            existing = self._calls[name] = Call(name, token, args)
        elif (existing.token, existing.args) != (token, args):
            raise ValueError(f"two different calls are named {name!r}")
        return existing

    def export(self, name: str, value: Any) -> None:
        self._outputs[name] = value

    def build(self) -> Graph:
        return Graph(self.cloud, self.project, self.stack, tuple(self._resources.values()),
                     tuple(self._calls.values()), dict(self._outputs), dict(self.config))
