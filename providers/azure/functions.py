"""Functions: one Function App per blueprint function, on the stage's shared Linux Consumption plan.

One app per function is what keeps per-function semantics on Azure, where host.json (timeout, queue
batch and retries) and the managed identity belong to an app: each function gets its own timeout,
batch size, retries and least-privilege identity. Apps on one Consumption plan cost nothing extra.

Code: the package zip is uploaded as a blob whose name carries the content hash, and the app runs it
through WEBSITE_RUN_FROM_PACKAGE = a read-only, HTTPS-only service SAS URL of that blob (a Pulumi secret).
That SAS is the one place an account key is used (Azure also documents fetching the package with the
app's identity; not adopted until verified on Linux Consumption with a live subscription). A new package is a new blob name, so the app setting changes; Azure
restarts the app and re-syncs its triggers when app settings change through ARM, which is what makes
the new function.json files take effect (replacing a zip in place would need a manual trigger sync).

Order: the app (its identity), its scoped roles, then the package and app settings, so the host
starts with the roles it needs. Connections are identity-based: AzureWebJobsStorage__accountName for
the host, DeployerStorage__*ServiceUri for blob/queue triggers, DeployerServiceBus__fullyQualifiedNamespace
for topic triggers.
"""

from __future__ import annotations

import pulumi

from deployer.blueprint.model import BucketTrigger, QueueTrigger, TopicTrigger
from deployer.blueprint.refs import grants
from deployer.naming import store_env
from providers.azure import buckets, hosting, identity, names, topics
from providers.azure.context import AppRef, Context

SAS_START = "2025-01-01T00:00:00Z"
SAS_EXPIRY = "2035-01-01T00:00:00Z"


def declare(ctx: Context, function: str) -> AppRef:
    """The Function App of one blueprint function (its settings come later: `declare_settings`)."""
    from pulumi_azure_native import web

    bp, fn = ctx.bp, ctx.bp.functions[function]
    site = names.site(bp.name, bp.stage, function)
    config = web.SiteConfigArgs(
        linux_fx_version=f"Python|{hosting.python_version(fn.runtime)}", min_tls_version="1.2",
        scm_min_tls_version="1.2", ftps_state="Disabled", http20_enabled=True,
        function_app_scale_limit=fn.max_instances)
    app = web.WebApp(
        f"fn-{function}-app", name=site, resource_group_name=ctx.rg_name, location=ctx.location,
        kind="functionapp,linux", reserved=True, server_farm_id=ctx.plan.id, https_only=True,
        identity=web.ManagedServiceIdentityArgs(type="SystemAssigned"), site_config=config)
    ref = AppRef(function, site, app.default_host_name, app.identity.apply(lambda i: i.principal_id), app)
    ctx.apps[function] = ref
    return ref


def declare_settings(ctx: Context, function: str, roles: list) -> None:
    """The package and the app settings that run it, after the roles the host needs at start.

    App settings are their own resource (ARM's `sites/config/appsettings`): the package URL is a
    secret, and Pulumi masks a whole input that holds one, so keeping them apart leaves the app's
    configuration readable in plans and diffs."""
    import dataclasses

    from pulumi_azure_native import web

    app = ctx.app(function)
    settings = web.WebAppApplicationSettings(
        f"fn-{function}-settings", name=app.resource.name, resource_group_name=ctx.rg_name,
        properties=dict(app_settings(ctx, function, package_url(ctx, function))),
        opts=pulumi.ResourceOptions(depends_on=roles))
    ctx.apps[function] = dataclasses.replace(app, settings=settings)


def package_url(ctx: Context, function: str) -> pulumi.Output:
    """Upload the artifact under a content-hashed name; its read-only SAS URL (secret)."""
    from pulumi_azure_native import storage

    artifact = ctx.artifacts[function]
    blob_name = f"{function}-{artifact.sha256[:16]}.zip"
    container = names.packages_container()
    blob = storage.Blob(
        f"fn-{function}-package", blob_name=blob_name, container_name=ctx.packages.name,
        account_name=ctx.account.name, resource_group_name=ctx.rg_name, type=storage.BlobType.BLOCK,
        content_type="application/zip", source=pulumi.FileAsset(str(artifact.path)))
    sas = storage.list_storage_account_service_sas_output(
        account_name=ctx.account.name, resource_group_name=ctx.rg_name, resource="b", permissions="r",
        protocols="https", shared_access_start_time=SAS_START, shared_access_expiry_time=SAS_EXPIRY,
        canonicalized_resource=f"/blob/{ctx.account_name}/{container}/{blob_name}")
    url = pulumi.Output.all(blob.name, sas.service_sas_token).apply(
        lambda a: f"https://{ctx.account_name}.blob.core.windows.net/{container}/{a[0]}?{a[1]}")
    return pulumi.Output.secret(url)


def app_settings(ctx: Context, function: str, url) -> list[tuple[str, object]]:
    """(name, value) app settings, sorted: host, connections, the runtime contract, env, secrets."""
    from deployer import secrets

    bp, fn = ctx.bp, ctx.bp.functions[function]
    account = ctx.account_name
    values: dict[str, object] = {
        "FUNCTIONS_EXTENSION_VERSION": hosting.FUNCTIONS_VERSION, "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage__accountName": account, "WEBSITE_RUN_FROM_PACKAGE": url,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": ctx.insights.connection_string,
        "DEPLOYER_CLOUD": "azure", "DEPLOYER_APP": bp.stage_name(), "DEPLOYER_FUNCTION": function,
        "DEPLOYER_AZURE_STORAGE_ACCOUNT": account,
    }
    if any(isinstance(t, QueueTrigger) or isinstance(t, BucketTrigger) and t.on == "created"
           for t in fn.triggers):  # the blob trigger uses both services
        values[f"{buckets.CONNECTION}__blobServiceUri"] = f"https://{account}.blob.core.windows.net"
        values[f"{buckets.CONNECTION}__queueServiceUri"] = f"https://{account}.queue.core.windows.net"
    if ctx.servicebus is not None:
        bus_host = topics.host(ctx.servicebus_name)
        values["DEPLOYER_AZURE_SERVICEBUS"] = bus_host
        if any(isinstance(t, TopicTrigger) for t in fn.triggers):
            values[f"{topics.CONNECTION}__fullyQualifiedNamespace"] = bus_host
    values.update(store_env(bp, function, lambda store: ctx.store(store).physical))
    values.update(fn.env)
    for name, value in secrets.granted(bp, function).items():
        values[name] = pulumi.Output.secret(value)
    return sorted(values.items())


def declare_roles(ctx: Context, function: str) -> list:
    """Every role the function's identity needs, each scoped to one container, queue, table or topic."""
    done: dict[tuple[str, str], object] = {}
    for part, role, scope in _needed(ctx, function):
        if (part, role) not in done:
            done[(part, role)] = identity.assign(ctx, f"fn-{function}-role-{part}-{role}", function, role, scope)
    return list(done.values())


def _needed(ctx: Context, function: str):
    """(part, role, scope) triples: host storage, grants, then what each trigger needs."""
    bp = ctx.bp
    for container in names.HOST_CONTAINERS:
        yield container, "blob-owner", ctx.host_scopes[container]
    for grant in grants(bp, function):
        store = ctx.store(grant.store)
        for role in identity.grant_roles(grant.kind, grant.rights):
            yield grant.store, role, store.scope
        if grant.kind == "queue" and "consume" in grant.rights:
            yield f"{grant.store}-poison", "queue-contributor", store.extra_scopes[0]
    for index, trigger in enumerate(bp.functions[function].triggers):
        yield from _trigger_roles(ctx, function, index, trigger)


def _trigger_roles(ctx: Context, function: str, index: int, trigger):
    match trigger:
        case BucketTrigger(on="created"):
            yield trigger.bucket, "blob-owner", ctx.store(trigger.bucket).scope
            for part, scope in _blob_host_queues(ctx, function):
                yield part, "queue-contributor", scope
        case TopicTrigger():
            subscription = ctx.store(trigger.topic).subscriptions[function]
            yield f"{trigger.topic}-subscription", "bus-receiver", subscription.id
            yield f"{trigger.topic}-subscription", "bus-owner", subscription.id


def declare_events(ctx: Context, function: str) -> None:
    """Event Grid subscriptions of the function's `deleted` bucket triggers (Event Grid pushes: no role)."""
    for index, trigger in enumerate(ctx.bp.functions[function].triggers):
        if isinstance(trigger, BucketTrigger) and trigger.on == "deleted":
            buckets.declare_deleted(ctx, function, index, trigger)


def _blob_host_queues(ctx: Context, function: str):
    """The polling blob trigger's queues (scan queue of this app, shared poison queue), declared once."""
    from pulumi_azure_native import storage

    site = ctx.app(function).site
    wanted = {f"fn-{function}-blobscan": names.blob_scan_queue(site), "app-blob-poison": names.BLOB_POISON_QUEUE}
    for logical, queue_name in wanted.items():
        if logical not in ctx.host_scopes:
            ctx.host_scopes[logical] = storage.Queue(
                logical, queue_name=queue_name, account_name=ctx.account.name, resource_group_name=ctx.rg_name).id
        yield ("blobscan" if logical.startswith("fn-") else "blob-poison"), ctx.host_scopes[logical]
