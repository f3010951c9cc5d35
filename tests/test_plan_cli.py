"""`deployer plan` through the real console entry point (subprocesses: exit codes and streams)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import BLUEPRINTS, example_copy, run_cli


def test_plan_json_lists_every_resource_with_masked_secrets():
    done = run_cli("plan", "--cloud", "aws", "--json", "-f", str(example_copy("iot")),
                   env={"INGEST_TOKEN": "s3cr3t-value"})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["cloud"], data["app"], data["count"]) == ("aws", "iot-dev", len(data["resources"]))
    assert data["warnings"] == []
    fn = next(r for r in data["resources"] if r["name"] == "fn-ingest_function")
    # the function's environment names the secret's SSM parameter; the parameter's value is masked
    assert fn["group"] == "function ingest" and fn["inputs"]["environment"]["variables"][
        "DEPLOYER_SECRET_PARAMETERS"] == "/deployer/iot-dev/secrets/INGEST_TOKEN"
    secret = next(r for r in data["resources"] if r["name"] == "app-secret-INGEST_TOKEN")
    assert secret["inputs"]["value"] == "[secret]"
    assert "s3cr3t-value" not in done.stdout + done.stderr


def test_plan_human_output_groups_and_counts():
    done = run_cli("plan", "--cloud", "aws", "-f", str(example_copy("orders")), "--stage", "prod")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "app (2)" in lines and "store fulfilment (2)" in lines and "function api (9)" in lines
    assert any("lambda.Function" in l and "fn-api_function" in l and "memorySize=1024" in l for l in lines)
    assert lines[-1].startswith("29 resources to create in 8 groups (aws, orders-prod, planned in ")


def test_plan_with_a_missing_secret_warns_and_uses_a_placeholder():
    # run_cli adds to os.environ; an unset variable needs an environment of its own
    env = {k: v for k, v in os.environ.items() if k != "INGEST_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "deployer.cli", "plan", "--cloud", "aws", "--json", "-f",
                           str(example_copy("iot"))], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    warnings = json.loads(done.stdout)["warnings"]
    assert [(w["severity"], w["path"], w["line"], w["message"]) for w in warnings] == [
        ("warning", "secrets.INGEST_TOKEN", secret_line(),
         "secret INGEST_TOKEN has no value: set the environment variable INGEST_TOKEN")]


def test_plan_of_the_local_cloud_is_a_usage_error():
    done = run_cli("plan", "--cloud", "local", "-f", str(example_copy("orders")))
    assert done.returncode == 2
    assert "the local cloud does not deploy through Pulumi, so it has no plan" in done.stderr


def test_plan_needs_a_cloud():
    done = run_cli("plan", "-f", str(example_copy("orders")))
    assert done.returncode == 2
    assert "plan needs a cloud" in done.stderr and "deployer plan --cloud aws" in done.stderr


def secret_line() -> int:
    """The line declaring INGEST_TOKEN in the iot example (the example may gain comments)."""
    lines = (BLUEPRINTS / "iot" / "deployer.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith("INGEST_TOKEN:"))
