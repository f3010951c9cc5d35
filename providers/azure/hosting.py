"""Hosting: one resource group, storage account, Log Analytics + Application Insights and one plan per stage.

The plan is a Linux Consumption plan (Y1/Dynamic), shared by one Function App per blueprint function.
Why not Flex Consumption (FC1), the plan Microsoft now recommends?

- Flex hosts ONE app per plan and deploys through its own deployment container (no
  WEBSITE_RUN_FROM_PACKAGE); blob triggers on Flex need an Event Grid subscription to the app's
  `blobs_extension` webhook, whose key exists only after the app runs. Y1 hosts many apps on one plan,
  runs straight from a content-hashed package URL and its polling blob trigger takes the blueprint's
  prefix/suffix as a path pattern, so a whole stage deploys in one `up`.
- What Y1 costs: 1.5 GB of memory per instance (not selectable), a 10-minute maximum timeout, no
  Python beyond 3.12 (Linux Consumption gets no new language versions), no time-zone setting for
  timers (deployer's guard works around it, see schedules.py), and retirement on 30 September 2028.
  `check` turns each limit into a diagnostic where a blueprint asks for more; moving to Flex (instance
  memory 2048/4096 MB, longer timeouts) is the planned way out.

Stateful parts (the storage account holds every bucket, queue and table; deleting the resource group
deletes everything in it) are retained on destroy unless `--delete-data`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.azure import names

if TYPE_CHECKING:
    from providers.azure.context import Context

PLAN_SKU = "Y1"
PLAN_TIER = "Dynamic"
MEMORY_MB = 1536
MAX_TIMEOUT = 600
HTTP_TIMEOUT = 230  # the front end answers 502 to requests open longer, whatever functionTimeout says
PYTHON_VERSIONS = ("3.11", "3.12")
FUNCTIONS_VERSION = "~4"


def python_version(runtime: str) -> str:
    """`python3.12` -> `3.12`."""
    return runtime.removeprefix("python")


def declare(ctx: Context) -> None:
    """Resource group, storage account, host containers, package container, insights, plan."""
    from pulumi_azure_native import resources

    bp = ctx.bp
    ctx.resource_group = resources.ResourceGroup(
        "app-rg", resource_group_name=names.resource_group(bp.name, bp.stage), location=ctx.location,
        opts=ctx.stateful())
    _storage(ctx)
    _insights(ctx)
    _plan(ctx)


def _storage(ctx: Context) -> None:
    from pulumi_azure_native import storage

    bp = ctx.bp
    ctx.account_name = names.storage_account(bp.name, bp.stage)
    ctx.account = storage.StorageAccount(
        "app-storage", account_name=ctx.account_name, resource_group_name=ctx.rg_name, location=ctx.location,
        kind="StorageV2", sku=storage.SkuArgs(name="Standard_LRS"), enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2", allow_blob_public_access=False,
        # Shared keys stay enabled for one use: the read-only SAS of the run-from-package URL.
        allow_shared_key_access=True, opts=ctx.stateful())
    ctx.packages = storage.BlobContainer(
        "app-packages", container_name=names.packages_container(), account_name=ctx.account.name,
        resource_group_name=ctx.rg_name, public_access=storage.PublicAccess.NONE)
    for container in names.HOST_CONTAINERS:
        res = storage.BlobContainer(
            f"app-{container}", container_name=container, account_name=ctx.account.name,
            resource_group_name=ctx.rg_name, public_access=storage.PublicAccess.NONE)
        ctx.host_scopes[container] = res.id


def _insights(ctx: Context) -> None:
    from pulumi_azure_native import applicationinsights, operationalinsights

    bp = ctx.bp
    workspace = operationalinsights.Workspace(
        "app-logs", workspace_name=names.insights(bp.name, bp.stage), resource_group_name=ctx.rg_name,
        location=ctx.location, sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"), retention_in_days=30)
    ctx.insights = applicationinsights.Component(
        "app-insights", resource_name_=names.insights(bp.name, bp.stage), resource_group_name=ctx.rg_name,
        location=ctx.location, kind="web", application_type="web", ingestion_mode="LogAnalytics",
        workspace_resource_id=workspace.id)


def _plan(ctx: Context) -> None:
    from pulumi_azure_native import web

    bp = ctx.bp
    ctx.plan = web.AppServicePlan(
        "app-plan", name=names.plan(bp.name, bp.stage), resource_group_name=ctx.rg_name, location=ctx.location,
        kind="linux", reserved=True, sku=web.SkuDescriptionArgs(name=PLAN_SKU, tier=PLAN_TIER))
