"""The local cloud's log files: rotated by size, read from the end.

Every log (`cloud.log`, `logs/<function>.log`) is appended to through file descriptors the local cloud
cannot reopen (a worker's stdout and stderr, the daemon's own), all opened with O_APPEND. So a log is
rotated by copy and truncate: when it is larger than MAX_BYTES (`DEPLOYER_LOCAL_LOG_MAX_BYTES`, 10 MiB by
default), its content goes to `<name>.1` (replacing the previous one) and the file is truncated to zero;
the next append of every writer lands at the new end. A log so takes at most twice MAX_BYTES. The local
cloud looks every few seconds, in a thread, so a rotation never holds up a request. Lines appended
between the copy's last catch-up and the truncation (microseconds) can be lost; nothing else is.

`tail` reads the last lines from the end of the file, block by block: `deployer logs -n 50` costs the
same on a 200 MB log as on a small one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import BinaryIO

MAX_BYTES = int(os.environ.get("DEPLOYER_LOCAL_LOG_MAX_BYTES") or 10 * 1024 * 1024)
CHECK_EVERY = float(os.environ.get("DEPLOYER_LOCAL_LOG_CHECK_S") or 2.0)
BLOCK = 64 * 1024


def tail(path: Path, lines: int) -> tuple[list[str], int]:
    """The last `lines` lines of the file and the offset of its end (where a follower goes on)."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return [], 0
    with fh:
        return tail_of(fh, lines)


def tail_of(fh: BinaryIO, lines: int) -> tuple[list[str], int]:
    """`tail` of an open binary file: blocks read backwards from its end until `lines` lines are in."""
    end = fh.seek(0, os.SEEK_END)
    if lines <= 0:
        return [], end
    data, pos = b"", end
    while pos > 0 and data.count(b"\n") <= lines:
        step = min(BLOCK, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
    return data.decode("utf-8", "replace").splitlines()[-lines:], end


def rotate(path: Path, limit: int = MAX_BYTES) -> bool:
    """Copy a log larger than `limit` to `<name>.1` and truncate it; True when it did."""
    try:
        if path.stat().st_size <= limit:
            return False
    except FileNotFoundError:
        return False
    backup = path.with_name(path.name + ".1")
    tmp = path.with_name(path.name + ".1.tmp")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        while chunk := src.read(1 << 20):  # what writers appended meanwhile
            dst.write(chunk)
        os.truncate(path, 0)
    os.replace(tmp, backup)
    return True


def logs_of(state: Path) -> list[Path]:
    folder = state / "logs"
    return [state / "cloud.log", *(sorted(folder.glob("*.log")) if folder.is_dir() else [])]


async def rotate_forever(state: Path, every: float = CHECK_EVERY) -> None:
    """The local cloud's task: rotate whichever log went over the limit."""
    while True:
        for path in logs_of(state):
            try:
                if path.stat().st_size > MAX_BYTES:
                    await asyncio.to_thread(rotate, path)
            except OSError:  # gone, or the disk is full: try again next time
                continue
        await asyncio.sleep(every)
