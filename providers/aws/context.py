"""What the AWS kind modules share while one graph is built: the core's CompileContext plus AWS lookups.

The core's order (stores, then functions, then triggers) means a module only ever looks up what an
earlier one declared, through `ctx.store()` and `ctx.function()`. The account id is a data-source call
(`getCallerIdentity`), one node in the graph however many resources read it; the region is the
blueprint's setting, known while compiling. Stateful resources are declared with `retain=ctx.keep_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deployer.resources.compile import CompileContext
from deployer.resources.values import CallOut

CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


@dataclass
class Context(CompileContext):
    @property
    def settings(self) -> Any:
        return self.bp.clouds.aws

    @property
    def region(self) -> str:
        return self.settings.region

    def account_id(self) -> CallOut:
        """The deploying account's id (one getCallerIdentity call per graph)."""
        return self.g.call(CALLER_IDENTITY).out("account_id")
