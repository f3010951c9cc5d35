"""`deployer validate` and `deployer providers`: check a blueprint, list the clouds.

validate is what editors and CI run on every save and push, so it stays cheap: it parses and checks
the blueprint and the handlers' source (with `ast`), and imports a provider only for `--cloud`.
With `--json` every outcome, including a file that does not parse, is one JSON document on stdout:
`{"ok": bool, "diagnostics": [...]}` (the fields of `Diagnostic.to_json`), exit 0 or 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app
from deployer.errors import BlueprintError, DeployerError, Diagnostic, Location


@app.command()
def validate(
    file: Path = common.FileOpt,
    stage: str = common.StageOpt,
    cloud: list[str] = typer.Option([], "--cloud", "-c", help="Also apply this cloud's rules (repeatable)."),
    json_: bool = common.JsonOpt,
) -> None:
    """Check a blueprint: syntax, references, routes, cron, code folders and handlers."""
    try:
        bp, diagnostics = _check(file, stage, cloud)
    except DeployerError as exc:
        if not json_:
            raise
        common.print_json({"ok": False, "diagnostics": [d.to_json() for d in _as_diagnostics(exc)]})
        raise typer.Exit(exc.exit_code) from None
    errors = [d for d in diagnostics if d.severity == "error"]
    if json_:
        common.print_json({"ok": not errors, "diagnostics": [d.to_json() for d in diagnostics]})
        if errors:
            raise typer.Exit(2)
        return
    if errors:
        raise BlueprintError(diagnostics)
    for diag in diagnostics:
        common.render_diagnostic(diag)
    common.say(f"{common.paint('ok', 'green')}: {bp.source} ({len(bp.functions)} functions, "
               f"{len(bp.stores)} stores, stage {bp.stage})")


def _check(file: Path | None, stage: str, clouds: list[str]):
    bp = common.load(file, stage)
    diagnostics = _stage_warnings(bp)
    if clouds:
        from deployer import providers  # only now: provider modules import Pulumi
    for name in clouds:
        provider = providers.get(name)
        found = [d if d.cloud else _with_cloud(d, name) for d in provider.check(bp)]
        if provider.compiles and not any(d.severity == "error" for d in found):
            found += _graph_checks(provider, bp)
        diagnostics += found
    return bp, diagnostics


def _graph_checks(provider, bp) -> list[Diagnostic]:
    """The rules over the provider's resource graph (names, references, orderings), compiled with
    placeholder packages: validate builds no zip, and no rule reads one."""
    from deployer.resources import checks
    from deployer.providers import Artifact

    artifacts = {fn: Artifact(fn, Path(f"{fn}.zip"), "0" * 64, 0) for fn in bp.functions}
    graph = provider.compile(bp, artifacts)
    return checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)


def _stage_warnings(bp) -> list[Diagnostic]:
    """A stage that is not under `stages:` is allowed (a stage is a stack), but a near miss is a typo."""
    from deployer.blueprint.suggest import closest

    if not bp.stages or bp.stage in bp.stages:
        return []
    near = closest(bp.stage, bp.stages)
    if near is None:
        return []
    return [Diagnostic(f"stage '{bp.stage}' has no overrides under `stages`",
                       bp.locate("stages"),
                       hint=f"did you mean '{near}'?", severity="warning", code="stage")]


def _with_cloud(diag: Diagnostic, cloud: str) -> Diagnostic:
    from dataclasses import replace

    return replace(diag, cloud=cloud)


def _as_diagnostics(exc: DeployerError) -> list[Diagnostic]:
    if isinstance(exc, BlueprintError):
        return exc.diagnostics
    return [Diagnostic(exc.message, exc.location or Location(), hint=exc.hint, code="usage")]


@app.command("providers")
def list_providers(json_: bool = common.JsonOpt) -> None:
    """List the installed cloud providers (entry point group `deployer.providers`)."""
    from deployer import providers

    found = providers.available()
    if json_:
        common.print_json([{"name": n, "target": ep.value} for n, ep in found.items()])
        return
    for name, ep in found.items():
        common.out.print(f"{name:8} {ep.value}")
