"""`deployer eject --cloud gcp`: the ejected program registers the same resources, inputs and URNs as the plan.

The ejected `__main__.py` runs under Pulumi's mocks with `reference_mocks` (every output resolves to its
plan reference text), its secrets set as stack config, like the core's eject test does for the toy
provider (tests/test_resources.py).
"""

from __future__ import annotations

import pytest
from graph_support import run_ejected
from toy_provider import toy_artifacts
from test_gcp_program import ENV, with_project

from deployer import plan, providers
from deployer.blueprint.load import load_blueprint
from deployer.resources.eject import eject

from conftest import BLUEPRINTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize("name", ["iot", "images"])
def test_the_ejected_program_registers_the_plan(name, tmp_path):
    bp = with_project(load_blueprint(BLUEPRINTS / name / "deployer.yaml", env=ENV))
    artifacts = toy_artifacts(bp, tmp_path)
    provider = providers.get("gcp")
    graph = provider.compile(bp, artifacts)
    done = eject(graph, provider.sdk_index(), tmp_path / "infra", blueprint="deployer.yaml", pulumi_version="3.0.0")
    assert done.secret_commands == (['pulumi config set --secret INGEST_TOKEN "$INGEST_TOKEN" --stack dev']
                                    if name == "iot" else [])
    expected = plan.render(provider, bp, graph)
    registered, urns = run_ejected(provider, graph, tmp_path / "infra")
    assert registered == {(r.type, r.name): r.inputs for r in expected.resources}
    assert urns == {f"urn:pulumi:dev::{bp.name}::pulumi:pulumi:Stack${r.type}::{r.name}" for r in expected.resources}


def test_eject_works_without_a_project(cli, tmp_path):
    from test_gcp_program import DEFAULT_QUEUE, tiny

    tiny(tmp_path, DEFAULT_QUEUE.replace("clouds: {gcp: {project: p-123456}}\n", ""))
    done = cli("eject", "--cloud", "gcp", "-o", str(tmp_path / "infra"), "-f", str(tmp_path / "deployer.yaml"), env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'gcp:project: "gcp-project-not-set"' in (tmp_path / "infra" / "Pulumi.dev.yaml").read_text()
