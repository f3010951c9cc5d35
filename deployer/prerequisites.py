"""What a command needs from this machine, checked before it starts, reported all at once (exit 3).

`pip install deployer` is the core (validate, plan, graph, eject, the local cloud); deploying to a cloud
needs that cloud's SDKs, which the cloud's extra installs (`pip install 'deployer[aws]'`). The core does
not know which SDK a cloud needs: each provider declares it on its class,

    class AwsProvider(Provider):
        requirements = ("pulumi", "pulumi-aws")   # distributions, checked with importlib.metadata
        extra = "aws"                             # the extra of deployer that installs them

so a third-party provider declares its own (and its own extra, or none: then the hint names the
distributions). A user who lacks several things (the SDK and the pulumi CLI) learns about all of them
in one message, not one per try. The check reads installed metadata only: it imports nothing heavy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from deployer.errors import PrerequisiteError

if TYPE_CHECKING:
    from deployer.providers import Provider

DIST = "deployer"
CLI_INSTALL = ("curl -fsSL https://get.pulumi.com | sh, then add ~/.pulumi/bin to PATH "
               "(other systems: https://www.pulumi.com/docs/install/)")


@dataclass(frozen=True)
class Missing:
    """One missing prerequisite: what it is and the command (or steps) that installs it."""

    what: str
    install: str


def requirements(provider: "Provider") -> tuple[str, ...]:
    """The Python distributions the provider declares (none for the local cloud)."""
    return tuple(provider.requirements)


def installed(dist: str) -> bool:
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


_FIND = object()


def pip_line(extra: str | None, dists: Iterable[str], local: "tuple[bool, str] | None | object" = _FIND) -> str:
    """The exact pip command that installs what is missing: deployer's extra, from where deployer was
    installed (PyPI, or the local folder of an editable install: `local` = (editable, folder), found
    from deployer's metadata unless given), else the distributions themselves."""
    if not extra:
        return "pip install " + " ".join(sorted(dists))
    source = _local_source() if local is _FIND else local
    if isinstance(source, tuple):
        editable, folder = source
        return f"pip install {'-e ' if editable else ''}'{folder}[{extra}]'"
    return f"pip install '{DIST}[{extra}]'"


def _local_source() -> tuple[bool, str] | None:
    """(editable, folder) when deployer was installed from a local folder (PEP 610 direct_url.json)."""
    # every copy of the metadata: a source checkout's deployer.egg-info (on sys.path from the current
    # folder) has no direct_url.json, the installed one does
    texts = [d.read_text("direct_url.json") for d in metadata.distributions(name=DIST)]
    text = next((t for t in texts if t), None)
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    url = str(info.get("url", ""))
    if not url.startswith("file://"):
        return None
    return bool(info.get("dir_info", {}).get("editable")), str(Path(url.removeprefix("file://")))


def missing(provider: "Provider", *, cli: bool | None = None) -> list[Missing]:
    """Everything the provider's deployments need that this machine lacks. `cli`: whether the pulumi
    CLI is needed (default: when the provider deploys through Pulumi)."""
    found: list[Missing] = []
    absent = [d for d in requirements(provider) if not installed(d)]
    if absent:
        extra = getattr(provider, "extra", None)
        found.append(Missing(f"the Python package{'s' if len(absent) > 1 else ''} {', '.join(absent)}",
                             pip_line(extra, absent)))
    needs_cli = getattr(provider, "pulumi", False) if cli is None else cli
    if needs_cli:
        from deployer import engine

        if engine.find_cli() is None:
            found.append(Missing("the pulumi CLI", CLI_INSTALL))
    return found


def error(provider: "Provider", items: list[Missing]) -> PrerequisiteError:
    lines = [f"the {provider.name} cloud needs {_count(items)} this machine does not have:"]
    lines += [f"  - {m.what}: {m.install}" for m in items]
    hint = ("install " + ("both" if len(items) == 2 else "them") if len(items) > 1 else "install it")
    return PrerequisiteError("\n".join(lines), hint=hint + ", then run the command again "
                                                        "(`deployer doctor` checks this machine)")


def _count(items: list[Missing]) -> str:
    return "1 prerequisite" if len(items) == 1 else f"{len(items)} prerequisites"


def require(provider: "Provider", *, cli: bool | None = None) -> None:
    """Raise one PrerequisiteError (exit 3) naming every missing prerequisite, or return."""
    items = missing(provider, cli=cli)
    if items:
        raise error(provider, items)


def from_import_error(exc: ModuleNotFoundError, argv: list[str] = ()) -> PrerequisiteError | None:
    """A missing SDK module met while a command ran (a safety net behind `require`): the error naming
    the extra of the provider that declares it (the `--cloud` of argv first), or None."""
    from deployer import providers

    top = (exc.name or "").split(".")[0]
    if not top:
        return None
    names = sorted(providers.available(), key=lambda n: n != _cloud_arg(list(argv)))
    for name in names:
        try:
            provider = providers.get(name)
        except Exception:  # noqa: BLE001 - a broken third-party provider must not hide the real error
            continue
        dists = requirements(provider)
        if top in {d.replace("-", "_").lower() for d in dists}:
            absent = [d for d in dists if not installed(d)] or [top]
            what = f"the Python package{'s' if len(absent) > 1 else ''} {', '.join(absent)}"
            return error(provider, [Missing(what, pip_line(getattr(provider, "extra", None), absent))])
    return None


def _cloud_arg(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("--cloud", "-c") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--cloud="):
            return arg.split("=", 1)[1]
    return None
