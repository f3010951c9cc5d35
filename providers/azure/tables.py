"""Tables -> Azure Table storage tables in the stage's storage account (retained on destroy).

Table names allow letters and digits only, so `orders-dev-orders` becomes `ordersdevorders`. The
table's key attribute (the blueprint's `key`) is given to the function as DEPLOYER_KEY_<NAME>; the
client stores it as the RowKey.

An existing table (`existing:` its ARM id, providers/azure/existing.py) is read, never created,
changed or deleted; grants are scoped to it and its functions reach it by URL.
"""

from __future__ import annotations

from deployer.blueprint.model import TableStore
from deployer.resources.compile import StoreRef
from deployer.resources.graph import store
from providers.azure import existing, names
from providers.azure.context import AzureContext

TABLE = "azure-native:storage:Table"


def declare(ctx: AzureContext, name: str, spec: TableStore) -> StoreRef:
    found = existing.of(ctx.bp, name)
    if found:
        res = ctx.g.add(TABLE, f"store-{name}-table", store(name), read_id=found.id)
        return StoreRef(name, "table", res, found.id, found.url)
    physical = names.table(ctx.bp.name, ctx.bp.stage, name)
    res = ctx.add(TABLE, f"store-{name}-table", store(name), retain=ctx.keep_data,
                  table_name=physical, account_name=ctx.account.out("name"))
    return StoreRef(name, "table", res, ctx.account_id(f"/tableServices/default/tables/{physical}"), physical)
