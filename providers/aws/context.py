"""What the AWS kind modules share while one program runs: the blueprint and the resources so far.

The core's order (stores, then functions, then triggers) means a module only ever looks up what an
earlier one declared, through `Context.store()` and `Context.function()`: one typed lookup instead of
dictionaries passed around. Stateful resources get `Context.stateful()` options (retain on delete).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from deployer.blueprint import refs
from deployer.blueprint.model import Blueprint
from deployer.providers import Artifact, keep_data


@dataclass(frozen=True)
class StoreRef:
    """A declared store: its kind, ARN and locator (what DEPLOYER_STORE_<NAME> carries)."""

    name: str
    kind: str
    arn: pulumi.Output
    locator: pulumi.Output
    resource: Any
    extra_arns: tuple = ()  # a queue's dead-letter queue


@dataclass(frozen=True)
class FunctionRef:
    name: str
    physical: str
    arn: pulumi.Output
    invoke_arn: pulumi.Output
    resource: Any


@dataclass
class Context:
    bp: Blueprint
    artifacts: dict[str, Artifact]
    region: str
    stores: dict[str, StoreRef] = field(default_factory=dict)
    functions: dict[str, FunctionRef] = field(default_factory=dict)
    api: Any = None
    _keep: bool | None = None
    _account: Any = None

    @property
    def settings(self):
        return self.bp.clouds.aws

    def consumers(self, store: str) -> list[tuple[str, object]]:
        return refs.consumers(self.bp, store)

    def store(self, name: str) -> StoreRef:
        return self.stores[name]

    def function(self, name: str) -> FunctionRef:
        return self.functions[name]

    def account_id(self) -> pulumi.Output:
        """The deploying account's id (one getCallerIdentity call per program)."""
        if self._account is None:
            import pulumi_aws as aws

            self._account = aws.get_caller_identity_output().account_id
        return self._account

    @property
    def keep(self) -> bool:
        """Whether stateful stores survive `destroy` (deployer:deleteData unset)."""
        if self._keep is None:
            self._keep = keep_data()
        return self._keep

    def stateful(self, **kwargs) -> pulumi.ResourceOptions:
        """Options of buckets, tables and queues: kept on destroy unless --delete-data."""
        return pulumi.ResourceOptions(retain_on_delete=self.keep, **kwargs)
