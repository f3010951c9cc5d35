"""Live progress of an engine operation, drawn from the engine's events (docs/contracts.md, Engines).

Engines call the display from their own threads (Pulumi delivers events over gRPC), so every update
takes a lock. On a terminal it is a rich Live table on stderr: one row per resource operation with a
spinner while it runs, its elapsed time when done; when stderr is not a terminal (CI logs) it prints
one line per finished operation instead. Either way stdout stays free for `--json` and outputs, and the
display never shows resource inputs or outputs, so secrets cannot leak through it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

VERBS = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting",
         "create-replacement": "creating replacement", "delete-replaced": "deleting replaced",
         "refresh": "refreshing", "read": "reading", "discard": "forgetting"}
DONE = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted",
        "create-replacement": "created replacement", "delete-replaced": "deleted replaced",
        "refresh": "refreshed", "read": "read", "discard": "forgot"}
SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "create-replacement": "++",
          "delete-replaced": "--", "refresh": "r", "read": ">", "discard": "-"}
HIDDEN_TYPES = ("pulumi:pulumi:Stack",)
MAX_ROWS = 25


@dataclass
class Row:
    name: str
    type: str
    op: str
    started: float
    ended: float | None = None
    failed: bool = False


def visible(event: dict) -> bool:
    typ = event.get("type") or ""
    return event.get("op") != "same" and typ not in HIDDEN_TYPES and not typ.startswith("pulumi:providers:")


class Progress:
    """Callable event sink and context manager: `with Progress(err, "up aws dev") as p: engine.up(p)`."""

    def __init__(self, console: Console, title: str, enabled: bool = True, planning: bool = False):
        self.console = console
        self.planning = planning  # a preview: rows say what would happen ("create"), not "created"
        self.title = title
        self.enabled = enabled
        self.rows: dict[str, Row] = {}
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.live: Live | None = None

    def __enter__(self) -> "Progress":
        if self.enabled and self.console.is_terminal:
            self.live = Live(get_renderable=self.render, console=self.console, refresh_per_second=8,
                             transient=True)
            self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
            if self.enabled:
                for row in self.finished():
                    self.console.print(self.line(row))

    def __call__(self, event: dict) -> None:
        with self.lock:
            if event.get("kind") == "resource" and visible(event):
                self._resource(event)
            elif event.get("kind") == "log" and event.get("message"):
                self._log(event)

    def _resource(self, event: dict) -> None:
        name, phase = event.get("name", ""), event.get("phase")
        key = f"{event.get('op')}:{name}"
        if phase == "start":
            self.rows[key] = Row(name, event.get("type", ""), event.get("op", ""), time.monotonic())
            return
        row = self.rows.get(key) or Row(name, event.get("type", ""), event.get("op", ""), time.monotonic())
        row.ended, row.failed = time.monotonic(), phase == "failed"
        self.rows[key] = row
        if self.enabled and self.live is None:
            self.console.print(self.line(row))

    def _log(self, event: dict) -> None:
        if not self.enabled:
            return
        severity = event.get("severity", "info")
        if severity not in ("warning", "error"):  # engine notes and program prints
            self.console.print(f"[dim]{escape(event['message'])}[/dim]")
            return
        colour = "red" if severity == "error" else "yellow"
        where = f" {escape(event['name'])}" if event.get("name") else ""
        self.console.print(f"[{colour}]{severity}[/{colour}]{where}: {escape(event['message'])}")

    def finished(self) -> list[Row]:
        return [r for r in self.rows.values() if r.ended is not None]

    def line(self, row: Row) -> str:
        took = "" if self.planning else f" {(row.ended or row.started) - row.started:.1f}s"
        if row.failed:
            return f"[red]x failed[/red] {VERBS.get(row.op, row.op)} {escape(row.name)} ({escape(row.type)}){took}"
        symbol, verb = SYMBOL.get(row.op, "*"), row.op if self.planning else DONE.get(row.op, row.op)
        return f"[green]{escape(symbol)}[/green] {verb} {escape(row.name)} [dim]({escape(row.type)}){took}[/dim]"

    def render(self) -> Group:
        now = time.monotonic()
        with self.lock:
            rows = list(self.rows.values())[-MAX_ROWS:]
        table = Table.grid(padding=(0, 1))
        for row in rows:
            took = f"{(row.ended or now) - row.started:.1f}s"
            if row.ended is None:
                status = Spinner("dots", style="cyan")
            else:
                status = Text("x", style="red") if row.failed else Text("✓", style="green")
            verb = VERBS.get(row.op, row.op) if row.ended is None else DONE.get(row.op, row.op)
            verb = row.op if self.planning else verb
            table.add_row(status, Text(verb), Text(row.name, style="bold"), Text(row.type, style="dim"), Text(took))
        header = Text(f"{self.title}  {now - self.started:.0f}s", style="bold")
        return Group(header, table)
