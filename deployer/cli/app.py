"""The `deployer` command: one typer app, one module per command group, one error boundary.

`main()` is the only place that turns exceptions into output and exit codes: a DeployerError is
rendered (with its location and hint) and exits with its code; anything else is a bug and is shown as
one line unless `--debug` asks for the traceback. Command modules are imported here and register their
commands on `app`; they import heavy things (Pulumi, cloud SDKs) inside the command bodies only.
"""

from __future__ import annotations

import importlib
from importlib import metadata
import os
import sys

import typer

from deployer.cli import common

app = typer.Typer(
    name="deployer",
    help="One blueprint, serverless functions with real event triggers on AWS, GCP, Azure or this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: Command modules under deployer/cli/, each registering its commands on `app` when imported.
COMMAND_MODULES = ["validate", "schema", "init", "deploy", "doctor", "graph", "plan", "eject", "cost", "remote"]
#: Entry point group of modules that providers ship to add commands of their own (the local cloud's `dev`
#: and `status`); each registers its commands on `app` when imported, like the modules above.
COMMANDS_GROUP = "deployer.commands"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deployer {common.version()}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and engine logs."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    common.STATE.debug = debug or common.STATE.debug


for _name in COMMAND_MODULES:
    importlib.import_module(f"deployer.cli.{_name}")
for _entry in sorted(metadata.entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
    importlib.import_module(_entry.value)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: the single error boundary."""
    args = sys.argv[1:] if argv is None else argv
    common.STATE.debug = "--debug" in args or os.environ.get("DEPLOYER_DEBUG") == "1"
    try:
        code = app(args=args, prog_name="deployer", standalone_mode=False)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - this is the boundary
        sys.exit(common.report(exc))
    sys.exit(code if isinstance(code, int) else 0)
