"""Least privilege on Azure, over every example: each function's identity holds exactly the roles its
triggers and `uses` imply, per store, and nothing else (issue 20, item 7).

The expected table is written out by hand from the blueprint rules (docs/blueprint.md, `uses` access
words; providers/azure/identity.py's table), NOT derived from the provider's code: adding a role to a
read-only grant, widening a scope to the account or granting a trigger's store to the wrong function
fails here, whatever `--update-golden` would accept. Per function, besides its stores, every app
has the same plumbing: Blob Data Owner on the two host containers (the secrets one limited to its own
host id by an ABAC condition, tested in test_azure_plan.py) and Blob Data Contributor on its own
deployment container.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.blueprint.load import load_blueprint
from deployer.providers import Artifact
from providers.azure.provider import AzureProvider

ROOT = Path(__file__).resolve().parent.parent
ROLE_IDS = {  # Azure built-in role ids, from Microsoft's list of built-in roles
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "19e7f393-937e-4f77-808e-94535e297925": "Storage Queue Data Reader",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
    "8a0f0c08-91a1-4084-bc3d-661d67233fed": "Storage Queue Data Message Processor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "76199698-9eea-4c19-bc75-cec21354c6b6": "Storage Table Data Reader",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
    "090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}
BLOB_R, BLOB_W = "Storage Blob Data Reader", "Storage Blob Data Contributor"
TABLE_R, TABLE_W = "Storage Table Data Reader", "Storage Table Data Contributor"
Q_SEND, Q_READ, Q_PROC, Q_ALL = ("Storage Queue Data Message Sender", "Storage Queue Data Reader",
                                 "Storage Queue Data Message Processor", "Storage Queue Data Contributor")
BUS_SEND, BUS_RECV, BUS_OWN = "Azure Service Bus Data Sender", "Azure Service Bus Data Receiver", "Azure Service Bus Data Owner"
CONSUME = {Q_READ, Q_PROC}  # a queue trigger; its `-poison` queue gets Q_ALL (the runtime moves failures there)
TOPIC_TRIGGER = {BUS_RECV, BUS_OWN}  # on the function's own subscription only

#: example -> function -> store (or the function's trigger plumbing) -> roles. Written from the blueprints.
EXPECTED = {
    "images": {
        # uses: uploads read, thumbnails write; triggers: bucket uploads created (x2): events on its own queues
        "resize": {"bucket uploads": {BLOB_R}, "bucket thumbnails": {BLOB_W},
                   "events0": CONSUME, "events0 poison": {Q_ALL}, "events1": CONSUME, "events1 poison": {Q_ALL}},
        # uses: thumbnails write; trigger: bucket uploads deleted (no right on uploads: the event says it all)
        "cleanup": {"bucket thumbnails": {BLOB_W}, "events0": CONSUME, "events0 poison": {Q_ALL}},
        # uses: uploads write, thumbnails read; http triggers need no store role
        "api": {"bucket uploads": {BLOB_W}, "bucket thumbnails": {BLOB_R}},
    },
    "iot": {
        "ingest": {"queue readings": {Q_SEND}, "secret INGEST-TOKEN": {"Key Vault Secrets User"}},
        "analyse": {"queue readings": CONSUME, "queue readings poison": {Q_ALL}, "table metrics": {TABLE_W},
                    "topic alerts": {BUS_SEND}},
        "alert": {"subscription alerts/alert": TOPIC_TRIGGER, "bucket archive": {BLOB_W}},
    },
    "orders": {
        "api": {"table orders": {TABLE_W}, "topic events": {BUS_SEND}, "queue fulfilment": {Q_SEND}},
        "notify": {"subscription events/notify": TOPIC_TRIGGER, "table notifications": {TABLE_W}},
        "worker": {"queue fulfilment": CONSUME, "queue fulfilment poison": {Q_ALL}, "table orders": {TABLE_W}},
    },
    "report": {
        "record": {"table sales": {TABLE_W}},
        "read-report": {"bucket reports": {BLOB_R}},
        "nightly": {"table sales": {TABLE_R}, "bucket reports": {BLOB_W}},
        "snapshot": {"table sales": {TABLE_R}, "bucket reports": {BLOB_W}},
    },
}
PLUMBING = {"host azure-webjobs-hosts": {"Storage Blob Data Owner"},
            "host azure-webjobs-secrets": {"Storage Blob Data Owner"}, "deployment": {BLOB_W}}


def label(bp, fn: str, scope: str) -> str:
    """What a role assignment's scope is, in the blueprint's words."""
    prefix = f"{bp.name}-{bp.stage}-"
    tail = scope.split("/providers/", 1)[1]
    kind, name = tail.rsplit("/", 2)[-2:]
    match kind:
        case "containers" if name.startswith("azure-webjobs-"):
            return f"host {name}"
        case "containers" if name.startswith("deploy-"):
            return "deployment"
        case "containers":
            return f"bucket {name.removeprefix(prefix)}"
        case "queues" if name.startswith(f"{prefix}{fn}-events"):
            rest = name.removeprefix(f"{prefix}{fn}-")
            return rest.replace("-poison", " poison")
        case "queues":
            base = name.removeprefix(prefix)
            return f"queue {base.removesuffix('-poison')}" + (" poison" if base.endswith("-poison") else "")
        case "tables":
            return f"table {name.removeprefix(bp.name + bp.stage)}"
        case "topics":
            return f"topic {name.removeprefix(prefix)}"
        case "subscriptions":
            topic = tail.split("/topics/", 1)[1].split("/", 1)[0].removeprefix(prefix)
            return f"subscription {topic}/{name}"
        case "secrets":
            return f"secret {name}"
    raise AssertionError(f"unexpected role scope {scope}")


def granted(example: str, monkeypatch) -> tuple[object, dict[str, dict[str, set[str]]], list[dict]]:
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    bp = load_blueprint(ROOT / "blueprints" / example / "deployer.yaml")
    graph = AzureProvider().compile(bp, {f: Artifact(f, Path(f"/b/{f}.zip"), "a" * 64, 1) for f in bp.functions})
    table: dict[str, dict[str, set[str]]] = {fn: {} for fn in bp.functions}
    others = []
    for res in graph.resources:
        if res.type != "azure-native:authorization:RoleAssignment":
            continue
        role = ROLE_IDS[res.inputs["role_definition_id"].rsplit("/", 1)[1]]
        principal = res.inputs["principal_id"].resource
        fn = principal.removeprefix("fn-").removesuffix("-identity")
        if principal != f"fn-{fn}-identity":
            others.append({"principal": principal, "role": role, "scope": res.inputs["scope"]})
            continue
        table[fn].setdefault(label(bp, fn, res.inputs["scope"]), set()).add(role)
    return bp, table, others


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_each_identity_holds_exactly_what_its_triggers_and_uses_imply(example, monkeypatch):
    bp, table, _ = granted(example, monkeypatch)
    expected = {fn: {**PLUMBING, **stores} for fn, stores in EXPECTED[example].items()}
    assert table == expected


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_only_event_grid_holds_roles_besides_the_functions(example, monkeypatch):
    """Event Grid's identity may only send to the bucket triggers' event queues."""
    bp, _, others = granted(example, monkeypatch)
    for grant in others:
        assert grant["principal"] == "app-storage-events-identity" and grant["role"] == Q_SEND
        assert grant["scope"].rsplit("/", 1)[1].startswith(f"{bp.name}-{bp.stage}-")
        assert "-events" in grant["scope"].rsplit("/", 1)[1] and not grant["scope"].endswith("-poison")
    triggers = sum(1 for fn in bp.functions.values() for t in fn.triggers if type(t).__name__ == "BucketTrigger")
    assert len(others) == triggers
