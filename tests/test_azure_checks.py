"""Azure portability diagnostics: each one located at its blueprint field, and shown by `validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.blueprint.load import load_blueprint
from providers.azure.provider import AzureProvider

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def subscription(monkeypatch):
    """A subscription, as on a user's machine: without one every blueprint also gets the placeholder warning
    (tests/test_azure_plan.py tests that one)."""
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")

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
    memory: 8192
    timeout: 900
    max_instances: 10
    env: {AzureWebJobsStorage__accountName: mine, LOG_LEVEL: debug}
    triggers:
      - queue: jobs
        batch: 64
      - queue: other
  web:
    code: functions/f
    handler: main.run
    timeout: 300
    memory: 1000
    max_instances: 2000
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
        ("functions.big.env.AzureWebJobsStorage__accountName", "error"),
        ("functions.big.max_instances", "error"),
        ("functions.big.memory", "error"),
        ("functions.big.runtime", "error"),
        ("functions.big.triggers[0].batch", "error"),
        ("functions.big.triggers[1]", "error"),
        ("functions.web.max_instances", "error"),
        ("functions.web.memory", "warning"),
        ("functions.web.timeout", "warning"),
        ("functions.web.triggers[1].schedule", "error"),
        ("functions.web.triggers[3].timezone", "error"),
        ("stores.jobs.dead_letter", "warning"),
    ]
    memory = found[("functions.big.memory", "error")]
    assert memory.message == "function 'big': memory 8192 MB; a Flex Consumption instance has at most 4096 MB"
    assert memory.cloud == "azure" and memory.location.file == tmp_path / "deployer.yaml"
    assert (memory.location.line, memory.location.column) == (10, 13)
    assert found[("functions.web.memory", "warning")].message == (
        "function 'web': memory 1000 MB runs on a 2048 MB Flex Consumption instance (Flex offers 512, 2048, "
        "4096 MB) and is billed as such")
    assert found[("functions.big.max_instances", "error")].message == (
        "function 'big': max_instances 10; a Flex Consumption app cannot be held below 40 instances "
        "(maximumInstanceCount 40-1000)")
    assert found[("functions.web.max_instances", "error")].message == (
        "function 'web': max_instances 2000; a Flex Consumption app cannot scale beyond 1000 instances "
        "(maximumInstanceCount 40-1000)")
    env = found[("functions.big.env.AzureWebJobsStorage__accountName", "error")]
    assert env.message == ("function 'big': env AzureWebJobsStorage__accountName would overwrite an app setting "
                           "deployer or Azure Functions sets (identity-based connections, the runtime contract)")
    assert env.location.line == 13
    batch = found[("functions.big.triggers[0].batch", "error")]
    assert batch.message == "batch 64: Azure's queue trigger takes at most 32 messages at once (host.json batchSize 1-32)"
    assert batch.location.line == 16
    assert found[("functions.web.triggers[3].timezone", "error")].message == (
        "timezone 'Asia/Kolkata' is UTC+05:30: Azure timers run in UTC and deployer can shift them by whole hours only")


#: The only diagnostics the examples get on Azure: memories Flex rounds up (256 -> 512, 1024 -> 2048).
EXAMPLE_WARNINGS = {
    "images": ["functions.resize.memory", "functions.cleanup.memory", "functions.api.memory"],
    "iot": ["functions.ingest.memory", "functions.analyse.memory", "functions.alert.memory"],
    "orders": ["functions.notify.memory", "functions.worker.memory"],  # api asks for 512
    "report": ["functions.record.memory", "functions.read-report.memory", "functions.nightly.memory",
               "functions.snapshot.memory"],
}


def test_examples(example):
    bp = load_blueprint(example)
    found = [(d.severity, d.location.path) for d in AzureProvider().check(bp)]
    assert found == [("warning", path) for path in EXAMPLE_WARNINGS[example.parent.name]]


def test_validate_prints_azure_diagnostics(cli, tmp_path):
    (tmp_path / "deployer.yaml").write_text(BAD)
    (tmp_path / "functions" / "f").mkdir(parents=True)
    (tmp_path / "functions" / "f" / "main.py").write_text("def run(event):\n    return None\n")
    done = cli("validate", "-f", str(tmp_path / "deployer.yaml"), "--cloud", "azure")
    assert done.returncode == 2
    assert ("error (azure): function 'big': memory 8192 MB; a Flex Consumption instance has at most 4096 MB "
            "[functions.big.memory]") in done.stderr
    assert "hint: use at most 4096 MB on Azure" in done.stderr
    ok = cli("validate", "-f", str(ROOT / "blueprints" / "report" / "deployer.yaml"), "--cloud", "azure")
    assert ok.returncode == 0, ok.stderr


def test_store_names_that_collide_on_azure(tmp_path):
    found = diagnostics(tmp_path, "name: clash\nstores:\n  a-b: {kind: table}\n  ab: {kind: table}\n"
                                  "  c: {kind: bucket}\n  c-: {kind: bucket}\n")
    assert {path: d.message for (path, _), d in found.items()} == {
        "stores.ab": "stores 'a-b' and 'ab' would both be the Azure table 'clashdevab'",
        "stores.c-": "stores 'c' and 'c-' would both be the Azure bucket 'clash-dev-c'",
    }
