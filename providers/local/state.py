"""Where a local cloud keeps its state: one private folder per app AND stage.

`<blueprint folder>/.deployer/local/<app>/<stage>/`. Two blueprints in one folder are two apps, like two
stacks on a cloud: they never share a lock, a `cloud.json`, a log, a bucket or a database, and `down` or
`down --delete-data` of one never touches the other's. The folder is private to the user (0700, files
created 0600 through the process umask) whoever creates it first: `up`, `dev` or `invoke`.

Earlier versions used `.deployer/local/<stage>/` for every app of the folder. Such a folder is moved to
the new place the first time an app whose functions and buckets account for everything in it asks for
its state while no local cloud runs from it (a rename, nothing copied). While an older local cloud still
runs from it, that app keeps using it as is, so `down` stops it; the next `up` moves it.

`blueprint.json` in the folder names the blueprint that uses it, so `down` can find and stop a local
cloud from the state folder alone when the blueprint no longer loads (deployer/cli/deploy.py).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

#: Files only a state folder of the old layout holds directly (an app folder holds stage folders only).
LEGACY_MARKERS = ("queues.db", "tables.db", "cloud.lock", "cloud.log", "cloud.json")


def local_root(root: Path) -> Path:
    return Path(root) / ".deployer" / "local"


def state_path(root: Path, app: str, stage: str) -> Path:
    return local_root(root) / app / stage


def locked(state: Path) -> bool:
    """True while a local cloud process holds this folder's lock."""
    path = state / "cloud.lock"
    if not path.exists():
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def is_legacy(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_file() for name in LEGACY_MARKERS)


def _belongs_to(folder: Path, bp) -> bool:
    """Everything in an old-layout folder is this app's: its function logs and bucket folders."""
    logs = {p.stem for p in (folder / "logs").glob("*.log")} if (folder / "logs").is_dir() else set()
    buckets = {p.name for p in (folder / "buckets").iterdir()} if (folder / "buckets").is_dir() else set()
    return logs <= set(bp.functions) and buckets <= set(bp.stores)


def state_dir(bp) -> Path:
    """This app and stage's state folder, the old layout's folder moved here first when it is ours."""
    new = state_path(bp.root, bp.name, bp.stage)
    moving = local_root(bp.root) / f".moving-{bp.name}-{bp.stage}"
    if moving.is_dir() and not new.exists():  # a move interrupted half-way
        new.parent.mkdir(parents=True, exist_ok=True)
        moving.rename(new)
    if new.exists():
        return new
    old = local_root(bp.root) / bp.stage
    if not is_legacy(old):
        return new
    if locked(old):  # an older local cloud runs from it: ours if it says so
        info = read_json(old / "cloud.json") or {}
        return old if info.get("app") == bp.stage_name() else new
    if _belongs_to(old, bp):
        old.rename(moving)  # two renames: the old folder may be the new one's parent (app named as a stage)
        new.parent.mkdir(parents=True, exist_ok=True)
        moving.rename(new)
    return new


def private(state: Path, bp=None) -> Path:
    """Create the folder 0700 (its data is the user's, like a cloud's storage) and make every file this
    process and its children create from now on 0600; record which blueprint uses it."""
    os.umask(0o077)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (state, state.parent):
        if folder.name != "local":
            folder.chmod(0o700)
    if bp is not None and bp.source:
        record = {"file": str(Path(bp.source).resolve()), "app": bp.name, "stage": bp.stage}
        if read_json(state / "blueprint.json") != record:
            tmp = state / "blueprint.json.tmp"
            tmp.write_text(json.dumps(record, indent=2))
            tmp.replace(state / "blueprint.json")
    return state


def find_by_file(file: Path, stage: str) -> Path | None:
    """The state folder whose `blueprint.json` (or running cloud's `cloud.json`) names this blueprint
    file and stage: how `down` finds its local cloud when the blueprint does not load."""
    file = Path(file).resolve()
    base = local_root(file.parent)
    candidates = list(base.glob(f"*/{stage}")) + [base / stage]
    for folder in candidates:
        for record in (read_json(folder / "blueprint.json"), read_json(folder / "cloud.json")):
            if record and record.get("file") and Path(record["file"]) == file and record.get("stage") == stage:
                return folder
    return None


def fingerprint(bp, salt: str, environ=os.environ) -> str:
    """A digest of what a running local cloud was started from: the resolved blueprint, each function's
    code folder (names, sizes, modification times) and its secrets' values (salted, never stored in
    clear). `up` compares it with the running cloud's to decide whether to restart it."""
    import hashlib

    digest = hashlib.sha256(salt.encode())
    digest.update(json.dumps(bp.model_dump(mode="json"), sort_keys=True, default=str).encode())
    for folder in sorted({bp.code_dir(name) for name in bp.functions}):
        for top, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            for name in sorted(files):
                try:
                    st = os.stat(os.path.join(top, name))
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(os.path.join(top, name), folder)}\0{st.st_size}\0"
                              f"{st.st_mtime_ns}\0".encode())
    for name in sorted(bp.secrets):
        digest.update(f"{name}\0{environ.get(name, '')}\0".encode())
    return digest.hexdigest()
