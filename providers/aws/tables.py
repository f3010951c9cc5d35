"""Tables -> DynamoDB: on demand (PAY_PER_REQUEST), keyed by the blueprint's one string key.

On-demand billing needs no capacity planning and costs nothing while idle, which is what a blueprint
that says nothing about throughput means. The locator is the table name; the key attribute travels as
DEPLOYER_KEY_<NAME> (see functions.py). Point-in-time recovery and encryption at rest are on.
"""

from __future__ import annotations

from deployer.blueprint.model import TableStore
from deployer.resources.compile import StoreRef
from deployer.resources.graph import store as owner
from providers.aws import names
from providers.aws.context import Context

TABLE = "aws:dynamodb/table:Table"


def declare(ctx: Context, name: str, store: TableStore) -> StoreRef:
    existing = ctx.bp.existing(name, "aws")
    if existing:  # an existing table, read by name (its key must be the blueprint's `key`)
        table = ctx.g.add(TABLE, f"store-{name}-table", owner(name), read_id=existing)
        return StoreRef(name, "table", table, table.out("arn"), table.out("id"))  # DynamoDB's id is the name
    table = ctx.g.add(
        TABLE, f"store-{name}-table", owner(name), retain=ctx.keep_data,
        name=names.table_name(ctx.bp, name),
        billing_mode="PAY_PER_REQUEST",
        hash_key=store.key,
        attributes=[{"name": store.key, "type": "S"}],
        point_in_time_recovery={"enabled": True},
        server_side_encryption={"enabled": True},
    )
    return StoreRef(name, "table", table, table.out("arn"), table.out("name"))
