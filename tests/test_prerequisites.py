"""Install what you use: the core has no cloud SDK, each provider declares the SDKs its cloud needs and
the extra that installs them, and a command missing any of them (or the pulumi CLI) stops with exit 3
and ONE message naming every missing thing with the line that installs it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from deployer import prerequisites, providers
from deployer.cli.app import main
from deployer.providers import Provider

ROOT = Path(__file__).resolve().parent.parent
ABSENT = "deployer-absent-sdk-for-tests"


class Absent(Provider):
    """A Pulumi provider whose SDK is not installed anywhere."""

    name = "absentcloud"
    requirements = ("pulumi", ABSENT)
    extra = "absentcloud"


@pytest.fixture
def absent():
    undo = providers.register(Absent())
    yield Absent()
    undo()


@pytest.fixture
def no_pulumi_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "no-pulumi-home"))
    monkeypatch.setenv("HOME", str(tmp_path))


def blueprint(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.py").write_text("def run(event):\n    return None\n")
    path = tmp_path / "deployer.yaml"
    path.write_text("name: prereq\nfunctions: {f: {code: fn, handler: main.run, triggers: [{http: GET /}]}}\n")
    return path


def test_a_missing_sdk_and_cli_exit_3_in_one_message(tmp_path, absent, no_pulumi_cli, capsys):
    path = blueprint(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["up", "--cloud", "absentcloud", "-f", str(path), "--yes"])
    err = capsys.readouterr().err
    assert done.value.code == 3, err
    assert f"the Python package {ABSENT}: pip install " in err and "[absentcloud]'" in err
    assert "the pulumi CLI: " in err and "get.pulumi.com" in err
    assert "needs 2 prerequisites" in err and err.count("error:") == 1
    assert not (tmp_path / ".deployer" / "build").exists()  # stopped before packaging


def test_commands_that_do_not_package_stop_at_the_engine_with_the_same_message(tmp_path, absent, capsys):
    path = blueprint(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["stacks", "--cloud", "absentcloud", "-f", str(path)])
    assert done.value.code == 3
    assert f"the Python package {ABSENT}" in capsys.readouterr().err


def test_the_pip_line_names_the_extra_and_where_deployer_came_from():
    assert prerequisites.pip_line("aws", ["pulumi-aws"], local=None) == "pip install 'deployer[aws]'"
    assert prerequisites.pip_line("aws", ["pulumi-aws"], local=(True, "/src/deployer")) == \
        "pip install -e '/src/deployer[aws]'"
    assert prerequisites.pip_line(None, ["b-sdk", "a-sdk"]) == "pip install a-sdk b-sdk"


def test_nothing_is_missing_when_everything_is_installed(monkeypatch, tmp_path):
    exe = tmp_path / "pulumi"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert prerequisites.missing(providers.get("aws")) == []
    assert prerequisites.missing(providers.get("local")) == []  # no SDK, no pulumi CLI


def test_an_sdk_import_failing_midway_becomes_the_same_exit_3(absent):
    found = prerequisites.from_import_error(ModuleNotFoundError("no module", name=ABSENT.replace("-", "_")),
                                            ["plan", "--cloud", "absentcloud"])
    assert found is not None and found.exit_code == 3 and ABSENT in found.message
    assert prerequisites.from_import_error(ModuleNotFoundError("x", name="not_an_sdk")) is None


def test_each_provider_declares_its_sdks_and_its_extra_installs_them():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(d) for d in meta["dependencies"]}
    assert not {d for d in core if d.startswith("pulumi")}, "the core must not install a Pulumi SDK"
    extras = meta["optional-dependencies"]
    for cloud in ("aws", "gcp", "azure"):
        provider = providers.get(cloud)
        assert provider.extra == cloud and provider.requirements
        assert set(provider.requirements) <= {_name(d) for d in extras[cloud]}, cloud
    assert set(extras["all"]) == {"deployer[aws,gcp,azure]"}


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name.lower()
