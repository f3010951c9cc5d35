"""The one pipeline behind `plan`, `up`, `preview` and `destroy`: load -> check -> package.

`plan` and the engine commands differ only in their last step (run the program under mocks, or hand
it to an engine), so they share everything up to here and a blueprint that plans is the blueprint that
deploys. Warnings from the provider's `check` are returned for the command to show; errors stop here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from deployer import providers
from deployer.blueprint.model import Blueprint
from deployer.errors import BlueprintError, Diagnostic
from deployer.providers import Artifact, Provider

if TYPE_CHECKING:
    from deployer.resources.graph import Graph


@dataclass(frozen=True)
class Prepared:
    bp: Blueprint
    provider: Provider
    warnings: list[Diagnostic] = field(default_factory=list)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    graph: "Graph | None" = None  # the provider's resource graph, checked (graph providers)


def check(bp: Blueprint, provider: Provider) -> list[Diagnostic]:
    """Run the provider's rules; raise on errors, return the warnings."""
    diagnostics = provider.check(bp)
    if any(d.severity == "error" for d in diagnostics):
        raise BlueprintError(diagnostics)
    return diagnostics


def prepare(file: Path | str | None, stage: str, cloud: str, *, package: bool = True,
            planning: bool = False) -> Prepared:
    """Load, check and package. Deploying (`package` without `planning`) needs every secret's value,
    so a missing one stops here with exit 2, for every provider, before any engine starts; the offline
    plan uses placeholders and warns instead (deployer.secrets)."""
    from deployer import secrets
    from deployer.blueprint.load import load_blueprint

    bp = load_blueprint(file, stage=stage)
    provider = providers.get(cloud)
    warnings = check(bp, provider)
    if package and not planning:
        missing = secrets.check(bp)
        if missing:
            raise BlueprintError(missing)
    artifacts: dict[str, Artifact] = {}
    graph = None
    if package and provider.pulumi:
        artifacts = {name: provider.package(bp, name) for name in bp.functions}
        if provider.compiles:
            from deployer.plan import check_graph

            graph = provider.compile(bp, artifacts)
            warnings = warnings + check_graph(provider, bp, graph)
    return Prepared(bp, provider, warnings, artifacts, graph)
