"""`deployer dev`: reload on change and stream every function's log to the terminal.

watchfiles watches each function's code folder and the blueprint. A change in a code folder reloads
the pools of the functions built from it (idle workers stop now, busy ones after their invocation, new
ones import the new code), which takes milliseconds and keeps queued messages and state. A change to
the blueprint restarts the whole local cloud (routes, stores and triggers may have changed).
Logs are the per-function files under `<state>/logs/`, tailed and prefixed with the function name.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


async def watch(bp, pools, server, restart: asyncio.Event, log) -> None:
    from watchfiles import awatch

    roots = {pool.spec.code for pool in pools.values()}
    paths = [str(p) for p in roots] + ([str(bp.source)] if bp.source else [])
    async for changes in awatch(*paths, debounce=200, step=50):
        changed = {Path(path) for _, path in changes}
        if bp.source and Path(bp.source) in changed:
            restart.set()
            server.should_exit = True
            return
        for name, pool in pools.items():
            if any(pool.spec.code in p.parents for p in changed):
                pool.reload()
                log(f"reloaded {name} (code changed)")


async def stream_logs(folder: Path, out=sys.stdout) -> None:
    """Tail every *.log file in the folder (new files included), prefixing lines with the function."""
    offsets: dict[Path, int] = {}
    for path in folder.glob("*.log"):
        offsets[path] = path.stat().st_size  # only what happens from now on
    while True:
        for path in sorted(folder.glob("*.log")):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            start = offsets.get(path, 0)
            if size < start:  # rotated (providers/local/logs.py): the file starts again
                start = 0
            if size > start:
                with open(path, "rb") as fh:
                    fh.seek(start)
                    data = fh.read(size - start)
                cut = data.rfind(b"\n") + 1
                offsets[path] = start + cut
                for line in data[:cut].decode("utf-8", "replace").splitlines():
                    out.write(f"[{path.stem}] {line}\n")
                out.flush()
        await asyncio.sleep(0.2)
