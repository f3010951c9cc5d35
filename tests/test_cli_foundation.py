"""The CLI foundation: rendering like a compiler, init, --version, --debug, no tracebacks, light imports.

Most cases run in-process (`deployer.cli.app.main`); a few run the real console entry point in a
subprocess, where exit codes, streams and imported modules are exactly what a user gets.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.cli.app import main

ROOT = Path(__file__).resolve().parent.parent
INVALID = ROOT / "tests" / "invalid"
ORDERS = ROOT / "blueprints" / "orders" / "deployer.yaml"


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_diagnostic_is_rendered_with_source_line_caret_and_hint(capsys):
    code, out, err = run(capsys, "validate", "-f", str(INVALID / "key-unknown-function.yaml"))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{INVALID / 'key-unknown-function.yaml'}:6:5: error: unknown key 'triger' [functions.api.triger]",
        " 6 |     triger: [{http: GET /}]",
        "   |     ^^^^^^",
        "  hint: did you mean 'triggers'?",
        "1 error in the blueprint",
    ]


def test_every_problem_is_rendered_in_file_order(capsys):
    code, _, err = run(capsys, "validate", "-f", str(INVALID / "many-problems.yaml"))
    assert code == 2
    heads = [line.split(": error: ")[0].rsplit(":", 2)[-2:] for line in err.splitlines() if ": error: " in line]
    assert heads == [["8", "18"], ["8", "24"], ["11", "19"], ["14", "14"], ["16", "15"]]
    assert err.rstrip().endswith("5 errors in the blueprint")


def test_caret_lines_up_under_a_tab(capsys):
    code, _, err = run(capsys, "validate", "-f", str(INVALID / "yaml-tab-indent.yaml"))
    assert code == 2
    assert " 3 |     api: {code: fn, handler: main.handle}" in err.splitlines()
    assert "   | ^^^^" in err.splitlines()  # under the tab, shown as 4 spaces


def test_valid_blueprint_says_ok(capsys):
    code, out, err = run(capsys, "validate", "-f", str(ORDERS))
    assert code == 0 and out == ""
    assert err.strip() == f"ok: {ORDERS} (3 functions, 4 stores, stage dev)"


def test_stage_typo_is_a_warning(capsys):
    code, out, _ = run(capsys, "validate", "--json", "-f", str(ORDERS), "--stage", "prdo")
    assert code == 0
    [warning] = json.loads(out)["diagnostics"]
    assert (warning["severity"], warning["message"], warning["hint"]) == (
        "warning", "stage 'prdo' has no overrides under `stages`", "did you mean 'prod'?")


@pytest.mark.parametrize("stage", ["../x", "BAD STAGE", "", "prod\n", "a" * 64])
def test_a_stage_that_cannot_name_a_stack_is_a_usage_error(stage, capsys):
    code, out, err = run(capsys, "validate", "-f", str(ORDERS), "--stage", stage)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: bad stage {stage!r}: a stage is lower-case letters, digits and '-', starts with a letter and "
        "has at most 63 characters",
        "  hint: it names the stack and prefixes every resource name, e.g. --stage prod"]
    code, _, err = run(capsys, "plan", "--cloud", "aws", "-f", str(ORDERS), "--stage", stage)
    assert code == 2 and "bad stage" in err


def test_a_blueprint_locates_a_field_path_like_its_diagnostics():
    from deployer.blueprint.load import load_blueprint
    from deployer.errors import Location

    bp = load_blueprint(ORDERS, env={})
    assert bp.locate("functions.api.memory") == Location(ORDERS, *bp.mark("functions.api.memory"),
                                                         "functions.api.memory")
    assert bp.locate("functions.api.nothing-here").line == bp.mark("functions.api")[0]


def test_unknown_cloud_is_a_usage_error(capsys):
    code, out, _ = run(capsys, "validate", "--json", "-f", str(ORDERS), "--cloud", "awz")
    assert code == 2
    [diag] = json.loads(out)["diagnostics"]
    assert diag["message"].startswith("unknown cloud 'awz'; available: ")
    assert diag["hint"].startswith("did you mean 'aws'?")


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("deployer ")


@pytest.mark.parametrize("template", ["http-api", "queue-worker", "scheduled"])
def test_init_writes_a_project_that_validates(template, tmp_path, capsys):
    folder = tmp_path / "My Service"
    code, _, err = run(capsys, "init", str(folder), "--template", template)
    assert code == 0, err
    assert "name: my-service" in (folder / "deployer.yaml").read_text()
    code, out, _ = run(capsys, "validate", "--json", "-f", str(folder / "deployer.yaml"))
    assert (code, json.loads(out)) == (0, {"ok": True, "diagnostics": []})


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "deployer.yaml").write_text("name: mine\n")
    code, _, err = run(capsys, "init", str(tmp_path))
    assert code == 2
    assert f"error: 1 file already exist: {tmp_path / 'deployer.yaml'}" in err
    assert (tmp_path / "deployer.yaml").read_text() == "name: mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployer.yaml"]


def test_init_unknown_template(tmp_path, capsys):
    code, _, err = run(capsys, "init", str(tmp_path), "--template", "queue-wroker")
    assert code == 2
    assert "error: unknown template 'queue-wroker'" in err and "did you mean 'queue-worker'?" in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ real processes

def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deployer.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


FAILURES = [
    ("validate", "-f", str(INVALID / "yaml-unclosed-flow.yaml")),
    ("validate", "-f", str(INVALID / "handler-syntax-error.yaml")),
    ("validate", "-f", "/nonexistent/deployer.yaml"),
    ("validate", "-f", str(ORDERS), "--cloud", "nope"),
    ("init", str(ROOT / "blueprints" / "orders")),
]


@pytest.mark.parametrize("args", FAILURES, ids=["yaml", "handler", "missing", "cloud", "init"])
def test_no_traceback_without_debug(args):
    result = cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "error" in result.stderr


def test_debug_shows_the_traceback():
    result = cli("--debug", "validate", "-f", str(INVALID / "yaml-unclosed-flow.yaml"))
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "BlueprintError" in result.stderr


HEAVY = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "boto3", "botocore", "google", "azure")


def test_validate_and_help_import_no_pulumi_or_cloud_sdk():
    probe = (
        "import sys\n"
        "before = set(sys.modules)  # site .pth files may pre-import namespace packages (google)\n"
        "from deployer.cli.app import main\n"
        "for args in (['--help'], ['validate', '-f', sys.argv[1], '--json']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        f"print('HEAVY=' + ','.join(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {HEAVY!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(ORDERS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="


@pytest.mark.parametrize("args,words", [(["validate", "--bogus"], "No such option: --bogus"),
                                        (["valdate"], "No such command 'valdate'")])
def test_bad_command_line_is_a_usage_error_not_an_internal_one(args, words, capsys):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert words in err and "internal error" not in err


def test_pathological_nesting_is_an_error_not_a_crash(tmp_path):
    """libyaml's composer segfaults around 30 000 levels; such text must never reach it."""
    path = tmp_path / "deployer.yaml"
    path.write_text("name: " + "[" * 400_000 + "]" * 400_000 + "\n")
    result = cli("validate", "--json", "-f", str(path))
    assert result.returncode == 2, result.stderr[-500:]
    [diag] = json.loads(result.stdout)["diagnostics"]
    assert (diag["message"], diag["line"], diag["column"]) == (
        "the blueprint is nested more than 64 levels deep", 1, 1)


def test_init_rejects_a_bad_name(tmp_path, capsys):
    code, _, err = run(capsys, "init", str(tmp_path), "--name", "My_App")
    assert code == 2 and "application name 'My_App' must start with a lowercase letter" in err
    assert list(tmp_path.iterdir()) == []


def test_help_does_not_even_import_the_blueprint_model():
    probe = ("import sys\nbefore = set(sys.modules)\nfrom deployer.cli.app import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('LOADED=' + ','.join(sorted(m for m in set(sys.modules) - before\n"
             "      if m.split('.')[0] in ('pydantic', 'yaml', 'pulumi', 'croniter'))))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "LOADED="


def test_an_os_error_is_reported_as_the_machines_problem_not_an_internal_one(capsys):
    from deployer.cli import common

    code = common.report(PermissionError(13, "Permission denied", "/srv/app/.deployer/build"))
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: /srv/app/.deployer/build: Permission denied",
        "  hint: run again with --debug to see which step failed"]
    assert common.report(OSError("no errno")) == 1 and "internal error" in capsys.readouterr().err
