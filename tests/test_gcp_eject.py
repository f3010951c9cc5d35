"""`deployer eject --cloud gcp`: the ejected program registers the same resources, inputs and URNs as the plan.

The ejected `__main__.py` runs under Pulumi's mocks with `reference_mocks` (every output resolves to its
plan reference text), its secrets set as stack config, like the core's eject test does for the toy
provider (tests/test_resources.py).
"""

from __future__ import annotations

import os
import runpy

import pytest
from graph_support import secret_values
from test_gcp_program import ENV, with_project

from deployer import plan, providers
from deployer.blueprint.load import load_blueprint
from deployer.providers import Artifact
from deployer.resources.eject import eject

from conftest import BLUEPRINTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_ejected(provider, graph, out):
    import pulumi
    import pulumi.runtime

    from deployer.plan_mocks import plain
    from deployer.resources.execute import reference_mocks

    mocks = reference_mocks(provider.sdk_index(), graph)
    pulumi.runtime.set_mocks(mocks, project=graph.project, stack=graph.stack, preview=False)
    values = secret_values(graph)
    pulumi.runtime.set_all_config({**{f"{graph.project}:{k}": v for k, v in values.items()}, **graph.config},
                                  secret_keys=[f"{graph.project}:{k}" for k in values])
    found, urns, here = {}, [], os.getcwd()

    @pulumi.runtime.test
    def run():
        os.chdir(out)
        try:
            found.update(runpy.run_path(str(out / "__main__.py")))
        finally:
            os.chdir(here)
        resources = [v for v in found.values() if isinstance(v, pulumi.CustomResource)]
        return pulumi.Output.all(*[r.urn for r in resources]).apply(urns.extend)

    run()
    return {(t, n): plain(i, frozenset(values.values())) for t, n, i in mocks.registered}, set(urns)


@pytest.mark.parametrize("name", ["iot", "images"])
def test_the_ejected_program_registers_the_plan(name, tmp_path):
    bp = with_project(load_blueprint(BLUEPRINTS / name / "deployer.yaml", env=ENV))
    artifacts = {}
    for function in bp.functions:
        path = tmp_path / f"{function}-0123456789ab.zip"
        path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
        artifacts[function] = Artifact(function, path, "0" * 64, path.stat().st_size)
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
