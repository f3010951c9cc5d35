"""What every command shares: options, the consoles, loading a blueprint, rendering errors.

Human output goes to stderr through rich; stdout is kept for what a command produces (JSON, a schema,
a diagram), so `--json` output can be piped. Rendering diagnostics like a compiler (file:line:col,
the source line and a caret) lives here, so every command reports a bad blueprint the same way.

Diagnostics and errors are written as plain text (ANSI colours only on a terminal, never with
NO_COLOR): no markup to escape in user-provided text, and `validate`, the command editors run on
every save, never imports rich. The rich consoles `err` and `out` are created on first use.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from deployer.errors import (
    EXIT_FAILURE, EXIT_USAGE, BlueprintError, DeployerError, Diagnostic,
)

@dataclass
class _State:
    debug: bool = False


STATE = _State()
_consoles: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """`common.err` / `common.out`: rich consoles (stderr / stdout), created on first use."""
    if name in ("err", "out"):
        if name not in _consoles:
            from rich.console import Console

            _consoles[name] = Console(stderr=name == "err", highlight=False, soft_wrap=True)
        return _consoles[name]
    raise AttributeError(name)

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


def check_output(output: Path, example: str) -> None:
    """Refuse an `-o` file that cannot be written (its folder is missing, or it is a folder) before any work."""
    from deployer.errors import UsageError

    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {output}: the folder {folder} does not exist",
                         hint=f"create it first (mkdir -p {folder}) or choose another -o")
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a folder", hint=f"give a file name, e.g. -o {example}")


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


COLOURS = {"red": 31, "yellow": 33, "green": 32, "cyan": 36, "dim": 2, "bold": 1}


def paint(text: str, *styles: str, stream=None) -> str:
    """`text` in ANSI styles when `stream` (stderr) is a terminal and NO_COLOR is not set."""
    stream = stream or sys.stderr
    if not styles or os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    codes = ";".join(str(COLOURS[s]) for s in styles)
    return f"\x1b[{codes}m{text}\x1b[0m"


def say(text: str = "", stream=None) -> None:
    """One line of plain text on stderr (or `stream`)."""
    stream = stream or sys.stderr
    stream.write(text + "\n")
    stream.flush()


def render_diagnostic(diag: Diagnostic, console: Any = None) -> None:
    """`file:line:col: error: message [field.path]`, the source line with a caret, then the hint.

    `console` is accepted for compatibility and ignored: diagnostics always go to stderr."""
    loc = diag.location
    colour = "red" if diag.severity == "error" else "yellow"
    field = paint(f" [{loc.path}]", "dim") if loc.path else ""
    cloud = f" ({diag.cloud})" if diag.cloud else ""
    lines = [f"{paint(str(loc), 'bold')}: {paint(diag.severity + cloud, colour)}: {diag.message}{field}"]
    line = source_line(diag)
    if line is not None:
        number = str(loc.line)
        lines.append(f" {number} | {line.expandtabs(4)}")
        lines.append(f" {' ' * len(number)} | {paint(caret(line, loc.column or 1), 'bold', colour)}")
    if diag.hint:
        lines.append(f"  {paint('hint', 'cyan')}: {diag.hint}")
    say("\n".join(lines))


def _named(exc: BaseException, name: str) -> bool:
    """Whether `exc` is a click exception class by name (typer ships its own copy of click)."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def report(exc: BaseException) -> int:
    """Render any exception for the user and return the exit code (the CLI's one error boundary)."""
    if STATE.debug:
        traceback.print_exception(exc)
    if isinstance(exc, ModuleNotFoundError):  # a cloud SDK that the cloud's extra installs
        from deployer import prerequisites

        exc = prerequisites.from_import_error(exc, sys.argv[1:]) or exc
    if isinstance(exc, BlueprintError):
        for diag in exc.diagnostics:
            render_diagnostic(diag)
        say(paint(exc.message, "red"))
        return exc.exit_code
    if isinstance(exc, DeployerError):
        where = f"{exc.location}: " if exc.location else ""
        say(f"{paint('error', 'red')}: {where}{exc.message}")
        if exc.hint:
            say(f"  {paint('hint', 'cyan')}: {exc.hint}")
        return exc.exit_code
    if _named(exc, "Abort") or isinstance(exc, KeyboardInterrupt):
        say(paint("aborted", "yellow"))
        return 130 if isinstance(exc, KeyboardInterrupt) else EXIT_FAILURE
    if _named(exc, "ClickException"):
        exc.show(file=sys.stderr)  # type: ignore[attr-defined]
        code = getattr(exc, "exit_code", EXIT_USAGE)
        return EXIT_USAGE if code in (1, 2) else code
    if isinstance(exc, OSError) and exc.strerror:  # the machine, not a bug: disk full, permissions, ...
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"{paint('error', 'red')}: {where}{exc.strerror}")
        if not STATE.debug:
            say(f"  {paint('hint', 'cyan')}: run again with --debug to see which step failed")
        return EXIT_FAILURE
    say(f"{paint('internal error', 'red')}: {type(exc).__name__}: {exc}")
    if not STATE.debug:
        say(f"  {paint('hint', 'cyan')}: run again with --debug for the traceback, and report it")
    return EXIT_FAILURE
