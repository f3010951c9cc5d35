"""Tables: one Firestore (native mode) database per app, one collection per table.

Firestore's unit of isolation is the database, so each `<name>-<stage>` gets its own and every table
is a collection in it (the collection name is the table's physical name, the locator in
DEPLOYER_STORE_<NAME>). Location and type cannot change once created; the database is kept on destroy
unless `--delete-data` (then deletion_policy DELETE actually deletes it, data included).

Access: GCP has no IAM grain below the database for Firestore data, so a function that uses a table is
granted `roles/datastore.user` (or `datastore.viewer` when it only reads) on the PROJECT with an IAM
condition that limits it to this app's database: one binding per function (iam.grant_stores).
"""

from __future__ import annotations

from deployer.blueprint.model import TableStore
from deployer.resources.compile import StoreRef
from deployer.resources.graph import Resource, store
from providers.gcp.context import DATABASE_ID_MAX, GcpContext


def database_id(ctx: GcpContext) -> str:
    return ctx.name("db", max_length=DATABASE_ID_MAX)


def database(ctx: GcpContext, table: str) -> Resource:
    """The app's Firestore database, declared once, owned by the first table (so `destroy` reports that
    table's data as kept with it)."""
    if "database" not in ctx.shared:
        ctx.shared["database"] = ctx.add(
            "gcp:firestore/database:Database", "app-firestore", store(table), stateful=True, name=database_id(ctx),
            project=ctx.project, location_id=ctx.region, type="FIRESTORE_NATIVE",
            deletion_policy="ABANDON" if ctx.keep_data else "DELETE")
    return ctx.shared["database"]


def declare(ctx: GcpContext, name: str, spec: TableStore) -> StoreRef:
    db = database(ctx, name)
    return StoreRef(name, "table", db, db.out("name"), ctx.name(name), extra={"key": spec.key})
