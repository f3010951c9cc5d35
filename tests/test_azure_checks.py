"""Azure portability diagnostics: each one located at its blueprint field, and shown by `validate`."""

from __future__ import annotations

from pathlib import Path

from deployer.blueprint.load import load_blueprint
from providers.azure.provider import AzureProvider

ROOT = Path(__file__).resolve().parent.parent

BAD = """\
name: bad
stores:
  jobs: {kind: queue, retries: 2, dead_letter: false}
  other: {kind: queue, retries: 5}
functions:
  big:
    code: functions/f
    handler: main.run
    runtime: python3.13
    memory: 2048
    timeout: 900
    triggers:
      - queue: jobs
        batch: 64
      - queue: other
  web:
    code: functions/f
    handler: main.run
    timeout: 300
    triggers:
      - http: GET /slow
      - schedule: every 7 minutes
      - schedule: "0 3 1 * MON"
        timezone: America/New_York
      - schedule: "0 3 * * *"
        timezone: Asia/Kolkata
"""


def diagnostics(tmp_path: Path, text: str):
    (tmp_path / "deployer.yaml").write_text(text)
    (tmp_path / "functions" / "f").mkdir(parents=True)
    (tmp_path / "functions" / "f" / "main.py").write_text("def run(event):\n    return None\n")
    bp = load_blueprint(tmp_path / "deployer.yaml")
    return {(d.location.path, d.severity): d for d in AzureProvider().check(bp)}


def test_every_limit_is_a_located_diagnostic(tmp_path):
    found = diagnostics(tmp_path, BAD)
    assert sorted(found) == [
        ("functions.big.memory", "error"),
        ("functions.big.runtime", "error"),
        ("functions.big.timeout", "error"),
        ("functions.big.triggers[0].batch", "error"),
        ("functions.big.triggers[1]", "error"),
        ("functions.web.timeout", "warning"),
        ("functions.web.triggers[1].schedule", "error"),
        ("functions.web.triggers[3].timezone", "error"),
        ("stores.jobs.dead_letter", "warning"),
    ]
    memory = found[("functions.big.memory", "error")]
    assert memory.message == ("function 'big': memory 2048 MB; a Linux Consumption instance has 1536 MB, "
                              "shared by the calls it runs")
    assert memory.cloud == "azure" and memory.location.file == tmp_path / "deployer.yaml"
    assert (memory.location.line, memory.location.column) == (10, 13)
    batch = found[("functions.big.triggers[0].batch", "error")]
    assert batch.message == "batch 64: Azure's queue trigger takes at most 32 messages at once (host.json batchSize 1-32)"
    assert batch.location.line == 14
    assert found[("functions.web.triggers[3].timezone", "error")].message == (
        "timezone 'Asia/Kolkata' is UTC+05:30: Azure timers run in UTC and deployer can shift them by whole hours only")

    assert found[("functions.big.timeout", "error")].message == (
        "function 'big': timeout 900 s; the Linux Consumption plan stops a function after 600 s at most")


def test_examples(example):
    bp = load_blueprint(example)
    found = [(d.severity, d.location.path) for d in AzureProvider().check(bp)]
    assert found == []


def test_validate_prints_azure_diagnostics(cli, tmp_path):
    (tmp_path / "deployer.yaml").write_text(BAD)
    (tmp_path / "functions" / "f").mkdir(parents=True)
    (tmp_path / "functions" / "f" / "main.py").write_text("def run(event):\n    return None\n")
    done = cli("validate", "-f", str(tmp_path / "deployer.yaml"), "--cloud", "azure")
    assert done.returncode == 2
    assert ("error (azure): function 'big': memory 2048 MB; a Linux Consumption instance has 1536 MB, shared by "
            "the calls it runs [functions.big.memory]") in done.stderr
    assert "hint: use at most 1536 MB on Azure" in done.stderr
    ok = cli("validate", "-f", str(ROOT / "blueprints" / "report" / "deployer.yaml"), "--cloud", "azure")
    assert ok.returncode == 0, ok.stderr


def test_store_names_that_collide_on_azure(tmp_path):
    found = diagnostics(tmp_path, "name: clash\nstores:\n  a-b: {kind: table}\n  ab: {kind: table}\n"
                                  "  c: {kind: bucket}\n  c-: {kind: bucket}\n")
    assert {path: d.message for (path, _), d in found.items()} == {
        "stores.ab": "stores 'a-b' and 'ab' would both be the Azure table 'clashdevab'",
        "stores.c-": "stores 'c' and 'c-' would both be the Azure bucket 'clash-dev-c'",
    }
