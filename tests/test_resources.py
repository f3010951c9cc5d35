"""The resource graph core (deployer/resources) through a toy provider: plan, executor, eject, checks."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from deployer import plan
from deployer.errors import BlueprintError
from deployer.resources import checks
from deployer.resources.eject import eject
from deployer.resources.graph import APP, Builder
from graph_support import assert_executor_matches_plan, run_ejected
from conftest import ROOT, tiny_blueprint
from toy_provider import YAML, ToyProvider, toy_artifacts


@pytest.fixture
def toy(tmp_path):
    bp = tiny_blueprint(tmp_path, YAML)
    return ToyProvider(), bp, toy_artifacts(bp, tmp_path)


def test_plan_renders_references_secrets_archives_and_wire_names(toy):
    provider, bp, artifacts = toy
    planned = plan.run(provider, bp, artifacts)
    by_name = {r.name: r for r in planned.resources}
    fn = by_name["fn-resize-function"]
    assert fn.group == "function resize"
    assert fn.inputs["role"] == "${fn-resize-role.arn}"
    assert fn.inputs["memorySize"] == 256
    assert fn.inputs["code"] == {"$archive": "resize-0123456789ab.zip"}
    assert fn.inputs["environment"] == {"variables": {
        "DEPLOYER_FUNCTION": "resize", "STORE_UPLOADS": "${store-uploads-bucket.bucket}",
        "SECRET_TOKEN": "${fn-resize-secret-TOKEN.name}"}}
    assert by_name["fn-resize-secret-TOKEN"].inputs["value"] == "[secret]"
    assert by_name["store-uploads-bucket"].inputs["bucket"] == "toy-dev-uploads-${getCallerIdentity.account_id}"
    assert by_name["store-uploads-bucket"].options == {"retain_on_delete": True}
    assert by_name["store-uploads-notification"].options == {"depends_on": ["fn-resize-bucket-uploads-permission"]}
    assert planned.outputs == {"api_url": "https://${app-api.api_endpoint}",
                               "functions": {"resize": "toy-dev-resize", "report": "toy-dev-report"},
                               "stores": {"uploads": "${store-uploads-bucket.bucket}"},
                               "deployer_stores": {"uploads": {"kind": "bucket"}}}
    assert [r.group for r in planned.resources][:2] == ["app", "store uploads"]


def test_keep_data_false_drops_retain(toy):
    provider, bp, artifacts = toy
    graph = provider.compile(bp, artifacts, keep_data=False)
    bucket = graph.by_name()["store-uploads-bucket"]
    assert not bucket.options.retain_on_delete and bucket.inputs["force_destroy"] is True


def test_executor_registers_exactly_the_plan(toy):
    assert_executor_matches_plan(*toy)


def test_plan_json_is_byte_identical_across_processes(tmp_path):
    tiny_blueprint(tmp_path, YAML)
    script = ("import sys, json; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
              "from pathlib import Path\nfrom deployer.blueprint.load import load_blueprint\n"
              "from deployer import plan\nfrom toy_provider import ToyProvider, toy_artifacts\n"
              "bp = load_blueprint(Path(sys.argv[3]) / 'deployer.yaml')\n"
              "p = plan.run(ToyProvider(), bp, toy_artifacts(bp, Path(sys.argv[3])))\n"
              "print(json.dumps(p.to_json()))\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))\n")
    runs = [subprocess.run([sys.executable, "-c", script, str(ROOT), str(ROOT / "tests"), str(tmp_path)],
                           capture_output=True, text=True, env={"PYTHONHASHSEED": seed, "TOKEN": "x",
                                                                "PATH": "/usr/bin:/bin"}, check=True)
            for seed in ("1", "2")]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.splitlines()[1] == "[]"  # plan imported no pulumi* module


def test_checks_catch_unknown_argument_and_unresolved_reference(tmp_path):
    bp = tiny_blueprint(tmp_path, YAML)
    provider = ToyProvider({"unknown-arg"})
    graph = provider.compile(bp, toy_artifacts(bp, tmp_path))
    found = checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)
    messages = [d.message for d in found]
    assert ("fn-resize-function (aws:lambda/function:Function): unknown argument runtim (did you mean "
            "'runtime'?)") in messages
    located = [d for d in found if "runtim" in d.message][0]
    assert (located.location.path, located.location.line) == ("functions.resize", 8)  # its mapping


def test_checks_catch_same_physical_name_and_local_worldwide_name(tmp_path):
    bp = tiny_blueprint(tmp_path, YAML)
    provider = ToyProvider({"same-role-name", "local-bucket-name"})
    with pytest.raises(BlueprintError) as err:
        plan.run(provider, bp, toy_artifacts(bp, tmp_path))
    messages = sorted(d.message for d in err.value.diagnostics)
    assert messages == [
        "fn-report-role: aws:iam/role:Role name 'same-role' is also the name of fn-resize-role",
        "store-uploads-bucket: aws:s3/bucket:Bucket name 'toy-dev-uploads' must be unique worldwide but holds "
        "nothing specific to this account",
    ]


def test_checks_catch_subscription_before_permission(tmp_path):
    bp = tiny_blueprint(tmp_path, YAML)
    provider = ToyProvider({"no-permission-first"})
    graph = provider.compile(bp, toy_artifacts(bp, tmp_path))
    found = [d.message for d in checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)]
    assert found == ["store-uploads-notification may be created before the aws:lambda/permission:Permission "
                     "that lets it invoke function resize"]


def _name_findings(tmp_path, app):
    bp = tiny_blueprint(tmp_path, YAML.replace("name: toy", f"name: {app}").replace("uploads", "s" * 40))
    provider = ToyProvider()
    graph = provider.compile(bp, toy_artifacts(bp, tmp_path))
    return [d.message for d in checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)]


def test_name_length_counts_a_reference_at_its_longest_value(tmp_path):
    # <app>-dev-<40-character store>-<12-digit account id>: 58 characters besides the app name
    assert _name_findings(tmp_path, "a" * 5) == []  # 63, though plan shows the 32-character reference
    assert _name_findings(tmp_path, "a" * 6) == [
        f"store-{'s' * 40}-bucket: aws:s3/bucket:Bucket name 'aaaaaa-dev-{'s' * 40}-${{getCallerIdentity.account_id}}' "
        "can be 64 characters; the limit is 63"]


def test_checks_find_a_dependency_cycle(tmp_path):
    bp = tiny_blueprint(tmp_path, YAML)
    provider = ToyProvider()
    g = Builder("aws", "p", "s")
    g.add("aws:sqs/queue:Queue", "a", APP, depends_on=["b"])
    g.add("aws:sqs/queue:Queue", "b", APP, depends_on=["a"])
    cyclic = checks.check(g.build(), provider.sdk_index(), provider.graph_rules(), bp)
    assert [d.message for d in cyclic] == ["dependency cycle through a"]


def test_eject_writes_a_project_that_registers_the_same_resources_and_urns(toy, tmp_path):
    provider, bp, artifacts = toy
    graph = provider.compile(bp, artifacts)
    out = tmp_path / "infra"
    done = eject(graph, provider.sdk_index(), out, blueprint="deployer.yaml", pulumi_version="3.0.0")
    source = (out / "__main__.py").read_text()
    imported = {n.names[0].name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import)}
    assert imported == {"pulumi", "pulumi_aws", "base64"}
    assert 'config.require_secret("TOKEN")' in source and "# function resize" in source
    assert (out / "packages" / "resize-0123456789ab.zip").is_file()
    assert (out / "Pulumi.dev.yaml").read_text() == 'config:\n  aws:region: "eu-west-1"\n'
    assert done.secret_commands == ['pulumi config set --secret TOKEN "$TOKEN" --stack dev']
    assert (out / "requirements.txt").read_text().splitlines()[1].startswith("pulumi-aws==")
    expected = plan.render(provider, bp, graph)
    ejected, urns = run_ejected(provider, graph, out)
    assert ejected == {(r.type, r.name): r.inputs for r in expected.resources}
    assert urns == {f"urn:pulumi:dev::toy::pulumi:pulumi:Stack${r.type}::{r.name}" for r in expected.resources}


def test_eject_cli_refuses_a_folder_that_is_not_empty(tmp_path, cli):
    target = tmp_path / "infra"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    (tmp_path / "deployer.yaml").write_text("name: x\nfunctions: {}\n")
    done = cli("eject", "--cloud", "aws", "-o", str(target), "-f", str(tmp_path / "deployer.yaml"))
    assert done.returncode == 2
    assert "the folder is not empty" in done.stderr and "Traceback" not in done.stderr
    assert (target / "mine.txt").read_text() == "keep me" and len(list(target.iterdir())) == 1


def test_index_matches_the_installed_sdks():
    """The shipped SDK indexes were generated from the installed SDK versions (regenerate otherwise)."""
    from importlib import metadata

    for cloud in ("aws", "gcp", "azure"):
        data = json.loads((ROOT / "providers" / cloud / "sdk_index.json").read_text())
        assert data["version"] == metadata.version(data["sdk"]), (
            f"providers/{cloud}/sdk_index.json is for {data['sdk']} {data['version']}: "
            f"run python scripts/sdk_index.py {cloud}")
        assert data["pulumi"] == metadata.version("pulumi")


def test_validate_with_a_cloud_runs_the_graph_checks(tmp_path, capsys):
    from deployer import providers
    from deployer.cli.app import main

    tiny_blueprint(tmp_path, YAML)
    undo = providers.register(ToyProvider({"same-role-name"}))
    try:
        with pytest.raises(SystemExit) as done:
            main(["validate", "--cloud", "toy", "--json", "-f", str(tmp_path / "deployer.yaml")])
    finally:
        undo()
    assert done.value.code == 2
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    assert [(d["message"], d["path"], d["cloud"]) for d in found] == [
        ("fn-report-role: aws:iam/role:Role name 'same-role' is also the name of fn-resize-role",
         "functions.report", "toy")]


def test_regenerating_the_indexes_changes_nothing():
    """Each shipped index is exactly what scripts/sdk_index.py makes from the installed SDK."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "sdk_index.py"), "--check", "aws", "gcp", "azure"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
