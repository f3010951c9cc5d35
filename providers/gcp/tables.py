"""Tables: one Firestore (native mode) database per app, one collection per table.

Firestore's unit of isolation is the database, so each `<name>-<stage>` gets its own and every table
is a collection in it (the collection name is the table's physical name, the locator in
DEPLOYER_STORE_<NAME>). Location and type cannot change once created; the database is kept on destroy
unless `--delete-data` (then deletion_policy DELETE actually deletes it, data included).

Access: GCP has no IAM grain below the database for Firestore data, so a function that uses a table is
granted `roles/datastore.user` (or `datastore.viewer` for read-only) on the PROJECT with an IAM
condition that limits it to this app's database (see iam.py and docs/gcp.md).
"""

from __future__ import annotations

import pulumi
from pulumi_gcp import firestore

from deployer.blueprint.model import TableStore
from providers.gcp.context import DATABASE_ID_MAX, Gcp, StoreRef


def database_id(gcp: Gcp) -> str:
    return gcp.name("db", max_length=DATABASE_ID_MAX)


def database(gcp: Gcp) -> firestore.Database:
    """The app's Firestore database, declared once (on the first table)."""
    from deployer.providers import keep_data

    found = next((s.extra["database"] for s in gcp.stores.values() if "database" in s.extra), None)
    if found is not None:
        return found
    return firestore.Database(
        "app-firestore",
        name=database_id(gcp),
        project=gcp.project,
        location_id=gcp.region,
        type="FIRESTORE_NATIVE",
        deletion_policy="ABANDON" if keep_data() else "DELETE",
        opts=gcp.opts(stateful=True),
    )


def declare(gcp: Gcp, name: str, store: TableStore) -> StoreRef:
    db = database(gcp)
    collection = gcp.name(name)
    return StoreRef("table", db, pulumi.Output.from_input(collection),
                    extra={"database": db, "key": store.key})
