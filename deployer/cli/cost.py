"""`deployer cost`: the monthly cost of a blueprint on each cloud, side by side, before any deploy.

For every cloud named (all that ship a price table by default) it runs the shared pipeline and the plan
(so what is priced is what `up` would create), prices it (deployer/cost.py) and prints one table: a row
per function, store and shared service, a column per cloud, the total with the cheapest cloud marked,
and each price table's region and date. `--json` prints the same for CI.
"""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app


@app.command("cost")
def cost_command(
    cloud: list[str] = typer.Option([], "--cloud", "-c", help="Cloud to price (repeatable; default: every cloud "
                                                             "with a price table)."),
    file: Path = common.FileOpt,
    stage: str = common.StageOpt,
    usage: Path = typer.Option(None, "--usage", "-u", help="Usage per month (YAML; see docs/cost.md)."),
    no_free_tier: bool = typer.Option(False, "--no-free-tier", help="Do not subtract the clouds' free tiers."),
    json_: bool = common.JsonOpt,
) -> None:
    """Estimate what the blueprint costs per month on each cloud."""
    from deployer import cost, providers
    from deployer.errors import UsageError

    clouds = cloud or [n for n in providers.available() if providers.get(n).price_table() is not None]
    bp = common.load(file, stage)
    plans = {name: _plan(name, file, stage) for name in clouds}
    loaded, from_file = cost.load_usage(usage, bp)
    estimates = {}
    for name, plan in plans.items():
        table = providers.get(name).price_table()
        if table is None:
            raise UsageError(f"the {name} cloud has no price table", hint="price aws, gcp or azure")
        estimates[name] = cost.estimate(plan, bp, loaded, table, free_tier=not no_free_tier)
    cheapest = min(estimates, key=lambda n: estimates[n].total) if estimates else None
    if json_:
        common.print_json({"usage": "file" if from_file else "defaults", "free_tier": not no_free_tier,
                           "cheapest": cheapest, "clouds": {n: e.to_json() for n, e in estimates.items()}})
        return
    _render(bp, estimates, cheapest, from_file, not no_free_tier)


def _plan(cloud: str, file: Path | None, stage: str):
    from deployer import plan as planner
    from deployer.pipeline import prepare

    prepared = prepare(file, stage, cloud, planning=True)
    return planner.run(prepared.provider, prepared.bp, prepared.artifacts, prepared.graph)


def _render(bp, estimates: dict, cheapest: str | None, from_file: bool, free_tier: bool) -> None:
    from rich.table import Table

    owners: list[str] = []
    for est in estimates.values():
        owners += [o for o in est.by_owner() if o not in owners]
    owners.sort(key=lambda o: ({"app": 0, "store": 1, "function": 2, "free": 3}[o.split(" ")[0]], o))
    table = Table(title=f"{bp.stage_name()}: estimated cost per month (USD)")
    table.add_column("")
    for name in estimates:
        table.add_column(f"{name}{' (cheapest)' if name == cheapest and len(estimates) > 1 else ''}", justify="right")
    for owner in owners:
        table.add_row(owner, *[f"{est.by_owner().get(owner, 0.0):,.2f}" for est in estimates.values()])
    table.add_row("total", *[f"[bold]{est.total:,.2f}[/bold]" for est in estimates.values()])
    common.out.print(table)
    for name, est in estimates.items():
        region = _region(bp, name)
        differs = f"; the blueprint deploys to {region}, where prices may differ" if region and region != est.region else ""
        common.say(f"{name}: prices of {est.region}, price table of {est.date}{differs}")
    common.say("usage: " + ("from the --usage file" if from_file else
                            "the defaults (no --usage file: see docs/cost.md to give real numbers)")
               + ("; free tiers applied" if free_tier else "; free tiers not applied"))


def _region(bp, cloud: str) -> str | None:
    settings = getattr(bp.clouds, cloud, None)
    return getattr(settings, "region", None) or getattr(settings, "location", None)
