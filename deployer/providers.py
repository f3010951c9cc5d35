"""Providers: the plug-in point for clouds, found through the `deployer.providers` entry point group.

The built-in providers (aws, gcp, azure, local) are registered in pyproject.toml exactly like a third
party's would be, so nothing here knows any cloud by name. Provider modules are imported only when a
command asks for that cloud, which keeps `deployer --help` and `validate` free of the Pulumi SDKs.

A provider compiles; it never deploys. `program()` returns a plain callable that declares Pulumi
resources; `deployer.plan` runs it under mocks and `deployer.engine` runs it for real. A provider that
does not deploy through Pulumi (the local cloud) returns its own engine from `engine()`.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Protocol

from pydantic import BaseModel, ConfigDict

from deployer.errors import Diagnostic, UsageError

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint
    from deployer.remote import Event, InvokeResult, LogRecord, RemoteOptions
    from deployer.resources.checks import Rules
    from deployer.resources.compile import CompileContext
    from deployer.resources.graph import Graph
    from deployer.resources.index import Index

ENTRY_POINT_GROUP = "deployer.providers"


class NoSettings(BaseModel):
    """The settings of a provider that has none (`clouds.<name>: {}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Artifact:
    """One function's package: a deterministic zip and its content hash."""

    function: str
    path: Path
    sha256: str
    size: int
    unzipped_size: int = 0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


class Provider:
    """Base class of every provider. Subclasses set `name` and override what their cloud needs."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: True when the provider deploys through Pulumi (and so `plan` and the Pulumi engine apply).
    pulumi: ClassVar[bool] = True
    #: The model of `clouds.<name>` in a blueprint (a frozen pydantic model with defaults for every field).
    settings: ClassVar[type] = NoSettings
    #: Diagram labels: the service each node kind becomes (keys of deployer.graph.services.KINDS);
    #: kinds left out are drawn with the generic name.
    services: ClassVar[dict[str, str]] = {}
    #: True when every queue has a dead-letter queue on this cloud whatever the blueprint says.
    always_dead_letter: ClassVar[bool] = False
    #: The SDK requirement line each store kind's runtime client imports in a function package
    #: (deployer/runtime/clients/<cloud>.py), and lines added whenever any of them is.
    client_packages: ClassVar[dict[str, str]] = {}
    client_always: ClassVar[tuple[str, ...]] = ()
    #: The Python distributions deploying to this cloud needs, and the extra of deployer that installs
    #: them: a command missing any stops with exit 3 and the pip line (deployer/prerequisites.py).
    requirements: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    #: True when a keeping `destroy` must first run one update of the graph compiled with `detach`
    #: (engine.PulumiEngine._destroy_keeping): kept stores that would call deleted functions stop doing so.
    detaches_on_keep: ClassVar[bool] = False

    def check(self, bp: "Blueprint") -> list[Diagnostic]:
        """Cloud rules: limits, names, what this cloud cannot do for this blueprint."""
        return []

    def package(self, bp: "Blueprint", function: str) -> Artifact:
        raise NotImplementedError(f"provider {self.name!r} does not package functions")

    def program(self, bp: "Blueprint", artifacts: dict[str, Artifact]) -> Callable[[], None]:
        """A callable declaring Pulumi resources. A graph provider does not override this: its program
        is the executor running its graph (deployer/resources/execute.py)."""
        if not self.compiles:
            raise NotImplementedError(f"provider {self.name!r} has no Pulumi program")
        from deployer.resources.execute import program

        return program(self, bp, artifacts)

    # -- the resource graph (deployer/resources): providers that compile to data -----------------------

    @property
    def compiles(self) -> bool:
        """True when the provider compiles to a resource graph (it overrides `declare_function`)."""
        return type(self).declare_function is not Provider.declare_function

    def compile(self, bp: "Blueprint", artifacts: dict[str, Artifact], *, keep_data: bool = True,
                detach: bool = False) -> "Graph":
        """The resource graph, through the shared driver (stores, functions, triggers, outputs). Pure."""
        from deployer.resources.compile import compile_graph

        return compile_graph(self, bp, artifacts, keep_data=keep_data, detach=detach)

    def context(self, bp: "Blueprint", artifacts: dict[str, Artifact], keep_data: bool) -> "CompileContext":
        """The context the provider's kind modules share; override to add cloud-specific lookups."""
        from deployer.resources.compile import CompileContext
        from deployer.resources.graph import Builder

        builder = Builder(self.name, bp.name, bp.stage, self.stack_config(bp))
        return CompileContext(bp, artifacts, builder, keep_data)

    def declare_store(self, ctx: "CompileContext", name: str, store: Any) -> Any:
        raise NotImplementedError(f"provider {self.name!r} does not compile stores")

    def declare_function(self, ctx: "CompileContext", name: str) -> Any:
        raise NotImplementedError(f"provider {self.name!r} does not compile functions")

    def declare_triggers(self, ctx: "CompileContext") -> None:
        """Connect triggers once every store and function is declared."""

    def sdk_index(self) -> "Index":
        """The SDK index shipped beside the provider's module (scripts/sdk_index.py writes it)."""
        import inspect

        from deployer.resources.index import load

        return load(str(Path(inspect.getfile(type(self))).parent / "sdk_index.json"))

    def price_table(self) -> Any:
        """The cloud's price table for `deployer cost` (`prices.yaml` beside the provider's module), or
        None for a cloud without one."""
        import inspect

        from deployer.cost import load_prices

        path = Path(inspect.getfile(type(self))).parent / "prices.yaml"
        return load_prices(path) if path.exists() else None

    def graph_rules(self) -> "Rules":
        """The cloud's rules over a graph: physical names, orderings (deployer/resources/checks.py)."""
        from deployer.resources.checks import Rules

        return Rules()

    def stack_config(self, bp: "Blueprint") -> dict[str, str]:
        return {}

    # Pulumi's mock runtime (deployer plan) asks the provider for what a real cloud would answer.
    def mock_resource(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(physical id, outputs) of a resource under mocks; outputs must hold what the program reads."""
        return f"{name}-id", dict(inputs)

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        """The result of an invoke (a data source such as getCallerIdentity) under mocks."""
        return {}

    # Optional: `after_up(bp, artifacts, log=print)`, called by the Pulumi engine after every successful
    # `up` (not preview) for what no Pulumi resource can do (Azure: publish each app's code, sync triggers);
    # raise DeploymentError on failure.

    def engine(self, bp: "Blueprint", options: "EngineOptions") -> "Engine":
        """The engine that deploys this provider's program. Pulumi providers use the Automation API."""
        from deployer.engine import PulumiEngine

        return PulumiEngine(self, bp, options)

    # Operating what is deployed (`deployer invoke` / `deployer logs`; deployer/remote.py). Each provider
    # turns the portable event into its shim's native one and its cloud's log entries into LogRecords.
    def invoke(self, bp: "Blueprint", function: str, event: "Event", options: "RemoteOptions") -> "InvokeResult":
        """Run the deployed `function` once with `event`; physical names from `options.outputs()`."""
        raise UsageError(f"`deployer invoke` is not supported by the {self.name!r} cloud")

    def logs(self, bp: "Blueprint", function: str, since: float | None, follow: bool, filter: str | None,
             options: "RemoteOptions") -> Iterator["LogRecord"]:
        """The function's log records from `since` (epoch seconds; None: the provider's default window),
        oldest first, keeping only those containing `filter`; with `follow`, new ones until interrupted."""
        raise UsageError(f"`deployer logs` is not supported by the {self.name!r} cloud")


@dataclass(frozen=True)
class EngineOptions:
    """What the CLI hands an engine. `artifacts` are the packages the pipeline built (empty when the
    command does not deploy code: refresh, outputs, stacks, cancel)."""

    backend: str | None = None
    port: int | None = None
    json: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    debug: bool = False


class Engine(Protocol):
    """What every engine (Pulumi's Automation API, the local cloud) does for the CLI.

    `on_event` receives plain dicts (docs/contracts.md, Engines), possibly from another thread:
    {"kind": "resource", "phase": "start"|"done"|"failed", "op": "create"|"update"|"replace"|"delete"|...,
     "name": logical name, "type": resource type} and {"kind": "log", "severity": "info"|"warning"|"error",
    "message": str, "name": logical name or None}.
    `confirm`: False when `up`/`destroy` need no confirmation prompt (the local cloud); default True.
    Optional methods, checked with getattr by the CLI: `refresh(on_event)`, `stacks()` -> list of dicts,
    `cancel()`.
    """

    confirm: bool

    def up(self, on_event: Callable[[dict], None] | None = None) -> "Result": ...
    def preview(self, on_event: Callable[[dict], None] | None = None) -> "Result": ...
    def destroy(self, delete_data: bool = False, on_event: Callable[[dict], None] | None = None) -> "Result": ...
    def outputs(self) -> dict[str, Any]: ...


@dataclass
class Result:
    """What an engine operation did: changes by operation, outputs, duration, stores kept."""

    operation: str
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    kept: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def changed(self) -> bool:
        return any(n for op, n in self.changes.items() if op != "same")

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "changes": self.changes, "outputs": self.outputs,
                "duration": round(self.duration, 3), "kept": self.kept, "message": self.message}


@functools.lru_cache(maxsize=1)
def _entry_points() -> list[metadata.EntryPoint]:
    """Read once per process: scanning every installed distribution costs ~80 ms, and packaging asks
    for the provider once or twice per function."""
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)


#: In-process registrations (tests and programs embedding deployer): name -> Provider instance.
#: They take precedence over entry points; `register()` adds one and returns a function that removes it.
_extra: dict[str, Provider] = {}


def register(provider: Provider) -> Callable[[], None]:
    """Register a provider instance for this process (tests, embedding); returns the undo function."""
    previous = _extra.get(provider.name)
    _extra[provider.name] = provider

    def undo() -> None:
        if previous is None:
            _extra.pop(provider.name, None)
        else:
            _extra[provider.name] = previous

    return undo


def available() -> dict[str, metadata.EntryPoint]:
    """Provider name -> entry point, without importing any provider. Two with one name is an error."""
    found: dict[str, metadata.EntryPoint] = {}
    for ep in _entry_points():
        if ep.name in found and found[ep.name].value != ep.value:
            raise UsageError(f"two providers are registered as {ep.name!r}: {found[ep.name].value} and {ep.value}",
                             hint="uninstall one of the packages that provide them")
        found[ep.name] = ep
    for name, provider in _extra.items():
        cls = type(provider)
        found[name] = metadata.EntryPoint(name, f"{cls.__module__}:{cls.__qualname__}", ENTRY_POINT_GROUP)
    return found


def get(name: str) -> Provider:
    """Load and instantiate a provider by name, with a did-you-mean for an unknown one."""
    if name in _extra:
        return _extra[name]
    providers = available()
    if name not in providers:
        close = difflib.get_close_matches(name, list(providers), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown cloud {name!r}; available: {', '.join(providers)}",
                         hint=hint + "`deployer providers` lists them")
    cls = providers[name].load()
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise UsageError(f"provider {name!r} ({providers[name].value}) is not a deployer Provider")
    return cls()


def keep_data() -> bool:
    """Whether stateful stores are retained when the stack is destroyed (the default).

    Providers declare buckets, tables and queues with `ResourceOptions(retain_on_delete=keep_data())`;
    `deployer destroy --delete-data` first sets the Pulumi config `deployer:deleteData` to true (an `up`
    that changes nothing in the cloud, only the retain flag in state) and then destroys.
    """
    import pulumi

    return not (pulumi.Config("deployer").get_bool("deleteData") or False)
