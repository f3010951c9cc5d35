"""What the local cloud knows about each function: code folder, handler, environment, deps, log file.

A function sees the same environment contract as on a cloud (docs/contracts.md): its own `env`, the
`DEPLOYER_*` store variables for every store it reaches, its granted secrets, and `DEPLOYER_CLOUD=local`
with `DEPLOYER_LOCAL_STATE` pointing at the stage's state folder and `DEPLOYER_LOCAL_EXISTING` at the
machine's folder of stores that already exist (providers/local/existing.py). It does not inherit the local cloud's
environment (only what Python itself needs: PATH, HOME, locale), so a function that works here does not
depend on a variable that only exists on the developer's machine.

A function's dependencies (requirements.txt, pyproject.toml or uv.lock, read as for a cloud package by
deployer.depfiles, for this machine) are installed once per distinct content (hash) into a shared cache
folder with `pip install --target`, and put on the worker's sys.path.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import BlueprintError, DeploymentError
from deployer.naming import store_env
from providers.local import existing

#: Warm workers per function at most (unless `max_instances` says less): enough to overlap I/O-bound
#: handlers, few enough that CPU-bound ones do not thrash a small machine.
DEFAULT_WORKERS = int(os.environ.get("DEPLOYER_LOCAL_WORKERS") or max(2, min(4, os.cpu_count() or 2)))
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "VIRTUAL_ENV", "PYTHONPATH", "SYSTEMROOT")


@dataclass
class FunctionSpec:
    name: str
    code: Path
    handler: str
    timeout: float
    env: dict[str, str]
    log: Path
    deps: str = ""
    max_workers: int = 4
    memory: int = 0  # MB; 0 = not limited
    triggers: list = field(default_factory=list)


def state_dir(bp) -> Path:
    """`.deployer/local/<app>/<stage>/` (providers/local/state.py)."""
    from providers.local.state import state_dir as resolve

    return resolve(bp)


def cache_dir() -> Path:
    base = os.environ.get("DEPLOYER_LOCAL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "deployer", "local")
    return Path(base)


def function_env(bp, name: str, state: Path, environ=os.environ) -> dict[str, str]:
    fn = bp.functions[name]
    env = {k: environ[k] for k in PASS_THROUGH if k in environ}
    env.update(fn.env)
    # locally a store's locator is its logical name, or `existing:<name>` for a store that already exists
    env.update(store_env(bp, name, lambda store: existing.locator(bp, store)))
    from deployer import secrets

    missing = [d for d in secrets.check(bp, env=environ) if d.location.path.split(".")[-1] in fn.secrets]
    if missing:  # the same diagnostic as a cloud deployment, at the secret's declaration (exit 2)
        raise BlueprintError(missing)
    env.update({s: environ[s] for s in fn.secrets})
    env.update(DEPLOYER_CLOUD="local", DEPLOYER_APP=bp.stage_name(), DEPLOYER_FUNCTION=name,
               DEPLOYER_LOCAL_STATE=str(state), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env[existing.ENV] = str(existing.home(environ))
    return env


def install_requirements(code: Path, log=print) -> str:
    """Install the function's dependencies once per content hash; return the folder to put on sys.path."""
    from deployer import depfiles

    deps = depfiles.read(code, depfiles.host_environment())
    if not deps:
        return ""
    text = deps.text() + deps.constraints_text() + ("locked\n" if deps.locked else "")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    target = cache_dir() / "deps" / f"py{sys.version_info[0]}{sys.version_info[1]}-{digest}"
    if (target / ".complete").exists():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return str(target)
        source = deps.sources[0]
        log(f"installing {source} into {target} (once)")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / ".requirements.txt").write_text(deps.text())
        (tmp / ".constraints.txt").write_text(deps.constraints_text())
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "--target", str(tmp), "-r", str(tmp / ".requirements.txt"),
                               "-c", str(tmp / ".constraints.txt"), *(["--no-deps"] if deps.locked else [])],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise DeploymentError(f"pip could not install {source}:\n{proc.stderr.strip()[-2000:]}",
                                  hint="check the requirement names and your network access to PyPI")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        (target / ".complete").write_text(digest)
    return str(target)


def specs(bp, state: Path, environ=os.environ, log=print, only: str | None = None) -> dict[str, FunctionSpec]:
    """One FunctionSpec per function (or just `only`); installs requirements on first use."""
    out = {}
    installed: dict[Path, str] = {}
    for name, fn in bp.functions.items():
        if only is not None and name != only:
            continue
        code = bp.code_dir(name)  # resolved
        if code not in installed:
            installed[code] = install_requirements(code, log)
        out[name] = FunctionSpec(
            name=name, code=code, handler=fn.handler, timeout=float(fn.timeout),
            env=function_env(bp, name, state, environ), log=state / "logs" / f"{name}.log",
            deps=installed[code], max_workers=min(fn.max_instances or DEFAULT_WORKERS, 8), triggers=list(fn.triggers),
            memory=fn.memory)
    return out
