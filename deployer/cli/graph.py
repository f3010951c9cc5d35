"""`deployer graph`: the blueprint as a flowchart (Mermaid, DOT, SVG, PNG) or a sequence diagram.

Text formats need nothing but Python. SVG and PNG are drawn by real renderers (deployer.graph.render):
a flowchart by Graphviz when it is installed (fast, no browser) or else by Mermaid's CLI, a sequence
diagram by Mermaid's CLI (Graphviz has no sequence diagrams); `--renderer` picks one explicitly.
Everything is checked before any work (format, renderer, output folder), so a typo costs nothing.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app

SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot", ".gv": "dot",
            ".svg": "svg", ".png": "png"}
RENDERERS = ("auto", "mermaid", "graphviz")


@app.command("graph")
def graph(
    file: Path = common.FileOpt,
    stage: str = common.StageOpt,
    format_: str = typer.Option(None, "--format", "-F",
                                help="mermaid | dot | svg | png (default: from -o's suffix, else mermaid)."),
    cloud: str = typer.Option(None, "--cloud", "-c", help="Label nodes with this cloud's services."),
    sequence: str = typer.Option(None, "--sequence", help="Sequence diagram from an entry: a route "
                                 "(\"POST /orders\"), a store, schedule:<function> or a function."),
    output: Path = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    renderer: str = typer.Option("auto", "--renderer", help="For svg/png: auto | mermaid | graphviz."),
) -> None:
    """Draw the blueprint: event sources, functions and stores, or the path of one event."""
    from deployer import graph as diagrams

    fmt = _format(format_, output)
    _check_renderer(renderer, fmt, sequence)
    _check_output(output, fmt)
    bp = common.load(file, stage)
    if sequence is not None:
        text, syntax = diagrams.sequence_text(bp, sequence, cloud), "mermaid"
    else:
        syntax = "dot" if fmt == "dot" or (fmt in diagrams.IMAGE_FORMATS and _use_graphviz(renderer)) else "mermaid"
        text = diagrams.flowchart_text(bp, syntax, cloud)
    data = text.encode("utf-8") if fmt in diagrams.TEXT_FORMATS else _render(text, syntax, fmt)
    _write(data, output)


def _format(format_: str | None, output: Path | None) -> str:
    from deployer.errors import UsageError
    from deployer.graph import FORMATS

    if format_ is None:
        return SUFFIXES.get(output.suffix.lower(), "mermaid") if output else "mermaid"
    fmt = format_.lower()
    if fmt not in FORMATS:
        close = difflib.get_close_matches(fmt, FORMATS, n=1)
        raise UsageError(f"unknown format {format_!r}; choose one of {', '.join(FORMATS)}",
                         hint=f"did you mean {close[0]!r}?" if close else None)
    return fmt


def _check_renderer(renderer: str, fmt: str, sequence: str | None) -> None:
    from deployer.errors import UsageError

    if renderer not in RENDERERS:
        raise UsageError(f"unknown renderer {renderer!r}; choose one of {', '.join(RENDERERS)}")
    if sequence is not None and (fmt == "dot" or renderer == "graphviz"):
        raise UsageError("sequence diagrams are Mermaid only (Graphviz has no sequence diagrams)",
                         hint="use --format mermaid, svg or png with the Mermaid renderer")


def _check_output(output: Path | None, fmt: str) -> None:
    from deployer.errors import UsageError

    if output is None:
        if fmt == "png" and sys.stdout.isatty():
            raise UsageError("a PNG is binary and stdout is a terminal", hint="give -o FILE.png")
        return
    common.check_output(output, "diagram.svg")


def _use_graphviz(renderer: str) -> bool:
    from deployer.errors import PrerequisiteError
    from deployer.graph import render

    match renderer:
        case "graphviz":
            return True
        case "mermaid":
            return False
        case "auto":
            if render.find_dot():
                return True
            if render.mermaid_ready():
                return False
            raise PrerequisiteError("svg and png need Graphviz (`dot`) or the Mermaid CLI with Chromium; "
                                    "neither was found", hint=f"{render.DOT_HINT}; or {render.MMDC_HINT}")
    raise ValueError(f"unsupported renderer {renderer!r}")


def _render(text: str, syntax: str, fmt: str) -> bytes:
    from deployer.graph import render

    return render.render_dot(text, fmt) if syntax == "dot" else render.render_mermaid(text, fmt)


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(data)
    common.say(f"{common.paint('wrote', 'green')} {output}")
