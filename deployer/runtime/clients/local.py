"""The local cloud's store client: buckets are files, tables, queues and topics are SQLite (WAL).

It runs inside a function's worker process, so it imports nothing outside the standard library and
`deployer.runtime`. It finds the state folder in `DEPLOYER_LOCAL_STATE`. A store that already exists
(`existing:` in the blueprint) has the locator `existing:<name>` and lives, under that name and in the
same layout, in the machine's folder of existing stores, `DEPLOYER_LOCAL_EXISTING`, which every app and
stage naming it shares (providers/local/existing.py). The local cloud's dispatcher
reads the same SQLite database this client writes, so `send` and `publish` are durable the moment
they return, and an object written to a bucket raises its event in the same place: a row per matching
trigger in the `messages` table, delivered (and retried) exactly like a queue message.

Schema (queues.db): `messages` (one row per pending delivery, `queue` is an internal delivery queue:
`q:<queue>`, `t:<topic>:<function>`, `b:<bucket>:<function>:<on>:<prefix>:<suffix>`: providers/local/queues.py),
`subscriptions` (topic ->
delivery queues), `bucket_triggers` (bucket event filters -> delivery queues), `dead_letters`.
The local cloud (providers.local) fills `subscriptions` and `bucket_triggers` from the blueprint.

Keys follow the rules every cloud's client enforces (deployer.runtime.types: `table_key`, `object_key`),
so a key that works here works everywhere. An object's file is named by an encoding of its key, not by
the key as a path: the key percent-encoded (everything but letters, digits, `_` and `-`), cut into
chunks of 200 characters (a file name's limit is 255 bytes) where every chunk but the last is a folder
whose name ends with `~` (which the encoding never produces). So any key the clouds take is a file here
(`c1` beside `c1/x`, `.hidden`, `...`, 1,024-byte keys), a key can never name a path outside its bucket,
and a file name starting with `.` is never an object (temporary files are). Buckets written with the
earlier layout (keys as paths) are moved to this one by `migrate_bucket`, once, when the local cloud starts.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, unquote

from deployer.runtime.messages import encode_message
from deployer.runtime.types import object_key, table_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, msg_id TEXT NOT NULL, data BLOB NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}', attempts INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL DEFAULT 0, claimed TEXT, created REAL NOT NULL, error TEXT);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at);
CREATE TABLE IF NOT EXISTS subscriptions (topic TEXT NOT NULL, queue TEXT NOT NULL, PRIMARY KEY (topic, queue));
CREATE TABLE IF NOT EXISTS bucket_triggers (
    bucket TEXT NOT NULL, event TEXT NOT NULL, prefix TEXT NOT NULL, suffix TEXT NOT NULL, queue TEXT NOT NULL,
    PRIMARY KEY (bucket, event, prefix, suffix, queue));
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY, queue TEXT NOT NULL, msg_id TEXT NOT NULL, data BLOB NOT NULL, attributes TEXT NOT NULL,
    attempts INTEGER NOT NULL, error TEXT, created REAL NOT NULL, failed_at REAL NOT NULL);
"""
TABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (tbl TEXT NOT NULL, key TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (tbl, key));
"""

_local = threading.local()
produced = 0  # messages written by this process since the local cloud's worker last looked


class StoreError(OSError):
    """A local store could not be read or written; the message says which store and why."""


def state_dir() -> Path:
    value = os.environ.get("DEPLOYER_LOCAL_STATE")
    if not value:
        raise StoreError("DEPLOYER_LOCAL_STATE is not set: this function is not running in the local cloud")
    return Path(value)


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """A WAL connection in autocommit mode, created once per thread and file."""
    cache = getattr(_local, "conns", None)
    if cache is None:
        cache = _local.conns = {}
    conn = cache.get(str(path))
    if conn is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
        cache[str(path)] = conn
    return conn


def queues_db(state: Path | None = None) -> sqlite3.Connection:
    return connect((state or state_dir()) / "queues.db", SCHEMA)


EXISTING = "existing:"  # the locator prefix of a store that already exists (providers/local/existing.py)


def place(locator: str) -> tuple[Path, str]:
    """(folder, name in it) of a store: the stage's state folder and the logical name, or the machine's
    folder of existing stores and the existing name."""
    if not locator.startswith(EXISTING):
        return state_dir(), locator
    folder = os.environ.get("DEPLOYER_LOCAL_EXISTING")
    if not folder:
        raise StoreError(f"DEPLOYER_LOCAL_EXISTING is not set: the existing store {locator!r} cannot be found")
    return Path(folder), locator[len(EXISTING):]


def _wrap(exc: BaseException, what: str) -> StoreError:
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "full" in str(exc).lower():
        return StoreError(errno.ENOSPC, f"no space left on the local cloud's disk while {what} "
                                        f"(state folder {os.environ.get('DEPLOYER_LOCAL_STATE', '?')})")
    return StoreError(code or errno.EIO, f"local store failure while {what}: {exc}")


def enqueue(conn: sqlite3.Connection, queues: list[str], data: bytes, attributes: dict | None = None,
            msg_id: str | None = None) -> str:
    """Insert one message into each delivery queue in one transaction; returns the message id."""
    msg_id = msg_id or uuid.uuid4().hex
    now = time.time()
    attrs = json.dumps(attributes or {})
    if not queues:
        return msg_id
    global produced
    produced += len(queues)
    with conn:
        conn.executemany("INSERT INTO messages (queue, msg_id, data, attributes, created) VALUES (?, ?, ?, ?, ?)",
                         [(q, msg_id, data, attrs, now) for q in queues])
    return msg_id


CHUNK = 200  # characters of an encoded key per file or folder name
LAYOUT = ".layout-keys-encoded"  # marker: this bucket folder holds encoded keys


def key_path(root: Path, key: str) -> Path:
    """Where the object `key` lives under a bucket's folder (see the module doc)."""
    encoded = quote(object_key(key), safe="").replace(".", "%2E").replace("~", "%7E")
    chunks = [encoded[i:i + CHUNK] for i in range(0, len(encoded), CHUNK)]
    return root.joinpath(*(c + "~" for c in chunks[:-1]), chunks[-1])


def path_key(root: Path, path: Path) -> str:
    """The key of an object's file (the inverse of key_path)."""
    return unquote("".join(part.rstrip("~") for part in path.relative_to(root).parts))


_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")  # write_file's temporary files


def migrate_bucket(root: Path) -> int:
    """Make a bucket folder hold encoded keys: create it, or move the objects of one written with keys
    as paths (an earlier layout) to their encoded names; returns how many moved. Idempotent (a marker
    file says it is done) and safe to interrupt or to run twice at once: each object is one rename."""
    if (root / LAYOUT).exists():
        return 0
    root.mkdir(parents=True, exist_ok=True)
    moved = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _TEMPORARY.fullmatch(p.name)):
        try:
            target = key_path(root, path.relative_to(root).as_posix())
        except ValueError:  # a name no cloud would take as a key: left where it is
            continue
        if target != path:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)
                moved += 1
            except FileNotFoundError:  # another process moved it first
                pass
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not folder.name.endswith("~"):
            try:
                folder.rmdir()  # an emptied folder of the old layout
            except OSError:
                pass
    (root / LAYOUT).write_text("object files are named by encoded keys (deployer.runtime.clients.local)\n")
    return moved


def write_file(path: Path, data: bytes) -> None:
    """Write atomically (temporary file + rename). The seam tests use to simulate a full disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Bucket:
    """Objects are files under `<state>/buckets/<name>/`, named by their encoded keys (see the module
    doc); writes and deletes raise bucket events."""

    def __init__(self, name: str, locator: str):
        self.name, self.locator = name, locator
        self.home, self.bucket = place(locator)
        self.root = self.home / "buckets" / self.bucket
        self.ready = False

    def _layout(self) -> None:
        if not self.ready:
            migrate_bucket(self.root)
            self.ready = True

    def _path(self, key: str) -> Path:
        self._layout()
        return key_path(self.root, key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        data = data.encode() if isinstance(data, str) else bytes(data)
        try:
            write_file(path, data)
            self._event(key, "created", len(data))
        except (OSError, sqlite3.Error) as exc:
            raise _wrap(exc, f"writing {key!r} to bucket {self.name!r}") from exc

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _wrap(exc, f"reading {key!r} from bucket {self.name!r}") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _wrap(exc, f"deleting {key!r} from bucket {self.name!r}") from exc
        for folder in path.parents:  # the chunk folders of a long key, once empty
            if folder == self.root or not folder.name.endswith("~"):
                break
            try:
                folder.rmdir()
            except OSError:
                break
        self._event(key, "deleted", size)

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        self._layout()
        keys = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d.endswith("~")]
            keys += [path_key(self.root, Path(folder, f)) for f in files if not f.startswith(".")]
        return sorted(k for k in keys if k.startswith(prefix))

    def _event(self, key: str, kind: str, size: int) -> None:
        conn = queues_db(self.home)
        rows = conn.execute("SELECT prefix, suffix, queue FROM bucket_triggers WHERE bucket = ? AND event = ?",
                            (self.bucket, kind)).fetchall()
        queues = [q for prefix, suffix, q in rows if key.startswith(prefix) and key.endswith(suffix)]
        event = {"store": self.name, "key": key, "size": size, "type": kind, "time": time.time()}
        enqueue(conn, queues, json.dumps(event).encode())


class Table:
    """Items are JSON documents in `<state>/tables.db`, keyed by the blueprint's key attribute."""

    def __init__(self, name: str, locator: str, key: str = "id"):
        self.name, self.locator, self.key = name, locator, key
        self.home, self.table = place(locator)

    def _db(self) -> sqlite3.Connection:
        return connect(self.home / "tables.db", TABLE_SCHEMA)

    def put(self, key: str, item: dict) -> None:
        item = {**item, self.key: table_key(key)}  # the key attribute is the key, as on every cloud
        try:
            self._db().execute("INSERT OR REPLACE INTO items (tbl, key, item) VALUES (?, ?, ?)",
                               (self.table, key, json.dumps(item)))
        except (OSError, sqlite3.Error) as exc:
            raise _wrap(exc, f"writing {key!r} to table {self.name!r}") from exc

    def get(self, key: str) -> dict | None:
        row = self._db().execute("SELECT item FROM items WHERE tbl = ? AND key = ?",
                                 (self.table, table_key(key))).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, key: str) -> None:
        self._db().execute("DELETE FROM items WHERE tbl = ? AND key = ?", (self.table, table_key(key)))

    def scan(self, prefix: str = "") -> list[dict]:
        rows = self._db().execute("SELECT key, item FROM items WHERE tbl = ? ORDER BY key", (self.table,))
        return [json.loads(item) for key, item in rows if key.startswith(prefix)]


class Queue:
    """`send(data)` inserts a durable message; the local cloud delivers it to the queue's consumers."""

    def __init__(self, name: str, locator: str):
        self.name, self.locator = name, locator
        self.home, self.queue = place(locator)

    def send(self, data, attributes: dict | None = None) -> str:
        try:
            raw = encode_message(data, "queue", self.name)  # MessageTooLarge (a ValueError) passes through
            return enqueue(queues_db(self.home), [f"q:{self.queue}"], raw, attributes)
        except (OSError, sqlite3.Error) as exc:
            raise _wrap(exc, f"sending to queue {self.name!r}") from exc


class Topic:
    """`publish(data)` writes one durable message per subscription (one per consuming function)."""

    def __init__(self, name: str, locator: str):
        self.name, self.locator = name, locator
        self.home, self.topic = place(locator)

    def publish(self, data, attributes: dict | None = None) -> str:
        try:
            raw = encode_message(data, "topic", self.name)
            conn = queues_db(self.home)
            queues = [q for (q,) in conn.execute("SELECT queue FROM subscriptions WHERE topic = ?", (self.topic,))]
            return enqueue(conn, queues, raw, attributes)
        except (OSError, sqlite3.Error) as exc:
            raise _wrap(exc, f"publishing to topic {self.name!r}") from exc
