"""`deployer invoke | logs`: run a function once and read its logs, on any cloud (`--cloud`, default local).

The work is the provider's (`Provider.invoke` / `Provider.logs`, deployer/remote.py for the portable
event and record); this module parses options, finds the stack outputs that name what is deployed,
and prints one format for every cloud: the answer on stdout (JSON with --json), what happened on
stderr; log records as `time level request-id message` lines, or JSON lines with --json.

Outputs come from the file the last `deployer up` wrote (.deployer/outputs/<app>/<cloud>-<stage>.json),
else from the stack itself (needs the pulumi CLI and the state backend, e.g. in a fresh CI job).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import typer

from deployer.cli import common
from deployer.cli.app import app
from deployer.cli.common import paint, say

BackendOpt = typer.Option(None, "--backend", help="State backend to read the stack outputs from when this "
                                                  "machine has no outputs file of the last `up`.")


def _prepare(file: Path | None, stage: str, cloud: str, function: str | None):
    """The blueprint and provider. The cloud's deploy-time rules (`check`) are not run: they were when
    the stack was deployed, and operating it must not stop on a rule that changed since."""
    from deployer import providers, remote

    bp = common.load(file, stage)
    provider = providers.get(cloud)
    if function is not None and function not in bp.functions:
        raise remote.function_not_found(bp, function)
    return bp, provider


def stack_outputs(bp, provider, cloud: str, stage: str, backend: str | None) -> Callable[[], dict[str, Any]]:
    """A reader of the stack outputs, run once on first use: the last `up`'s file, else the stack."""
    cache: dict[str, dict[str, Any]] = {}

    def read() -> dict[str, Any]:
        if "values" not in cache:
            cache["values"] = _read_outputs(bp, provider, cloud, stage, backend)
        return cache["values"]

    return read


def _read_outputs(bp, provider, cloud: str, stage: str, backend: str | None) -> dict[str, Any]:
    from deployer import state
    from deployer.errors import DeployerError
    from deployer.providers import EngineOptions

    values = state.read_outputs(bp.root, cloud, stage, bp.name)
    if values is not None:
        return values
    try:
        return provider.engine(bp, EngineOptions(backend=backend, debug=common.STATE.debug)).outputs()
    except DeployerError as exc:
        exc.message = (f"cannot read the stack outputs of {bp.name} on {cloud} (stage {stage}): {exc.message}; "
                       f"no outputs file at {state.outputs_path(bp.root, cloud, stage, bp.name)} either")
        exc.hint = exc.hint or f"deploy first (`deployer up --cloud {cloud} --stage {stage}`) or give --backend"
        raise


def _options(bp, provider, cloud: str, stage: str, backend: str | None, **extra):
    from deployer.remote import RemoteOptions

    return RemoteOptions(stage=stage, outputs=stack_outputs(bp, provider, cloud, stage, backend), cloud=cloud,
                         **extra)


@app.command()
def invoke(function: str = typer.Argument(..., help="Function to run."),
           file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
           data: str = typer.Option(None, "--data", "-d", help="Event data as JSON, or @file."),
           trigger: str = typer.Option(None, "--trigger", "-t",
                                       help="Which trigger's event: its index (0-based) or kind "
                                            "(http, queue, topic, bucket, schedule); default the first, or "
                                            "the HTTP route a request's method and path match."),
           backend: str = BackendOpt, json_: bool = common.JsonOpt) -> None:
    """Run a function once with a portable event of its trigger (HTTP request, message, object, schedule)."""
    from deployer import remote

    bp, provider = _prepare(file, stage, cloud, function)
    event = remote.build_event(bp, function, remote.read_data(data), trigger)
    result = provider.invoke(bp, function, event, _options(bp, provider, cloud, stage, backend))
    if json_:
        common.print_json(result.to_json())
    else:
        show_result(function, cloud, result)
    if not result.ok:
        raise typer.Exit(1)


def show_result(function: str, cloud: str, result) -> None:
    took = f" ({result.ms:g} ms)" if result.ms is not None else ""
    rid = f" (request {result.request_id})" if result.request_id else ""
    if result.log:
        say(paint("log tail:", "dim"))
        say(result.log.rstrip("\n"))
    if result.kind == "http":
        say(f"HTTP {result.status}{took}{rid}")
        if result.body is not None:
            common.print_json(result.body) if not isinstance(result.body, str) else common.print_text(result.body + "\n")
    elif result.accepted:
        say(f"{paint('accepted', 'green')}{took}{rid}: the {result.kind} event runs asynchronously; "
            f"see `deployer logs {function} --cloud {cloud}`")
    elif result.ok:
        say(f"{paint('ok', 'green')}{took}{rid}")
        if result.result is not None:
            common.print_json(result.result)
    else:
        say(f"{paint('failed', 'red')}: {result.error}{rid}; see `deployer logs {function} --cloud {cloud}`")


FunctionArg = typer.Argument(None, help="Function (without one, a cloud with a log of its own, such as the local "
                                           "cloud, shows that log).")


@app.command()
def logs(function: str = FunctionArg,
         file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
         since: str = typer.Option(None, "--since", help="From how long ago (10m, 2h, 1d) or an ISO time; "
                                                         "default 10m on the clouds, the whole log locally."),
         follow: bool = typer.Option(False, "--follow", "-F", help="Keep printing new records (Ctrl-C stops)."),
         filter_: str = typer.Option(None, "--filter", help="Only records containing this text."),
         lines: int = typer.Option(50, "--lines", "-n", help="How many of the most recent records to show "
                                                             "(0: all in the window)."),
         backend: str = BackendOpt, json_: bool = common.JsonOpt) -> None:
    """Show a function's log records (time, request id, level, message), the same way on every cloud."""
    from deployer import remote

    bp, provider = _prepare(file, stage, cloud, function)
    poll = float(os.environ.get("DEPLOYER_LOGS_POLL") or 2.0)  # seconds between two reads of --follow
    options = _options(bp, provider, cloud, stage, backend, lines=max(lines, 0), poll=max(poll, 0.05))
    records = provider.logs(bp, function, remote.parse_since(since), follow, filter_ or None, options)
    try:
        print_records(records, lines, json_)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def print_records(records, lines: int, json_: bool) -> int:
    """The backlog's last `lines` records, then (when following) each new one as it comes. Providers
    yield None once when the backlog is done. Returns how many were printed."""
    import json
    import sys

    def emit(record) -> None:
        sys.stdout.write((json.dumps(record.to_json()) if json_ else record.line()) + "\n")
        sys.stdout.flush()

    backlog: list = []
    printed = 0
    caught_up = False
    for record in records:
        if record is None:
            caught_up = True
        elif caught_up:
            emit(record)
            printed += 1
            continue
        else:
            backlog.append(record)
            continue
        for old in backlog[-lines:] if lines > 0 else backlog:
            emit(old)
            printed += 1
        backlog = []
    for old in backlog[-lines:] if lines > 0 else backlog:
        emit(old)
        printed += 1
    if printed == 0 and not json_:
        say(paint("no log records in this window", "dim"))
    return printed
