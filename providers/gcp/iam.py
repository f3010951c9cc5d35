"""Identities and role bindings, each on the narrowest resource GCP allows.

Identities: every function runs as its own service account (`<app>-<fn>-run`), and everything that
calls a function (Cloud Scheduler, a Pub/Sub push subscription, an Eventarc trigger) calls as that
function's invoker account (`<app>-<fn>-inv`), which holds `roles/run.invoker` on that function's
Cloud Run service and nothing else. API Gateway calls as one gateway account with run.invoker on each
HTTP function.

Resource-level bindings: buckets (`storage.BucketIAMMember`), topics (`pubsub.TopicIAMMember`),
subscriptions (`pubsub.SubscriptionIAMMember`), functions (`cloudrunv2.ServiceIamMember`), service
accounts (`serviceaccount.IAMMember`). Project-level bindings exist only where GCP offers no smaller
grain, each documented in docs/gcp.md and listed in PROJECT_LEVEL:
- Firestore data roles (the smallest grain is the database: an IAM condition limits it to this app's);
- eventarc.eventReceiver for the invoker account of a function with a bucket trigger (Eventarc's
  direct Cloud Storage events require it on the project);
- pubsub.publisher for the Cloud Storage service agent (it publishes to the topics Eventarc creates
  for bucket triggers, which this program cannot name in advance).
"""

from __future__ import annotations

import pulumi
from pulumi_gcp import cloudrunv2, projects, pubsub, serviceaccount, storage

from deployer.blueprint.refs import grants
from providers.gcp.context import ACCOUNT_ID_MAX, RUN_INVOKER, Gcp

PROJECT_LEVEL = ("roles/datastore.user", "roles/datastore.viewer", "roles/eventarc.eventReceiver",
                 "roles/pubsub.publisher")

BUCKET_ROLES = {frozenset({"read"}): "roles/storage.objectViewer"}  # write needs delete to overwrite
BUCKET_WRITE = "roles/storage.objectUser"


def short(role: str) -> str:
    return role.split("/", 1)[1].replace(".", "-").lower()


def account(gcp: Gcp, logical: str, *parts: str, description: str) -> serviceaccount.Account:
    return serviceaccount.Account(
        logical, account_id=gcp.name(*parts, max_length=ACCOUNT_ID_MAX), project=gcp.project,
        display_name=description[:100], opts=gcp.opts())


def member(account: serviceaccount.Account) -> pulumi.Output[str]:
    return account.email.apply(lambda e: f"serviceAccount:{e}")


def invoker(gcp: Gcp, logical: str, function: str, who: pulumi.Input[str]) -> cloudrunv2.ServiceIamMember:
    """run.invoker on ONE function's Cloud Run service (gen2 functions are invoked through Cloud Run)."""
    ref = gcp.function(function)
    return cloudrunv2.ServiceIamMember(logical, name=ref.service, location=gcp.region, project=gcp.project,
                                       role=RUN_INVOKER, member=who, opts=gcp.opts())


def grant_stores(gcp: Gcp, function: str) -> None:
    """What `uses` (and a queue trigger) grant, translated into roles on each store."""
    who = member(gcp.function(function).account)
    for grant in grants(gcp.bp, function):
        ref = gcp.store(grant.store)
        prefix = f"fn-{function}-{grant.store}"
        match grant.kind:
            case "bucket":
                role = BUCKET_ROLES.get(grant.rights, BUCKET_WRITE)
                storage.BucketIAMMember(f"{prefix}-{short(role)}", bucket=ref.resource.name, role=role,
                                        member=who, opts=gcp.opts())
            case "table":
                role = "roles/datastore.viewer" if grant.rights == {"read"} else "roles/datastore.user"
                firestore_role(gcp, f"{prefix}-{short(role)}", role, who)
            case "topic" | "queue":
                if "publish" in grant.rights:
                    pubsub.TopicIAMMember(f"{prefix}-pubsub-publisher", topic=ref.resource.name,
                                          project=gcp.project, role="roles/pubsub.publisher", member=who,
                                          opts=gcp.opts())
                # "consume": the queue is pushed to the function; its invoker account is what is granted.
            case _:
                raise TypeError(f"unsupported store kind {grant.kind!r}")


def firestore_role(gcp: Gcp, logical: str, role: str, who: pulumi.Input[str]) -> projects.IAMMember:
    """A Firestore data role: project-level (GCP's smallest grain) with a condition on the database."""
    from providers.gcp.tables import database_id

    database = f"projects/{gcp.project}/databases/{database_id(gcp)}"
    return projects.IAMMember(
        logical, project=gcp.project, role=role, member=who,
        condition=projects.IAMMemberConditionArgs(
            title=f"only {gcp.app} database"[:100],
            description="deployer: Firestore roles have no grain below the database",
            expression=f'resource.name == "{database}"'),
        opts=gcp.opts())


def pubsub_agent_roles(gcp: Gcp, queue: str, subscription: pubsub.Subscription, dlq: pubsub.Topic | None) -> None:
    """The Pub/Sub service agent forwards failed messages: publisher on the DLQ, subscriber on the source.

    It also mints the push subscription's OIDC tokens as the invoker account (token creator on that
    one account: required in projects created before April 2021, harmless after)."""
    agent = gcp.pubsub_agent()
    if dlq is not None:
        pubsub.TopicIAMMember(f"store-{queue}-dlq-agent-publisher", topic=dlq.name, project=gcp.project,
                              role="roles/pubsub.publisher", member=agent, opts=gcp.opts())
        pubsub.SubscriptionIAMMember(f"store-{queue}-push-agent-subscriber", subscription=subscription.name,
                                     project=gcp.project, role="roles/pubsub.subscriber", member=agent,
                                     opts=gcp.opts())


def token_creator(gcp: Gcp, function: str) -> serviceaccount.IAMMember:
    """The Pub/Sub service agent may mint OIDC tokens for this function's invoker account only."""
    return serviceaccount.IAMMember(
        f"fn-{function}-invoker-pubsub-token-creator", service_account_id=gcp.function(function).invoker.name,
        role="roles/iam.serviceAccountTokenCreator", member=gcp.pubsub_agent(), opts=gcp.opts())


def event_receiver(gcp: Gcp, function: str) -> projects.IAMMember:
    """Eventarc's direct (Cloud Storage) events require eventReceiver on the project for the trigger account."""
    return projects.IAMMember(f"fn-{function}-invoker-eventarc-eventreceiver", project=gcp.project,
                              role="roles/eventarc.eventReceiver", member=member(gcp.function(function).invoker),
                              opts=gcp.opts())


def storage_agent_publisher(gcp: Gcp) -> projects.IAMMember:
    """The Cloud Storage service agent publishes bucket events to Eventarc's (unnamed) topics."""
    from pulumi_gcp import storage as gcs

    agent = gcs.get_project_service_account_output(project=gcp.project).email_address
    return projects.IAMMember("app-gcs-agent-pubsub-publisher", project=gcp.project, role="roles/pubsub.publisher",
                              member=agent.apply(lambda e: f"serviceAccount:{e}"), opts=gcp.opts())
