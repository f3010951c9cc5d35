"""The executor: the second interpreter of the graph, turning it into typed Pulumi SDK resources.

It runs inside a Pulumi program (the Automation API's inline program in deployer/engine.py, or
`pulumi.runtime.test` under mocks): every resource becomes `cls(name, **inputs, opts=...)` with the
class named by the SDK index, in dependency order, so plugin versions, aliases, secret outputs and
input translation all come from the SDK itself. Data-source calls become the SDK's `*_output`
functions; stack outputs become `pulumi.export`.

`ReferenceMocks` is a generic stand-in for a cloud under `pulumi.runtime.set_mocks`: every output of a
resource (or field of a call's result) resolves to the reference text plan renders (`${name.attr}`),
so what the executor registers can be compared with the plan input for input. No per-cloud fake is
needed.
"""

from __future__ import annotations

import base64
import importlib
from typing import Any, Mapping

from deployer.resources.graph import Graph, Options
from deployer.resources.index import Index
from deployer.resources.render import reference
from deployer.resources.values import Archive, Asset, Base64, CallOut, Json, Out, Secret, Template


def _import(path: str) -> Any:
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class Executor:
    def __init__(self, graph: Graph, index: Index, secrets: Mapping[str, str]):
        self.graph, self.index, self.secrets = graph, index, secrets
        self.objects: dict[str, Any] = {}
        self.calls: dict[str, Any] = {}

    def run(self) -> dict[str, Any]:
        """Declare every call, resource and output; returns the SDK objects by logical name."""
        import pulumi

        for call in self.graph.calls:
            fn = _import(self.index.call(call.token)["function"])
            self.calls[call.name] = fn(**self.value(call.args))
        for res in self.graph.ordered():
            cls = _import(self.index.class_path(res.type))
            if res.options.read_id is not None:  # an existing resource: read, never managed
                self.objects[res.name] = cls.get(res.name, res.options.read_id, opts=self.options(res.options))
                continue
            inputs = {sdk_argument(k): self.value(v) for k, v in res.inputs.items()}
            self.objects[res.name] = cls(res.name, opts=self.options(res.options), **inputs)
        for name, value in self.graph.outputs.items():
            pulumi.export(name, self.value(value))
        return self.objects

    def options(self, options: Options) -> Any:
        import pulumi

        return pulumi.ResourceOptions(
            depends_on=[self.objects[d] for d in options.depends_on] or None,
            retain_on_delete=options.retain_on_delete or None,
            import_=options.import_id,
            ignore_changes=list(options.ignore_changes) or None,
            replace_on_changes=list(options.replace_on_changes) or None,
            delete_before_replace=options.delete_before_replace or None)

    def value(self, v: Any) -> Any:
        import pulumi

        match v:
            case dict():
                return {k: self.value(x) for k, x in v.items()}
            case list() | tuple():
                return [self.value(x) for x in v]
            case Out(resource, attr):
                return getattr(self.objects[resource], attr)
            case CallOut(call, attr):
                return self.calls[call].apply(lambda result, a=attr: getattr(result, a))
            case Template(parts):
                return pulumi.Output.concat(*[self.value(p) for p in parts])
            case Json(inner):
                return pulumi.Output.json_dumps(self.value(inner))
            case Base64(inner):
                return pulumi.Output.from_input(self.value(inner)).apply(
                    lambda text: base64.b64encode(str(text).encode()).decode())
            case Secret(name):
                return pulumi.Output.secret(self.secrets[name])
            case Archive(path):
                return pulumi.FileArchive(path)
            case Asset(path):
                return pulumi.FileAsset(path)
        return v


#: Resource arguments the Python SDKs rename because they clash with the constructor's own parameters
#: (`resource_name`, `opts`): the index keeps the Args class's name, the constructor wants a `_` after it.
CLASHING = frozenset({"resource_name", "opts"})


def sdk_argument(name: str) -> str:
    """The constructor keyword of an input (`resource_name` -> `resource_name_`)."""
    return name + "_" if name in CLASHING else name


def reference_mocks(index: Index, graph: Graph):
    """Pulumi mocks answering every output with its plan reference text (module docstring)."""
    import pulumi.runtime

    calls = {c.token: c.name for c in graph.calls}

    class ReferenceMocks(pulumi.runtime.Mocks):
        def __init__(self) -> None:
            self.registered: list[tuple[str, str, dict]] = []
            self.ids: dict[str, str] = {}  # logical name -> the id Pulumi was given (a read or an import)

        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            if args.typ.startswith("pulumi:providers:"):
                return f"{args.name}-provider", {}
            self.registered.append((args.typ, args.name, dict(args.inputs)))
            if args.resource_id:
                self.ids[args.name] = args.resource_id
            outputs = {wire: reference(args.name, py) for py, wire in index.outputs(args.typ).items()}
            return reference(args.name, "id"), outputs

        def call(self, args: pulumi.runtime.MockCallArgs):
            name = calls.get(args.token, args.token)
            return {wire: reference(name, py) for py, wire in index.outputs(args.token).items()}

    return ReferenceMocks()


def program(provider: Any, bp: Any, artifacts: dict[str, Any], *, kept: Mapping[str, Any] | None = None,
            replace: tuple[str, ...] = (), record: Mapping[str, Any] | None = None):
    """The Pulumi program of a graph provider. Secrets are read now, so a missing one stops `up` before
    Pulumi starts; the graph is compiled inside the program, keeping stateful stores unless the stack's
    `deployer:deleteData` is set (`destroy --delete-data` sets it with an `up` first), and detached
    when `deployer:detach` is (a keeping destroy's first update, engine._destroy_keeping). `kept` (what a
    destroy kept) is adopted and the stores in `replace` are replaced; of `record` (every kept resource
    the engine knows of), what the graph does not declare is exported again as `deployer_kept`
    (deployer/resources/lifecycle.py)."""
    from deployer import secrets
    from deployer.resources import lifecycle

    values = secrets.values(bp)
    index = provider.sdk_index()

    def run() -> None:
        import pulumi

        config = pulumi.Config("deployer")
        delete, detach = config.get_bool("deleteData") or False, config.get_bool("detach") or False
        graph = provider.compile(bp, artifacts, keep_data=not delete, detach=detach)
        graph = lifecycle.adopt(graph, kept, provider.graph_rules().not_adopted)
        graph = lifecycle.replace_stores(graph, replace)
        Executor(graph, index, values).run()
        carried = lifecycle.still_kept(record or {}, graph)
        if carried:
            pulumi.export(lifecycle.KEPT_OUTPUT, carried)

    return run
