"""deployer.depfiles: a function's dependencies from requirements.txt (with -r/-c includes), pyproject.toml
or uv.lock, evaluated for the target, with an error at file and line (exit 2) when a file is malformed
or two files disagree. No network: the installers are exercised in test_packaging.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deployer import depfiles
from deployer.depfiles import DependencyError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "deps" / "locked"
ARM = depfiles.environment("manylinux_2_34_aarch64", "3.12")
X86 = depfiles.environment("manylinux_2_34_x86_64", "3.12")


def lock(root: str, packages: str) -> str:
    """A uv.lock holding a root project `fn` with the given requires-dist and dependencies."""
    return f'version = 1\nrequires-python = ">=3.11"\n\n{root}\n{packages}'


ROOT = '''[[package]]
name = "fn"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "requests" },
    { name = "fastlib", marker = "platform_machine == 'aarch64'" },
    { name = "winonly", marker = "sys_platform == 'win32'" },
]

[package.metadata]
requires-dist = [
    { name = "requests", specifier = ">=2.31" },
    { name = "fastlib", marker = "platform_machine == 'aarch64'" },
    { name = "winonly", marker = "sys_platform == 'win32'" },
]
'''
PACKAGES = '''
[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }, { name = "socks", marker = "extra == 'socks'" }]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "fastlib"
version = "1.2.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "winonly"
version = "9.9"
source = { registry = "https://pypi.org/simple" }
'''
PYPROJECT = '''[project]
name = "fn"
version = "0.1.0"
dependencies = [
    "requests>=2.31",
    "fastlib; platform_machine == 'aarch64'",
    "winonly; sys_platform == 'win32'",
]
'''


def folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        path = tmp_path / name.replace("__", "/").replace("_txt", ".txt").replace("_toml", ".toml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def error(code: Path, env=ARM) -> DependencyError:
    with pytest.raises(DependencyError) as err:
        depfiles.read(code, env)
    assert err.value.exit_code == 2
    return err.value


# -- requirements.txt --------------------------------------------------------------------------------

def test_requirements_follow_r_and_c_includes_and_flatten(tmp_path):
    code = folder(tmp_path / "fn", requirements_txt="# app\n-r ../shared/base.txt\n-c pins.txt\n"
                  "Pillow>=10 \\\n  ; platform_machine == 'aarch64'\nwinreg-helper; sys_platform == 'win32'\n"
                  "--extra-index-url https://example.org/simple\n",
                  pins_txt="requests==2.32.3\n")
    folder(tmp_path, shared__base_txt="requests>=2.31  # http\n-r more.txt\n", shared__more_txt="idna\n")
    deps = depfiles.read(code, ARM)
    assert deps.requirements == ("idna", "Pillow>=10", "requests>=2.31")  # markers evaluated for the target
    assert deps.constraints == ("requests==2.32.3",) and not deps.locked
    assert deps.text() == "--extra-index-url https://example.org/simple\nidna\nPillow>=10\nrequests>=2.31\n"
    assert depfiles.read(code, X86).requirements == ("idna", "requests>=2.31")


def test_a_missing_include_is_located(tmp_path):
    code = folder(tmp_path, requirements_txt="requests\n\n-r nowhere.txt\n")
    err = error(code)
    assert "nowhere.txt: no such file" in err.message
    assert err.location.file == tmp_path / "requirements.txt" and err.location.line == 3


def test_a_malformed_requirement_is_located_in_the_included_file(tmp_path):
    code = folder(tmp_path, requirements_txt="-r base.txt\n", base_txt="ok-package\nrequests>>2\n")
    err = error(code)
    assert "not a valid requirement: 'requests>>2'" in err.message
    assert (err.location.file, err.location.line) == (tmp_path / "base.txt", 2)


def test_editable_and_unknown_options_are_refused(tmp_path):
    assert "editable" in error(folder(tmp_path / "a", requirements_txt="-e ./lib\n")).message
    assert "unsupported option" in error(folder(tmp_path / "b", requirements_txt="--trusted-host x\n")).message


# -- pyproject.toml ----------------------------------------------------------------------------------

def test_pyproject_project_dependencies(tmp_path):
    deps = depfiles.read(folder(tmp_path, pyproject_toml=PYPROJECT), ARM)
    assert deps.requirements == ("fastlib", "requests>=2.31") and deps.sources == (tmp_path / "pyproject.toml",)


def test_a_tool_only_or_dynamic_pyproject_gives_no_dependencies(tmp_path):
    assert not depfiles.read(folder(tmp_path / "a", pyproject_toml="[tool.ruff]\nline-length = 100\n"), ARM)
    dynamic = '[project]\nname = "x"\nversion = "1"\ndynamic = ["dependencies"]\n'
    deps = depfiles.read(folder(tmp_path / "b", pyproject_toml=dynamic, requirements_txt="idna\n"), ARM)
    assert deps.requirements == ("idna",)


def test_malformed_pyproject_is_located(tmp_path):
    err = error(folder(tmp_path / "a", pyproject_toml='[project]\nname = "x"\ndependencies = ["a",\n'))
    assert "pyproject.toml is not valid TOML" in err.message and err.location.line == 3
    err = error(folder(tmp_path / "b", pyproject_toml='[project]\nname = "x"\n\ndependencies = "requests"\n'))
    assert "must be a list" in err.message and err.location.line == 4
    err = error(folder(tmp_path / "c", pyproject_toml='[project]\nname = "x"\ndependencies = [\n  "ok",\n  "bad!!",\n]\n'))
    assert "bad!!" in err.message and err.location.line == 5


def test_requirements_and_pyproject_are_merged_and_conflicting_pins_located(tmp_path):
    code = folder(tmp_path / "a", pyproject_toml=PYPROJECT, requirements_txt="idna==3.10\nrequests==2.32.3\n")
    assert depfiles.read(code, ARM).requirements == ("fastlib", "idna==3.10", "requests==2.32.3", "requests>=2.31")
    code = folder(tmp_path / "b", pyproject_toml=PYPROJECT, requirements_txt="idna\nrequests==2.30.0\n")
    err = error(code)
    assert "requirements.txt pins requests==2.30.0 but pyproject.toml asks for requests>=2.31" in err.message
    assert (err.location.file.name, err.location.line) == ("requirements.txt", 2)


# -- uv.lock -------------------------------------------------------------------------------------------

def test_lock_pins_are_walked_for_the_target(tmp_path):
    code = folder(tmp_path, pyproject_toml=PYPROJECT, **{"uv.lock": lock(ROOT, PACKAGES)})
    arm = depfiles.read(code, ARM)
    assert arm.requirements == ("fastlib==1.2.0", "idna==3.10", "requests==2.32.3") and arm.locked
    assert depfiles.read(code, X86).requirements == ("idna==3.10", "requests==2.32.3")  # fastlib: aarch64 only
    assert arm.sources[0] == tmp_path / "uv.lock"


def test_a_client_requirement_outside_the_lock_is_resolved_beside_the_pins(tmp_path):
    code = folder(tmp_path, pyproject_toml=PYPROJECT, **{"uv.lock": lock(ROOT, PACKAGES)})
    deps = depfiles.read(code, ARM, extra=["azure-functions"])
    assert deps.requirements[-1] == "azure-functions" and not deps.locked
    err = pytest.raises(DependencyError, depfiles.read, code, ARM, extra=["idna>=4"]).value
    assert "asks for idna>=4, but uv.lock pins idna 3.10" in err.message


def test_a_stale_lock_is_located_in_pyproject(tmp_path):
    newer = PYPROJECT.replace("requests>=2.31", "requests>=2.33")
    err = error(folder(tmp_path / "a", pyproject_toml=newer, **{"uv.lock": lock(ROOT, PACKAGES)}))
    assert "uv.lock is out of date: pyproject.toml asks for requests>=2.33" in err.message
    assert (err.location.file.name, err.location.line) == ("pyproject.toml", 5) and "uv lock" in err.hint
    fewer = PYPROJECT.replace('    "winonly; sys_platform == \'win32\'",\n', "")
    err = error(folder(tmp_path / "b", pyproject_toml=fewer, **{"uv.lock": lock(ROOT, PACKAGES)}))
    assert "made for winonly" in err.message and err.location.file.name == "uv.lock"


def test_requirements_disagreeing_with_the_lock_are_located(tmp_path):
    files = {"uv.lock": lock(ROOT, PACKAGES), "pyproject_toml": PYPROJECT}
    err = error(folder(tmp_path / "a", requirements_txt="idna<3\n", **files))
    assert "requirements.txt asks for idna<3, but uv.lock pins idna 3.10" in err.message
    assert err.location.line == 1
    err = error(folder(tmp_path / "b", requirements_txt="idna\nboto3\n", **files))
    assert "boto3, which uv.lock does not pin" in err.message and err.location.line == 2


def test_lock_problems_are_located(tmp_path):
    git = PACKAGES.replace('name = "idna"\nversion = "3.10"\nsource = { registry = "https://pypi.org/simple" }',
                           'name = "idna"\nversion = "3.10"\nsource = { git = "https://example.org/idna" }')
    err = error(folder(tmp_path / "a", **{"uv.lock": lock(ROOT, git)}))
    assert "takes idna from a git source" in err.message and err.location.line is not None
    err = error(folder(tmp_path / "b", **{"uv.lock": "version = 1\n[[package]\n"}))
    assert "uv.lock is not valid TOML" in err.message and err.location.line == 2
    err = error(folder(tmp_path / "c", **{"uv.lock": lock(ROOT, "")}))
    assert "has no entry for it" in err.message


def test_the_real_lock_fixture(tmp_path):
    code = tmp_path / "fn"
    shutil.copytree(FIXTURE, code)
    deps = depfiles.read(code, ARM)
    assert deps.locked and [r.split("==")[0] for r in deps.requirements] == ["idna", "markupsafe"]  # no colorama


def test_the_local_cloud_installs_a_pyproject_only_function(tmp_path, monkeypatch):
    from providers.local.functions import install_requirements
    from test_packaging import fake_wheel

    monkeypatch.setenv("DEPLOYER_LOCAL_CACHE", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    fake_wheel(wheels, "local-only-lib", "any")
    code = folder(tmp_path / "fn", pyproject_toml='[project]\nname = "fn"\nversion = "1"\n'
                                                  'dependencies = ["local-only-lib==1.0"]\n',
                  requirements_txt=f"--no-index\n--find-links {wheels}\n")
    site = Path(install_requirements(code, log=lambda line: None))
    assert (site / "local_only_lib" / "__init__.py").read_text() == "TAG = 'any'\n"
    assert install_requirements(code, log=lambda line: None) == str(site)  # once per content
