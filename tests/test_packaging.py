"""deployer.packaging: deterministic zips, exclusions, content hashes, vendoring and its caches.

The vendoring tests install a real wheel (MarkupSafe, ~20 kB, with compiled code) for
manylinux2014_aarch64 from PyPI into a cache under the pytest cache folder, so the second run of the
suite does not touch the network. They skip when PyPI is unreachable (a failure when CI is set).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import time
import zipfile
from pathlib import Path

import pytest

from deployer import packaging
from deployer.blueprint.load import load_blueprint
from deployer.errors import EXIT_USAGE
from deployer.packaging import PackagingError, Target

AARCH64 = Target("manylinux2014_aarch64", "3.12")
NO_DEPS = Target(None, "3.12")


def write_app(root: Path, requirements: str | None = None) -> Path:
    (root / "functions" / "fn").mkdir(parents=True)
    (root / "deployer.yaml").write_text(
        "name: pack\nfunctions:\n  fn: {code: functions/fn, handler: main.handle, triggers: [{http: GET /}]}\n")
    code = root / "functions" / "fn"
    (code / "main.py").write_text("def handle(request):\n    return 'ok'\n")
    (code / "lib").mkdir()
    (code / "lib" / "util.py").write_text("X = 1\n")
    (code / "run.sh").write_text("#!/bin/sh\n")
    (code / "run.sh").chmod(0o775)
    if requirements is not None:
        (code / "requirements.txt").write_text(requirements)
    return root / "deployer.yaml"


def build(blueprint: Path, target: Target = NO_DEPS, **kwargs):
    packaging.clear_cache()
    bp = load_blueprint(blueprint)
    return packaging.package(bp, "fn", cloud="aws", target=target, **kwargs)


def test_two_copies_with_different_mtimes_give_byte_identical_zips(tmp_path):
    first = write_app(tmp_path / "a")
    second = tmp_path / "b"
    shutil.copytree(tmp_path / "a", second)
    for path in (second / "functions").rglob("*"):
        os.utime(path, (time.time() - 86400 * 400, time.time() - 86400 * 400))
    one, two = build(first), build(second / "deployer.yaml")
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.sha256 == two.sha256 and one.path.name == two.path.name
    assert one.path.parent == tmp_path / "a" / ".deployer" / "build" / "dev" / "aws"


def test_entries_are_sorted_with_fixed_times_and_modes(tmp_path):
    art = build(write_app(tmp_path))
    with zipfile.ZipFile(art.path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
    assert modes["run.sh"] == 0o755 and modes["main.py"] == 0o644 and modes["lib/util.py"] == 0o644
    assert {"deployer/__init__.py", "deployer_function.json", "deployer_shim.py", "main.py"} <= set(names)
    assert art.size == art.path.stat().st_size and art.unzipped_size == sum(i.file_size for i in infos)


def test_excluded_files_and_folders(tmp_path):
    blueprint = write_app(tmp_path)
    code = tmp_path / "functions" / "fn"
    for rel in (".git/config", "__pycache__/main.cpython-312.pyc", "lib/old.pyc", ".env", ".env.local",
                ".venv/lib/x.py", "venv/bin/python", "node_modules/a/index.js", ".deployer/build/x.zip",
                "myenv/pyvenv.cfg", "myenv/lib/site.py"):
        (code / rel).parent.mkdir(parents=True, exist_ok=True)
        (code / rel).write_text("x")
    with zipfile.ZipFile(build(blueprint).path) as zf:
        user = [n for n in zf.namelist() if not n.startswith("deployer")]
    assert user == ["lib/util.py", "main.py", "run.sh"]


def test_content_change_changes_hash_and_name(tmp_path):
    blueprint = write_app(tmp_path)
    before = build(blueprint)
    (tmp_path / "functions" / "fn" / "main.py").write_text("def handle(request):\n    return 'changed'\n")
    after = build(blueprint)
    assert before.sha256 != after.sha256 and before.path != after.path


def test_unchanged_function_is_not_rebuilt(tmp_path):
    blueprint = write_app(tmp_path)
    bp = load_blueprint(blueprint)
    packaging.clear_cache()
    first = packaging.package(bp, "fn", cloud="aws", target=NO_DEPS)
    written = first.path.stat().st_mtime_ns
    assert packaging.package(bp, "fn", cloud="aws", target=NO_DEPS) is first  # in-process cache
    packaging.clear_cache()
    again = packaging.package(bp, "fn", cloud="aws", target=NO_DEPS)  # a new process: found on disk
    assert again.path.stat().st_mtime_ns == written and again.sha256 == first.sha256


def test_extra_files_and_requirements_are_added(tmp_path):
    blueprint = write_app(tmp_path, requirements="# none yet\n")
    art = build(blueprint, extra_files={"host.json": b"{}"}, extra_requirements=("azure-functions",))
    with zipfile.ZipFile(art.path) as zf:
        assert zf.read("host.json") == b"{}"
        assert zf.read("requirements.txt") == b"azure-functions\n"  # flattened: comments and includes resolved


def test_missing_code_folder_is_a_usage_error(tmp_path):
    blueprint = write_app(tmp_path)
    bp = load_blueprint(blueprint)
    shutil.rmtree(tmp_path / "functions" / "fn")
    with pytest.raises(PackagingError) as err:
        packaging.package(bp, "fn", cloud="aws", target=NO_DEPS)
    assert err.value.exit_code == EXIT_USAGE and "does not exist" in err.value.message


# ------------------------------------------------------------------------------------- vendoring

def _pypi() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.fixture
def deps_cache(request, monkeypatch) -> Path:
    cache = Path(str(request.config.cache.mkdir("deployer-deps")))
    monkeypatch.setenv("DEPLOYER_CACHE", str(cache))
    return cache


needs_pypi = pytest.mark.skipif(not _pypi(), reason="PyPI is not reachable")


@needs_pypi
def test_vendors_a_real_wheel_for_aarch64_and_caches_it(tmp_path, deps_cache, monkeypatch):
    blueprint = write_app(tmp_path, requirements="markupsafe==2.1.5\n")
    art = build(blueprint, target=AARCH64)
    with zipfile.ZipFile(art.path) as zf:
        names = zf.namelist()
    assert "markupsafe/__init__.py" in names and "main.py" in names
    assert any(n.startswith("markupsafe/_speedups.cpython-312-aarch64-linux-gnu") for n in names), names
    key = packaging.deps_key("markupsafe==2.1.5\n", AARCH64)
    assert (deps_cache / "deps" / key / ".complete").is_file()
    # a cold process with no package index to reach (an installer run would fail): served from the deps cache
    for name, value in {"PIP_NO_INDEX": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                        "NO_PROXY": "", "UV_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    assert build(blueprint, target=AARCH64).sha256 == art.sha256
    marker = deps_cache / "deps" / key / "markupsafe" / "from_the_cache.txt"  # a file only the cache has
    marker.write_text("marker")
    try:
        with zipfile.ZipFile(build(blueprint, target=AARCH64).path) as zf:
            assert zf.read("markupsafe/from_the_cache.txt") == b"marker"
    finally:
        marker.unlink()  # the cache is shared by later runs


@needs_pypi
def test_vendored_packages_go_under_deps_dir(tmp_path, deps_cache):
    blueprint = write_app(tmp_path, requirements="markupsafe==2.1.5\n")
    art = build(blueprint, target=Target("manylinux2014_aarch64", "3.12", ".python_packages/lib/site-packages"))
    with zipfile.ZipFile(art.path) as zf:
        assert ".python_packages/lib/site-packages/markupsafe/__init__.py" in zf.namelist()


@needs_pypi
def test_requirement_without_a_wheel_is_a_clear_error(tmp_path, deps_cache):
    blueprint = write_app(tmp_path, requirements="markupsafe==0.0.99\n")
    with pytest.raises(PackagingError) as err:
        build(blueprint, target=AARCH64)
    assert err.value.exit_code == EXIT_USAGE
    assert err.value.message.startswith("a requirement has no wheel for manylinux2014_aarch64 / Python 3.12:")
    assert "markupsafe==0.0.99" in err.value.message
    assert err.value.location.file == tmp_path / "functions" / "fn" / "requirements.txt"
    assert not list((deps_cache / "deps").glob(packaging.deps_key("markupsafe==0.0.99\n", AARCH64) + "*"))


# ------------------------------------------------------------------- wheel tags, uv and pip, dependency files

def fake_wheel(folder: Path, name: str, platform: str) -> Path:
    """A real (tiny) wheel that only the given platform tag takes, for a local --find-links index."""
    folder.mkdir(parents=True, exist_ok=True)
    module, dist = name.replace("-", "_"), f"{name.replace('-', '_')}-1.0"
    path = folder / f"{dist}-py3-none-{platform}.whl"
    files = {f"{module}/__init__.py": f"TAG = {platform!r}\n",
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             f"{dist}.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                                        f"Tag: py3-none-{platform}\n"}
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, text in files.items():
            zf.writestr(arcname, text)
    return path


def write_runtime_app(root: Path, runtime: str, requirements: str) -> Path:
    path = write_app(root, requirements)
    path.write_text(f"name: pack\nfunctions:\n  fn: {{code: functions/fn, handler: main.handle, runtime: {runtime}, "
                    "triggers: [{http: GET /}]}\n")
    return path


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_python312_lambda_takes_manylinux_2_28_wheels_and_python311_refuses_them(tmp_path, monkeypatch, installer):
    from deployer import providers

    monkeypatch.setenv("DEPLOYER_INSTALLER", installer)
    monkeypatch.setenv("DEPLOYER_CACHE", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    fake_wheel(wheels, "tagged-lib", "manylinux_2_28_aarch64")
    requirements = f"--no-index\n--find-links {wheels}\ntagged-lib==1.0\n"
    aws = providers.get("aws")
    packaging.clear_cache()
    bp = load_blueprint(write_runtime_app(tmp_path / "new", "python3.12", requirements))
    with zipfile.ZipFile(aws.package(bp, "fn").path) as zf:
        assert zf.read("tagged_lib/__init__.py") == b"TAG = 'manylinux_2_28_aarch64'\n"
        assert not [n for n in zf.namelist() if n.endswith(("/INSTALLER", "/RECORD"))]
    old = load_blueprint(write_runtime_app(tmp_path / "old", "python3.11", requirements))
    with pytest.raises(PackagingError) as err:  # Amazon Linux 2 (glibc 2.26) cannot load it
        aws.package(old, "fn")
    assert err.value.exit_code == EXIT_USAGE and "no wheel for manylinux_2_26_aarch64 / Python 3.11" in err.value.message


def test_installer_tags_cover_older_manylinux_levels():
    from deployer import installers

    assert installers.tags("manylinux_2_34_aarch64")[:2] == ["manylinux_2_34_aarch64", "manylinux_2_33_aarch64"]
    assert installers.tags("manylinux_2_34_aarch64")[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert installers.tags("manylinux_2_26_x86_64")[0] == "manylinux_2_17_x86_64"  # the level uv knows
    assert installers.tags("manylinux2014_x86_64")[-1] == "manylinux1_x86_64"
    assert installers.uv_platform("manylinux_2_34_aarch64") == "aarch64-manylinux_2_34"
    assert installers.uv_platform("manylinux_2_26_x86_64") == "x86_64-manylinux_2_17"


@needs_pypi
def test_uv_and_pip_give_the_same_zip_for_the_same_lock(tmp_path, monkeypatch):
    fixture = Path(__file__).resolve().parent / "fixtures" / "deps" / "locked"
    zips = {}
    for installer in ("uv", "pip"):
        root = tmp_path / installer
        write_app(root)
        shutil.rmtree(root / "functions" / "fn")
        shutil.copytree(fixture, root / "functions" / "fn")
        monkeypatch.setenv("DEPLOYER_INSTALLER", installer)
        monkeypatch.setenv("DEPLOYER_CACHE", str(tmp_path / f"cache-{installer}"))
        art = build(root / "deployer.yaml", target=Target("manylinux_2_34_aarch64", "3.12"))
        with zipfile.ZipFile(art.path) as zf:
            zips[installer] = {i.filename: zf.read(i) for i in zf.infolist()}
            assert art.meta["content"] and zf.read("requirements.txt").decode().splitlines()[0].startswith("idna==")
    assert any(n.startswith("markupsafe/_speedups.cpython-312-aarch64-linux-gnu") for n in zips["uv"])
    assert not [n for n in zips["uv"] if n.startswith("colorama")]  # a win32-only edge of the lock
    assert zips["uv"] == zips["pip"]  # same names, same bytes: installer metadata is not packaged


def test_a_dependency_file_error_stops_packaging_with_exit_2(tmp_path):
    blueprint = write_app(tmp_path, requirements="requests\n-r missing.txt\n")
    with pytest.raises(packaging.depfiles.DependencyError) as err:
        build(blueprint, target=AARCH64)
    assert err.value.exit_code == EXIT_USAGE and err.value.location.line == 2


def test_a_zips_sha256_is_remembered_and_recomputed_when_the_zip_changes(tmp_path):
    import hashlib

    zipped = tmp_path / "f-0123456789ab.zip"
    zipped.write_bytes(b"first")
    assert packaging.zip_sha256(zipped) == hashlib.sha256(b"first").hexdigest()
    side = tmp_path / "f-0123456789ab.zip.sha256"
    remembered = side.read_text().split()
    side.write_text(" ".join(["f" * 64, *remembered[1:]]))  # a remembered digest is trusted while size+mtime hold
    assert packaging.zip_sha256(zipped) == "f" * 64
    zipped.write_bytes(b"second, longer")
    assert packaging.zip_sha256(zipped) == hashlib.sha256(b"second, longer").hexdigest()
