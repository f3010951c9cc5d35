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


def recording_monitor(mocks):
    """Pulumi's MockMonitor, also recording each registration's options: {name: {retain_on_delete,
    import, ignore_changes, replace_on_changes, delete_before_replace, dependencies (logical names)}}."""
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self) -> None:
            super().__init__(mocks)
            self.options: dict[str, dict[str, Any]] = {}

        def RegisterResource(self, request):
            if request.type != "pulumi:pulumi:Stack":
                self.options[request.name] = {
                    "retain_on_delete": bool(request.retainOnDelete), "import": request.importId or None,
                    "ignore_changes": sorted(request.ignoreChanges),
                    "replace_on_changes": sorted(request.replaceOnChanges),
                    "delete_before_replace": bool(request.deleteBeforeReplace),
                    "dependencies": sorted(urn.rsplit("::", 1)[-1] for urn in request.dependencies)}
            return super().RegisterResource(request)

    return RecordingMonitor()


def wire_name(name: str) -> str:
    """`force_destroy` -> `forceDestroy`: how the SDK hands ignore_changes to the engine."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def expected_options(graph: Graph) -> dict[str, dict[str, Any]]:
    """What the monitor must record for each resource of the graph."""
    return {r.name: {"retain_on_delete": r.options.retain_on_delete, "import": r.options.import_id,
                     "ignore_changes": sorted(wire_name(n) for n in r.options.ignore_changes),
                     "replace_on_changes": sorted(r.options.replace_on_changes),
                     "delete_before_replace": r.options.delete_before_replace,
                     "dependencies": sorted(r.dependencies())} for r in graph.resources}


def executor_registrations(provider, graph: Graph, monitor=None) -> dict[tuple[str, str], dict[str, Any]]:
    import pulumi
    import pulumi.runtime

    index = provider.sdk_index()
    values = secret_values(graph)
    mocks = reference_mocks(index, graph)
    pulumi.runtime.set_mocks(mocks, project=graph.project, stack=graph.stack, preview=False,
                             monitor=monitor(mocks) if monitor else None)

    @pulumi.runtime.test
    def run():
        Executor(graph, index, values).run()

    run()
    hidden = frozenset(values.values())
    registered = {(typ, name): plain(inputs, hidden) for typ, name, inputs in mocks.registered}
    ids = {r.name: r.options.read_id or r.options.import_id for r in graph.resources
           if (r.options.read_id or r.options.import_id) is not None}
    assert mocks.ids == ids, "existing resources are read, and kept ones imported, by their ids (and only they)"
    return registered


def assert_executor_matches_plan(provider, bp, artifacts) -> plan.Plan:
    """The plan of `bp`, after checking that the executor registers exactly its resources, inputs and
    options (retain on delete, import, dependencies: inputs' references and depends_on)."""
    graph = provider.compile(bp, artifacts)
    planned = plan.render(provider, bp, graph)
    monitors = []
    registered = executor_registrations(provider, graph, lambda m: monitors.append(recording_monitor(m)) or monitors[0])
    expected = {(r.type, r.name): r.inputs for r in planned.resources}
    assert sorted(registered) == sorted(expected)
    for key, inputs in expected.items():
        assert registered[key] == inputs, key
    wanted = expected_options(graph)
    for name, options in monitors[0].options.items():
        assert options == wanted[name], name
    return planned


def run_ejected(provider, graph: Graph, out) -> tuple[dict[tuple[str, str], dict[str, Any]], set[str]]:
    """Run an ejected project's __main__.py (in `out`) under the same mocks, its secrets and the graph's
    stack config set as config: (registrations as executor_registrations gives them, their URNs)."""
    import os
    import runpy

    import pulumi
    import pulumi.runtime

    mocks = reference_mocks(provider.sdk_index(), graph)
    pulumi.runtime.set_mocks(mocks, project=graph.project, stack=graph.stack, preview=False)
    values = secret_values(graph)
    pulumi.runtime.set_all_config({**{f"{graph.project}:{k}": v for k, v in values.items()}, **graph.config},
                                  secret_keys=[f"{graph.project}:{k}" for k in values])
    found: dict[str, Any] = {}
    urns: list[str] = []
    here = os.getcwd()

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
