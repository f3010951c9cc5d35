"""`deployer validate` and `deployer providers`: check a blueprint, list the clouds."""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app


@app.command()
def validate(
    file: Path = common.FileOpt,
    stage: str = common.StageOpt,
    cloud: list[str] = typer.Option([], "--cloud", "-c", help="Also apply this cloud's rules (repeatable)."),
    json_: bool = common.JsonOpt,
) -> None:
    """Check a blueprint: syntax, references, routes, cron, code folders and handlers."""
    from deployer import providers
    from deployer.errors import BlueprintError

    bp = common.load(file, stage)
    diagnostics = []
    for name in cloud:
        diagnostics += providers.get(name).check(bp)
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
    common.err.print(f"[green]ok[/green]: {bp.source} ({len(bp.functions)} functions, {len(bp.stores)} stores)")


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
