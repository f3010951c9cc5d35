"""`deployer dev | invoke | logs`: the local cloud's own commands (up/down/outputs are the generic ones).

`dev` runs the local cloud in the foreground with reload and streamed logs; `invoke` runs one function
once with a portable event (no running local cloud needed); `logs` shows a function's log file.
The work lives in providers/local; this module only parses options and prints.
"""

from __future__ import annotations

import json
import time
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


def _data(value: str | None):
    from deployer.errors import UsageError

    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {value[1:]}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except ValueError:
        return text  # a plain string payload


@app.command()
def invoke(function: str = typer.Argument(..., help="Function to run."),
           file: Path = common.FileOpt, stage: str = common.StageOpt,
           data: str = typer.Option(None, "--data", "-d", help="Event data as JSON, or @file."),
           trigger: int = typer.Option(None, "--trigger", "-t", help="Which of its triggers (0-based, default 0)."),
           json_: bool = common.JsonOpt) -> None:
    """Run a function once on this machine with a portable event (HTTP request, message, object, schedule)."""
    from providers.local.invoke import invoke as run_once

    bp = _bp(file, stage)
    result = run_once(bp, function, _data(data), trigger)
    if json_:
        common.print_json(result)
    else:
        if "status" in result and "headers" in result:
            common.err.print(f"HTTP {result['status']} ({result['ms']} ms)")
            common.print_json(result["body"])
        elif result["ok"]:
            common.err.print(f"ok ({result.get('ms')} ms)")
            if result.get("result") is not None:
                common.print_json(result["result"])
        else:
            common.say(f"{common.paint('failed', 'red')}: {result.get('error')} (request {result['request_id']}); "
                       f"see `deployer logs {function}`")
    if not result["ok"]:
        raise typer.Exit(1)


@app.command()
def logs(function: str = typer.Argument(None, help="Function (default: the local cloud's own log)."),
         file: Path = common.FileOpt, stage: str = common.StageOpt,
         follow: bool = typer.Option(False, "--follow", "-F", help="Keep printing new lines."),
         lines: int = typer.Option(50, "--lines", "-n", help="How many recent lines to show.")) -> None:
    """Show a function's log in the local cloud (handler output, errors, timeouts, dead letters)."""
    import sys

    from deployer.errors import UsageError
    from providers.local.functions import state_dir
    from providers.local.logs import tail

    bp = common.load(file, stage)
    if function is not None and function not in bp.functions:
        raise UsageError(f"no function {function!r} in {bp.source}", hint=f"functions: {', '.join(bp.functions)}")
    state = state_dir(bp)
    path = state / "logs" / f"{function}.log" if function else state / "cloud.log"
    shown, offset = tail(path, lines)  # from the end of the file, whatever its size
    for line in shown:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    if not follow:
        if not path.exists():
            common.say(f"no log yet at {path}")
        return
    try:
        while True:
            if path.exists() and path.stat().st_size < offset:
                offset = 0  # rotated: the file starts again
            if path.exists() and path.stat().st_size > offset:
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                offset += len(chunk)
                sys.stdout.write(chunk.decode("utf-8", "replace"))
                sys.stdout.flush()
            time.sleep(0.2)
    except KeyboardInterrupt:
        return
