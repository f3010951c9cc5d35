"""Functions: one Flex Consumption plan and Function App per blueprint function.

One app per function is what keeps per-function semantics on Azure, where host.json (timeout, queue
batch and retries), memory, scale limit and identity belong to an app; Flex hosts one app per plan.

Each function gets a user-assigned identity (its principal survives a replaced app, so its role
assignments do not churn) used for everything: the host's storage (AzureWebJobsStorage__*), the
trigger connections (DeployerStorage__*, DeployerServiceBus__*), the store clients (AZURE_CLIENT_ID),
Key Vault references and Flex's deployment storage. Its roles: see identity.py.

Code is NOT part of `up`'s resources: Flex deploys a package through OneDeploy into the app's
deployment container (written by the app's identity) and syncs the triggers itself. azure-native
cannot upload a blob to an account without shared keys, and Flex takes no WEBSITE_RUN_FROM_PACKAGE,
so the engine runs providers/azure/deploy.py after `up`: publish, sync, check every function is known.

App settings live in `siteConfig.appSettings`; none holds a secret value (secrets are Key Vault
references), so plans and diffs show them whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger
from deployer.blueprint.refs import grants
from deployer.naming import store_env
from deployer.resources.compile import FunctionRef
from deployer.resources.graph import function as owner_of
from deployer.resources.values import Template
from providers.azure import buckets, existing, hosting, identity, keyvault, names, queues, topics
from providers.azure.context import App

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

WEBAPP = "azure-native:web:WebApp"
#: App settings deployer sets (and prefixes it owns): a blueprint `env` may not overwrite them.
RESERVED_PREFIXES = ("AzureWebJobs", "AzureFunctionsJobHost", "FUNCTIONS_", "WEBSITE_", "SCM_",
                     "APPLICATIONINSIGHTS_", "DEPLOYER_", queues.CONNECTION, topics.CONNECTION)
RESERVED_NAMES = ("AZURE_CLIENT_ID",)


def reserved(name: str) -> bool:
    """Whether an app setting name is one deployer or the platform owns (case-insensitive, as Azure)."""
    upper = name.upper()
    return upper in RESERVED_NAMES or any(upper.startswith(p.upper()) for p in RESERVED_PREFIXES)


def declare(ctx: "AzureContext", fn: str) -> FunctionRef:
    """Identity, deployment container, plan, app and the app's roles of one blueprint function."""
    bp, owner = ctx.bp, owner_of(fn)
    site = names.site(ctx.subscription, bp.name, bp.stage, fn)
    identity_name = names.identity(bp.name, bp.stage, fn)
    ident = ctx.add("azure-native:managedidentity:UserAssignedIdentity", f"fn-{fn}-identity", owner,
                    resource_name=identity_name, location=ctx.location)
    identity_id = ctx.arm_id(f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity_name}")
    deploy = hosting.container_resource(ctx, f"fn-{fn}-deployment", names.deployment_container(site), owner)
    plan = ctx.add("azure-native:web:AppServicePlan", f"fn-{fn}-plan", owner, name=names.plan(bp.name, bp.stage, fn),
                   location=ctx.location, kind="functionapp", reserved=True,
                   sku={"name": hosting.PLAN_SKU, "tier": hosting.PLAN_TIER})
    ctx.apps[fn] = App(fn, site, None, ident, identity_id)  # roles and settings read the identity
    app = ctx.add(WEBAPP, f"fn-{fn}-app", owner, depends_on=[ident, deploy], name=site, location=ctx.location,
                  kind="functionapp,linux", reserved=True, server_farm_id=plan.out("id"), https_only=True,
                  identity={"type": "UserAssigned", "user_assigned_identities": [identity_id]},
                  key_vault_reference_identity=identity_id, site_config=_site_config(ctx, fn),
                  function_app_config=_flex_config(ctx, fn, site, identity_id),
                  client_affinity_enabled=False, hyper_v=False, is_xenon=False, scm_site_also_stopped=False)
    ctx.apps[fn] = App(fn, site, app, ident, identity_id)
    declare_roles(ctx, fn, deploy)
    return FunctionRef(fn, app, Template.of("https://", app.out("default_host_name")),
                       extra={"site": site, "identity": identity_id})


def _site_config(ctx: "AzureContext", fn: str) -> dict:
    return {"min_tls_version": "1.2", "scm_min_tls_version": "1.2", "ftps_state": "Disabled",
            "http20_enabled": True, "app_settings": [{"name": k, "value": v} for k, v in app_settings(ctx, fn)]}


def _flex_config(ctx: "AzureContext", fn: str, site: str, identity_id: str) -> dict:
    spec = ctx.bp.functions[fn]
    container = f"https://{ctx.account_name}.blob.core.windows.net/{names.deployment_container(site)}"
    return {
        "deployment": {"storage": {"type": "blobContainer", "value": container, "authentication": {
            "type": "UserAssignedIdentity", "user_assigned_identity_resource_id": identity_id}}},
        "runtime": {"name": "python", "version": hosting.python_version(spec.runtime)},
        "scale_and_concurrency": {
            "instance_memory_mb": hosting.instance_memory(spec.memory) or hosting.MEMORY_SIZES[-1],
            "maximum_instance_count": spec.max_instances or hosting.DEFAULT_INSTANCES}}


def app_settings(ctx: "AzureContext", fn: str) -> list[tuple[str, Any]]:
    """(name, value) app settings, sorted: host, connections, the runtime contract, env, secrets."""
    bp, spec = ctx.bp, ctx.bp.functions[fn]
    client_id = ctx.app(fn).identity.out("client_id")
    values: dict[str, Any] = {
        "AzureWebJobsStorage__accountName": ctx.account_name, "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": client_id, "AZURE_CLIENT_ID": client_id,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": ctx.insights.out("connection_string"),
        "DEPLOYER_CLOUD": "azure", "DEPLOYER_APP": bp.stage_name(), "DEPLOYER_FUNCTION": fn,
        "DEPLOYER_AZURE_STORAGE_ACCOUNT": ctx.account_name,
    }
    values.update(_trigger_connections(ctx, fn, client_id))
    if any(s.kind == "topic" and not bp.existing(n, "azure") for n, s in bp.stores.items()):
        values["DEPLOYER_AZURE_SERVICEBUS"] = topics.host(topics.namespace_name(ctx))
    values.update(store_env(bp, fn, lambda store: ctx.store(store).locator))
    values.update(spec.env)  # `check` refuses reserved names here
    for name in spec.secrets:
        values[name] = keyvault.reference(ctx, name)
    return sorted(values.items())


def _trigger_connections(ctx: "AzureContext", fn: str, client_id) -> dict[str, Any]:
    """The identity-based connections the function's triggers name: the stage's storage account
    (`DeployerStorage`: its queues, bucket event queues) and Service Bus namespace
    (`DeployerServiceBus`), and the account or namespace of each existing queue or topic it consumes
    (`DeployerStorage_<account>`, `DeployerServiceBus_<namespace>`)."""
    out: dict[str, Any] = {}
    for trigger in ctx.bp.functions[fn].triggers:
        match trigger:
            case BucketTrigger():
                uri = f"https://{ctx.account_name}.queue.core.windows.net"
                out.update(_connection(queues.CONNECTION, client_id, queueServiceUri=uri))
            case QueueTrigger(queue=queue):
                found = existing.of(ctx.bp, queue)
                uri = found.service_uri("queue") if found else f"https://{ctx.account_name}.queue.core.windows.net"
                out.update(_connection(queues.connection(ctx.bp, queue), client_id, queueServiceUri=uri))
            case TopicTrigger(topic=topic):
                found = existing.of(ctx.bp, topic)
                host = found.host if found else topics.host(topics.namespace_name(ctx))
                out.update(_connection(topics.connection(ctx.bp, topic), client_id, fullyQualifiedNamespace=host))
            case HttpTrigger() | ScheduleTrigger():
                pass
            case _:
                raise TypeError(f"unsupported trigger {type(trigger).__name__}")
    return out


def _connection(prefix: str, client_id, **uris: str) -> dict[str, Any]:
    """An identity-based connection setting group: `<prefix>__<uri>`, credential and client id."""
    out: dict[str, Any] = {f"{prefix}__{k}": v for k, v in uris.items()}
    return {**out, f"{prefix}__credential": "managedidentity", f"{prefix}__clientId": client_id}


def declare_roles(ctx: "AzureContext", fn: str, deploy) -> list:
    """Every role the function's identity needs, each scoped to one container, queue, table, topic
    subscription or secret."""
    done: dict[tuple[str, str], Any] = {}
    for part, role, res, scope, condition in _needed(ctx, fn, deploy):
        if (part, role) not in done:
            app = ctx.app(fn)
            done[(part, role)] = identity.assign(ctx, f"fn-{fn}-role-{part}-{role}", owner_of(fn),
                                                 app.identity.out("principal_id"), app.identity_id, role, res,
                                                 scope, condition)
    for name in ctx.bp.functions[fn].secrets:
        done[(name, "secrets-user")] = keyvault.grant(ctx, fn, name)
    return list(done.values())


def _needed(ctx: "AzureContext", fn: str, deploy):
    """(part, role, scope resource, scope id, condition) tuples: host storage, grants, trigger needs."""
    site = ctx.app(fn).site
    for container, res in ctx.host_containers.items():
        condition = identity.host_keys_condition(names.host_id(site)) if container == names.SECRETS_CONTAINER else None
        yield container, "blob-owner", res, ctx.account_id(f"/blobServices/default/containers/{container}"), condition
    yield "deployment", "blob-contributor", deploy, ctx.account_id(
        f"/blobServices/default/containers/{names.deployment_container(site)}"), None
    for grant in grants(ctx.bp, fn):
        ref = ctx.store(grant.store)
        for role in identity.grant_roles(grant.kind, grant.rights):
            yield grant.store, role, ref.resource, ref.ident, None
        if grant.kind == "queue" and "consume" in grant.rights:
            yield f"{grant.store}-poison", "queue-contributor", ref.extra["poison"], ref.extra["poison_id"], None
    for trigger in ctx.bp.functions[fn].triggers:
        if isinstance(trigger, TopicTrigger):
            res, scope = ctx.store(trigger.topic).extra["subscriptions"][fn]
            yield f"{trigger.topic}-subscription", "bus-receiver", res, scope, None
            yield f"{trigger.topic}-subscription", "bus-owner", res, scope, None


def declare_events(ctx: "AzureContext", fn: str) -> None:
    """Event Grid routes of the function's bucket triggers (buckets.py)."""
    for index, trigger in enumerate(ctx.bp.functions[fn].triggers):
        if isinstance(trigger, BucketTrigger):
            buckets.declare_trigger(ctx, fn, index, trigger)
