"""Identity: each Function App's system-assigned identity gets roles scoped to what its function uses.

Every role assignment is scoped to the container, queue, table, topic subscription or topic itself
(never the storage account, the namespace or the resource group), so a function reaches exactly the
stores its grants name. The rights come from `deployer.blueprint.refs.grants` plus what a trigger needs:

| store | right | role (built-in id) | scope |
|---|---|---|---|
| bucket | read | Storage Blob Data Reader | container |
| bucket | write / read-write | Storage Blob Data Contributor | container |
| bucket | blob trigger | Storage Blob Data Owner (what the blob trigger documents) | container |
| table | read | Storage Table Data Reader | table |
| table | write / read-write | Storage Table Data Contributor | table |
| queue | publish | Storage Queue Data Message Sender | queue |
| queue | consume | Storage Queue Data Reader + Message Processor; Queue Data Contributor on `<queue>-poison` | queue |
| topic | publish | Azure Service Bus Data Sender | topic |
| topic | trigger | Azure Service Bus Data Receiver + Data Owner (what the trigger documents) | the function's own subscription |

The roles follow Microsoft's table for identity-based trigger connections, at the narrowest scope.
The Functions host itself (AzureWebJobsStorage, identity-based) needs blob access for its locks, timer
status and keys and, for a polling blob trigger, a scan queue: deployer declares those containers and
queues and scopes Storage Blob Data Owner / Queue Data Contributor to them. Microsoft also lists
Storage Account Contributor (account-wide, a management role that can read the account keys) for blob
triggers; deployer does not grant it (docs/azure.md, known limits).
Assignment names are UUIDv5 of the logical name, so they are stable across runs.
"""

from __future__ import annotations

import uuid

ROLES = {
    "blob-reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "blob-contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "blob-owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "queue-reader": "19e7f393-937e-4f77-808e-94535e297925",
    "queue-sender": "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
    "queue-processor": "8a0f0c08-91a1-4084-bc3d-661d67233fed",
    "queue-contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "table-reader": "76199698-9eea-4c19-bc75-cec21354c6b6",
    "table-contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "bus-sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "bus-receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "bus-owner": "090c5cfd-751d-490a-894a-3ce6f1109419",
}
NAMESPACE = uuid.UUID("5f1f4e4e-9a59-4d8e-9d0e-6d6570c0ae01")


def grant_roles(kind: str, rights: frozenset[str]) -> list[str]:
    """Role keys for a grant's rights on a store of one kind (see the module table)."""
    match kind:
        case "bucket":
            return ["blob-contributor"] if "write" in rights else ["blob-reader"] if "read" in rights else []
        case "table":
            return ["table-contributor"] if "write" in rights else ["table-reader"] if "read" in rights else []
        case "queue":
            return (["queue-sender"] if "publish" in rights else []) + (
                ["queue-reader", "queue-processor"] if "consume" in rights else [])
        case "topic":
            return ["bus-sender"] if "publish" in rights else []
    raise TypeError(f"unsupported store kind {kind!r}")


def role_definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"


def assign(ctx, logical: str, function: str, role: str, scope) -> object:
    """One RoleAssignment of the function's app identity on `scope` (an ARM id Output)."""
    from pulumi_azure_native import authorization

    app = ctx.app(function)
    subscription = ctx.subscription_id()
    return authorization.RoleAssignment(
        logical, role_assignment_name=str(uuid.uuid5(NAMESPACE, f"{ctx.bp.stage_name()}/{logical}")),
        principal_id=app.principal_id, principal_type="ServicePrincipal", scope=scope,
        role_definition_id=subscription.apply(lambda sub: role_definition_id(sub, role)))
