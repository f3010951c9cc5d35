"""Identities and role bindings, each on the narrowest resource GCP allows, as graph data.

Identities: every function runs as its own service account (`<app>-<fn>-run`); everything that calls a
function for a non-HTTP trigger (Cloud Scheduler, a Pub/Sub push subscription, an Eventarc trigger)
calls as that function's invoker account (`<app>-<fn>-inv`), which holds `roles/run.invoker` on that
function's Cloud Run service and nothing else. API Gateway calls as one gateway account. Cloud Build
builds as the app's build account (`<app>-build`): projects created after mid-2024, or with automatic
grants turned off, give the default build account no rights.

Resource-level bindings: buckets, topics, subscriptions, secrets, Cloud Run services, service accounts.
Project-level bindings exist only where GCP offers no smaller grain (PROJECT_LEVEL, docs/gcp.md).

One binding per (role, member, condition) in a stack: two identical project bindings in one stack
would be one binding in GCP, and deleting either deletes it for both. The grants every stack of a
project declares identically (the Cloud Storage service agent's publisher role, the Eventarc service
agent's own role) are kept on destroy (`shared`), so destroying one stage never breaks another's triggers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.blueprint.refs import grants
from deployer.resources.compile import FunctionRef
from deployer.resources.graph import APP, Owner, Resource, function as fn_owner
from deployer.resources.values import Out
from providers.gcp.context import ACCOUNT_ID_MAX, RUN_INVOKER, GcpContext, account as runtime_account
from providers.gcp.topics import project_of

if TYPE_CHECKING:
    from providers.gcp.tables import Collection

PROJECT_LEVEL = ("roles/artifactregistry.writer", "roles/datastore.user", "roles/datastore.viewer",
                 "roles/eventarc.eventReceiver", "roles/eventarc.serviceAgent", "roles/logging.logWriter",
                 "roles/pubsub.publisher", "roles/storage.objectAdmin")
BUCKET_READ = "roles/storage.objectViewer"
BUCKET_WRITE = "roles/storage.objectUser"  # write needs delete to overwrite
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
BUILD_ROLES = ("roles/logging.logWriter", "roles/artifactregistry.writer")


def short(role: str) -> str:
    return role.split("/", 1)[1].replace(".", "-").lower()


def account(ctx: GcpContext, logical: str, owner: Owner, *parts: str, description: str) -> Resource:
    return ctx.add("gcp:serviceaccount/account:Account", logical, owner,
                   account_id=ctx.name(*parts, max_length=ACCOUNT_ID_MAX), project=ctx.project,
                   display_name=description[:100])


def member(res: Resource) -> Out:
    """`serviceAccount:<email>` of an account (or of a service identity)."""
    return res.out("member")


def run_invoker(ctx: GcpContext, logical: str, function: str, who) -> Resource:
    """run.invoker on ONE function's Cloud Run service (gen2: the service has the function's name)."""
    ref = ctx.fn(function)
    return ctx.add("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", logical, fn_owner(function),
                   depends_on=(ref.resource,), name=ctx.function_name(function), location=ctx.region,
                   project=ctx.project, role=RUN_INVOKER, member=who)


def grant_stores(ctx: GcpContext, function: str) -> list[Resource]:
    """What `uses` (and a queue trigger) grant, translated into roles on each store."""
    who, owner = member(runtime_account(ctx.fn(function))), fn_owner(function)
    made: list[Resource] = []
    databases: dict[str, tuple["Collection", set[str]]] = {}  # database path -> (a table's collection, roles)
    for grant in grants(ctx.bp, function):
        ref = ctx.store(grant.store)
        prefix = f"fn-{function}-{grant.store}"
        match grant.kind:
            case "bucket":
                role = BUCKET_READ if grant.rights == {"read"} else BUCKET_WRITE
                made.append(ctx.add("gcp:storage/bucketIAMMember:BucketIAMMember", f"{prefix}-{short(role)}", owner,
                                    bucket=ref.resource.out("name"), role=role, member=who))
            case "table":
                role = "roles/datastore.viewer" if grant.rights == {"read"} else "roles/datastore.user"
                where = ref.extra["collection"]
                databases.setdefault(where.database_path, (where, set()))[1].add(role)
            case "topic" | "queue":
                if "publish" in grant.rights:
                    made.append(ctx.add("gcp:pubsub/topicIAMMember:TopicIAMMember", f"{prefix}-pubsub-publisher",
                                        owner, topic=ref.resource.out("name"), project=project_of(ref.locator),
                                        role="roles/pubsub.publisher", member=who))
                # "consume": the queue is pushed to the function; its invoker account is what is granted.
            case _:
                raise TypeError(f"unsupported store kind {grant.kind!r}")
    for where, roles in databases.values():  # one binding per database: Firestore's grain
        role = "roles/datastore.user" if "roles/datastore.user" in roles else "roles/datastore.viewer"
        made.append(firestore_role(ctx, function, where, owner, role, who))
    return made


def firestore_role(ctx: GcpContext, function: str, where: "Collection", owner: Owner, role: str, who) -> Resource:
    """A Firestore data role on the project of a table's database (GCP's smallest grain), with a condition
    on that database. Named after the database, so that adding a table never renames (deletes and re-adds,
    leaving no grant) an identical binding: `fn-f-<role>` on the app's own database, `fn-f-firestore-<db>-<role>`
    on an existing one (`<project>.<db>` in another project)."""
    from providers.gcp.tables import database_id

    if where.project == ctx.project and where.database == database_id(ctx):
        logical, title = f"fn-{function}-{short(role)}", f"only {ctx.app} database"
    else:
        other = "" if where.project == ctx.project else f"{where.project}."
        logical = f"fn-{function}-firestore-{other}{where.database}-{short(role)}"
        title = f"only database {where.database} of {where.project}"
    return ctx.add("gcp:projects/iAMMember:IAMMember", logical, owner, project=where.project, role=role, member=who,
                   condition={"title": title[:100],
                              "description": "deployer: Firestore roles have no grain below the database",
                              "expression": f'resource.name == "{where.database_path}"'})


def secret_accessor(ctx: GcpContext, function: str, secret: str, secret_res: Resource,
                    ref: FunctionRef) -> Resource:
    """secretAccessor on ONE secret for ONE function's runtime account."""
    slug = secret.lower().replace("_", "-")
    return ctx.add("gcp:secretmanager/secretIamMember:SecretIamMember", f"fn-{function}-secret-{slug}",
                   fn_owner(function), secret_id=secret_res.out("secret_id"), project=ctx.project,
                   role=SECRET_ACCESSOR, member=member(runtime_account(ref)))


def pubsub_agent(ctx: GcpContext) -> Resource:
    """The Pub/Sub service agent, as a service identity (no project-number lookup needed): it forwards
    dead letters and mints push and Eventarc OIDC tokens."""
    if "pubsub-agent" not in ctx.shared:
        ctx.shared["pubsub-agent"] = ctx.add("gcp:projects/serviceIdentity:ServiceIdentity", "app-pubsub-agent", APP,
                                             project=ctx.project, service="pubsub.googleapis.com")
    return ctx.shared["pubsub-agent"]


def dead_letter_agent_publisher(ctx: GcpContext, queue: str, dlq: Resource) -> Resource:
    """The Pub/Sub service agent forwards failed messages: publisher on the dead-letter topic."""
    return ctx.add("gcp:pubsub/topicIAMMember:TopicIAMMember", f"store-{queue}-dlq-agent-publisher",
                   Owner("store", queue), topic=dlq.out("name"), project=ctx.project, role="roles/pubsub.publisher",
                   member=member(pubsub_agent(ctx)))


def dead_letter_agent_subscriber(ctx: GcpContext, queue: str, subscription: Resource) -> Resource:
    """... and subscriber on the queue's subscription it takes them from."""
    return ctx.add("gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", f"store-{queue}-sub-agent-subscriber",
                   Owner("store", queue), subscription=subscription.out("name"), project=ctx.project,
                   role="roles/pubsub.subscriber", member=member(pubsub_agent(ctx)))


def token_creator(ctx: GcpContext, function: str, invoker_account: Resource) -> Resource:
    """The Pub/Sub service agent may mint OIDC tokens for this function's invoker account only (push
    subscriptions and Eventarc triggers authenticate with them; required in projects created before
    April 2021)."""
    return ctx.add("gcp:serviceaccount/iAMMember:IAMMember", f"fn-{function}-invoker-pubsub-token-creator",
                   fn_owner(function), service_account_id=invoker_account.out("name"),
                   role="roles/iam.serviceAccountTokenCreator", member=member(pubsub_agent(ctx)))


def event_receiver(ctx: GcpContext, function: str, invoker_account: Resource) -> Resource:
    """Eventarc's direct (Cloud Storage) events require eventReceiver on the project for the trigger account."""
    return ctx.add("gcp:projects/iAMMember:IAMMember", f"fn-{function}-invoker-eventarc-eventreceiver",
                   fn_owner(function), project=ctx.project, role="roles/eventarc.eventReceiver",
                   member=member(invoker_account))


def storage_agent_publisher(ctx: GcpContext) -> Resource:
    """The Cloud Storage service agent publishes bucket events to Eventarc's (unnamed) topics. Every
    stack of the project declares this same binding: it is kept on destroy."""
    if "gcs-agent" not in ctx.shared:
        agent = ctx.g.call("gcp:storage/getProjectServiceAccount:getProjectServiceAccount", project=ctx.project)
        ctx.shared["gcs-agent"] = ctx.add("gcp:projects/iAMMember:IAMMember", "app-gcs-agent-pubsub-publisher", APP,
                                          shared=True, project=ctx.project, role="roles/pubsub.publisher",
                                          member=agent.out("member"))
    return ctx.shared["gcs-agent"]


def eventarc_agent(ctx: GcpContext) -> Resource:
    """Eventarc's service agent, created explicitly and given its role before the first event trigger. The
    agent appears some time after the Eventarc API is enabled, and until it exists (with its role) creating
    a function's event trigger fails with "Permission denied while using the Eventarc Service Agent": a
    fresh project's first `up` would stop there. The grant is every stack's own identical one: kept on destroy."""
    if "eventarc-agent" not in ctx.shared:
        agent = ctx.add("gcp:projects/serviceIdentity:ServiceIdentity", "app-eventarc-agent", APP, project=ctx.project,
                        service="eventarc.googleapis.com")
        ctx.shared["eventarc-agent"] = ctx.add(
            "gcp:projects/iAMMember:IAMMember", "app-eventarc-agent-serviceagent", APP, shared=True,
            project=ctx.project, role="roles/eventarc.serviceAgent", member=member(agent))
    return ctx.shared["eventarc-agent"]


def build_account(ctx: GcpContext, source_bucket: str) -> tuple[Resource, list[Resource]]:
    """The app's Cloud Build account with the roles Google documents for a function's build: logs,
    images in Artifact Registry, and objects of the source buckets (this app's and the gcf-v2-sources
    bucket Cloud Functions copies the source to), narrowed by a condition."""
    build = account(ctx, "app-build-account", APP, "build", description=f"deployer {ctx.app}: builds functions")
    grants_ = [ctx.add("gcp:projects/iAMMember:IAMMember", f"app-build-{short(role)}", APP, project=ctx.project,
                       role=role, member=member(build)) for role in BUILD_ROLES]
    grants_.append(ctx.add(
        "gcp:projects/iAMMember:IAMMember", "app-build-storage-objectadmin", APP, project=ctx.project,
        role="roles/storage.objectAdmin", member=member(build),
        condition={"title": "function sources only",
                   "description": "deployer: the build reads the function's source",
                   "expression": f'resource.name.startsWith("projects/_/buckets/{source_bucket}") || '
                                 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")'}))
    return build, grants_
