"""Stores that already exist on Azure (`existing:`), named by their ARM resource id.

A store deployer creates lives in the stage's own storage account (containers, tables, queues) or
Service Bus namespace (topics). A store that already exists almost always lives in ANOTHER account or
namespace, often another resource group, so its name alone cannot locate it: the blueprint gives its
full ARM resource id, the form the portal shows as "Resource ID" and `az ... show --query id` prints:

    bucket  /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<name>
    table   /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>/tableServices/default/tables/<name>
    queue   /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>/queueServices/default/queues/<name>
    topic   /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.ServiceBus/namespaces/<namespace>/topics/<name>

Why the id, read (`read_id`) rather than only referenced: the id is at once what azure-native's `get`
takes (its resources' provider ids are ARM ids), what a role assignment's `scope` is, and what the
Event Grid / Service Bus resources name their parents by. Reading it makes `up` (and `preview`) stop
on a store that does not exist before anything is granted on it, plan shows it as read (`=`, never
`+`), eject writes `BlobContainer.get(...)`, and it carries no `retain`, so it is never kept, adopted,
imported or deleted. Grants are scoped to the id itself, never to the account or namespace.

What a function's client needs is not the id but the endpoint: an existing store's locator
(DEPLOYER_STORE_<NAME>) is its URL, `https://<account>.blob.core.windows.net/<container>` (table,
queue alike) or `https://<namespace>.servicebus.windows.net/<topic>`, which the runtime client
(deployer/runtime/clients/azure.py) opens with the function's identity; created stores keep their
bare names in the stage's account. Azure's public cloud endpoints only (`core.windows.net`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deployer.blueprint.model import Blueprint

_SUBSCRIPTION = r"(?P<subscription>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
_GROUP = r"(?P<group>[-\w.()]{0,89}[-\w()])"
_DNS = r"[a-z0-9](?:-?[a-z0-9]){2,62}"  # containers and queues: 3-63, single inner hyphens
# ARM matches its fixed segments without regard to case (`(?i:...)`); names keep their own rules
_PREFIX = rf"(?i:/subscriptions/){_SUBSCRIPTION}(?i:/resourceGroups/){_GROUP}(?i:/providers/)"
_STORAGE = rf"{_PREFIX}(?i:Microsoft\.Storage/storageAccounts/)(?P<account>[a-z0-9]{{3,24}})"
FORMS = {
    "bucket": rf"{_STORAGE}(?i:/blobServices/default/containers/)(?P<name>{_DNS})",
    "table": rf"{_STORAGE}(?i:/tableServices/default/tables/)(?P<name>[A-Za-z][A-Za-z0-9]{{2,62}})",
    "queue": rf"{_STORAGE}(?i:/queueServices/default/queues/)(?P<name>{_DNS})",
    "topic": rf"{_PREFIX}(?i:Microsoft\.ServiceBus/namespaces/)(?P<account>[A-Za-z][A-Za-z0-9-]{{4,48}}[A-Za-z0-9])"
             r"(?i:/topics/)(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,259})",
}
_PATTERNS = {kind: re.compile(form) for kind, form in FORMS.items()}
EXAMPLES = {
    "bucket": "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/"
              "<account>/blobServices/default/containers/<container>",
    "table": "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/"
             "<account>/tableServices/default/tables/<table>",
    "queue": "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/"
             "<account>/queueServices/default/queues/<queue>",
    "topic": "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.ServiceBus/namespaces/"
             "<namespace>/topics/<topic>",
}
SERVICES = {"bucket": "blob", "table": "table", "queue": "queue"}


@dataclass(frozen=True)
class Existing:
    """An existing store's ARM id and its parts: `account` is the storage account or Service Bus namespace."""

    kind: str
    id: str
    subscription: str
    group: str
    account: str
    name: str

    @property
    def url(self) -> str:
        """The store's endpoint, the locator its functions' clients open."""
        if self.kind == "topic":
            return f"https://{self.account}.servicebus.windows.net/{self.name}"
        return f"https://{self.account}.{SERVICES[self.kind]}.core.windows.net/{self.name}"

    @property
    def host(self) -> str:
        """The Service Bus namespace's host name (topics)."""
        return f"{self.account}.servicebus.windows.net"

    def service_uri(self, service: str) -> str:
        """`https://<account>.<service>.core.windows.net` (storage kinds)."""
        return f"https://{self.account}.{service}.core.windows.net"

    def sibling(self, name: str) -> str:
        """The id of another entity of the same kind beside this one (a queue's poison queue)."""
        return self.id[: len(self.id) - len(self.name)] + name


def parse(kind: str, text: str) -> Existing | None:
    """The parts of an existing store's id, or None when `text` is not an id of that kind."""
    pattern = _PATTERNS.get(kind)
    if pattern is None:
        raise TypeError(f"unsupported store kind {kind!r}")
    found = pattern.fullmatch(text.strip())
    if not found:
        return None
    return Existing(kind, text.strip(), found["subscription"].lower(), found["group"], found["account"], found["name"])


def of(bp: Blueprint, store: str) -> Existing | None:
    """The existing resource a store names on Azure, or None when deployer creates it.

    `check` refuses an id of the wrong form first, so compiling never meets one."""
    text = bp.existing(store, "azure")
    if not text:
        return None
    found = parse(bp.stores[store].kind, text)
    if found is None:
        raise ValueError(f"store {store!r}: {text!r} is not an Azure {bp.stores[store].kind} id (check refuses it)")
    return found


def where(bp: Blueprint, store: str) -> str:
    """The blueprint field that names the store's existing resource on Azure."""
    return f"clouds.azure.existing.{store}" if store in bp.clouds.azure.existing else f"stores.{store}.existing"
