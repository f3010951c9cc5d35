"""`deployer plan --cloud C`: what `up` would create, offline (Pulumi's mock runtime, no credentials).

Works for every Pulumi provider: it runs the shared pipeline (load -> check -> package) and
`deployer.plan.run`, and knows nothing about any cloud. Human output groups resources by owner
(app, each store, each function) with the inputs that matter; `--json` prints every resource with its
full inputs on stdout. Secrets are masked in both.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from deployer.cli import common
from deployer.cli.app import app

# Inputs worth a glance, in this order, whatever the cloud (others are in --json).
KEY_INPUTS = (
    "name", "bucket", "routeKey", "runtime", "handler", "memorySize", "timeout", "architectures",
    "scheduleExpression", "scheduleExpressionTimezone", "batchSize", "maximumBatchingWindowInSeconds",
    "visibilityTimeoutSeconds", "redrivePolicy", "billingMode", "hashKey", "protocol", "principal",
    "sourceArn", "integrationType", "payloadFormatVersion", "retentionInDays", "location", "region", "schedule", "timeZone", "topic", "entryPoint",
)
MAX_INPUTS = 5
MAX_WIDTH = 70


@app.command("plan")
def plan_command(
    file: Path = common.FileOpt,
    stage: str = common.StageOpt,
    cloud: str = typer.Option(None, "--cloud", "-c", help="Cloud to plan for (required: aws, gcp, azure ...)."),
    json_: bool = common.JsonOpt,
    replace_data: list[str] = typer.Option([], "--replace-data", metavar="STORE",
                                           help="Let this store be replaced although that deletes its data."),
) -> None:
    """Show every resource `up` would create, without credentials or the pulumi CLI."""
    from deployer import plan as planner
    from deployer import providers
    from deployer.errors import UsageError
    from deployer.pipeline import prepare

    if not cloud:
        raise UsageError("plan needs a cloud: there is nothing to plan for the local cloud",
                         hint="run `deployer plan --cloud aws` (or gcp, azure); `deployer providers` lists them")
    provider = providers.get(cloud)
    if not provider.pulumi:
        raise UsageError(f"the {cloud} cloud does not deploy through Pulumi, so it has no plan",
                         hint="choose a cloud such as aws, gcp or azure")
    started = time.perf_counter()
    prepared = prepare(file, stage, cloud, planning=True)
    _refuse_replacements(prepared.bp, cloud, replace_data)
    result = planner.run(prepared.provider, prepared.bp, prepared.artifacts, prepared.graph)
    result.seconds = time.perf_counter() - started  # load, package, compile, check and render
    warnings = prepared.warnings + result.warnings
    if json_:
        common.print_json({**result.to_json(), "warnings": [d.to_json() for d in warnings]})
        return
    for diag in warnings:
        common.render_diagnostic(diag)
    render(result)


def _refuse_replacements(bp, cloud: str, allowed: list[str]) -> None:
    """Against the outputs of the stage's last `up` on this machine (`.deployer/outputs`), a change that
    would replace a stateful store is an error, as `up` says against the stack itself."""
    from deployer import state
    from deployer.errors import BlueprintError
    from deployer.resources import lifecycle

    last = state.read_outputs(bp.root, cloud, bp.stage, bp.name) or {}
    problems = lifecycle.replacements(last.get(lifecycle.STORES_OUTPUT), bp, allowed, cloud)
    if problems:
        raise BlueprintError(problems)


def render(result) -> None:
    """One block per group (app, stores, functions): type, logical name and key inputs per line."""
    from rich.markup import escape

    groups = result.groups()
    for group, resources in groups.items():
        common.out.print(f"[bold]{escape(group)}[/bold] ({len(resources)})")
        width_type = max(len(short_type(r.type)) for r in resources)
        width_name = max(len(r.name) for r in resources)
        for res in resources:
            mark = "[blue]=[/blue]" if "read" in res.options else "[green]+[/green]"
            common.out.print(f"  {mark} [cyan]{escape(short_type(res.type)).ljust(width_type)}[/cyan]  "
                             f"{escape(res.name).ljust(width_name)}  [dim]{escape(summary(res.inputs))}[/dim]")
        common.out.print()
    counts: dict[str, int] = {}
    for res in result.resources:
        counts[short_type(res.type)] = counts.get(short_type(res.type), 0) + 1
    by_type = ", ".join(f"{n} {t}" for t, n in sorted(counts.items(), key=lambda i: (-i[1], i[0])))
    for name, value in result.outputs.items():
        if name.startswith("deployer_"):
            continue
        common.out.print(f"[bold]output[/bold] {escape(name)} = {escape(_short(value))}")
    if result.outputs:
        common.out.print()
    read = sum(1 for r in result.resources if "read" in r.options)  # existing stores: referenced, not created
    referenced = f" and {read} existing referenced" if read else ""
    common.out.print(f"[bold]{len(result.resources) - read} resources to create[/bold]{referenced} in {len(groups)} "
                     f"groups ({result.cloud}, {result.app}, planned in {result.seconds:.2f} s): {by_type}")


def short_type(token: str) -> str:
    """`aws:lambda/function:Function` -> `lambda.Function`."""
    parts = token.split(":")
    if len(parts) != 3:
        return token
    module = parts[1].split("/")[0]
    return f"{module}.{parts[2]}" if module not in ("index", "") else parts[2]


def summary(inputs: dict[str, Any]) -> str:
    shown = []
    for key in KEY_INPUTS:
        if key in inputs and inputs[key] not in (None, "", [], {}):
            shown.append(f"{key}={_short(inputs[key])}")
        if len(shown) == MAX_INPUTS:
            break
    return "  ".join(shown)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"
