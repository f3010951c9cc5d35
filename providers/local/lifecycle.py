"""The local cloud's engine: `up` starts it as a daemon, `destroy` stops it, `outputs` asks it.

Same protocol as the Pulumi engine (deployer.providers.Engine), so `deployer up/down/outputs --cloud
local` are the generic commands. `up` installs requirements and checks secrets in the foreground (so
their errors show up in the terminal), starts `python -m providers.local.server` in a new session
(logs in `<state>/cloud.log`), and waits until `cloud.json` appears and the health endpoint answers.
A second `up` on a running stage compares the running cloud's fingerprint (blueprint, code, secrets:
providers/local/state.py) with the current one: unchanged, it reports the URL and exits 0 (like `up`
on an unchanged stack); changed, it restarts the local cloud on the same port, so the edit is live
when `up` returns (a `deployer dev` reloads by itself and is left alone). `destroy` sends SIGTERM,
waits, then SIGKILLs the process group; data (buckets, tables, queues) is kept unless `delete_data`.
It needs only the state folder: `detached()` finds it by the blueprint's path when the blueprint no
longer loads. Stores that already exist (providers/local/existing.py) are not the app's: `preview` and `up`
name them as referenced, `destroy` never reports them kept nor deletes them (`delete_data` removes only
what deployer made for the stage in their shared folder), and a data-replacing change never applies to them. Whether a stage runs is decided by its lock file, not by a pid (a pid can be reused, a
released lock cannot lie).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from deployer.errors import BlueprintError, DeploymentError
from deployer.providers import EngineOptions, Result
from deployer.resources import lifecycle
from providers.local import existing, functions, logs, state as local_state
from providers.local.server import outputs as make_outputs, read_info

START_TIMEOUT = float(os.environ.get("DEPLOYER_LOCAL_UP_TIMEOUT", "90"))
STOP_TIMEOUT = 10.0
STORES_FILE = "stores.json"  # each store's kind and key at the last `up` (deployer/resources/lifecycle.py)
_children: dict[int, subprocess.Popen] = {}  # daemons started by this process (reaped on stop)


is_locked = local_state.locked  # True while a local cloud process holds this stage's lock


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_deployer/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def running(state: Path) -> dict | None:
    """cloud.json of the running local cloud of this stage, or None."""
    if not is_locked(state):
        return None
    info = read_info(state)
    return info if info and healthy(info["url"]) else None


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(logs.tail(path, lines)[0])


class LocalEngine:
    """Engine protocol for the local cloud (no Pulumi, no confirmation: nothing leaves this machine)."""

    confirm = False

    def __init__(self, bp, options: EngineOptions | None = None, state: Path | None = None):
        self.bp, self.options = bp, options or EngineOptions()
        self.state = state if state is not None else local_state.state_dir(bp)

    @classmethod
    def detached(cls, file: Path | str | None, stage: str, options: EngineOptions | None = None) -> "LocalEngine":
        """An engine that can only `destroy`, for a blueprint that does not load (a YAML error, a missing
        secret): the state folder is found by the blueprint's path (state.find_by_file)."""
        found = local_state.find_by_file(Path(file or "deployer.yaml"), stage)
        if found is None:
            raise LookupError(f"no local cloud state of stage {stage!r} for {file or 'deployer.yaml'}")
        return cls(None, options, state=found)

    @property
    def app(self) -> str:
        if self.bp is not None:
            return self.bp.name
        return (local_state.read_json(self.state / "blueprint.json") or {}).get("app") or self.state.parent.name

    def is_running(self) -> bool:
        """True while a local cloud process holds this stage's lock (healthy or not)."""
        return is_locked(self.state)

    def _emit(self, on_event, message: str, severity: str = "info") -> None:
        if on_event:
            on_event({"kind": "log", "severity": severity, "message": message, "name": None})

    def _changed(self, info: dict) -> bool:
        mark = info.get("fingerprint") or {}
        return mark.get("digest") != local_state.fingerprint(self.bp, mark.get("salt", ""))

    def preview(self, on_event: Callable[[dict], None] | None = None) -> Result:
        self._check_stores(replace=False)
        info = running(self.state)
        n = len(self.bp.functions)
        if info and self._changed(info) and not info.get("dev"):
            note = self._existing_note()
            return Result("preview", changes={"update": n}, message=f"the local cloud at {info['url']} would restart "
                                                                    "with the changed blueprint or code"
                                                                    + (f"; {note}" if note else ""))
        changes = {"same": n} if info else {"create": n}
        note = self._existing_note()
        return Result("preview", changes=changes,
                      message=(f"running at {info['url']}" if info else "the local cloud would start")
                      + (f"; {note}" if note else ""))

    def up(self, on_event: Callable[[dict], None] | None = None) -> Result:
        start = time.monotonic()
        self._check_stores(replace=True)
        info = running(self.state)
        n = len(self.bp.functions)
        if info and (info.get("dev") or not self._changed(info)):
            note = ("`deployer dev` runs it and reloads changes by itself" if info.get("dev")
                    else "`deployer down` stops it")
            return Result("up", changes={"same": n},
                          outputs=make_outputs(self.bp, info["url"], self.state), duration=time.monotonic() - start,
                          message=f"the local cloud of this stage is already running at {info['url']} "
                                  f"(pid {info['pid']}); {note}")
        if info is None and is_locked(self.state):
            raise DeploymentError(f"the local cloud of this stage is starting or not answering (lock held in "
                                  f"{self.state})", hint="wait a moment, or `deployer down` to stop it")
        functions.specs(self.bp, self.state, log=lambda m: self._emit(on_event, m))  # deps + secrets, foreground
        if self._existing_note():
            self._emit(on_event, self._existing_note())
        port = None
        if info:  # changed: restart on the same port, so its URL keeps working
            why = "the blueprint or code changed" if info.get("fingerprint") else "started by an earlier deployer"
            self._emit(on_event, f"{why}: restarting the local cloud (pid {info['pid']})")
            self._stop(info["pid"])
            port = info.get("port")
        info = self._start(on_event, port)
        tmp = self.state / f"{STORES_FILE}.tmp"  # 0600: private() set the umask
        tmp.write_text(json.dumps(self.own_stores()))
        tmp.replace(self.state / STORES_FILE)
        changes, what = ({"update": n}, "restarted with the changes") if port else ({"create": n}, "running")
        return Result("up", changes=changes,
                      outputs=make_outputs(self.bp, info["url"], self.state), duration=time.monotonic() - start,
                      message=f"local cloud {what} at {info['url']} (pid {info['pid']}); logs: "
                              f"{self.state / 'cloud.log'}; stop it with `deployer down`")

    def _check_stores(self, replace: bool) -> None:
        """As on every cloud: a change that replaces a store's data (a table's key, a store's kind) since
        the last `up` is refused (exit 2) unless `--replace-data STORE`, which deletes that store's data.
        A store that already exists is not the app's data: never compared, never replaced (and
        `--replace-data` naming one is refused); stores.json records the app's own stores only."""
        allowed = tuple(self.options.extra.get("replace_data", ()))
        shared = existing.names(self.bp)
        refused = [existing.refusal(self.bp, name, shared[name]) for name in allowed if name in shared]
        if refused:
            raise BlueprintError(refused)
        previous = local_state.read_json(self.state / STORES_FILE)
        problems = lifecycle.replacements(previous, self.bp, allowed, cloud="local")  # skips existing stores
        if problems:
            raise BlueprintError(problems)
        if replace and previous:
            for name in allowed:
                if previous.get(name) != lifecycle.fingerprints(self.bp).get(name):
                    self._drop_data(name, (previous.get(name) or {}).get("kind"))

    def own_stores(self) -> dict[str, dict[str, str]]:
        """The fingerprints (kind, key) of the stores this app's state folder holds (not existing ones)."""
        shared = existing.names(self.bp)
        return {name: entry for name, entry in lifecycle.fingerprints(self.bp).items() if name not in shared}

    def _drop_data(self, store: str, kind: str | None) -> None:
        """Delete one store's local data (files of a bucket, rows of a table, messages of a queue)."""
        import sqlite3

        shutil.rmtree(self.state / "buckets" / store, ignore_errors=True)
        for db, statements in (("tables.db", ["DELETE FROM items WHERE tbl = ?"]),
                               ("queues.db", ["DELETE FROM messages WHERE queue = 'q:' || ?",
                                              "DELETE FROM dead_letters WHERE queue = 'q:' || ?"])):
            if (self.state / db).exists():
                with sqlite3.connect(self.state / db) as conn:
                    for sql in statements:
                        try:
                            conn.execute(sql, (store,))
                        except sqlite3.OperationalError:  # that kind of store was never used here
                            pass

    def _existing_note(self) -> str:
        """What `preview` and `up` say about the stores that already exist: referenced, not created."""
        shared = existing.names(self.bp)
        if not shared:
            return ""
        return (f"{len(shared)} existing store(s) referenced, not created: "
                + ", ".join(f"{name} -> {found}" for name, found in sorted(shared.items())) + f" (in {existing.home()})")

    def _start(self, on_event, port: int | None = None) -> dict:
        self.state = local_state.state_dir(self.bp)  # an old-layout folder moves once its old cloud stopped
        local_state.private(self.state, self.bp)  # the stores' data is the user's, like a cloud's storage
        (self.state / "cloud.json").unlink(missing_ok=True)
        port = self.options.port or self.bp.clouds.local.port or port
        cmd = [sys.executable, "-m", "providers.local.server", "--file", str(Path(self.bp.source).resolve()),
               "--stage", self.bp.stage, *(["--port", str(port)] if port else [])]
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        logs.rotate(self.state / "cloud.log")
        with open(self.state / "cloud.log", "ab") as log:
            proc = subprocess.Popen(cmd, cwd=str(self.bp.root), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log, start_new_session=True)
        _children[proc.pid] = proc
        self._emit(on_event, f"starting the local cloud (pid {proc.pid})")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DeploymentError(f"the local cloud exited while starting (code {proc.returncode}):\n"
                                      f"{tail(self.state / 'cloud.log')}",
                                      hint=f"full log: {self.state / 'cloud.log'}")
            info = read_info(self.state)
            if info and info.get("pid") == proc.pid and healthy(info["url"]):
                return info
            time.sleep(0.05)
        self._stop(proc.pid)
        raise DeploymentError(f"the local cloud did not become healthy within {START_TIMEOUT:g}s",
                              hint=f"see {self.state / 'cloud.log'}")

    def destroy(self, delete_data: bool = False, on_event: Callable[[dict], None] | None = None) -> Result:
        start = time.monotonic()
        info = read_info(self.state)
        stopped = False
        if is_locked(self.state):
            if not info:
                raise DeploymentError(f"a local cloud holds {self.state / 'cloud.lock'} but published no pid",
                                      hint="it may still be starting; try again in a moment")
            self._emit(on_event, f"stopping the local cloud (pid {info['pid']})")
            self._stop(info["pid"])
            stopped = True
        shared = existing.names(self.bp) if self.bp is not None else {}
        kept = [] if delete_data or self.bp is None else sorted(set(self.bp.stores) - set(shared))
        if delete_data:
            self._delete_data()
        message = "the local cloud was stopped" if stopped else "the local cloud of this stage was not running"
        message += "; its data was deleted" if delete_data else ""
        if shared:
            message += "; existing stores left as they are: " + ", ".join(
                f"{name} ({found})" for name, found in sorted(shared.items()))
        n = len(self.bp.functions) if self.bp is not None else 1
        return Result("destroy", changes={"delete": n} if stopped else {},
                      duration=time.monotonic() - start, kept=kept,
                      message=message)

    def _delete_data(self) -> None:
        """`--delete-data`: the stage's folder, and in the folder of existing stores only what deployer made
        for this stage (its subscriptions, bucket triggers and their pending deliveries), never a store."""
        record = local_state.read_json(self.state / "blueprint.json") or {}
        if self.bp is not None:
            existing.forget(existing.owner_of(self.bp))
        elif record.get("file") and record.get("app") and record.get("stage"):
            existing.forget(existing.owner(record["app"], record["stage"], Path(record["file"]).parent))
        if self.state.exists():
            remove_tree(self.state)
            if self.state.parent.name != "local" and not any(self.state.parent.iterdir()):
                self.state.parent.rmdir()  # the app's folder, when this was its last stage

    def _stop(self, pid: int) -> None:
        """SIGTERM, wait for the lock to be released, then SIGKILL the process group."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and is_locked(self.state):
            self._reap(pid)
            time.sleep(0.05)
        if is_locked(self.state):
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.2)
        self._reap(pid)
        (self.state / "cloud.json").unlink(missing_ok=True)

    @staticmethod
    def _reap(pid: int) -> None:
        proc = _children.get(pid)
        if proc is not None and proc.poll() is not None:
            _children.pop(pid, None)

    def outputs(self) -> dict[str, Any]:
        info = running(self.state)
        if not info:
            raise DeploymentError("the local cloud of this stage is not running",
                                  hint="start it with `deployer up --cloud local`")
        return make_outputs(self.bp, info["url"], self.state)


def remove_tree(folder: Path) -> None:
    """Delete a stage's folder. A process of the stopped cloud may still be closing its SQLite files, and
    SQLite deletes `-wal`/`-shm` files on the last close: a file that vanished meanwhile is gone, as
    wanted, not an error (every other error is)."""
    def vanished(_func, _path, exc_info) -> None:
        if not issubclass(exc_info[0], FileNotFoundError):
            raise exc_info[1]

    shutil.rmtree(folder, onerror=vanished)
