"""Tables: one Firestore (native mode) database per app, one collection per table; or an existing collection.

Firestore's unit of isolation is the database, so each `<name>-<stage>` gets its own and every table
is a collection in it (the collection name is the table's physical name, the locator in
DEPLOYER_STORE_<NAME>; the function finds the database in DEPLOYER_GCP_DATABASE). Location and type
cannot change once created; the database is kept on destroy unless `--delete-data` (then
deletion_policy DELETE actually deletes it, data included).

An existing table (`existing`, or `clouds.gcp.existing`) is a collection in a database deployer did
not create: `projects/P/databases/DB/documents/C`, or `DB/C` in the blueprint's project (`(default)`
is a database id like any other). The database is read by its id (`projects/P/databases/DB`, the id
form the provider's importer takes), never created, changed or deleted; collections are not resources
at all, so there is nothing else to read. The table's locator is the collection's full path, which
carries its project and database to the runtime client. When every table is existing, the app's own
database is not declared.

Access: GCP has no IAM grain below the database for Firestore data, so a function that uses a table is
granted `roles/datastore.user` (or `datastore.viewer` when it only reads) on the database's PROJECT
with an IAM condition that limits it to that database: one binding per function and database
(iam.grant_stores). On an existing database, that is every collection in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deployer import naming
from deployer.blueprint.model import Blueprint, TableStore
from deployer.resources.compile import StoreRef
from deployer.resources.graph import Resource, store
from providers.gcp.context import DATABASE_ID_MAX, GcpContext

#: Firestore's database ids (4-63 lowercase letters, digits, hyphens; a letter first, no hyphen last), or `(default)`
DATABASE_ID = re.compile(r"\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9]")
#: project ids (6-30 characters), optionally domain-scoped (`example.com:my-project`)
PROJECT_ID = re.compile(r"([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
FULL = re.compile(r"projects/(?P<project>[^/]+)/databases/(?P<database>[^/]+)/documents/(?P<collection>.+)")
SHORT = re.compile(r"(?P<database>[^/]+)/(?P<collection>.+)")
FORMS = "`<database>/<collection>` (this project; `(default)/<collection>` for the default database) or " \
        "`projects/<project>/databases/<database>/documents/<collection>`"


@dataclass(frozen=True)
class Collection:
    """Where a table's documents live: a collection of a Firestore database of a project."""

    project: str
    database: str
    collection: str

    @property
    def database_path(self) -> str:
        """The database's resource name: its id for `get`, and what IAM conditions compare `resource.name` to."""
        return f"projects/{self.project}/databases/{self.database}"

    @property
    def path(self) -> str:
        return f"{self.database_path}/documents/{self.collection}"


def parse_existing(text: str, project: str) -> Collection | str:
    """The collection an existing table names, or why `text` names none (for `check`)."""
    match = FULL.fullmatch(text) or SHORT.fullmatch(text)
    if match is None:
        return "it names no database"
    parts = match.groupdict()
    where = Collection(parts.get("project") or project, parts["database"], parts["collection"])
    if not PROJECT_ID.fullmatch(where.project):
        return f"{where.project!r} is not a project id"
    if not DATABASE_ID.fullmatch(where.database):
        return f"{where.database!r} is not a Firestore database id (4-63 lowercase letters, digits and hyphens, or (default))"
    return collection_problem(where.collection) or where


def collection_problem(collection: str) -> str | None:
    """Why a root collection id is not one Firestore accepts (None when it is)."""
    if "/" in collection:
        return f"{collection!r} is not a top-level collection id (no `/`)"
    if collection in (".", "..") or re.fullmatch(r"__.*__", collection):
        return f"{collection!r} is a collection id Firestore reserves"
    if len(collection.encode()) > 1500:
        return "a collection id is at most 1500 bytes"
    return None


def existing(ctx: GcpContext, name: str) -> Collection | None:
    """The existing collection a table names on GCP (check() has refused every malformed one)."""
    text = ctx.bp.existing(name, "gcp")
    if not text:
        return None
    found = parse_existing(text, ctx.project)
    if isinstance(found, str):
        raise ValueError(f"table {name!r}: existing {text!r}: {found}")
    return found


def app_database_id(bp: Blueprint) -> str:
    """The id of the app's own database, `<name>-<stage>-db` (as GcpContext.name cuts it)."""
    return naming.physical_name(bp.name, bp.stage, "db", max_length=DATABASE_ID_MAX)


def database_id(ctx: GcpContext) -> str:
    return app_database_id(ctx.bp)


def database(ctx: GcpContext, table: str) -> Resource:
    """The app's Firestore database, declared once, owned by the first table (so `destroy` reports that
    table's data as kept with it)."""
    if "database" not in ctx.shared:
        ctx.shared["database"] = ctx.add(
            "gcp:firestore/database:Database", "app-firestore", store(table), stateful=True, name=database_id(ctx),
            project=ctx.project, location_id=ctx.region, type="FIRESTORE_NATIVE",
            deletion_policy="ABANDON" if ctx.keep_data else "DELETE")
    return ctx.shared["database"]


def existing_database(ctx: GcpContext, table: str, where: Collection) -> Resource:
    """An existing database, read once however many tables name it (owned by the first)."""
    key = f"database:{where.database_path}"
    if key not in ctx.shared:
        ctx.shared[key] = ctx.g.add("gcp:firestore/database:Database", f"store-{table}-database", store(table),
                                    read_id=where.database_path)
    return ctx.shared[key]


def declare(ctx: GcpContext, name: str, spec: TableStore) -> StoreRef:
    where = existing(ctx, name)
    if where is not None:  # read, never created, changed or deleted; grants name its database
        db = existing_database(ctx, name, where)
        return StoreRef(name, "table", db, db.out("name"), where.path,
                        extra={"key": spec.key, "collection": where, "own": False})
    db = database(ctx, name)
    own = Collection(ctx.project, database_id(ctx), ctx.name(name))
    return StoreRef(name, "table", db, db.out("name"), own.collection,
                    extra={"key": spec.key, "collection": own, "own": True})
