"""`deployer dev`: the local cloud's own command (up/down/outputs are the generic ones, and so are
`invoke`/`logs`, which take `--cloud` like every other command: deployer/cli/remote.py).

`dev` runs the local cloud in the foreground with reload and streamed logs. The work lives in
providers/local; this module only parses options and prints.
"""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app


def _bp(file: Path | None, stage: str):
    from deployer import pipeline, providers

    bp = common.load(file, stage)
    for diag in pipeline.check(bp, providers.get("local")):
        common.render_diagnostic(diag)
    return bp


@app.command()
def dev(file: Path = common.FileOpt, stage: str = common.StageOpt,
        port: int = typer.Option(None, "--port", min=1, max=65535, help="Port of the HTTP gateway (default: a free one).")) -> None:
    """Run the local cloud in the foreground: logs streamed, code reloaded on change (Ctrl-C stops it)."""
    from providers.local.server import run

    bp = _bp(file, stage)
    run(str(Path(bp.source).resolve()), stage, port or bp.clouds.local.port, dev=True)
