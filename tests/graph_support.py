"""Shared checks for graph providers: the executor under Pulumi's mocks registers exactly the plan.

`executor_registrations` runs deployer/resources/execute.py's Executor over a graph under
`reference_mocks` (every output resolves to its plan reference text) and returns what Pulumi's mock
monitor received, inputs normalised the way the old mock plan did (archives described, secrets masked).
`assert_executor_matches_plan` compares that with `deployer.plan.render`, resource for resource.
"""

from __future__ import annotations

from typing import Any

from deployer import plan
from deployer.plan_mocks import plain
from deployer.resources.execute import Executor, reference_mocks
from deployer.resources.graph import Graph


def secret_values(graph: Graph) -> dict[str, str]:
    return {name: f"value-of-{name}" for name in graph.secrets()}


def executor_registrations(provider, graph: Graph) -> dict[tuple[str, str], dict[str, Any]]:
    import pulumi
    import pulumi.runtime

    index = provider.sdk_index()
    values = secret_values(graph)
    mocks = reference_mocks(index, graph)
    pulumi.runtime.set_mocks(mocks, project=graph.project, stack=graph.stack, preview=False)

    @pulumi.runtime.test
    def run():
        Executor(graph, index, values).run()

    run()
    hidden = frozenset(values.values())
    return {(typ, name): plain(inputs, hidden) for typ, name, inputs in mocks.registered}


def assert_executor_matches_plan(provider, bp, artifacts) -> plan.Plan:
    """The plan of `bp`, after checking that the executor registers exactly its resources and inputs."""
    graph = provider.compile(bp, artifacts)
    planned = plan.render(provider, bp, graph)
    registered = executor_registrations(provider, graph)
    expected = {(r.type, r.name): r.inputs for r in planned.resources}
    assert sorted(registered) == sorted(expected)
    for key, inputs in expected.items():
        assert registered[key] == inputs, key
    return planned
