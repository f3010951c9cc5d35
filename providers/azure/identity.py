"""Identity: each function's user-assigned identity gets roles scoped to what its function uses.

Every role assignment is scoped to the container, queue, table, topic subscription, topic or secret
itself (never the storage account, the namespace, the vault or the resource group), so a function
reaches exactly the stores and secrets its grants name. An existing store (providers/azure/existing.py)
gets the same roles, scoped to its own ARM id, in whatever account, namespace or subscription it is. The rights come from
`deployer.blueprint.refs.grants` plus what a trigger needs:

| store | right | role (built-in id) | scope |
|---|---|---|---|
| bucket | read | Storage Blob Data Reader | container |
| bucket | write / read-write | Storage Blob Data Contributor | container |
| bucket | `created`/`deleted` trigger | Queue Data Reader + Message Processor; Contributor on its poison queue | the trigger's event queue |
| table | read | Storage Table Data Reader | table |
| table | write / read-write | Storage Table Data Contributor | table |
| queue | publish | Storage Queue Data Message Sender | queue |
| queue | consume | Storage Queue Data Reader + Message Processor; Queue Data Contributor on `<queue>-poison` | queue |
| topic | publish | Azure Service Bus Data Sender | topic |
| topic | trigger | Azure Service Bus Data Receiver + Data Owner (what the trigger documents) | the function's own subscription |
| secret | granted | Key Vault Secrets User | the secret |

The roles follow Microsoft's table for identity-based trigger connections, at the narrowest scope.
The Functions host itself (AzureWebJobsStorage, identity-based) needs blob access for its locks, timer
status and keys: Storage Blob Data Owner on the two host containers (keys: see below); Flex writes
the app's package to its own deployment container with Storage Blob Data Contributor there.
Assignment names are UUIDv5 of (scope, principal, role): unique in the tenant (Azure requires it),
stable across runs, and a new principal or scope is a new assignment instead of an update, which ARM
refuses (`RoleAssignmentUpdateNotPermitted`). The principal is each function's user-assigned identity,
named by its literal ARM id, so replacing an app keeps its assignments.

Host keys: the Functions host keeps every app's keys in the shared `azure-webjobs-secrets` container,
under `<host id>/`. Blob Data Owner on that container alone would let any function read every other
app's master key, so that assignment carries an ABAC condition limiting blob reads, writes and
deletes to the app's own `<host id>/` prefix (`host_keys_condition`).
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
    "secrets-user": "4633458b-17de-408a-b874-0445c86b69e6",
}
NAMESPACE = uuid.UUID("5f1f4e4e-9a59-4d8e-9d0e-6d6570c0ae01")
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
BLOB_DATA_ACTIONS = ("read", "write", "delete", "add/action", "move/action")


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


def scope_subscription(scope: str, default: str) -> str:
    """The subscription an ARM id lies in (`/subscriptions/<id>/...`), else `default`. A built-in role
    is named through the subscription of the scope it is assigned at: an existing store may lie in
    another subscription than the stage."""
    parts = scope.split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else default


def assignment_name(scope: str, principal: str, role: str) -> str:
    """The assignment's name: UUIDv5 of its scope, principal (an identity's ARM id) and role id."""
    return str(uuid.uuid5(NAMESPACE, f"{scope.lower()}|{principal.lower()}|{ROLES[role]}"))


def host_keys_condition(host_id: str) -> str:
    """ABAC (version 2.0): blob data actions only below `<host id>/` in the container it is scoped to."""
    actions = " AND ".join(
        f"!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{a}'}})"
        for a in BLOB_DATA_ACTIONS)
    return (f"(({actions}) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] "
            f"StringStartsWith '{host_id}/'))")


def assign(ctx, logical: str, owner, principal, principal_ref: str, role: str, scope_res, scope: str,
           condition: str | None = None):
    """One RoleAssignment of `principal` (an Out of an identity's principal_id) on `scope`.

    `scope` is the literal ARM id of what it is scoped to (known before deploy: the subscription is),
    which the plan shows and the name derives from; `scope_res` that resource, created first."""
    return ctx.g.add(
        ASSIGNMENT, logical, owner, delete_before_replace=True, depends_on=[scope_res] if scope_res else [],
        role_assignment_name=assignment_name(scope, principal_ref, role), principal_id=principal,
        principal_type="ServicePrincipal", scope=scope,
        role_definition_id=role_definition_id(scope_subscription(scope, ctx.subscription), role),
        condition=condition, condition_version="2.0" if condition else None)
