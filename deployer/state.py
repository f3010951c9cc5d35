"""Where a stack's state, its secrets passphrase and its last outputs live.

By default everything sits next to the blueprint under `.deployer/` so a first `deployer up` needs no
account: a `file://` Pulumi backend in `.deployer/state/<cloud>` (one folder per cloud, because a stack
is named after the stage only and the same stage on two clouds must never share a state), a generated
secrets passphrase in `.deployer/passphrase` (mode 0600) and the outputs of the last `up` in
`.deployer/outputs/<app>/<cloud>-<stage>.json`. CI pipelines use a remote backend (`--backend` or
`DEPLOYER_BACKEND`: s3://, gs://, azblob://, https://api.pulumi.com) and give the passphrase through
`PULUMI_CONFIG_PASSPHRASE` or `PULUMI_CONFIG_PASSPHRASE_FILE`. The passphrase itself is never read into
a message: the engine passes Pulumi the file's path, not its content.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from deployer.errors import UsageError

REMOTE_SCHEMES = ("s3://", "gs://", "azblob://", "https://", "http://")
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def deployer_dir(root: Path) -> Path:
    """The `.deployer` folder beside a blueprint."""
    return Path(root) / ".deployer"


@dataclass(frozen=True)
class Backend:
    url: str
    local_path: Path | None = None  # set for file:// backends

    @property
    def local(self) -> bool:
        return self.local_path is not None


def backend(root: Path, cloud: str, explicit: str | None = None, env: Mapping[str, str] | None = None,
            *, create: bool = True) -> Backend:
    """The backend for a blueprint folder: explicit > $DEPLOYER_BACKEND > `.deployer/state/<cloud>`."""
    env = os.environ if env is None else env
    url = explicit or env.get("DEPLOYER_BACKEND") or ""
    if not url:
        path = deployer_dir(root) / "state" / cloud
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return Backend(path.resolve().as_uri(), path)
    if url.startswith("file://"):
        path = Path(url[len("file://"):].split("?", 1)[0]).expanduser()
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return Backend(url, path)
    if url.startswith(REMOTE_SCHEMES):
        return Backend(url)
    raise UsageError(f"unsupported backend {url!r}",
                     hint="use file://PATH, s3://BUCKET, gs://BUCKET, azblob://CONTAINER or https://api.pulumi.com")


def ci_warning(be: Backend, env: Mapping[str, str] | None = None) -> str | None:
    """A warning when a CI job keeps its state on the runner's disk (lost with the runner)."""
    env = os.environ if env is None else env
    if be.local and env.get("CI"):
        return (f"CI is set but the state is kept on this machine ({be.local_path}); it is lost with the "
                "runner. Use --backend or DEPLOYER_BACKEND (s3://, gs://, azblob://, https://api.pulumi.com)")
    return None


def writable(be: Backend) -> bool | None:
    """Whether a local backend can be written (None: remote, not checked without credentials)."""
    if not be.local:
        return None
    path = be.local_path
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


@dataclass(frozen=True)
class Passphrase:
    source: str                 # "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE" or a path
    env: dict[str, str]         # variables to hand to Pulumi (never printed)


def passphrase(root: Path, env: Mapping[str, str] | None = None, *, create: bool = True) -> Passphrase:
    """The passphrase of the secrets provider: from the environment, else `.deployer/passphrase`."""
    env = os.environ if env is None else env
    if env.get("PULUMI_CONFIG_PASSPHRASE") is not None:
        return Passphrase("PULUMI_CONFIG_PASSPHRASE", {})  # inherited by the pulumi process as is
    if env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return Passphrase("PULUMI_CONFIG_PASSPHRASE_FILE", {})
    path = deployer_dir(root) / "passphrase"
    if create:
        ensure_passphrase_file(path)
    return Passphrase(str(path), {"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)})


def ensure_passphrase_file(path: Path) -> None:
    """Create the passphrase file once, atomically, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")


def outputs_path(root: Path, cloud: str, stage: str, app: str | None = None) -> Path:
    """`.deployer/outputs/<app>/<cloud>-<stage>.json`: per app, since two blueprints may share a folder."""
    folder = deployer_dir(root) / "outputs"
    return (folder / app if app else folder) / f"{cloud}-{stage}.json"


def write_outputs(root: Path, cloud: str, stage: str, outputs: dict[str, Any], app: str | None = None) -> Path:
    """Write the outputs file atomically (a temporary file in the same folder, then rename)."""
    path = outputs_path(root, cloud, stage, app)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(outputs, fh, indent=2, sort_keys=True, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_outputs(root: Path, cloud: str, stage: str, app: str | None = None) -> dict[str, Any] | None:
    """The last `up`'s outputs; for an app without its own file yet, the file of the layout before outputs
    were per app (`.deployer/outputs/<cloud>-<stage>.json`), which the next `up` replaces."""
    for path in dict.fromkeys([outputs_path(root, cloud, stage, app), outputs_path(root, cloud, stage)]):
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return None
    return None


def remove_outputs(root: Path, cloud: str, stage: str, app: str | None = None) -> None:
    outputs_path(root, cloud, stage, app).unlink(missing_ok=True)
