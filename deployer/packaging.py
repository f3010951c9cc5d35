"""Function packages: one deterministic zip per function, its content hash, and vendored dependencies.

Every cloud deploys a zip, and every cloud redeploys when the zip changes. So the zip must depend on
the *content* only: entries are sorted, timestamps fixed at 1980-01-01, modes normalised to 0644/0755,
and files that are not code (VCS folders, bytecode, virtualenvs, `.env*`, build output) are left out.
Two checkouts of the same code give byte-identical zips, and `plan`/`up` stay "no changes" after a
fresh clone.

Dependencies come from the function's requirements.txt, pyproject.toml or uv.lock (deployer/depfiles.py
reads and reconciles them) and are vendored with uv or pip (deployer/installers.py) for the cloud's
platform and Python (every manylinux tag the runtime's glibc takes, binary wheels only), never for
this machine. They are cached by the hash of (canonical requirements, platform, python version) under
`~/.cache/deployer/deps` (`DEPLOYER_CACHE` overrides), so a second package of unchanged requirements
costs a directory walk; uv and pip fill the cache with the same files. Zips are written
under `<blueprint>/.deployer/build/<stage>/<cloud>/<function>-<sha12>.zip`, named by their content
digest: an unchanged function is neither recompressed nor rewritten, and within one process it is not
even re-read (the in-process cache is keyed by the code tree's names, sizes and mtimes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from deployer import bundle, depfiles, installers
from deployer.blueprint.model import Blueprint
from deployer.errors import EXIT_FAILURE, EXIT_USAGE, DeployerError, Location
from deployer.providers import Artifact

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".deployer",
                           "node_modules", ".pytest_cache", ".mypy_cache", ".tox"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
REQUIREMENTS = "requirements.txt"
CONSTRAINTS = "deployer-constraints.txt"
#: Bumped when the content of a vendored folder changes for the same requirements (v2: no installer metadata).
CACHE_FORMAT = "v2"


@dataclass(frozen=True)
class Target:
    """Where the package runs: the newest manylinux tag its Linux takes, e.g. `manylinux_2_34_aarch64`
    (installers.tags lists the older ones it takes too; None: no vendoring), Python version, deps folder."""

    platform: str | None
    python_version: str
    deps_dir: str = ""


class PackagingError(DeployerError):
    """A package could not be built: a requirement without a wheel (exit 2) or pip failing (exit 1)."""

    def __init__(self, message: str, *, hint: str | None = None, location: Location | None = None,
                 exit_code: int = EXIT_FAILURE):
        super().__init__(message, hint=hint, location=location)
        self.exit_code = exit_code


# An entry is (archive name, mode, source): source is a file path or the bytes themselves.
Entry = tuple[str, int, "Path | bytes"]

_ARTIFACTS: dict[tuple, Artifact] = {}
_DEPS: dict[tuple, list[Entry]] = {}


def cache_root() -> Path:
    return Path(os.environ.get("DEPLOYER_CACHE") or Path.home() / ".cache" / "deployer")


def excluded(name: str, is_dir: bool, path: Path | None = None) -> bool:
    """Whether a file or folder is left out of packages (see the module docstring)."""
    if name.startswith(".env"):
        return True
    if is_dir:
        return name in EXCLUDED_DIRS or (path is not None and (path / "pyvenv.cfg").is_file())
    return name.endswith(EXCLUDED_SUFFIXES) or name == ".DS_Store"


def _mode(path: Path) -> int:
    return 0o755 if os.stat(path).st_mode & 0o111 else 0o644


def tree(root: Path) -> list[tuple[str, Path]]:
    """(relative posix name, path) of every packaged file under root, sorted, exclusions applied."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not excluded(d, True, base / d))
        for name in files:
            if not excluded(name, False) and (base / name).is_file():
                found.append(((base / name).relative_to(root).as_posix(), base / name))
    return sorted(found)


def package(bp: Blueprint, function: str, *, cloud: str, target: Target,
            extra_files: Mapping[str, bytes] = {}, extra_requirements: Iterable[str] = ()) -> Artifact:
    """Build (or reuse) the deterministic zip of one function for one cloud. See the module docstring."""
    code_dir = bp.code_dir(function)
    if not code_dir.is_dir():
        raise PackagingError(f"function {function!r}: code folder {code_dir} does not exist", exit_code=EXIT_USAGE)
    files = tree(code_dir)
    deps = depfiles.read(code_dir, depfiles.environment(target.platform, target.python_version), extra_requirements)
    runtime = bundle.runtime_files(bp, function, cloud)
    key = (str(code_dir), function, cloud, bp.stage, target, deps,
           tuple((n, p.stat().st_size, p.stat().st_mtime_ns, _mode(p)) for n, p in files),
           _digest_bytes({**runtime, **dict(extra_files)}))
    cached = _ARTIFACTS.get(key)
    if cached is not None and cached.path.is_file():
        return cached
    entries = _entries(files, runtime, extra_files, deps)
    if target.platform and deps:
        entries = _merge_deps(entries, vendor(deps, target), target)
    digest, unzipped = content_digest(entries)
    out_dir = bp.root / ".deployer" / "build" / bp.stage / cloud
    path = out_dir / f"{function}-{digest[:12]}.zip"
    if not path.is_file():
        write_zip(path, entries)
    artifact = Artifact(function, path, zip_sha256(path), path.stat().st_size, unzipped,
                        meta={"content": digest, "files": len(entries), "cloud": cloud,
                              "platform": target.platform, "python": target.python_version})
    _ARTIFACTS[key] = artifact
    return artifact


def _entries(files: list[tuple[str, Path]], runtime: Mapping[str, bytes], extra: Mapping[str, bytes],
             deps: depfiles.Dependencies) -> list[Entry]:
    """User code, then the runtime and shim, then extra files, then the flattened requirements.txt (what
    was vendored, or what a cloud that builds remotely installs); later ones win."""
    merged: dict[str, Entry] = {name: (name, _mode(path), path) for name, path in files}
    for name, data in list(runtime.items()) + list(extra.items()):
        merged[name] = (name, 0o644, bytes(data))
    text = deps.text()
    if deps.constraints:
        merged[CONSTRAINTS] = (CONSTRAINTS, 0o644, deps.constraints_text().encode())
        text += f"-c {CONSTRAINTS}\n"
    if deps:
        merged[REQUIREMENTS] = (REQUIREMENTS, 0o644, text.encode())
    return [merged[name] for name in sorted(merged)]


def _merge_deps(entries: list[Entry], deps: list[Entry], target: Target) -> list[Entry]:
    """Add vendored files under target.deps_dir; the function's own files win on a clash."""
    prefix = target.deps_dir.strip("/")
    merged = {e[0]: e for e in entries}
    for name, mode, source in deps:
        arcname = f"{prefix}/{name}" if prefix else name
        merged.setdefault(arcname, (arcname, mode, source))
    return [merged[name] for name in sorted(merged)]


def _read(source: Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def _digest_bytes(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


#: (path, size, mtime) -> (sha256 digest, size) of files already hashed in this process: the vendored
#: dependencies of every function that shares them (Azure's and GCP's client SDKs) are read once, not once
#: per function; a file that changes gets a new key.
_FILE_DIGESTS: dict[tuple[str, int, int], tuple[bytes, int]] = {}


#: path -> digest of files in the dependency cache: a completed cache folder never changes, so its files
#: are not even stat'ed again (a function with a cloud SDK vendored has thousands of them).
_CACHED_DIGESTS: dict[str, tuple[bytes, int]] = {}


def _entry_digest(source: Path | bytes) -> tuple[bytes, int]:
    if isinstance(source, bytes):
        return hashlib.sha256(source).digest(), len(source)
    cached = _CACHED_DIGESTS.get(str(source))
    if cached is not None:
        return cached
    st = source.stat()
    key = (str(source), st.st_size, st.st_mtime_ns)
    found = _FILE_DIGESTS.get(key)
    if found is None:
        data = source.read_bytes()
        found = _FILE_DIGESTS[key] = (hashlib.sha256(data).digest(), len(data))
    return found


def content_digest(entries: list[Entry]) -> tuple[str, int]:
    """sha256 over (name, mode, content hash) of every entry, and the total unzipped size."""
    h = hashlib.sha256()
    size = 0
    for name, mode, source in entries:
        digest, length = _entry_digest(source)
        size += length
        h.update(f"{name}\0{mode:o}\0".encode() + digest)
    return h.hexdigest(), size


def write_zip(path: Path, entries: list[Entry]) -> None:
    """Write entries as a deterministic zip, atomically (parallel builds may race for one path)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, mode, source in entries:
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.create_system = 3  # unix, so external_attr carries the mode
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, _read(source), compresslevel=6)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def zip_sha256(path: Path) -> str:
    """The zip's sha256, remembered beside it (`<zip>.sha256` with its size and mtime): a warm plan of
    100 Azure functions spent a third of its time re-reading zips that had not changed."""
    side = path.with_name(path.name + ".sha256")
    st = path.stat()
    try:
        digest, size, mtime = side.read_text().split()
        if (int(size), int(mtime)) == (st.st_size, st.st_mtime_ns) and len(digest) == 64:
            return digest
    except (OSError, ValueError):
        pass
    digest = _file_sha256(path)
    tmp = side.with_name(f"{side.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{digest} {st.st_size} {st.st_mtime_ns}\n")
    os.replace(tmp, side)
    return digest


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ vendoring


def deps_key(requirements: "str | depfiles.Dependencies", target: Target) -> str:
    """The cache folder's name: a hash of the canonical requirements (with constraints and whether they
    are a lock's pins), the target's platform and Python version, and the cache format."""
    if isinstance(requirements, depfiles.Dependencies):
        deps = requirements
        requirements = deps.text() + (f"\0c:{deps.constraints_text()}" if deps.constraints else "") + \
            ("\0locked" if deps.locked else "")
    text = f"{CACHE_FORMAT}\0{requirements}\0{target.platform}\0{target.python_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def vendor(deps: depfiles.Dependencies, target: Target) -> list[Entry]:
    """Entries of the dependencies installed for the target platform, from the cache or an installer."""
    key = deps_key(deps, target)
    if key in _DEPS:
        return _DEPS[key]
    folder = cache_root() / "deps" / key
    if not (folder / ".complete").is_file():
        _install(deps, target, folder)
    entries = [(name, _mode(path), path) for name, path in tree(folder) if name != ".complete"]
    for _, _, path in entries:
        _CACHED_DIGESTS[str(path)] = _entry_digest(path)
    _DEPS[key] = entries
    return entries


def _install(deps: depfiles.Dependencies, target: Target, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        (work / REQUIREMENTS).write_text(deps.text(), encoding="utf-8")
        constraints = work / CONSTRAINTS if deps.constraints else None
        if constraints is not None:
            constraints.write_text(deps.constraints_text(), encoding="utf-8")
        site = work / "site"
        tool, uv = installers.choose()
        command = installers.command(tool, uv, site=site, requirements=work / REQUIREMENTS,
                                     constraints=constraints, platform=str(target.platform),
                                     python_version=target.python_version, no_deps=deps.locked)
        done = installers.run(command, tool, work)
        if done.returncode != 0:
            raise _install_error(tool, done.stderr or done.stdout, target, deps.sources)
        installers.strip_metadata(site)
        (site / ".complete").write_text(deps.text(), encoding="utf-8")
        try:
            os.replace(site, folder)
        except OSError:  # another process finished first: theirs is as good as ours
            if not (folder / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _install_error(tool: str, output: str, target: Target, sources: tuple[Path, ...]) -> PackagingError:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    detail = "\n".join(lines[-8:]) or f"{tool} failed without output"
    where = Location(file=sources[0]) if sources else None
    if installers.no_wheel(output):
        return PackagingError(
            f"a requirement has no wheel for {target.platform} / Python {target.python_version}:\n{detail}",
            hint="pin a version that publishes a binary wheel for this platform (see its files on PyPI), "
                 "or choose another architecture in the blueprint's cloud settings",
            location=where, exit_code=EXIT_USAGE)
    return PackagingError(f"{tool} could not vendor the requirements for {target.platform}:\n{detail}",
                          hint="check the network and the requirement names; run again with --debug",
                          location=where, exit_code=EXIT_FAILURE)


def clear_cache() -> None:
    """Forget the in-process caches (tests use it to measure a cold package)."""
    _ARTIFACTS.clear()
    _DEPS.clear()
