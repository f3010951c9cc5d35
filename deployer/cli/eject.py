"""`deployer eject --cloud C -o DIR`: the blueprint as a standalone Pulumi project the user keeps.

The same pipeline as `plan` (load -> check -> package -> compile -> graph checks), then
deployer/resources/eject.py writes the project. Nothing the user had is overwritten: DIR must be absent
or empty (or `--force`, which replaces only the files eject writes), and the project is written into a
temporary folder beside DIR first and moved into place whole, so an error leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app


@app.command("eject")
def eject_command(
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the Pulumi project into."),
    file: Path = common.FileOpt,
    stage: str = common.StageOpt,
    cloud: str = typer.Option(None, "--cloud", "-c", help="Cloud to eject for (aws, gcp, azure ...)."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty."),
    json_: bool = common.JsonOpt,
) -> None:
    """Write a standalone Pulumi program (Python) that deploys exactly what `up` would."""
    from deployer import state
    from deployer.errors import UsageError
    from deployer.pipeline import prepare
    from deployer.resources.eject import eject

    if not cloud:
        raise UsageError("eject needs a cloud", hint="run `deployer eject --cloud aws -o infra` (or gcp, azure)")
    _check_target(output, force)
    prepared = prepare(file, stage, cloud, planning=True)
    provider, bp = prepared.provider, prepared.bp
    if not json_:
        for diag in prepared.warnings:
            common.render_diagnostic(diag)
    if not provider.compiles:
        raise UsageError(f"the {cloud} provider does not compile to a resource graph, so it cannot be ejected")
    graph = prepared.graph
    with tempfile.TemporaryDirectory(prefix=".eject-", dir=output.parent if output.parent.is_dir() else None) as tmp:
        done = eject(graph, provider.sdk_index(), Path(tmp) / "project", blueprint=str(bp.source.name),
                     pulumi_version=provider.sdk_index().pulumi)
        _move_into(Path(tmp) / "project", output)
    backend = state.backend(bp.root, cloud, create=False)
    if json_:
        common.print_json({"directory": str(output), "files": done.files, "secrets": done.secret_commands,
                           "backend": backend.url, "stack": graph.stack})
        return
    common.say(f"wrote a Pulumi project for {bp.stage_name()} on {cloud} to {output}/ ({len(done.files)} files)")
    common.say("to take over deployer's stack (same project, stack and logical names: `pulumi preview` shows no change):")
    common.say(f"  cd {output} && python -m venv venv && venv/bin/pip install -r requirements.txt")
    common.say(f"  pulumi login {backend.url}")
    passphrase = state.deployer_dir(bp.root).resolve() / "passphrase"
    common.say(f"  export PULUMI_CONFIG_PASSPHRASE_FILE={passphrase}   (unless you set PULUMI_CONFIG_PASSPHRASE)")
    for line in done.secret_commands:
        common.say(f"  {line}")
    common.say(f"  pulumi preview --stack {graph.stack}")


def _check_target(output: Path, force: bool) -> None:
    from deployer.errors import UsageError

    if output.exists() and not output.is_dir():
        raise UsageError(f"cannot eject into {output}: it is a file", hint="choose a folder with -o")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise UsageError(f"cannot eject into {output}: the folder is not empty",
                         hint="choose a new folder, or add --force to replace the files eject writes")


def _move_into(source: Path, target: Path) -> None:
    """Move the finished project into place: whole when the target is new, file by file with --force."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
        return
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), str(dest))
