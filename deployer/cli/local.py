"""`deployer dev | invoke | logs | status`: the local cloud's own commands (up/down/outputs are the generic ones).

`dev` runs the local cloud in the foreground with reload and streamed logs; `invoke` runs one function
once with a portable event (no running local cloud needed); `logs` shows a function's log file; `status`
says whether it runs and, per delivery queue (a queue store, or one consuming trigger of a topic or
bucket), the consumer, pending and dead-lettered messages. A row without a consumer holds messages no
trigger of the blueprint takes any more (a trigger removed or changed): the local cloud keeps them and
says so at start (providers/local/queues.py), and `status` keeps them visible.
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


@app.command()
def status(file: Path = common.FileOpt, stage: str = common.StageOpt, json_: bool = common.JsonOpt) -> None:
    """Show the local cloud of a stage: running or not, pending and dead-lettered messages per delivery."""
    from providers.local import lifecycle, queues
    from providers.local.state import state_dir

    bp = common.load(file, stage)
    state = state_dir(bp)
    info = lifecycle.running(state)
    rows: list[dict] = []
    if (state / "queues.db").exists():
        import sqlite3

        conn = sqlite3.connect(f"file:{state / 'queues.db'}?mode=ro", uri=True, timeout=30)
        try:
            rows = queues.backlog(conn, queues.consumers(bp))
        finally:
            conn.close()
    if json_:
        common.print_json({"app": bp.name, "stage": stage, "running": info is not None,
                           "url": info and info.get("url"), "pid": info and info.get("pid"),
                           "state": str(state), "deliveries": rows})
        return
    where = f"running at {info['url']} (pid {info['pid']})" if info else "not running"
    common.say(f"{bp.name} · local · stage {stage}: {where}")
    if rows:
        lines = [f"{'delivery queue':40} {'consumer':16} {'pending':>8} {'dead':>6}"]
        for row in rows:
            consumer = row["consumer"] or common.paint("none (kept, no trigger takes it)", "yellow")
            lines.append(f"{row['queue']:40} {consumer:16} {row['pending']:>8} {row['dead_letters']:>6}")
        common.print_text("".join(line + "\n" for line in lines))
