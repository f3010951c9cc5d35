"""`deployer up | preview | destroy (down) | refresh | outputs | stacks | cancel`.

Every command runs the shared pipeline (deployer.pipeline.prepare: load -> check -> package) and hands
the result to the provider's engine through the small Engine interface of deployer/providers.py; none of
them knows whether Pulumi or the local cloud does the work. What lives here is what users and CI see:
confirmations (asked only on a terminal, never under CI or with --yes), the live progress, the summary,
the outputs file and the single JSON document of `--json`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import typer
from deployer.cli import common
from deployer.cli.app import app
from deployer.cli.common import paint, say

BackendOpt = typer.Option(None, "--backend", help="State backend: file://, s3://, gs://, azblob:// or "
                                                  "https://api.pulumi.com (default: $DEPLOYER_BACKEND, else "
                                                  ".deployer/state beside the blueprint).")
YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required when not on a terminal).")
PortOpt = typer.Option(None, "--port", min=1, max=65535, help="Port of the local cloud's HTTP gateway (--cloud local).")
ReplaceDataOpt = typer.Option([], "--replace-data", metavar="STORE",
                              help="Let this store be replaced although that deletes its data (repeatable).")


class Context:
    """One engine command: the prepared blueprint, its engine and where its outputs go."""

    def __init__(self, file: Path | None, stage: str, cloud: str, *, backend: str | None, port: int | None = None,
                 json_: bool = False, package: bool = True, replace_data: list[str] | None = None):
        from deployer import providers, state
        from deployer.pipeline import prepare
        from deployer.providers import EngineOptions, Provider

        self.json = json_
        if package and type(providers.get(cloud)).engine is Provider.engine:
            from deployer import prerequisites

            # the Pulumi engine: stop (exit 3) before packaging, naming every missing SDK and the CLI
            prerequisites.require(providers.get(cloud), cli=True)
        self.prepared = prepare(file, stage, cloud, package=package)
        self.bp, self.provider, self.cloud, self.stage = self.prepared.bp, self.prepared.provider, cloud, stage
        for diag in self.prepared.warnings:
            common.render_diagnostic(diag)
        if self.provider.pulumi:
            warning = state.ci_warning(state.backend(self.bp.root, cloud, backend, create=False))
            if warning:
                say(f"{paint('warning', 'yellow')}: {warning}")
        _check_stores(self.bp, replace_data or [])
        options = EngineOptions(backend=backend, port=port, json=json_, artifacts=dict(self.prepared.artifacts),
                                debug=common.STATE.debug, extra={"replace_data": tuple(replace_data or ())})
        self.engine = self.provider.engine(self.bp, options)

    @property
    def app(self) -> str:
        return self.bp.name

    @property
    def title(self) -> str:
        return f"{self.bp.name} · {self.cloud} · stage {self.stage}"

    def run(self, operation: str, call: Callable[[Callable[[dict], None]], Any]) -> Any:
        from deployer.cli.progress import Progress

        if not self.json:
            say(f"{paint(operation, 'bold')} {self.title}")
        try:
            with Progress(common.err, f"{operation} {self.title}", enabled=not self.json,
                          planning=operation == "preview") as progress:
                return call(progress)
        except KeyboardInterrupt:  # engines that do not map Ctrl-C themselves
            from deployer.engine import Interrupted

            raise Interrupted(f"{operation} interrupted",
                              hint=f"run `deployer {operation}` again to converge; if the stack is reported "
                                   f"locked, run `deployer cancel --cloud {self.cloud} --stage {self.stage}` first"
                              ) from None

    def optional(self, method: str) -> Callable:
        found = getattr(self.engine, method, None)
        if found is None:
            from deployer.errors import UsageError

            raise UsageError(f"`deployer {method}` is not supported by the {self.cloud!r} cloud's engine")
        return found


class Detached(Context):
    """`destroy` when the blueprint does not load or lacks a secret: an engine that works from what the
    provider left on this machine (`detached_engine(file, stage, options)` on the provider; the local
    cloud finds its state folder by the blueprint's path), so a broken edit never leaves it running."""

    def __init__(self, engine, file: Path | None, stage: str, cloud: str, json_: bool):
        self.engine, self.file, self.stage, self.cloud, self.json = engine, file, stage, cloud, json_
        self.bp = self.provider = None

    @property
    def app(self) -> str:
        return getattr(self.engine, "app", None) or str(self.file or "deployer.yaml")

    @property
    def title(self) -> str:
        return f"{self.app} · {self.cloud} · stage {self.stage}"

    @classmethod
    def of(cls, error: Exception, file: Path | None, stage: str, cloud: str, *, port: int | None,
           json_: bool) -> "Detached":
        from deployer import providers
        from deployer.providers import EngineOptions

        try:
            detached = getattr(providers.get(cloud), "detached_engine", None)
            engine = detached(file, stage, EngineOptions(port=port, json=json_)) if detached else None
        except Exception:  # noqa: BLE001 - nothing to stop without the blueprint: its own error says why
            engine = None
        if engine is None:
            raise error
        common.report(error)  # what is wrong with the blueprint, as any command shows it
        say(f"{paint('warning', 'yellow')}: destroying from the state in {engine.state} without the blueprint")
        return cls(engine, file, stage, cloud, json_)


def must_ask(ctx: Context, yes: bool, command: str) -> bool:
    """Whether to ask before `command`. Never under CI or without a terminal: there --yes is required,
    and its absence stops the command (exit 2) before anything runs. Engines with `confirm = False`
    (the local cloud) are never asked about."""
    from deployer.errors import UsageError

    if yes or not getattr(ctx.engine, "confirm", True):
        return False
    hint = f"add --yes to run `deployer {command}` without a confirmation"
    if os.environ.get("CI"):
        raise UsageError(f"`deployer {command}` needs --yes when CI is set (no prompts in CI)", hint=hint)
    if not sys.stdin.isatty():
        raise UsageError(f"`deployer {command}` needs --yes when stdin is not a terminal (nobody can answer)",
                         hint=hint)
    return True


def ask(question: str) -> None:
    if not typer.confirm(question, default=False, err=True):
        say("cancelled; nothing was changed")
        raise typer.Exit(1)


def _check_stores(bp, names: list[str]) -> None:
    from deployer.blueprint.suggest import did_you_mean
    from deployer.errors import UsageError

    for name in names:
        if name not in bp.stores:
            raise UsageError(f"--replace-data {name}: the blueprint has no store {name!r}",
                             hint=did_you_mean(name, list(bp.stores)) or "name a store of the blueprint")


def describe(changes: dict[str, int]) -> str:
    parts = [f"{op} {n}" for op, n in changes.items() if op != "same" and n]
    return ", ".join(parts) if parts else "no changes"


def finish(ctx: Context, result: Any, *, extra: dict | None = None) -> None:
    """The summary on stderr (or the one JSON document on stdout)."""
    if ctx.json:
        common.print_json({**result.to_json(), "cloud": ctx.cloud, "stage": ctx.stage, "app": ctx.app,
                           "changed": result.changed, **(extra or {})})
        return
    took = f" in {result.duration:.1f}s" if result.duration else ""
    if not result.changed:
        say(f"{paint('no changes', 'green')}: {ctx.title} is up to date{took}")
    else:
        say(f"{paint(result.operation + ' done', 'green')}{took}: {describe(result.changes)}")
    if result.message:
        say(result.message)


def print_outputs(outputs: dict[str, Any]) -> None:
    lines: list[str] = []
    if outputs.get("api_url"):
        lines.append(f"api_url  {outputs['api_url']}")
    for section in ("functions", "stores"):
        values = outputs.get(section) or {}
        if values:
            lines.append(f"{section}:")
            for name, value in values.items():
                lines.append(f"  {name:16} {value}")
    for key, value in outputs.items():
        if key not in ("api_url", "functions", "stores") and not key.startswith("deployer_"):
            lines.append(f"{key}  {value}")
    common.print_text("".join(line + "\n" for line in lines))


@app.command()
def up(file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
       yes: bool = YesOpt, backend: str = BackendOpt, port: int = PortOpt, json_: bool = common.JsonOpt,
       replace_data: list[str] = ReplaceDataOpt) -> None:
    """Deploy the blueprint: create or update every resource of the stage's stack (stores a previous
    `destroy` kept are adopted with their data)."""
    from deployer import state

    ctx = Context(file, stage, cloud, backend=backend, port=port, json_=json_, replace_data=replace_data)
    if must_ask(ctx, yes, "up"):  # on a terminal: preview, then ask (nothing to ask when nothing changes)
        preview = ctx.run("preview", lambda p: ctx.engine.preview(on_event=p))
        if not preview.changed:
            return finish(ctx, preview)
        say(f"changes: {describe(preview.changes)}")
        ask(f"Deploy these changes to {ctx.cloud} (stage {stage})?")
    result = ctx.run("up", lambda p: ctx.engine.up(on_event=p))
    path = state.write_outputs(ctx.bp.root, cloud, stage, result.outputs, ctx.bp.name)
    finish(ctx, result, extra={"outputs_file": str(path)})
    if not json_:
        print_outputs(result.outputs)
        say(paint(f"outputs written to {path}", "dim"))


@app.command()
def preview(file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
            backend: str = BackendOpt, json_: bool = common.JsonOpt, replace_data: list[str] = ReplaceDataOpt) -> None:
    """Show what `up` would change, without changing anything."""
    ctx = Context(file, stage, cloud, backend=backend, json_=json_, replace_data=replace_data)
    finish(ctx, ctx.run("preview", lambda p: ctx.engine.preview(on_event=p)))


def destroy(file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
            yes: bool = YesOpt, delete_data: bool = typer.Option(
                False, "--delete-data", help="Also delete buckets, tables and queues (kept by default)."),
            backend: str = BackendOpt, port: int = PortOpt, json_: bool = common.JsonOpt) -> None:
    """Remove every resource of the stage's stack; stateful stores are kept unless --delete-data."""
    from deployer import state
    from deployer.errors import DeployerError

    try:
        ctx = Context(file, stage, cloud, backend=backend, port=port, json_=json_)
    except DeployerError as exc:
        ctx = Detached.of(exc, file, stage, cloud, port=port, json_=json_)
    data = "including their data (buckets, tables, queues)" if delete_data else "keeping buckets, tables and queues"
    if must_ask(ctx, yes, "destroy"):
        ask(f"Destroy {ctx.app} on {cloud} (stage {stage}), {data}?")
    result = ctx.run("destroy", lambda p: ctx.engine.destroy(delete_data=delete_data, on_event=p))
    if ctx.bp is not None:
        state.remove_outputs(ctx.bp.root, cloud, stage, ctx.bp.name)
    finish(ctx, result)
    if result.kept and not json_:
        say(f"{paint('kept', 'yellow')} (with their data): {', '.join(result.kept)}; the next "
            "`deployer up` adopts them, `deployer destroy --delete-data` removes them")


app.command("destroy")(destroy)
app.command("down", help="Alias of `destroy`.")(destroy)


@app.command()
def refresh(file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
            backend: str = BackendOpt, json_: bool = common.JsonOpt) -> None:
    """Read the cloud's real state into the stack (after changes made outside deployer)."""
    ctx = Context(file, stage, cloud, backend=backend, json_=json_, package=False)
    call = ctx.optional("refresh")
    finish(ctx, ctx.run("refresh", lambda p: call(on_event=p)))


@app.command()
def outputs(file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
            backend: str = BackendOpt, json_: bool = common.JsonOpt) -> None:
    """Print the stack outputs (API URL, functions, stores); falls back to the last `up`'s file."""
    from deployer import state
    from deployer.errors import DeployerError

    ctx = Context(file, stage, cloud, backend=backend, json_=json_, package=False)
    failed = None
    try:
        values = ctx.engine.outputs()
    except DeployerError as exc:
        values = state.read_outputs(ctx.bp.root, cloud, stage, ctx.bp.name)
        if values is None:
            raise
        say(f"{paint('warning', 'yellow')}: {exc.message}; showing the outputs saved by the last "
            f"`up` in {state.outputs_path(ctx.bp.root, cloud, stage, ctx.bp.name)}")
        failed = exc
    if json_:
        common.print_json(values)
    else:
        print_outputs(values)
    if failed is not None and not ctx.provider.pulumi:  # a stopped local cloud: those URLs do not answer
        raise typer.Exit(failed.exit_code)


@app.command()
def stacks(file: Path = common.FileOpt, cloud: str = common.CloudOpt, backend: str = BackendOpt,
           json_: bool = common.JsonOpt) -> None:
    """List the stages (stacks) of this blueprint in the backend."""
    ctx = Context(file, "dev", cloud, backend=backend, json_=json_, package=False)
    found = ctx.optional("stacks")()
    if json_:
        common.print_json(found)
        return
    if not found:
        say("no stacks yet")
    for item in found:
        busy = "  update in progress" if item.get("in_progress") else ""
        resources = item.get("resources") if item.get("resources") is not None else "-"
        common.print_text(f"{item.get('name')}  last update: {item.get('last_update') or '-'}  "
                          f"resources: {resources}{busy}\n")


@app.command()
def cancel(file: Path = common.FileOpt, stage: str = common.StageOpt, cloud: str = common.CloudOpt,
           yes: bool = YesOpt, backend: str = BackendOpt, json_: bool = common.JsonOpt) -> None:
    """Release the lock of an interrupted update (then run `deployer refresh` and `deployer up`)."""
    ctx = Context(file, stage, cloud, backend=backend, json_=json_, package=False)
    call = ctx.optional("cancel")
    if must_ask(ctx, yes, "cancel"):
        ask(f"Unlock {ctx.bp.name} on {cloud} (stage {stage})? Only when no other deployment is really running")
    start = time.monotonic()
    call()
    if json_:
        common.print_json({"operation": "cancel", "cloud": cloud, "stage": stage, "app": ctx.bp.name,
                           "duration": round(time.monotonic() - start, 3)})
    else:
        say(f"{paint('cancelled', 'green')}: the stack is unlocked; run `deployer refresh`, then `deployer up`")
