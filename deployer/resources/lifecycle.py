"""Stores across deploys: what `destroy` kept, what a stack's stores were, and changes that lose data.

`destroy` keeps buckets, tables and queues (their resources carry `retain_on_delete`), but they still
exist under the same physical names, so the next `up` of the stage would try to create them again and
fail (already exists / already owned / 409). So a destroy that keeps data records, in the stack's own
outputs (`deployer_kept`, stored by whatever backend holds the state: a file, s3://, gs://, azblob://),
the logical name, type and physical id of every resource it kept; the next `up` reads that record and
marks those resources for import (`Options.import_id`), so they are adopted with their data.

Every deploy also exports the stores' identity (`deployer_stores`: kind, and a table's key). A change
that would replace a stateful store under the same name (a table's key, a store's kind) loses its data
and, with a kept store, collides with itself; `plan` and `up` refuse it (exit 2) unless the user says
`--replace-data` for that store.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from deployer.errors import Diagnostic

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint
    from deployer.resources.graph import Graph

KEPT_OUTPUT = "deployer_kept"
STORES_OUTPUT = "deployer_stores"
STATEFUL = ("bucket", "table", "queue")


def fingerprints(bp: "Blueprint", cloud: str | None = None) -> dict[str, dict[str, str]]:
    """What identifies each store's data: its kind, a table's key attribute, and on `cloud` the
    resource it names when it already existed (`existing`: deployer neither owns nor replaces it)."""
    out = {}
    for name, store in sorted(bp.stores.items()):
        entry = {"kind": store.kind}
        if store.kind == "table":
            entry["key"] = store.key
        existing = bp.existing(name, cloud) if cloud else None
        if existing:
            entry["existing"] = existing
        out[name] = entry
    return out


def replacements(previous: Mapping[str, Any] | None, bp: "Blueprint",
                 allowed: Iterable[str] = (), cloud: str | None = None) -> list[Diagnostic]:
    """An error per stateful store whose kind or key changed since `previous` (not in `allowed`). A store
    that names an existing resource, now or before, is never replaced by deployer: no error."""
    if not isinstance(previous, Mapping):
        return []
    found = []
    allowed = set(allowed)
    for name, now in fingerprints(bp, cloud).items():
        before = previous.get(name)
        if not isinstance(before, Mapping) or name in allowed or before.get("kind") not in STATEFUL:
            continue
        if "existing" in now or "existing" in before:
            continue
        if before.get("kind") != now["kind"]:
            what, path = f"kind from {before.get('kind')} to {now['kind']}", f"stores.{name}.kind"
        elif now["kind"] == "table" and before.get("key") != now.get("key"):
            what, path = f"key from '{before.get('key')}' to '{now['key']}'", f"stores.{name}.key"
        else:
            continue
        found.append(Diagnostic(
            f"store '{name}' changes its {what}: that replaces the {before.get('kind')} and loses its data",
            bp.locate(path) if bp.mark(path) else bp.locate(f"stores.{name}"),
            hint=f"declare a new store, copy the data over, then remove '{name}'; or deploy with "
                 f"--replace-data {name} to delete it and its data and create it anew", code="replace"))
    return found


def kept_record(deployment: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """{logical name: {"type", "id"}} of the resources a stack keeps on delete (from `pulumi stack
    export`), added to a record an earlier destroy left (a second destroy must not forget the first)."""
    record = {k: dict(v) for k, v in (previous or {}).items() if isinstance(v, Mapping)}
    for res in deployment.get("resources") or []:
        if res.get("retainOnDelete") and res.get("id") and res.get("custom", True):
            name = str(res.get("urn", "")).rsplit("::", 1)[-1]
            record[name] = {"type": res.get("type"), "id": res["id"]}
    return dict(sorted(record.items()))


def managed_names(deployment: Mapping[str, Any]) -> set[str]:
    """Logical names of the resources a stack's state holds (`pulumi stack export`)."""
    return {str(r.get("urn", "")).rsplit("::", 1)[-1] for r in deployment.get("resources") or []}


def detached_changes(graph: "Graph", detached: "Graph", deployment: Mapping[str, Any]) -> list[str]:
    """What a keeping destroy's detaching update would change (engine._destroy_keeping): the resources
    of the state that the detached graph declares differently. None (an emptied stack, a blueprint
    without anything to detach): that update is skipped."""
    managed, other = managed_names(deployment), detached.by_name()
    return sorted(r.name for r in graph.resources if r.name in managed and other.get(r.name) != r)


def to_adopt(record: Mapping[str, Any] | None, deployment: Mapping[str, Any]) -> dict[str, dict]:
    """The recorded resources the stack does not manage any more (kept by a destroy, or by an `up`
    whose blueprint dropped their store): what an `up` may import. One still in the state is managed."""
    managed = managed_names(deployment)
    return {name: dict(entry) for name, entry in (record or {}).items()
            if isinstance(entry, Mapping) and name not in managed}


def still_kept(candidates: Mapping[str, Any], graph: "Graph") -> dict[str, dict]:
    """What an `up` must go on recording: every kept resource (the earlier record, and what the state
    retains now) that this graph does not declare. A store removed from the blueprint is kept by the
    cloud (retain_on_delete) and leaves the state, so without this record adding it back later would
    collide with itself; a resource the graph declares again is adopted (or still managed)."""
    declared = {res.name for res in graph.resources}
    return {name: dict(entry) for name, entry in sorted(candidates.items())
            if isinstance(entry, Mapping) and name not in declared}


def adopt(graph: "Graph", record: Mapping[str, Any] | None, not_adopted: Iterable[str] = ()) -> "Graph":
    """The graph with every recorded resource (same logical name and type, retained) marked for import:
    a store's, and what holds stores (Azure's resource group and storage account) or a function's kept
    failure queue. Types in `not_adopted` are declared again instead (a grant kept because other stacks
    share it, GCP's project bindings: the cloud accepts that, and its state id is not an import id).

    An imported resource ignores changes to every input: Pulumi refuses an import whose inputs differ
    from what the cloud reads back (a setting changed since the destroy, an input the cloud never
    returns), so the import takes the resource as it is and the engine's second update of that `up`
    applies the blueprint to it (engine.PulumiEngine.up)."""
    if not record:
        return graph
    skip = set(not_adopted)
    resources = []
    for res in graph.resources:
        entry = record.get(res.name)
        if isinstance(entry, Mapping) and entry.get("type") == res.type and res.options.retain_on_delete \
                and res.type not in skip:
            ignored = tuple(sorted({*res.options.ignore_changes, *res.inputs}))
            res = dataclasses.replace(res, options=dataclasses.replace(
                res.options, import_id=str(entry["id"]), ignore_changes=ignored))
        resources.append(res)
    return dataclasses.replace(graph, resources=tuple(resources))


def replace_stores(graph: "Graph", stores: Iterable[str]) -> "Graph":
    """The graph with the resources of `stores` deleted before they are replaced (`--replace-data`)."""
    stores = set(stores)
    if not stores:
        return graph
    resources = tuple(
        dataclasses.replace(r, options=dataclasses.replace(r.options, delete_before_replace=True))
        if r.owner.kind == "store" and r.owner.name in stores else r for r in graph.resources)
    return dataclasses.replace(graph, resources=resources)
