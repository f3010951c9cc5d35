"""The shared driver every graph provider compiles through.

One order for every cloud: stores first, then functions (which read the stores' locators for their
environment), then triggers (which connect stores and functions), then the stack outputs that every cloud
exports under the same keys (docs/contracts.md): `api_url`, `functions`, `stores`, and
`deployer_stores` (each store's identity, so a later deploy can refuse to replace one: lifecycle.py). A provider writes
only its per-kind modules and four hooks (`context`, `declare_store`, `declare_function`,
`declare_triggers`); it never loops over the blueprint itself and never imports Pulumi.

`CompileContext` is what those modules share while one graph is built: the blueprint, the packages, the
graph builder and typed references to the stores and functions declared so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deployer.blueprint import refs
from deployer.resources.graph import Builder, Graph, Resource
from deployer.resources.lifecycle import STORES_OUTPUT, fingerprints

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint
    from deployer.providers import Artifact, Provider


@dataclass(frozen=True)
class StoreRef:
    """A declared store: its main resource, its id for grants (an ARN, a resource id) and the locator
    a function's DEPLOYER_STORE_<NAME> carries. `extra` holds what one cloud needs besides."""

    name: str
    kind: str
    resource: Resource
    ident: Any
    locator: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FunctionRef:
    """A declared function: its main resource, its physical name (or URL) and cloud-specific extras."""

    name: str
    resource: Resource
    physical: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompileContext:
    bp: "Blueprint"
    artifacts: dict[str, "Artifact"]
    g: Builder
    keep_data: bool = True
    #: The graph of a keeping `destroy`'s first update: nothing may call a function it is about to delete
    #: (GCP's push subscriptions turn into pull ones). Only providers with `detaches_on_keep` read it.
    detach: bool = False
    stores: dict[str, StoreRef] = field(default_factory=dict)
    functions: dict[str, FunctionRef] = field(default_factory=dict)
    api_url: Any = None

    def store(self, name: str) -> StoreRef:
        return self.stores[name]

    def function(self, name: str) -> FunctionRef:
        return self.functions[name]

    def consumers(self, store: str) -> list[tuple[str, object]]:
        return refs.consumers(self.bp, store)


def compile_graph(provider: "Provider", bp: "Blueprint", artifacts: dict[str, "Artifact"], *,
                  keep_data: bool = True, detach: bool = False) -> Graph:
    """The provider's graph for this blueprint (see the module docstring for the order)."""
    missing = sorted(set(bp.functions) - set(artifacts))
    if missing:
        raise ValueError(f"no package for function(s) {', '.join(missing)}")
    ctx = provider.context(bp, artifacts, keep_data)
    ctx.detach = detach
    for name, store in bp.stores.items():
        ctx.stores[name] = provider.declare_store(ctx, name, store)
    for name in bp.functions:
        ctx.functions[name] = provider.declare_function(ctx, name)
    provider.declare_triggers(ctx)
    if ctx.api_url is not None:
        ctx.g.export("api_url", ctx.api_url)
    ctx.g.export("functions", {name: ref.physical for name, ref in ctx.functions.items()})
    ctx.g.export("stores", {name: ref.locator for name, ref in ctx.stores.items()})
    ctx.g.export(STORES_OUTPUT, fingerprints(bp, provider.name))
    return ctx.g.build()
