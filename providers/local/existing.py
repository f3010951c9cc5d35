"""Stores that already exist, on the local cloud: one folder of this machine shared by every app and stage.

`uploads: {kind: bucket, existing: company-uploads}` (or `clouds.local.existing: {uploads: ...}`) names a
store deployer did not create. On a cloud that is a resource of the account that outlives the app and
that any app may use; the local cloud's "account" is this machine's user, so an existing store lives
outside every app's state folder, in one folder per user:

    $DEPLOYER_LOCAL_EXISTING, else $XDG_DATA_HOME/deployer/local/existing (~/.local/share/...)
      buckets/<name>/   objects, as in a stage's folder (keys encoded: deployer/runtime/clients/local.py)
      tables.db         items of every existing table (`tbl` = the existing name)
      queues.db         messages of existing queues, and the subscriptions, bucket triggers and pending
                        deliveries of the apps that consume existing topics and buckets

Two blueprints (any folder, any stage) that name `existing: company-uploads` see the same objects, rows
and messages. A function reaches such a store through its locator `existing:<name>` (DEPLOYER_STORE_*)
and the folder in DEPLOYER_LOCAL_EXISTING. An existing queue is one queue: the consumers of every app
compete for its messages, as two consumers of one SQS queue do. A topic or bucket delivers to one
delivery queue per consuming trigger of each app, named with the app's owner tag
(`t:<topic>:<owner>/<function>`, `b:<bucket>:<owner>/<function>:...`), so apps never take each other's
deliveries, and each local cloud registers, adopts and releases only its own rows.

Deployer never deletes what is in this folder: `down --delete-data` removes the stage's folder and only
the stage's own subscriptions, bucket triggers and pending deliveries here (what deployer created for it,
as `destroy` deletes a subscription on a cloud); `--replace-data` refuses an existing store.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from deployer.errors import Diagnostic

#: What an existing store's name may be locally: one file or folder name on every OS, and free of the
#: `:` and `/` that delivery queue names use as separators (a bucket's, a table's or a queue's name on
#: the clouds fits: S3 allows dots, DynamoDB and SQS `_` and `-`).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
PREFIX = "existing:"  # the locator of an existing store: `existing:<name>`
ENV = "DEPLOYER_LOCAL_EXISTING"


def home(environ=os.environ) -> Path:
    """The machine's folder of existing stores (see the module docstring)."""
    if environ.get(ENV):
        return Path(environ[ENV])
    data = environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data) / "deployer" / "local" / "existing"


def prepare(environ=os.environ) -> Path:
    """Create the folder private to the user (0700), as a stage's state folder is."""
    folder = home(environ)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def names(bp) -> dict[str, str]:
    """{logical store name: existing name} of the stores that already exist on the local cloud."""
    return {store: found for store in bp.stores if (found := bp.existing(store, "local"))}


def locator(bp, store: str) -> str:
    """DEPLOYER_STORE_<NAME> of a store locally: its logical name, or `existing:<name>`."""
    found = bp.existing(store, "local")
    return PREFIX + found if found else store


def owner(app: str, stage: str, root: Path | str) -> str:
    """The tag of one app and stage of one blueprint folder in the shared queues.db (no `:` or `/`)."""
    from deployer.naming import short_hash

    return f"{app}.{stage}.{short_hash(str(Path(root).resolve()), 8)}"


def owner_of(bp) -> str:
    return owner(bp.name, bp.stage, bp.root)


def check(bp) -> list[Diagnostic]:
    """`validate --cloud local`: an existing store names a local store by a name the local cloud can keep."""
    found = []
    per_cloud = getattr(bp.clouds.local, "existing", None) or {}
    for store, name in names(bp).items():
        if NAME.fullmatch(name):
            continue
        path = f"clouds.local.existing.{store}" if store in per_cloud else f"stores.{store}.existing"
        found.append(Diagnostic(
            f"the local cloud keeps an existing store under its name, and {name!r} cannot be one",
            bp.locate(path), code="local", cloud="local",
            hint=f"use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit), "
                 f"e.g. under clouds.local.existing.{store}"))
    return found


def forget(owner_tag: str, environ=os.environ) -> int:
    """Remove one app and stage's subscriptions, bucket triggers and pending deliveries from the shared
    queues.db (never an existing queue's messages, a bucket's objects or a table's rows); returns how
    many deliveries went. Used by `down --delete-data`."""
    path = home(environ) / "queues.db"
    if not path.exists():
        return 0
    mine = "instr(queue, ':' || ? || '/') > 0"
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute(f"DELETE FROM subscriptions WHERE {mine}", (owner_tag,))
        conn.execute(f"DELETE FROM bucket_triggers WHERE {mine}", (owner_tag,))
        conn.execute(f"DELETE FROM dead_letters WHERE {mine}", (owner_tag,))
        return conn.execute(f"DELETE FROM messages WHERE {mine}", (owner_tag,)).rowcount


def refusal(bp, store: str, name: str) -> Diagnostic:
    """`--replace-data STORE` for a store that already exists: deployer never deletes it (exit 2)."""
    per_cloud = store in (getattr(bp.clouds.local, "existing", None) or {})
    path = f"clouds.local.existing.{store}" if per_cloud else f"stores.{store}.existing"
    return Diagnostic(f"store '{store}' is the existing store {name!r}: deployer never replaces or deletes it, "
                      f"so --replace-data cannot take it", bp.locate(path), code="replace", cloud="local",
                      hint=f"leave out --replace-data {store}; to start afresh, delete its data yourself (it is "
                           f"kept in {home()}) or name another existing store")
