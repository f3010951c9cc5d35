"""GCP's portability diagnostics: each rule, its severity, its location, and `deployer validate --cloud gcp`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from deployer.blueprint.load import load_blueprint
from providers.gcp.provider import GcpProvider

from conftest import BLUEPRINTS

ENV = {k: v for k, v in os.environ.items() if k != "GCP_PROJECT"}


def blueprint(tmp_path: Path, body: str):
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n")
    head = "name: demo\nclouds:\n  gcp: {project: demo-project}\n"
    (tmp_path / "deployer.yaml").write_text(head + textwrap.dedent(body))
    return load_blueprint(tmp_path / "deployer.yaml", env=ENV)


def found(bp):
    return [(d.severity, d.location.path, d.location.line, d.message) for d in GcpProvider().check(bp)]


def test_queue_with_default_settings_is_no_error(tmp_path):
    """retries: 5 (the default) is Pub/Sub's minimum; lower values are honoured by the shim (test_gcp_program)."""
    bp = blueprint(tmp_path, """
        stores:
          readings: {kind: queue}
        functions:
          analyse: {code: code, handler: main.run, triggers: [{queue: readings}]}
    """)
    assert bp.stores["readings"].retries == 5
    assert found(bp) == []


def test_missing_project_is_a_warning_with_a_hint(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n")
    (tmp_path / "deployer.yaml").write_text(
        "name: demo\nfunctions:\n  nightly: {code: code, handler: main.run, triggers: [{schedule: '0 3 * * *'}]}\n")
    bp = load_blueprint(tmp_path / "deployer.yaml", env=ENV)
    diags = GcpProvider().check(bp)
    assert [(d.severity, d.location.path) for d in diags] == [("warning", "clouds.gcp.project")]
    assert diags[0].message == ("clouds.gcp.project is not set: GCP needs the project to deploy into; "
                                "the plan uses the placeholder 'gcp-project-not-set'")
    assert "GCP_PROJECT" in diags[0].hint and diags[0].location.file == bp.source


def test_one_path_template_with_two_parameter_names_is_a_located_error(tmp_path):
    bp = blueprint(tmp_path, """
        functions:
          a: {code: code, handler: main.run, triggers: [{http: "GET /items/{id}"}]}
          b: {code: code, handler: main.run, triggers: [{http: "PUT /items/{key}"}]}
    """)
    assert found(bp) == [("error", "functions.b.triggers[0].http", 7,
                          "path '/items/{key}' is the template of '/items/{id}' (functions.a.triggers[0]) with "
                          "other parameter names; API Gateway sees one path")]


def test_reserved_platform_paths_are_refused(tmp_path):
    bp = blueprint(tmp_path, """
        functions:
          a: {code: code, handler: main.run, triggers: [{http: "POST /_deployer/push"}]}
    """)
    assert [(sev, path) for sev, path, _, _ in found(bp)] == [("error", "functions.a.triggers[0].http")]


def test_orders_passes_with_a_warning_about_batches_and_none_about_cors():
    bp = load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml", env=ENV)
    assert bp.http.cors is not None  # the GCP shim answers CORS itself: nothing to warn about
    assert found(bp) == [("warning", "functions.worker.triggers[0].batch", 45,
                          "batch 10: a Pub/Sub push subscription delivers one message per request, "
                          "so the function gets batches of 1")]


def test_bucket_name_filters_are_a_warning():
    bp = load_blueprint(BLUEPRINTS / "images" / "deployer.yaml", env=ENV)
    warnings = [d for d in GcpProvider().check(bp) if d.severity == "warning"]
    assert [d.location.path for d in warnings] == ["functions.resize.triggers[0]", "functions.resize.triggers[1]",
                                                   "functions.cleanup.triggers[0]"]
    assert "the shim drops those outside prefix 'incoming/' / suffix '.jpg'" in warnings[0].message


def test_event_driven_timeout_limit_and_http_limit(tmp_path):
    bp = blueprint(tmp_path, """
        stores: {t: {kind: topic}}
        functions:
          slow-event: {code: code, handler: main.run, timeout: 600, triggers: [{topic: t}]}
          slow-http: {code: code, handler: main.run, timeout: 3600, triggers: [{http: GET /x}]}
    """)
    assert found(bp) == [("error", "functions.slow-event.timeout", 7,
                          "timeout 600s is above the 540s GCP allows for event-driven functions")]


def test_one_entry_point_per_function(tmp_path):
    bp = blueprint(tmp_path, """
        stores: {t: {kind: topic}, b: {kind: bucket}}
        functions:
          mixed: {code: code, handler: main.run, triggers: [{http: GET /x}, {topic: t}]}
          two: {code: code, handler: main.run, triggers: [{topic: t}, {bucket: b, on: deleted}]}
    """)
    diags = found(bp)
    assert [(s, p) for s, p, _, _ in diags] == [("error", "functions.mixed.triggers")]  # two sources are fine
    assert "a gen2 function has one entry point" in diags[0][3]


def test_rates_without_exact_cron_and_scheduler_deadline(tmp_path):
    bp = blueprint(tmp_path, """
        functions:
          odd: {code: code, handler: main.run, triggers: [{schedule: every 7 minutes}]}
          fine: {code: code, handler: main.run, triggers: [{schedule: every 15 minutes}]}
          long: {code: code, handler: main.run, timeout: 2000, triggers: [{schedule: "0 * * * *"}]}
    """)
    assert [(s, p) for s, p, _, _ in found(bp)] == [("error", "functions.odd.triggers[0].schedule"),
                                                    ("warning", "functions.long.timeout")]


def test_queue_rules_dead_letter_off_many_consumers_and_ack_deadline(tmp_path):
    bp = blueprint(tmp_path, """
        stores: {q: {kind: queue, retries: 5, dead_letter: false}}
        functions:
          a: {code: code, handler: main.run, timeout: 900, triggers: [{queue: q}]}
          b: {code: code, handler: main.run, triggers: [{queue: q}]}
    """)
    assert [(s, p) for s, p, _, _ in found(bp)] == [
        ("warning", "stores.q.dead_letter"), ("error", "stores.q"), ("warning", "functions.a.timeout")]


def test_long_names_are_cut_with_a_warning(tmp_path):
    bp = blueprint(tmp_path, """
        functions:
          a-very-long-function-name-for-gcp-xxxxxx: {code: code, handler: main.run}
    """)
    (severity, path, _, message), = found(bp)
    assert (severity, path) == ("warning", "functions.a-very-long-function-name-for-gcp-xxxxxx")
    cut = message.rsplit("deployed as ", 1)[1].strip("'")
    assert len(cut) == 48 and cut.startswith("demo-dev-a-very-long")


@pytest.mark.parametrize("name", ["orders", "iot", "too-few-retries"])
def test_validate_cli_prints_gcp_diagnostics(name, cli, tmp_path):
    path = BLUEPRINTS / name / "deployer.yaml"
    if name == "too-few-retries":
        shutil.copytree(BLUEPRINTS / "iot", tmp_path / "iot", ignore=shutil.ignore_patterns(".deployer"))
        path = tmp_path / "iot" / "deployer.yaml"
        path.write_text(path.read_text().replace("retries: 5", "retries: 3"))
    result = cli("validate", "--file", str(path), "--cloud", "gcp", env={"GCP_PROJECT": "orders-demo"})
    output = result.stdout + result.stderr
    if name == "orders":
        assert result.returncode == 0, output
        assert "push subscription delivers one message per request" in output
    elif name == "iot":
        assert result.returncode == 0, output
        assert "error" not in output
    else:  # retries: 3 on GCP is honoured by the shim (queues.py): no diagnostic
        assert result.returncode == 0, output
        assert "retries" not in output and "error" not in output


def test_plan_cli_for_gcp(cli, tmp_path):
    """`deployer plan --cloud gcp` end to end: load, check, package (real zips), program under mocks."""
    root = tmp_path / "orders"
    shutil.copytree(BLUEPRINTS / "orders", root, ignore=shutil.ignore_patterns(".deployer"))
    result = cli("plan", "--file", str(root / "deployer.yaml"), "--cloud", "gcp", "--json",
                 env={"GCP_PROJECT": "orders-demo"})
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)
    names = {r["name"]: r for r in planned["resources"]}
    assert planned["cloud"] == "gcp" and {"fn-api-function", "app-api-gateway", "store-fulfilment-sub"} <= set(names)
    zips = list((root / ".deployer" / "build" / "dev" / "gcp").glob("api-*.zip"))
    assert len(zips) == 1
    sha = hashlib.sha256(zips[0].read_bytes()).hexdigest()
    assert names["fn-api-source"]["inputs"]["name"] == f"functions/api/{sha}.zip"
    assert [w["path"] for w in planned["warnings"]] == ["functions.worker.triggers[0].batch"]
