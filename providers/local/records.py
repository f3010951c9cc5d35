"""`deployer logs --cloud local`: the local cloud's log files as portable log records.

The local cloud writes plain lines: its own (`2026-01-01T03:00:00 TIMEOUT <request id> ...`, in local
time) and whatever the handler prints (no time, no request id). Each line becomes one LogRecord so
the output matches the clouds' (time in UTC, level, request id, message): a timestamped line gives
its time, its level (ERROR for ERROR/TIMEOUT/CRASH, WARNING for DEAD-LETTER) and the first request id
in it; an untimed line takes the time and request id of the line before, and its level too when it
continues a traceback. Only the tail that is shown is read (from the end of the file), so a large log
costs what is printed, not its size; `--follow` polls the file's size and reads what was appended.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from deployer.remote import LEVELS, LogRecord, iso_utc
from providers.local import logs

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,]\d+)? (.*)$")
REQUEST_ID = re.compile(r"\b([0-9a-f]{32})\b")
LEVEL_WORDS = {"ERROR": "ERROR", "TIMEOUT": "ERROR", "CRASH": "ERROR", "CRITICAL": "CRITICAL",
               "DEAD-LETTER": "WARNING", "WARNING": "WARNING", "DEBUG": "DEBUG", "INFO": "INFO"}
TRACEBACK = re.compile(r"^(\s|Traceback \(|During handling|The above exception|[\w.]+(Error|Exception|Message)\b)")
CHUNK = 64 * 1024


@dataclass
class _Parser:
    """Line -> record, carrying the last timestamped line's time, request id and level."""

    time: str = ""
    request_id: str | None = None
    level: str = "INFO"

    def record(self, line: str) -> LogRecord:
        found = STAMP.match(line)
        if found:
            stamp, rest = found.groups()
            self.time = iso_utc(datetime.fromisoformat(stamp).astimezone())  # written in local time
            rid = REQUEST_ID.search(rest)
            self.request_id = rid.group(1) if rid else None
            word, _, after = rest.partition(" ")
            self.level = LEVEL_WORDS.get(word, "INFO")
            shown = after if word in LEVELS and after else rest  # the level is its own column
            return LogRecord(self.time, self.request_id, self.level, shown)
        level = self.level if self.level in ("ERROR", "CRITICAL") and TRACEBACK.match(line) else "INFO"
        return LogRecord(self.time, self.request_id, level, line)


def tail_lines(path: Path, lines: int, since: float | None) -> list[str]:
    """The last `lines` lines (all when 0), read backwards from the end (providers/local/logs.py); with
    `since`, back to the first timestamped line older than it."""
    if since is None and lines > 0:
        return logs.tail(path, lines)[0]
    with open(path, "rb") as fh:
        end = fh.seek(0, 2)
        position, data = end, b""
        while position > 0:
            step = min(CHUNK, position)
            position -= step
            fh.seek(position)
            data = fh.read(step) + data
            if _enough(data, lines, since, complete=position == 0):
                break
    text = data.decode("utf-8", "replace").splitlines()
    if position > 0 and text:
        text = text[1:]  # the first line may be cut
    return text


def _enough(data: bytes, lines: int, since: float | None, complete: bool) -> bool:
    if complete:
        return True
    if since is not None:
        for line in data.split(b"\n")[1:]:
            found = STAMP.match(line.decode("utf-8", "replace"))
            if found:
                return datetime.fromisoformat(found.group(1)).timestamp() < since and \
                    (lines == 0 or data.count(b"\n") > lines)
        return False
    return lines > 0 and data.count(b"\n") > lines


def read(path: Path, since: float | None, follow: bool, text: str | None, *, lines: int = 0,
         poll: float = 0.2) -> Iterator[LogRecord | None]:
    """Records of the log at `path` (oldest first), then None, then (with `follow`) the new ones."""
    parser = _Parser()
    keep = (lambda r: text in r.message) if text else (lambda r: True)
    offset = 0
    if path.exists():
        offset = path.stat().st_size
        for line in tail_lines(path, lines if not text else 0, since):
            record = parser.record(line)
            if (since is None or not record.time or _epoch(record.time) >= since) and keep(record):
                yield record
    yield None
    pending = b""
    while follow:
        size = path.stat().st_size if path.exists() else 0
        if size < offset:  # rotated (copied, then truncated): the file starts again
            offset, pending = 0, b""
        if size > offset:
            with open(path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read(size - offset)
            offset += len(chunk)
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                record = parser.record(line.decode("utf-8", "replace"))
                if keep(record):
                    yield record
        else:
            time.sleep(poll)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
