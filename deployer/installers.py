"""Installing a function's dependencies for the cloud's platform, with uv where it is installed, else pip.

Both are driven the same way: `--target` a fresh folder, binary wheels only, for the target's Python
version and for every wheel tag the target's Linux takes. A runtime's glibc decides those tags: Lambda's
python3.11 runs on Amazon Linux 2 (glibc 2.26), python3.12 and later on Amazon Linux 2023 (glibc 2.34),
so a `manylinux_2_28` wheel is fine for the latter and fatal (at import time, in the cloud) for the
former. A target is written as the newest tag it takes (`manylinux_2_34_aarch64`); `tags()` lists it and
every older one down to manylinux2014 (x86_64: down to manylinux1), newest first, which is pip's order
of preference; uv is given the same level as `--python-platform aarch64-manylinux_2_34` and builds the
same list itself.

What an installer leaves beside the code and differs between the two (INSTALLER says "pip" or "uv",
RECORD lists paths and the scripts' shebangs name this machine's interpreter) is removed: it means
nothing in a function package, and without it uv and pip give byte-identical zips.

One difference remains without a lock: pip evaluates the markers of *transitive* dependencies for this
machine (its platform_machine), uv for the target. The function's own requirements are evaluated for the
target by deployer.depfiles before either runs, and a uv.lock is installed with --no-deps, so the
difference shows only for an unlocked dependency of a dependency that differs by machine.

`DEPLOYER_INSTALLER=pip` (or `uv`) forces one; the default is uv when found (the `uv` package that
`deployer[aws]` installs, or `uv` on PATH), else pip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from deployer.errors import PrerequisiteError

#: glibc minor versions uv accepts in `--python-platform <arch>-manylinux_2_<N>`.
UV_LEVELS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
#: What installers write into .dist-info folders that a package does not need (and that differs by tool).
INSTALLER_METADATA = frozenset({"INSTALLER", "RECORD", "REQUESTED", "direct_url.json", "uv_cache.json"})


def parse(platform: str) -> tuple[int, str]:
    """(glibc minor, machine) of a manylinux tag: `manylinux_2_34_aarch64` -> (34, "aarch64");
    the legacy aliases too: `manylinux2014_x86_64` -> (17, "x86_64")."""
    found = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if found:
        return int(found[1]), found[2]
    for minor, alias in LEGACY.items():
        if platform.startswith(alias + "_"):
            return minor, platform.removeprefix(alias + "_")
    raise ValueError(f"not a manylinux platform tag: {platform!r}")


def level(minor: int) -> int:
    """The glibc level both installers use: the highest uv knows that the target meets (2.26 -> 2.17),
    so pip is offered exactly the tags uv considers and the two choose the same wheels."""
    return max((lv for lv in UV_LEVELS if lv <= minor), default=17)


def tags(platform: str) -> list[str]:
    """Every platform tag a target takes, newest first (see the module docstring)."""
    minor, machine = parse(platform)
    minor = level(minor)
    lowest = 5 if machine in ("x86_64", "i686") else 17
    out = []
    for glibc in range(minor, lowest - 1, -1):
        out.append(f"manylinux_2_{glibc}_{machine}")
        if glibc in LEGACY:
            out.append(f"{LEGACY[glibc]}_{machine}")
    return out


def uv_platform(platform: str) -> str:
    """uv's `--python-platform` for a target: the highest level uv knows that the target's glibc meets."""
    minor, machine = parse(platform)
    return f"{machine}-manylinux_2_{level(minor)}"


def find_uv() -> str | None:
    try:
        import uv  # the PyPI package ships the binary

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def choose() -> tuple[str, str | None]:
    """("uv", path) or ("pip", None), honouring DEPLOYER_INSTALLER."""
    wanted = os.environ.get("DEPLOYER_INSTALLER", "").strip().lower()
    if wanted not in ("", "uv", "pip"):
        raise PrerequisiteError(f"DEPLOYER_INSTALLER={wanted!r} is neither uv nor pip",
                                hint="unset it (uv when installed, else pip), or set it to uv or pip")
    if wanted == "pip":
        return "pip", None
    found = find_uv()
    if found:
        return "uv", found
    if wanted == "uv":
        raise PrerequisiteError("DEPLOYER_INSTALLER=uv but uv is not installed",
                                hint="pip install uv (or unset DEPLOYER_INSTALLER to use pip)")
    return "pip", None


def command(tool: str, uv: str | None, *, site: Path, requirements: Path, constraints: Path | None,
            platform: str, python_version: str, no_deps: bool) -> list[str]:
    """The install command line of `tool` for the target (both read the same requirements file)."""
    if tool == "uv":
        cmd = [str(uv), "pip", "install", "--quiet", "--target", str(site), "--python", sys.executable,
               "--python-platform", uv_platform(platform), "--python-version", python_version,
               "--only-binary", ":all:", "-r", str(requirements)]
    else:
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
               "--no-input", "--target", str(site), "--only-binary=:all:", "--python-version", python_version,
               "--implementation", "cp", "-r", str(requirements)]
        for tag in tags(platform):
            cmd += ["--platform", tag]
    if constraints is not None:
        cmd += ["-c", str(constraints)]
    if no_deps:
        cmd.append("--no-deps")
    return cmd


def run(cmd: list[str], tool: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if tool == "uv":
        env.setdefault("UV_NO_PROGRESS", "1")
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)


def no_wheel(output: str) -> bool:
    """Whether an installer's failure means: no wheel of a requirement fits the target (a user error)."""
    return any(s in output for s in ("No matching distribution", "Could not find a version", "No solution found",
                                     "not found in the package registry", "has no usable wheels",
                                     "no wheels with a matching", "was not found in the provided package"))


def strip_metadata(site: Path) -> None:
    """Remove what differs by installer and serves nothing in a package (see the module docstring)."""
    for info in site.glob("*.dist-info"):
        for name in INSTALLER_METADATA:
            (info / name).unlink(missing_ok=True)
    (site / ".lock").unlink(missing_ok=True)  # uv's lock of the target folder
    scripts = site / "bin"
    if scripts.is_dir() and not (scripts / "__init__.py").exists():
        shutil.rmtree(scripts)
