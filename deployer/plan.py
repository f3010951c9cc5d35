"""The offline plan: render a provider's resource graph, with no Pulumi or cloud SDK import.

A graph provider compiles the blueprint into plain data (deployer/resources); the plan is that data
rendered: inputs under Pulumi's wire names (from the shipped SDK index), outputs not known before
deploy as references (`${fn-api-role.arn}`), secrets as `[secret]`, resources grouped by owner. It takes
milliseconds where running a Pulumi program under mocks took seconds.

Providers that have not moved to the graph yet still run their Pulumi program under Pulumi's mock
runtime (deployer/plan_mocks.py); both paths return the same `Plan`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deployer import secrets
from deployer.blueprint.model import Blueprint
from deployer.errors import BlueprintError, Diagnostic
from deployer.providers import Artifact, Provider

if TYPE_CHECKING:
    from deployer.resources.graph import Graph

MASK = secrets.MASK
GROUP_ORDER = {"app": 0, "store": 1, "function": 2}


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    inputs: dict[str, Any]
    group: str  # "function api", "store orders" or "app"
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {"type": self.type, "name": self.name, "group": self.group, "inputs": self.inputs}
        return {**out, "options": self.options} if self.options else out


@dataclass
class Plan:
    cloud: str
    app: str
    resources: list[PlannedResource] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[Diagnostic] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # stack outputs; secret ones as "[secret]"
    graph: "Graph | None" = None

    def groups(self) -> dict[str, list[PlannedResource]]:
        out: dict[str, list[PlannedResource]] = {}
        for res in self.resources:
            out.setdefault(res.group, []).append(res)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "app": self.app, "count": len(self.resources),
                "resources": [r.to_json() for r in self.resources], "outputs": self.outputs}


def sort_key(res: PlannedResource) -> tuple:
    return GROUP_ORDER[res.group.split(" ")[0]], res.group, res.name


def check_graph(provider: Provider, bp: Blueprint, graph: "Graph") -> list[Diagnostic]:
    """The graph rules (deployer/resources/checks.py); raises BlueprintError on an error."""
    from deployer.resources import checks

    found = checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)
    if any(d.severity == "error" for d in found):
        raise BlueprintError(found)
    return found


def render(provider: Provider, bp: Blueprint, graph: "Graph") -> Plan:
    """The plan of a compiled (and checked) graph."""
    from deployer.resources.render import known_ids, value

    index = provider.sdk_index()
    known = known_ids(graph)
    resources = sorted((PlannedResource(r.type, r.name, value(index.wire(r.type, r.inputs), known), r.owner.label,
                                        r.options.to_json()) for r in graph.resources), key=sort_key)
    return Plan(provider.name, bp.stage_name(), resources, outputs=value(graph.outputs, known), graph=graph)


def run(provider: Provider, bp: Blueprint, artifacts: dict[str, Artifact],
        graph: "Graph | None" = None) -> Plan:
    """What `up` would create: the rendered graph, or (older providers) the program under mocks."""
    started = time.perf_counter()
    if not provider.compiles:
        from deployer import plan_mocks

        return plan_mocks.run(provider, bp, artifacts)
    if graph is None:
        graph = provider.compile(bp, artifacts)
        check_graph(provider, bp, graph)
    plan = render(provider, bp, graph)
    plan.warnings = secrets.check(bp, planning=True)
    plan.seconds = time.perf_counter() - started
    return plan
