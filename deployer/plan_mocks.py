"""The offline plan of providers not yet on the resource graph: their Pulumi program under mocks.

(deployer/plan.py renders graph providers without Pulumi; this path goes once every provider compiles.)

No CLI, no plugins, no credentials: `pulumi.runtime.set_mocks` replaces the engine and the resource
monitor, so the program runs exactly as it would on `up` while every resource registration lands in
`_Recorder`. The provider answers what a cloud would (ids, ARNs, URLs) through `mock_resource` and
`mock_call`. What is recorded is the plan: type, logical name, inputs, and the owner derived from the
logical name convention (`fn-<function>-...`, `store-<store>-...`, `app-...`; docs/contracts.md).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from deployer import secrets
from deployer.blueprint.model import Blueprint
from deployer.plan import MASK, Plan, PlannedResource, sort_key
from deployer.providers import Artifact, Provider


def owner(bp: Blueprint, name: str) -> str:
    """The group of a resource from its logical name; longest known name wins (names may hold '-')."""
    for prefix, kind, names in (("fn-", "function", bp.functions), ("store-", "store", bp.stores)):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            cuts = [i for i, c in enumerate(rest) if c in "-_"] + [len(rest)]  # `_`: AWS's generated parts
            for cut in reversed(cuts):
                if rest[:cut] in names:
                    return f"{kind} {rest[:cut]}"
    return "app"


SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc: a value marked secret
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def plain(value: Any, secret_values: frozenset[str] = frozenset()) -> Any:
    """Inputs as JSON-able values: archives and assets become a short description, secrets are masked.

    A secret arrives wrapped in Pulumi's secret signature, often a whole map holding one secret (an
    environment); inside it every known secret value becomes `[secret]`, and a wrapped value holding
    none of them is masked whole, so nothing secret is ever printed.
    """
    import pulumi

    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            inner = value.get("value")
            return _mask(plain(inner, secret_values), secret_values) if _holds(inner, secret_values) else MASK
        return {k: plain(v, secret_values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, secret_values) for v in value]
    if isinstance(value, pulumi.FileArchive):
        return {"$archive": str(value.path).rsplit("/", 1)[-1]}
    if isinstance(value, pulumi.AssetArchive):
        return {"$archive": sorted(value.assets)}
    if isinstance(value, pulumi.FileAsset):
        return {"$asset": str(value.path).rsplit("/", 1)[-1]}
    if isinstance(value, pulumi.StringAsset):
        return {"$asset": "<text>"}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _holds(value: Any, secret_values: frozenset[str]) -> bool:
    if isinstance(value, dict):
        return any(_holds(v, secret_values) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds(v, secret_values) for v in value)
    return isinstance(value, str) and value in secret_values


def _mask(value: Any, secret_values: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, secret_values) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secret_values) for v in value]
    return MASK if isinstance(value, str) and value in secret_values else value


def run(provider: Provider, bp: Blueprint, artifacts: dict[str, Artifact]) -> Plan:
    """Run the provider's program under mocks and return what it would create."""
    import pulumi
    import pulumi.runtime

    started = time.perf_counter()
    with secrets.placeholders(), _without_stack_traces(), _without_gc():
        hidden = frozenset(v for v in secrets.values(bp).values() if v)
        recorder = _recorder(provider, bp, hidden)
        pulumi.runtime.set_mocks(recorder, project=bp.name, stack=bp.stage, preview=False)
        pulumi.runtime.set_all_config({**provider.stack_config(bp)})
        program = provider.program(bp, artifacts)

        @pulumi.runtime.test
        def _run():
            program()

        _run()
        outputs = _stack_outputs()
    resources = sorted(recorder.resources, key=sort_key)
    return Plan(provider.name, bp.stage_name(), resources, time.perf_counter() - started,
                warnings=secrets.check(bp, planning=True), outputs=outputs)


def _stack_outputs() -> dict[str, Any]:
    """The program's `pulumi.export`s, resolved (the mock run has finished); a secret one is masked."""
    import pulumi
    import pulumi.runtime
    from pulumi.runtime.sync_await import _sync_await

    root = pulumi.runtime.get_root_resource()
    found: dict[str, Any] = {}
    for name, value in sorted(getattr(root, "outputs", {}).items()):
        output = pulumi.Output.from_input(value)
        secret = _sync_await(output.is_secret())
        found[name] = MASK if secret else plain(_sync_await(output.future()))
    return found


@contextlib.contextmanager
def _without_stack_traces():
    """Skip the Python stack trace Pulumi captures for every resource (a source position for the CLI's
    diagnostics): the mock monitor ignores it, and walking the stack with its source lines is about a
    tenth of a plan's time. Restored afterwards, so a real deployment in this process keeps it."""
    from pulumi.runtime import resource as pulumi_resource
    from pulumi.runtime.proto import source_pb2

    original = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


@contextlib.contextmanager
def _without_gc():
    """Pause the cyclic garbage collector during the run. A plan allocates hundreds of thousands of
    short-lived futures and callbacks that the collector keeps rescanning (half the time of a
    1,000-resource plan); most are freed by reference counting anyway.

    Afterwards the survivors are moved to the oldest generation without a scan (freeze + unfreeze):
    re-enabling with all of them in the youngest generation would scan them all on the next
    allocation (a third of the plan's time). They are still collected by the next full collection."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def _recorder(provider: Provider, bp: Blueprint, hidden: frozenset[str]):
    import pulumi.runtime

    class _Recorder(pulumi.runtime.Mocks):
        def __init__(self) -> None:
            self.resources: list[PlannedResource] = []

        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            if args.typ.startswith("pulumi:providers:"):
                return f"{args.name}-provider", dict(args.inputs)
            inputs = plain(dict(args.inputs), hidden)
            self.resources.append(PlannedResource(args.typ, args.name, inputs, owner(bp, args.name)))
            return provider.mock_resource(args.typ, args.name, dict(args.inputs))

        def call(self, args: pulumi.runtime.MockCallArgs):
            return provider.mock_call(args.token, dict(args.args))

    return _Recorder()
