"""Invalid blueprints: every diagnostic asserted whole (message, hint, line, column, field path), exit 2.

Fixtures in tests/invalid/ carry their expectations at the end of the file, so the blueprint and what
deployer must say about it are read together:

    # expect: LINE:COL FIELD.PATH | message | hint | file: other/file.py
    # schema: rejects | accepts        (what the JSON Schema says about the same data)

`-` stands for an empty field path; hint and file are optional (no hint means the hint must be None).
Cases that cannot be text fixtures (binary, huge, symlinks) are built in tmp_path below.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deployer.cli.app import main

INVALID = Path(__file__).resolve().parent / "invalid"
FIXTURES = sorted(INVALID.glob("*.yaml"))


def run_json(capsys, *args: str) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--json", *args])
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def expectations(path: Path) -> list[dict]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect: "):
            continue
        where, _, rest = line.removeprefix("# expect: ").partition(" ")
        parts = rest.split(" | ")
        field, message = parts[0], parts[1]
        hint = next((p for p in parts[2:] if not p.startswith("file: ")), None)
        other = next((p.removeprefix("file: ") for p in parts[2:] if p.startswith("file: ")), None)
        line_no, col = (int(x) for x in where.split(":"))
        found.append({"message": message, "hint": hint, "line": line_no, "column": col,
                      "path": "" if field == "-" else field,
                      "file": str((path.parent / other).resolve()) if other else str(path)})
    return found


def test_there_are_at_least_40_distinct_fixtures():
    assert len(FIXTURES) >= 40
    assert all(expectations(f) for f in FIXTURES), "every fixture states what it must produce"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_invalid_fixture(fixture, capsys):
    code, out = run_json(capsys, "-f", str(fixture))
    assert code == 2
    assert out["ok"] is False
    got = [{k: d[k] for k in ("message", "hint", "line", "column", "path", "file")} for d in out["diagnostics"]]
    assert got == expectations(fixture)
    assert all(d["severity"] == "error" for d in out["diagnostics"])


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def one(capsys, path: Path) -> dict:
    code, out = run_json(capsys, "-f", str(path))
    assert code == 2
    assert len(out["diagnostics"]) == 1
    d = out["diagnostics"][0]
    return {k: d[k] for k in ("message", "hint", "line", "column", "path")}


def test_binary_file(tmp_path, capsys):
    path = write(tmp_path, "deployer.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert one(capsys, path) == {"message": "this is not a text file (it contains NUL bytes)",
                                 "hint": "a blueprint is a YAML text file", "line": 3, "column": 1, "path": ""}


def test_not_utf8(tmp_path, capsys):
    path = write(tmp_path, "deployer.yaml", "name: café\n".encode("latin-1"))
    assert one(capsys, path) == {"message": "the file is not valid UTF-8 (byte 0xe9)",
                                 "hint": "save the blueprint as UTF-8", "line": 1, "column": 10, "path": ""}


def test_ten_megabyte_file_is_refused_without_reading_it(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "deployer.yaml", "name: a\n# " + "x" * 10_000_000 + "\n")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("a huge file must not be read"))
    assert one(capsys, path) == {"message": "the blueprint is 10.0 MB; the limit is 1 MB",
                                 "hint": "a blueprint describes functions; it should be a few kilobytes",
                                 "line": 1, "column": 1, "path": ""}


def test_utf8_bom_is_accepted(tmp_path, capsys):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.py").write_text("def run(event):\n    pass\n")
    path = write(tmp_path, "deployer.yaml", "\ufeffname: app\nfunctions:\n  job: {code: fn, handler: main.run}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--json", "-f", str(path)])
    assert exit_info.value.code in (0, None)
    assert json.loads(capsys.readouterr().out) == {"ok": True, "diagnostics": []}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_code_folder_escaping_through_a_symlink(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.py").write_text("def run(event):\n    pass\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "link").symlink_to(outside, target_is_directory=True)
    path = write(project, "deployer.yaml", "name: app\nfunctions:\n  job:\n    code: link\n    handler: main.run\n")
    assert one(capsys, path) == {
        "message": "code folder 'link' is outside the blueprint's folder (through a symlink)",
        "hint": "keep function code in a folder next to deployer.yaml", "line": 4, "column": 11,
        "path": "functions.job.code"}


def test_code_that_is_a_file(tmp_path, capsys):
    write(tmp_path, "main.py", "def run(event):\n    pass\n")
    path = write(tmp_path, "deployer.yaml", "name: app\nfunctions:\n  job: {code: main.py, handler: main.run}\n")
    assert one(capsys, path) == {"message": "code folder 'main.py' does not exist",
                                 "hint": "it is a file; `code` names a folder", "line": 3, "column": 15,
                                 "path": "functions.job.code"}


def test_no_blueprint_is_a_usage_error(tmp_path, capsys):
    code, out = run_json(capsys, "-f", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert out["diagnostics"][0]["message"] == f"no blueprint at {tmp_path / 'missing.yaml'}"
    assert out["diagnostics"][0]["hint"] == "pass one with -f FILE, or create one with `deployer init`"


def test_stage_override_errors_point_at_the_stage(capsys):
    code, out = run_json(capsys, "-f", str(INVALID / "stage-bad-value.yaml"), "--stage", "prod")
    assert code == 0 and out["ok"] is True  # the bad value is in `dev` only


def test_interpolated_default_applies(tmp_path, capsys, monkeypatch):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.py").write_text("def run(event):\n    pass\n")
    path = write(tmp_path, "deployer.yaml",
                 "name: app-${stage}\nfunctions:\n  job: {code: fn, handler: main.run, env: {A: '${env:XX_UNSET, 7}'}}\n")
    from deployer.blueprint.load import load_blueprint

    bp = load_blueprint(path, stage="qa", env={})
    assert bp.name == "app-qa"
    assert bp.functions["job"].env == {"A": "7"}


@pytest.mark.parametrize("name", ["stage-unknown-key", "stage-unknown-function"])
def test_stage_problems_read_the_same_whichever_stage_is_selected(name, capsys):
    fixture = INVALID / f"{name}.yaml"
    code, out = run_json(capsys, "-f", str(fixture), "--stage", "prod")
    assert code == 2
    got = [{k: d[k] for k in ("message", "hint", "line", "column", "path", "file")} for d in out["diagnostics"]]
    assert got == expectations(fixture)


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "deployer.yaml", "name: app\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert one(capsys, path) == {"message": "cannot read the blueprint: Permission denied", "hint": None,
                                 "line": None, "column": None, "path": ""}
