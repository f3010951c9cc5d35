"""`deployer dev | status`: the local cloud's own commands (up/down/outputs are the generic ones, and so
are `invoke`/`logs`, which take `--cloud` like every other command: deployer/cli/remote.py).

`dev` runs the local cloud in the foreground with reload and streamed logs; `status`
says whether it runs, where each store is (the stage's folder, or an existing store it references and
did not create: providers/local/existing.py) and, per delivery queue (a queue store, or one consuming
trigger of a topic or bucket; for existing stores, this stage's rows of the shared queues.db and the
existing queues it uses), the consumer, pending and dead-lettered messages. A row without a consumer holds messages no
trigger of the blueprint takes any more (a trigger removed or changed): the local cloud keeps them and
says so at start (providers/local/queues.py), and `status` keeps them visible.
The work lives in providers/local; this module only parses options and prints. It is the local
provider's own CLI module, registered under the entry point group `deployer.commands` exactly as a
third-party provider would register its commands; deployer/cli/app.py imports it at start.
"""

from __future__ import annotations

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


@app.command()
def status(file: Path = common.FileOpt, stage: str = common.StageOpt, json_: bool = common.JsonOpt) -> None:
    """Show the local cloud of a stage: running or not, its stores, pending and dead-lettered messages per delivery."""
    from providers.local import existing, lifecycle
    from providers.local.state import state_dir

    bp = common.load(file, stage)
    state = state_dir(bp)
    info = lifecycle.running(state)
    rows = _backlog(bp, state / "queues.db", "")
    if existing.names(bp):
        rows += _backlog(bp, existing.home() / "queues.db", existing.owner_of(bp))
    stores = [{"name": name, "kind": store.kind, "existing": existing.names(bp).get(name),
               "locator": existing.locator(bp, name)} for name, store in bp.stores.items()]
    if json_:
        common.print_json({"app": bp.name, "stage": stage, "running": info is not None,
                           "url": info and info.get("url"), "pid": info and info.get("pid"),
                           "state": str(state), "existing": str(existing.home()), "stores": stores,
                           "deliveries": rows})
        return
    where = f"running at {info['url']} (pid {info['pid']})" if info else "not running"
    common.say(f"{bp.name} · local · stage {stage}: {where}")
    _print_stores(stores, existing.home())
    if rows:
        lines = [f"{'delivery queue':40} {'consumer':16} {'pending':>8} {'dead':>6}"]
        for row in rows:
            consumer = row["consumer"] or common.paint(
                "another app's, or none" if row.get("existing") else "none (kept, no trigger takes it)", "yellow")
            lines.append(f"{row['queue']:40} {consumer:16} {row['pending']:>8} {row['dead_letters']:>6}")
        common.print_text("".join(line + "\n" for line in lines))


def _backlog(bp, db: Path, owner: str) -> list[dict]:
    """Delivery rows of one queues.db (the stage's, or with `owner` this stage's part of the shared one)."""
    import sqlite3

    from providers.local import existing, queues

    if not db.exists():
        return []
    used = tuple(f"q:{name}" for store, name in existing.names(bp).items() if bp.stores[store].kind == "queue")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = queues.backlog(conn, queues.consumers(bp), owner, used if owner else ())
    finally:
        conn.close()
    return [{**row, "existing": bool(owner)} for row in rows]


def _print_stores(stores: list[dict], home: Path) -> None:
    """One line per store: created in the stage's folder, or an existing store it only references."""
    if not stores:
        return
    lines = [f"{'store':24} {'kind':8} where"]
    for store in stores:
        where = (f"existing {store['existing']!r} (referenced, not created; {home})" if store["existing"]
                 else "this stage's state folder")
        lines.append(f"{store['name']:24} {store['kind']:8} {where}")
    common.print_text("".join(line + "\n" for line in lines))
