"""Tables -> Azure Table storage tables in the stage's storage account (retained on destroy).

Table names allow letters and digits only, so `orders-dev-orders` becomes `ordersdevorders`. The
table's key attribute (the blueprint's `key`) is given to the function as DEPLOYER_KEY_<NAME>; the
client stores it as the RowKey.
"""

from __future__ import annotations

from deployer.blueprint.model import TableStore
from providers.azure import names
from providers.azure.context import Context, StoreRef


def declare(ctx: Context, name: str, store: TableStore) -> StoreRef:
    from pulumi_azure_native import storage

    physical = names.table(ctx.bp.name, ctx.bp.stage, name)
    res = storage.Table(f"store-{name}-table", table_name=physical, account_name=ctx.account.name,
                        resource_group_name=ctx.rg_name, opts=ctx.stateful())
    return StoreRef(name, "table", physical, res.id, res)
