"""The offline plan: run a provider's Pulumi program under Pulumi's own mock runtime.

No CLI, no plugins, no credentials: `pulumi.runtime.set_mocks` replaces the engine and the resource
monitor, so the program runs exactly as it would on `up` while every resource registration lands in
`_Recorder`. The provider answers what a cloud would (ids, ARNs, URLs) through `mock_resource` and
`mock_call`. What is recorded is the plan: type, logical name, inputs, and the owner derived from the
logical name convention (`fn-<function>-...`, `store-<store>-...`, `app-...`; docs/contracts.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from deployer.blueprint.model import Blueprint
from deployer.providers import Artifact, Provider


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    inputs: dict[str, Any]
    group: str  # "function api", "store orders" or "app"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "group": self.group, "inputs": self.inputs}


@dataclass
class Plan:
    cloud: str
    app: str
    resources: list[PlannedResource] = field(default_factory=list)
    seconds: float = 0.0

    def groups(self) -> dict[str, list[PlannedResource]]:
        out: dict[str, list[PlannedResource]] = {}
        for res in self.resources:
            out.setdefault(res.group, []).append(res)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "app": self.app, "count": len(self.resources),
                "resources": [r.to_json() for r in self.resources]}


def owner(bp: Blueprint, name: str) -> str:
    """The group of a resource from its logical name; longest known name wins (names may hold '-')."""
    for prefix, kind, names in (("fn-", "function", bp.functions), ("store-", "store", bp.stores)):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            for candidate in sorted(names, key=len, reverse=True):
                if rest == candidate or rest.startswith(candidate + "-"):
                    return f"{kind} {candidate}"
    return "app"


def plain(value: Any) -> Any:
    """Inputs as JSON-able values: archives and assets become a short description."""
    import pulumi

    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
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


def run(provider: Provider, bp: Blueprint, artifacts: dict[str, Artifact]) -> Plan:
    """Run the provider's program under mocks and return what it would create."""
    import pulumi
    import pulumi.runtime

    recorder = _recorder(provider, bp)
    started = time.perf_counter()
    pulumi.runtime.set_mocks(recorder, project=bp.name, stack=bp.stage, preview=False)
    pulumi.runtime.set_all_config({**provider.stack_config(bp)})
    program = provider.program(bp, artifacts)

    @pulumi.runtime.test
    def _run():
        program()

    _run()
    return Plan(provider.name, bp.stage_name(), recorder.resources, time.perf_counter() - started)


def _recorder(provider: Provider, bp: Blueprint):
    import pulumi.runtime

    class _Recorder(pulumi.runtime.Mocks):
        def __init__(self) -> None:
            self.resources: list[PlannedResource] = []

        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            if args.typ.startswith("pulumi:providers:"):
                return f"{args.name}-provider", dict(args.inputs)
            inputs = plain(dict(args.inputs))
            self.resources.append(PlannedResource(args.typ, args.name, inputs, owner(bp, args.name)))
            return provider.mock_resource(args.typ, args.name, dict(args.inputs))

        def call(self, args: pulumi.runtime.MockCallArgs):
            return provider.mock_call(args.token, dict(args.args))

    return _Recorder()
