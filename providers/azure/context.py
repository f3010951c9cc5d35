"""What the Azure kind modules share while one program runs: the blueprint and the resources so far.

The core's order (hosting, stores, then functions, then HTTP) means a module only looks up what an
earlier one declared, through `Context.store()` / `Context.app()`: one typed lookup instead of
dictionaries passed around. Stateful resources get `Context.stateful()` options (retain on delete).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from deployer.blueprint.model import Blueprint
from deployer.providers import Artifact, keep_data


@dataclass(frozen=True)
class StoreRef:
    """A declared store: kind, physical name (the DEPLOYER_STORE_ locator) and role-assignment scopes.

    `scope` is the ARM id of the container, queue, table or topic itself; `extra_scopes` are the
    related resources a consumer needs too (a queue's poison queue)."""

    name: str
    kind: str
    physical: str
    scope: pulumi.Output
    resource: Any
    extra_scopes: tuple = ()
    subscriptions: dict = field(default_factory=dict)  # topic: consumer function -> Subscription


@dataclass(frozen=True)
class AppRef:
    """A declared Function App: its site name, default host name and identity principal."""

    function: str
    site: str
    host: pulumi.Output
    principal_id: pulumi.Output
    resource: Any
    settings: Any = None  # its WebAppApplicationSettings (the package URL lives there)


@dataclass
class Context:
    bp: Blueprint
    artifacts: dict[str, Artifact]
    resource_group: Any = None
    account: Any = None
    account_name: str = ""
    plan: Any = None
    insights: Any = None
    packages: Any = None  # the blob container holding the function packages
    servicebus: Any = None
    servicebus_name: str = ""
    system_topic: Any = None  # the storage account's Event Grid system topic (bucket `deleted` triggers)
    stores: dict[str, StoreRef] = field(default_factory=dict)
    apps: dict[str, AppRef] = field(default_factory=dict)
    host_scopes: dict[str, pulumi.Output] = field(default_factory=dict)  # host container -> id
    api_url: Any = None
    _keep: bool | None = None
    _subscription: Any = None

    @property
    def location(self) -> str:
        return self.bp.clouds.azure.location

    @property
    def rg_name(self) -> pulumi.Output:
        return self.resource_group.name

    def store(self, name: str) -> StoreRef:
        return self.stores[name]

    def app(self, function: str) -> AppRef:
        return self.apps[function]

    def subscription_id(self) -> pulumi.Output:
        """The deploying subscription's id (one getClientConfig call per program)."""
        if self._subscription is None:
            from pulumi_azure_native import authorization

            self._subscription = authorization.get_client_config_output().subscription_id
        return self._subscription

    def stateful(self, **kwargs) -> pulumi.ResourceOptions:
        """Options of containers, tables and queues: kept on destroy unless --delete-data."""
        if self._keep is None:
            self._keep = keep_data()
        return pulumi.ResourceOptions(retain_on_delete=self._keep, **kwargs)
