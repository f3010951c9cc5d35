"""The Pulumi engine: the one module that imports `pulumi.automation`.

Everything the CLI needs from Pulumi goes through `PulumiEngine`, which implements the small Engine
interface of deployer/providers.py (up, preview, destroy, outputs; refresh, stacks, cancel). Keeping the
Automation API behind that interface is what lets every command be tested with a fake engine on
machines without the pulumi CLI, and lets the local cloud plug in its own engine.

Mapping (design.md section 6): project = blueprint name, stack = stage, inline program from the
provider, stack config from `provider.stack_config(bp)`, `passphrase` secrets provider, backend and
passphrase from deployer/state.py. Provider plugins are installed at the versions of the installed SDK
packages, so the plugin always matches the Python SDK that declared the resources.

Failures become DeployerErrors: no CLI -> PrerequisiteError (exit 3) with install instructions; a locked
stack -> exit 1 with the `deployer cancel` remedy; anything else -> exit 1 with Pulumi's error lines.
Ctrl-C: the pulumi process receives the same SIGINT from the terminal, finishes the operations in flight
and writes its checkpoint; we let it (see `graceful_interrupts`; a second Ctrl-C stops at once) and exit
130. Pulumi checkpoints after every resource operation, so the state holds every completed one and the
next `up` converges (`refresh` first reconciles anything that was in flight).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from deployer import state
from deployer.errors import DeployerError, DeploymentError, PrerequisiteError, UsageError
from deployer.providers import EngineOptions, Provider, Result

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint

INSTALL_HINT = ("install the pulumi CLI (https://www.pulumi.com/docs/install/); on Linux and macOS: "
                "`curl -fsSL https://get.pulumi.com | sh`, then add ~/.pulumi/bin to PATH")

EventSink = Callable[[dict], None] | None


class Interrupted(DeployerError):
    """The user pressed Ctrl-C during an operation (exit 130)."""

    exit_code = 130


# ---------------------------------------------------------------------------------------------------
# The CLI and the SDK versions (also used by `deployer doctor`)

def find_cli(env: Mapping[str, str] | None = None) -> str | None:
    """Path of the pulumi CLI: on PATH, else in $PULUMI_HOME/bin or ~/.pulumi/bin (the installer's)."""
    env = os.environ if env is None else env
    found = shutil.which("pulumi", path=env.get("PATH"))
    if found:
        return found
    for home in (env.get("PULUMI_HOME"), str(Path.home() / ".pulumi")):
        candidate = Path(home or "") / "bin" / "pulumi"
        if home and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_cli() -> str:
    path = find_cli()
    if path is None:
        raise PrerequisiteError("the pulumi CLI is not installed (needed to deploy to a cloud)", hint=INSTALL_HINT)
    return path


def cli_version(path: str) -> str | None:
    try:
        done = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def sdk_versions(dists: "tuple[str, ...] | list[str]" = ()) -> dict[str, str | None]:
    """Installed versions of the SDK distributions the providers declare (None when absent)."""
    out: dict[str, str | None] = {}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def plugins_for(provider: Provider) -> list[tuple[str, str]]:
    """(plugin name, "vX.Y.Z") for each SDK the provider uses, from the installed package versions: the
    `plugins` it declares, else the pulumi-* distributions among its `requirements` (prerequisites.py)."""
    dists = getattr(provider, "plugins", None) or [
        d for d in getattr(provider, "requirements", ()) if d.startswith("pulumi-")]
    plugins = []
    for dist in dists:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            raise PrerequisiteError(f"the Python package {dist} is not installed",
                                    hint=f"pip install {dist}") from None
        plugins.append((dist.removeprefix("pulumi-"), f"v{version}"))
    return plugins


# ---------------------------------------------------------------------------------------------------
# Engine events -> deployer's portable event dicts

def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def _op(value: Any) -> str:
    return str(getattr(value, "value", value))


class EventTranslator:
    """Turns Automation API EngineEvents into the dicts of docs/contracts.md and remembers what the CLI
    needs afterwards: the change summary, retained deletes (kept stores) and error messages."""

    def __init__(self, sink: EventSink, bp: "Blueprint | None" = None,
                 owners: Mapping[str, str] | None = None):
        self.sink = sink
        self.lock = threading.Lock()  # events arrive on the Automation API's threads
        self.bp = bp
        self.owners = owners  # logical name -> owning store (from the graph), else the naming convention
        self.changes: dict[str, int] | None = None
        self.retained: list[str] = []   # resources deleted with retain_on_delete set
        self.deleted: list[str] = []    # every resource a delete step started on
        self.errors: list[str] = []

    def __call__(self, event: Any) -> None:
        with self.lock:
            items = self.translate(event)
        for item in items:
            if self.sink is not None:
                self.sink(item)

    def owner(self, name: str) -> str | None:
        """The store a resource belongs to, or None."""
        if self.owners is not None:
            return self.owners.get(name)
        if self.bp is None:
            return None
        from deployer.plan_mocks import owner

        group = owner(self.bp, name)
        return group[6:] if group.startswith("store ") else None

    def translate(self, event: Any) -> list[dict]:
        if event.summary_event is not None:
            self.changes = {_op(k): int(v) for k, v in (event.summary_event.resource_changes or {}).items()}
        for phase, ev in (("start", event.resource_pre_event), ("done", event.res_outputs_event),
                          ("failed", event.res_op_failed_event)):
            if ev is not None:
                return [self._resource(phase, ev.metadata)]
        diag = event.diagnostic_event
        if diag is not None and not getattr(diag, "ephemeral", False):
            severity = diag.severity if diag.severity in ("warning", "error") else "info"
            if severity == "error":
                self.errors.append(diag.message.strip())
            return [{"kind": "log", "severity": severity, "message": diag.message.rstrip(),
                     "name": _name(diag.urn or "") or None}]
        return []

    def _resource(self, phase: str, meta: Any) -> dict:
        name, op = _name(meta.urn), _op(meta.op)
        if phase == "start" and op in ("delete", "discard"):
            self.deleted.append(name)
            if meta.old is not None and meta.old.retain_on_delete:
                self.retained.append(name)
        return {"kind": "resource", "phase": phase, "op": op, "name": name, "type": meta.type}

    def kept_stores(self) -> list[str]:
        """Stores kept by a destroy: the owners of the resources Pulumi deleted with retain_on_delete set
        in the state (nothing else: a store whose resources were really deleted is not reported kept)."""
        kept = {self.owner(name) for name in self.retained}
        return sorted(store for store in kept if store)


def _changes(*candidates: Any) -> dict[str, int]:
    for found in candidates:
        if found:
            return {_op(k): int(v) for k, v in found.items()}
    return {}


def plain_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack outputs as plain values; secret outputs are masked (never printed nor written)."""
    return {k: ("[secret]" if getattr(v, "secret", False) else getattr(v, "value", v)) for k, v in outputs.items()}


# ---------------------------------------------------------------------------------------------------
# Errors

def _error_lines(exc: Exception) -> str:
    result = exc.args[0] if exc.args else ""
    text = str(result)
    lines = [ln.strip() for ln in text.splitlines() if "error" in ln.lower() and ln.strip()]
    return "\n".join(dict.fromkeys(lines[:8])) or text.strip()[-1500:]


def _map_error(exc: Exception, engine: "PulumiEngine") -> DeployerError:
    from pulumi.automation import errors as auto_errors

    where = f"stack {engine.bp.name}/{engine.stage} ({engine.cloud}, {engine.backend.url})"
    if isinstance(exc, auto_errors.ConcurrentUpdateError):
        return DeploymentError(f"{where} is locked by another update",
                               hint="wait for it to finish; if it was interrupted or its job was killed, run "
                                    f"`deployer cancel --cloud {engine.cloud} --stage {engine.stage}`, then "
                                    "`deployer refresh` and `deployer up` again")
    if isinstance(exc, auto_errors.StackNotFoundError):
        return UsageError(f"{where} does not exist",
                          hint=f"deploy it first with `deployer up --cloud {engine.cloud} --stage {engine.stage}`")
    if isinstance(exc, FileNotFoundError):
        return PrerequisiteError("the pulumi CLI could not be run", hint=INSTALL_HINT)
    if isinstance(exc, auto_errors.CommandError) and "passphrase" in str(exc).lower():
        return DeploymentError(f"{where}: the secrets passphrase is wrong or missing",
                               hint="use the passphrase the stack was created with (PULUMI_CONFIG_PASSPHRASE"
                                    "/_FILE, or .deployer/passphrase beside the blueprint)")
    return DeploymentError(f"{where}: {_error_lines(exc) or type(exc).__name__}",
                           hint="run again with --debug for Pulumi's full output")


@contextmanager
def graceful_interrupts() -> Iterator[dict[str, bool]]:
    """While Pulumi runs: the first Ctrl-C only takes note, because the pulumi process got the same
    SIGINT from the terminal and is stopping cleanly (finishing the operations in flight, writing its
    checkpoint); raising KeyboardInterrupt now would close its output pipes and kill it halfway.
    A second Ctrl-C stops at once. Outside the main thread signals cannot be handled: nothing changes."""
    flags = {"interrupted": False}
    if threading.current_thread() is not threading.main_thread():
        yield flags
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if flags["interrupted"]:
            raise KeyboardInterrupt
        flags["interrupted"] = True
        sys.stderr.write("\ninterrupting: Pulumi finishes the operations in flight and saves its state "
                         "(Ctrl-C again to stop at once)\n")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flags
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------------------------------------------
# The engine

class PulumiEngine:
    """Deploys a provider's program with the Automation API (see the module docstring)."""

    confirm = True

    def __init__(self, provider: Provider, bp: "Blueprint", options: EngineOptions | None = None):
        self.provider = provider
        self.bp = bp
        self.options = options or EngineOptions()
        self.cloud = provider.name
        self.stage = bp.stage
        self.backend = state.backend(bp.root, self.cloud, self.options.backend, create=False)
        self.owners: dict[str, str] | None = None
        self.graph: Any = None  # a graph provider's graph of this blueprint (when every package is built)
        if provider.compiles and set(bp.functions) <= set(self.options.artifacts):
            self.graph = provider.compile(bp, self.options.artifacts)
            self.owners = {r.name: r.owner.name for r in self.graph.resources if r.owner.kind == "store"}

        self.kept: dict[str, Any] = {}  # kept resources the stack no longer manages: to adopt
        self.record: dict[str, Any] = {}  # every kept resource known: what the next record starts from
        self.replace: tuple[str, ...] = tuple(self.options.extra.get("replace_data", ()))

    def _translator(self, on_event: EventSink) -> EventTranslator:
        return EventTranslator(on_event, self.bp, self.owners)

    # -- setup -------------------------------------------------------------------------------------
    def _program(self) -> None:
        if not self.provider.compiles:
            return self.provider.program(self.bp, self.options.artifacts)()
        from deployer.resources.execute import program

        program(self.provider, self.bp, self.options.artifacts, kept=self.kept, replace=self.replace,
                record=self.record)()

    def _prepare_update(self, stack: Any, *, flip: bool) -> None:
        """Before up/preview: refuse a change that replaces a stateful store (unless --replace-data),
        and read what an earlier destroy kept, so the program adopts it (deployer/resources/lifecycle.py)."""
        from deployer.errors import BlueprintError
        from deployer.resources import lifecycle

        outputs = plain_outputs(stack.outputs())
        problems = lifecycle.replacements(outputs.get(lifecycle.STORES_OUTPUT), self.bp, self.replace,
                                          self.provider.name)
        if problems:
            raise BlueprintError(problems)
        exported = stack.export_stack()
        previous = outputs.get(lifecycle.KEPT_OUTPUT) or {}
        self.kept = lifecycle.to_adopt(previous, exported.deployment)
        self.record = lifecycle.kept_record(exported.deployment, previous)
        if flip and self.replace and self.owners:
            self._stop_retaining(stack, set(self.replace), exported)

    def _stop_retaining(self, stack: Any, stores: set[str], deployment: Any) -> None:
        """`--replace-data`: the replaced stores' resources lose retain_on_delete in the state (`deployment`,
        as exported), so the replacement really deletes the old one (the same state edit `destroy
        --delete-data` makes)."""
        for res in deployment.deployment.get("resources") or []:
            if self.owners.get(str(res.get("urn", "")).rsplit("::", 1)[-1]) in stores:
                res["retainOnDelete"] = False
        stack.import_stack(deployment)

    def workspace_options(self) -> Any:
        from pulumi import automation as auto

        cli = require_cli()
        be = state.backend(self.bp.root, self.cloud, self.options.backend, create=True)
        phrase = state.passphrase(self.bp.root)
        work_dir = state.deployer_dir(self.bp.root) / "pulumi" / self.cloud
        work_dir.mkdir(parents=True, exist_ok=True)
        command = None
        if shutil.which("pulumi") is None:  # found in PULUMI_HOME or ~/.pulumi, not on PATH
            command = auto.PulumiCommand(root=str(Path(cli).parent.parent))
        return auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            env_vars={**phrase.env, "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_BACKEND_URL": be.url},
            secrets_provider="passphrase",
            project_settings=auto.ProjectSettings(name=self.bp.name, runtime="python",
                                                  backend=auto.ProjectBackend(be.url)),
            pulumi_command=command,
        )

    def _stack(self, create: bool) -> Any:
        from pulumi import automation as auto

        opts = self.workspace_options()
        open_stack = auto.create_or_select_stack if create else auto.select_stack
        return open_stack(stack_name=self.stage, project_name=self.bp.name, program=self._program, opts=opts)

    def _configure(self, stack: Any, delete_data: bool = False) -> None:
        from pulumi.automation import ConfigValue

        config = {k: ConfigValue(str(v)) for k, v in self.provider.stack_config(self.bp).items()}
        config["deployer:deleteData"] = ConfigValue("true" if delete_data else "false")
        config["deployer:detach"] = ConfigValue("false")  # only a keeping destroy's first update detaches
        stack.set_all_config(config)
        for name, version in plugins_for(self.provider):
            stack.workspace.install_plugin(name, version)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one Automation API call with deployer's error mapping and Ctrl-C handling."""
        from deployer import prerequisites

        prerequisites.require(self.provider)  # every missing SDK and the CLI in one message (exit 3)
        with graceful_interrupts() as flags:
            try:
                return fn()
            except KeyboardInterrupt:
                raise self._interrupted("stopped at once (second Ctrl-C)") from None
            except DeployerError:
                raise
            except Exception as exc:  # noqa: BLE001 - every Automation API failure is mapped here
                if flags["interrupted"]:
                    raise self._interrupted("Pulumi stopped after the operations in flight and saved its state") from None
                raise _map_error(exc, self) from exc

    def _interrupted(self, how: str) -> Interrupted:
        where = f"--cloud {self.cloud} --stage {self.stage}"
        return Interrupted(f"interrupted: {how}",
                           hint=f"the state holds every completed operation: run `deployer refresh {where}` and "
                                f"the same command again to converge; if the stack is reported locked, run "
                                f"`deployer cancel {where}` first")

    def _log(self, line: str) -> None:
        if self.options.debug:
            sys.stderr.write(line + "\n")

    def _common(self, translator: EventTranslator) -> dict[str, Any]:
        return {"on_event": translator, "color": "never", "on_output": self._log, "on_error": self._log}

    # -- the Engine interface -----------------------------------------------------------------------
    def up(self, on_event: EventSink = None) -> Result:
        start = time.monotonic()
        translator = self._translator(on_event)

        def run() -> Any:
            stack = self._stack(create=True)
            self._configure(stack)
            self._prepare_update(stack, flip=True)
            res = stack.up(show_secrets=False, **self._common(translator))
            if self.graph is not None and set(self.kept) & set(self.graph.by_name()):  # adopted as they were
                # (lifecycle.adopt): this second update applies the blueprint to them
                self._prepare_update(stack, flip=False)
                res = stack.up(show_secrets=False, **self._common(translator))
            return res

        res = self._call(run)
        self._after_up()
        return Result("up", changes=_changes(translator.changes, res.summary.resource_changes),
                      outputs=plain_outputs(res.outputs), duration=time.monotonic() - start)

    def _after_up(self) -> None:
        """A provider's step after a successful `up` (Azure publishes each app's code and syncs its
        triggers, which no Pulumi resource can do); its lines go to stderr unless --json."""
        after = getattr(self.provider, "after_up", None)
        if callable(after):
            say = (lambda line: None) if self.options.json else (lambda line: sys.stderr.write(f"{line}\n"))
            self._call(lambda: after(self.bp, self.options.artifacts, log=say))

    def preview(self, on_event: EventSink = None) -> Result:
        start = time.monotonic()
        translator = self._translator(on_event)

        def run() -> Any:
            stack = self._stack(create=True)
            self._configure(stack)
            self._prepare_update(stack, flip=False)
            return stack.preview(**self._common(translator))

        res = self._call(run)
        return Result("preview", changes=_changes(translator.changes, res.change_summary),
                      duration=time.monotonic() - start)

    def destroy(self, delete_data: bool = False, on_event: EventSink = None) -> Result:
        start = time.monotonic()
        translator = self._translator(on_event)

        def run() -> Any:
            stack = self._stack(create=False)
            self._configure(stack, delete_data=delete_data)
            if delete_data:  # flip retain_on_delete in the state first: an up that touches no cloud data
                stack.up(show_secrets=False, **self._common(self._translator(on_event)))
                return stack.destroy(show_secrets=False, **self._common(translator))
            if not self.provider.compiles:
                return stack.destroy(show_secrets=False, **self._common(translator))
            return self._destroy_keeping(stack, translator, self._translator(on_event))

        res = self._call(run)
        return Result("destroy", changes=_changes(translator.changes, res.summary.resource_changes),
                      duration=time.monotonic() - start, kept=[] if delete_data else translator.kept_stores())

    def _destroy_keeping(self, stack: Any, translator: EventTranslator,
                         detaching: EventTranslator | None = None) -> Any:
        """Delete everything but what is retained, in ONE update whose program declares no resource and
        exports the record of what was kept: the next `up` finds it in the stack's outputs, whatever
        backend holds the state, and adopts those resources with their data.

        A provider with `detaches_on_keep` first gets one update of its graph compiled detached (stack
        config `deployer:detach`), so no kept store goes on calling a function this destroy deletes (GCP:
        a push subscription becomes a pull one, instead of retrying its backlog into the dead-letter topic);
        only when the state holds something to detach (`_must_detach`)."""
        from pulumi.automation import ConfigValue

        from deployer.resources import lifecycle

        previous = plain_outputs(stack.outputs()).get(lifecycle.KEPT_OUTPUT)
        deployment = stack.export_stack().deployment
        self.record = record = lifecycle.kept_record(deployment, previous)
        if self._must_detach(deployment):
            stack.set_config("deployer:detach", ConfigValue("true"))
            stack.up(show_secrets=False, **self._common(detaching or self._translator(None)))
            stack.set_config("deployer:detach", ConfigValue("false"))
            # what the detaching update released (a kept store the blueprint dropped) stays recorded
            record = lifecycle.kept_record(stack.export_stack().deployment, self.record)

        def keep_record() -> None:
            import pulumi

            pulumi.export(lifecycle.KEPT_OUTPUT, record)

        return stack.up(program=keep_record, show_secrets=False, **self._common(translator))

    def _must_detach(self, deployment: Mapping[str, Any]) -> bool:
        """A keeping destroy detaches first when the provider asks for it and the state (`deployment`)
        holds something the detached graph changes (lifecycle.detached_changes): never on an emptied stack."""
        from deployer.resources import lifecycle

        if not self.provider.detaches_on_keep or self.graph is None:
            return False
        detached = self.provider.compile(self.bp, self.options.artifacts, detach=True)
        return bool(lifecycle.detached_changes(self.graph, detached, deployment))

    def refresh(self, on_event: EventSink = None) -> Result:
        start = time.monotonic()
        translator = self._translator(on_event)
        res = self._call(lambda: self._stack(create=False).refresh(show_secrets=False, **self._common(translator)))
        return Result("refresh", changes=_changes(translator.changes, res.summary.resource_changes),
                      duration=time.monotonic() - start)

    def outputs(self) -> dict[str, Any]:
        return self._call(lambda: plain_outputs(self._stack(create=False).outputs()))

    def stacks(self) -> list[dict[str, Any]]:
        from pulumi import automation as auto

        def run() -> list[Any]:
            return auto.LocalWorkspace(**vars(self.workspace_options())).list_stacks()

        return [{"name": s.name, "current": s.current, "in_progress": bool(s.update_in_progress),
                 "last_update": s.last_update.isoformat() if s.last_update else None,
                 "resources": s.resource_count, "url": s.url} for s in self._call(run)]

    def cancel(self) -> None:
        self._call(lambda: self._stack(create=False).cancel())
