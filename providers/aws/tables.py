"""Tables -> DynamoDB: on demand (PAY_PER_REQUEST), keyed by the blueprint's one string key.

On-demand billing needs no capacity planning and costs nothing while idle, which is what a blueprint
that says nothing about throughput means. The locator is the table name; the key attribute travels as
DEPLOYER_KEY_<NAME> (see functions.py).
"""

from __future__ import annotations

import pulumi_aws as aws

from deployer.blueprint.model import TableStore
from providers.aws import names
from providers.aws.context import Context, StoreRef


def declare(ctx: Context, name: str, store: TableStore) -> StoreRef:
    table = aws.dynamodb.Table(
        f"store-{name}-table",
        name=names.table_name(ctx.bp, name),
        billing_mode="PAY_PER_REQUEST",
        hash_key=store.key,
        attributes=[{"name": store.key, "type": "S"}],
        point_in_time_recovery={"enabled": True},
        server_side_encryption={"enabled": True},
        opts=ctx.stateful(),
    )
    return StoreRef(name, "table", table.arn, table.name, table)
