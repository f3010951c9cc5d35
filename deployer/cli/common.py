"""What every command shares: options, the consoles, loading a blueprint, rendering errors.

Human output goes to stderr through rich; stdout is kept for what a command produces (JSON, a schema,
a diagram), so `--json` output can be piped. Rendering diagnostics like a compiler (file:line:col,
the source line and a caret) lives here, so every command reports a bad blueprint the same way.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import click
import typer
from rich.console import Console
from rich.markup import escape

from deployer.errors import (
    EXIT_FAILURE, EXIT_USAGE, BlueprintError, DeployerError, Diagnostic,
)


@dataclass
class _State:
    debug: bool = False


STATE = _State()
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

# Reusable options, so every command spells them the same way.
FileOpt = typer.Option(None, "-f", "--file", help="Blueprint file (default: ./deployer.yaml).")
StageOpt = typer.Option("dev", "--stage", "-s", help="Stage: selects `stages:` overrides and the stack.")
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
CloudOpt = typer.Option("local", "--cloud", "-c", help="Target cloud (see `deployer providers`).")


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("deployer")
    except metadata.PackageNotFoundError:  # running from a checkout
        return "0.0.0+local"


def load(file: Path | None, stage: str):
    """Load and fully validate a blueprint (raises BlueprintError)."""
    from deployer.blueprint.load import load_blueprint

    return load_blueprint(file, stage=stage)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def print_text(text: str) -> None:
    """Raw text on stdout (no rich markup or wrapping)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def source_line(diag: Diagnostic) -> str | None:
    """The offending line of the file a diagnostic points into (None for files that are not text)."""
    loc = diag.location
    if not (loc.file and loc.line):
        return None
    try:
        if Path(loc.file).stat().st_size > 2_000_000:
            return None
        with open(loc.file, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if number == loc.line:
                    return None if "\x00" in line else line.rstrip("\r\n")[:300]
    except OSError:
        return None
    return None


def caret(line: str, column: int) -> str:
    """Carets under the token at `column` (1-based), for the line as shown (tabs as 4 spaces)."""
    start = max(column - 1, 0)
    token = 0
    for char in line[start:]:
        if char in " \t,}]#:" and token:
            break
        token += 1
        if char in " \t":  # a token that starts with whitespace is that one character (a tab, say)
            break
    before = len(line[:start].expandtabs(4))
    width = len(line[:start + max(token, 1)].expandtabs(4)) - before
    return " " * before + "^" * max(min(width, 80), 1)


def render_diagnostic(diag: Diagnostic, console: Console = err) -> None:
    """`file:line:col: error: message [field.path]`, the source line with a caret, then the hint."""
    loc = diag.location
    colour = "red" if diag.severity == "error" else "yellow"
    field = f" \\[{escape(loc.path)}]" if loc.path else ""
    cloud = f" ({escape(diag.cloud)})" if diag.cloud else ""
    console.print(f"[bold]{escape(str(loc))}[/bold]: [{colour}]{diag.severity}{cloud}[/{colour}]:"
                  f" {escape(diag.message)}[dim]{field}[/dim]")
    line = source_line(diag)
    if line is not None:
        number = str(loc.line)
        console.print(f" {number} | {escape(line.expandtabs(4))}", highlight=False)
        console.print(f" {' ' * len(number)} | [bold {colour}]{caret(line, loc.column or 1)}[/bold {colour}]")
    if diag.hint:
        console.print(f"  [cyan]hint[/cyan]: {escape(diag.hint)}")


def report(exc: BaseException) -> int:
    """Render any exception for the user and return the exit code (the CLI's one error boundary)."""
    if STATE.debug:
        traceback.print_exception(exc)
    if isinstance(exc, BlueprintError):
        for diag in exc.diagnostics:
            render_diagnostic(diag)
        err.print(f"[red]{escape(exc.message)}[/red]")
        return exc.exit_code
    if isinstance(exc, DeployerError):
        where = f"{exc.location}: " if exc.location else ""
        err.print(f"[red]error[/red]: {escape(where + exc.message)}")
        if exc.hint:
            err.print(f"  [cyan]hint[/cyan]: {escape(exc.hint)}")
        return exc.exit_code
    if isinstance(exc, click.exceptions.Abort) or isinstance(exc, KeyboardInterrupt):
        err.print("[yellow]aborted[/yellow]")
        return 130 if isinstance(exc, KeyboardInterrupt) else EXIT_FAILURE
    if isinstance(exc, click.ClickException):
        exc.show(file=sys.stderr)
        return EXIT_USAGE if exc.exit_code in (1, 2) else exc.exit_code
    err.print(f"[red]internal error[/red]: {escape(type(exc).__name__)}: {escape(str(exc))}")
    if not STATE.debug:
        err.print("  [cyan]hint[/cyan]: run again with --debug for the traceback, and report it")
    return EXIT_FAILURE
