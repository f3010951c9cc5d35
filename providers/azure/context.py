"""What the Azure kind modules share while one graph is built: the shared hosting and the apps so far.

`AzureContext` extends the core's CompileContext (stores, functions, the builder) with the stage's
hosting resources (resource group, storage account, Key Vault, Service Bus namespace, Event Grid
system topic), each declared on first use, and with literal ARM ids: the subscription is known before
deploy (see `subscription_id`), so a role assignment's scope and name are plain text in the plan and
its name can be a UUID of (scope, principal, role).

No Pulumi import here or in any module of this provider: they build data (deployer/resources).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from deployer.resources.compile import CompileContext
from deployer.resources.graph import APP, Resource

RG = "azure-native:resources:ResourceGroup"
#: What plan shows when no subscription is configured (names are then only a preview).
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
SUBSCRIPTION_VARIABLES = ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID")


def subscription_id(env: Mapping[str, str] | None = None) -> str | None:
    """The subscription deployer deploys to: ARM_SUBSCRIPTION_ID (what azure-native reads) or
    AZURE_SUBSCRIPTION_ID (what azd and the Azure CLI scripts set); None when neither is set."""
    env = os.environ if env is None else env
    for name in SUBSCRIPTION_VARIABLES:
        if env.get(name, "").strip():
            return env[name].strip().lower()
    return None


@dataclass(frozen=True)
class App:
    """A declared Function App: its site name, resource, identity and the Flex plan it runs on."""

    function: str
    site: str
    resource: Resource
    identity: Resource  # the user-assigned identity: stable principal, outputs principal_id/client_id
    identity_id: str  # its literal ARM id


@dataclass
class AzureContext(CompileContext):
    subscription: str = PLACEHOLDER_SUBSCRIPTION
    resource_group: Resource | None = None
    account: Resource | None = None
    account_name: str = ""
    insights: Resource | None = None
    host_containers: dict[str, Resource] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)  # lazily declared: vault, bus, events topic

    @property
    def location(self) -> str:
        return self.bp.clouds.azure.location

    @property
    def rg_name(self) -> Any:
        return self.resource_group.out("name")

    def rg_id(self) -> str:
        from providers.azure import names

        return f"/subscriptions/{self.subscription}/resourceGroups/{names.resource_group(self.bp.name, self.bp.stage)}"

    def arm_id(self, provider_path: str) -> str:
        """`Microsoft.Storage/storageAccounts/x/...` -> its full ARM id in the stage's resource group."""
        return f"{self.rg_id()}/providers/{provider_path}"

    def account_id(self, below: str = "") -> str:
        return self.arm_id(f"Microsoft.Storage/storageAccounts/{self.account_name}{below}")

    def app(self, function: str) -> App:
        return self.apps[function]

    def add(self, type_: str, logical: str, owner=APP, /, **kwargs: Any) -> Resource:
        """Builder.add with the stage's resource group filled in (every Azure resource here has one)."""
        if self.resource_group is not None and type_ != RG and "resource_group_name" not in kwargs:
            kwargs["resource_group_name"] = self.rg_name
        return self.g.add(type_, logical, owner, **kwargs)

    def once(self, key: str, make) -> Any:
        """A shared resource declared on first use (`make()`), the same one afterwards."""
        if key not in self.shared:
            self.shared[key] = make()
        return self.shared[key]
