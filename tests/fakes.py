"""Test doubles for the engine commands: a provider whose engine is scripted, and a tiny blueprint.

`FakeProvider` is registered in-process with `deployer.providers.register` (the seam for tests and
embedding), so `deployer up --cloud fake` runs the real CLI, the real pipeline and the real progress
and output handling, and only the engine is a stand-in. The fake records every call and replays the
events and results a test scripts; it raises DeployerErrors exactly as PulumiEngine maps them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

from deployer.providers import Artifact, EngineOptions, Provider, Result

STATEFUL = ["jobs", "orders", "uploads"]


def write_blueprint(folder: Path, name: str = "shop") -> Path:
    """A blueprint with one function and one store of each kind; returns the deployer.yaml path."""
    code = folder / "functions" / "api"
    code.mkdir(parents=True, exist_ok=True)
    (code / "main.py").write_text("def handle(request):\n    return {'ok': True}\n")
    path = folder / "deployer.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: {name}
        stores:
          uploads: {{kind: bucket}}
          orders: {{kind: table, key: id}}
          jobs: {{kind: queue}}
          events: {{kind: topic}}
        functions:
          api:
            code: functions/api
            handler: main.handle
            uses: {{orders: read-write, uploads: read, jobs: publish, events: publish}}
            triggers:
              - http: GET /orders
        """))
    return path


def resource(phase: str, op: str, name: str, typ: str = "fake:index:Thing") -> dict:
    return {"kind": "resource", "phase": phase, "op": op, "name": name, "type": typ}


def changed(op: str, *names: str) -> list[dict]:
    return [e for n in names for e in (resource("start", op, n), resource("done", op, n))]


OUTPUTS = {"api_url": "https://api.example.test", "functions": {"api": "shop-dev-api"},
           "stores": {"orders": "shop-dev-orders"}}


class FakeEngine:
    """Replays `provider.script[operation]`: (events, Result) or an exception to raise."""

    def __init__(self, provider: "FakeProvider", bp: Any, options: EngineOptions):
        self.provider, self.bp, self.options = provider, bp, options
        self.confirm = provider.confirm
        provider.engines.append(self)

    def _play(self, operation: str, on_event: Callable[[dict], None] | None, **kwargs: Any) -> Any:
        self.provider.calls.append((operation, kwargs))
        scripted = self.provider.script.get(operation)
        if isinstance(scripted, BaseException):
            raise scripted
        if operation in ("outputs", "stacks", "cancel"):
            return scripted
        events, result = scripted if scripted is not None else ([], Result(operation))
        for event in events:
            if on_event is not None:
                on_event(event)
        return result

    def up(self, on_event=None) -> Result:
        return self._play("up", on_event)

    def preview(self, on_event=None) -> Result:
        return self._play("preview", on_event)

    def destroy(self, delete_data: bool = False, on_event=None) -> Result:
        return self._play("destroy", on_event, delete_data=delete_data)

    def outputs(self) -> dict[str, Any]:
        return self._play("outputs", None)

    def refresh(self, on_event=None) -> Result:
        return self._play("refresh", on_event)

    def stacks(self) -> list[dict]:
        return self._play("stacks", None)

    def cancel(self) -> None:
        return self._play("cancel", None)


class MinimalEngine:
    """An engine with only the required methods (no refresh, stacks, cancel), like a third party's."""

    confirm = False

    def __init__(self, *args: Any):
        pass

    def up(self, on_event=None) -> Result:
        return Result("up")

    def preview(self, on_event=None) -> Result:
        return Result("preview")

    def destroy(self, delete_data: bool = False, on_event=None) -> Result:
        return Result("destroy")

    def outputs(self) -> dict[str, Any]:
        return {}


class FakeProvider(Provider):
    """A Pulumi-style provider (so confirmations and the CI backend warning apply) with a fake engine."""

    name = "fake"
    pulumi = True

    def __init__(self, engine_class: type = FakeEngine):
        self.engine_class = engine_class
        self.script: dict[str, Any] = {}
        self.calls: list[tuple[str, dict]] = []
        self.engines: list[FakeEngine] = []
        self.confirm = True
        self.packaged: list[str] = []

    def package(self, bp: Any, function: str) -> Artifact:
        self.packaged.append(function)
        path = Path(bp.root) / ".deployer" / f"{function}.zip"
        return Artifact(function, path, "0" * 64, 0)

    def program(self, bp: Any, artifacts: dict) -> Callable[[], None]:
        return lambda: None

    def engine(self, bp: Any, options: EngineOptions) -> Any:
        return self.engine_class(self, bp, options)
