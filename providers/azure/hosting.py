"""Hosting: one resource group, storage account and Log Analytics + Application Insights per stage.

Functions run on Flex Consumption (FC1), the plan Microsoft recommends for new apps (Linux
Consumption gets no new language versions and retires on 30 September 2028). Flex hosts ONE app per
plan, so each blueprint function gets its own plan and app (its own host.json, timeout, memory,
scale limit and identity), all free while idle. Per app, `functionAppConfig` sets:

- runtime: Python `python_version(fn.runtime)`;
- instance memory: the function's `memory` rounded up to a Flex size (512, 2048 or 4096 MB; `check`
  warns when it rounds, and refuses more than 4096);
- maximum instances: `max_instances` (Flex accepts 40-1000; default 100);
- deployment storage: a blob container per app in the stage's storage account, which the platform
  reads and writes with the app's user-assigned identity (no connection string, no SAS).

The storage account has shared-key access OFF: the host (AzureWebJobsStorage__*), the triggers, the
store clients and the deployment all authenticate with managed identities. Stateful parts (the
storage account holds every bucket, queue and table; deleting the resource group deletes everything
in it) are retained on destroy unless `--delete-data`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.azure import names
from providers.azure.context import RG

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

PLAN_SKU = "FC1"
PLAN_TIER = "FlexConsumption"
MEMORY_SIZES = (512, 2048, 4096)  # Flex instance memory, MB
MIN_INSTANCES, MAX_INSTANCES, DEFAULT_INSTANCES = 40, 1000, 100  # Flex maximumInstanceCount bounds
HTTP_TIMEOUT = 230  # the front end answers 502 to requests open longer, whatever functionTimeout says
PYTHON_VERSIONS = ("3.10", "3.11", "3.12")
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"


def python_version(runtime: str) -> str:
    """`python3.12` -> `3.12`."""
    return runtime.removeprefix("python")


def instance_memory(memory: int) -> int | None:
    """The Flex instance size for a function's memory (rounded up), None when above the largest."""
    return next((size for size in MEMORY_SIZES if memory <= size), None)


def declare(ctx: "AzureContext") -> None:
    """Resource group, storage account, host containers, Log Analytics and Application Insights."""
    bp = ctx.bp
    ctx.resource_group = ctx.add(RG,
                                 "app-rg", retain=ctx.keep_data,
                                 resource_group_name=names.resource_group(bp.name, bp.stage), location=ctx.location)
    _storage(ctx)
    _insights(ctx)


def _storage(ctx: "AzureContext") -> None:
    bp = ctx.bp
    ctx.account_name = names.storage_account(ctx.subscription, bp.name, bp.stage)
    ctx.account = ctx.add(
        STORAGE, "app-storage", retain=ctx.keep_data, account_name=ctx.account_name, location=ctx.location,
        kind="StorageV2", sku={"name": "Standard_LRS"}, enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2", allow_blob_public_access=False, allow_shared_key_access=False,
        default_to_o_auth_authentication=True)
    for container in names.HOST_CONTAINERS:
        ctx.host_containers[container] = container_resource(ctx, f"app-{container}", container)


def container_resource(ctx: "AzureContext", logical: str, name: str, owner=None, retain: bool = False):
    from deployer.resources.graph import APP

    return ctx.add(CONTAINER, logical, owner or APP, retain=retain, container_name=name,
                   account_name=ctx.account.out("name"), public_access="None")


def _insights(ctx: "AzureContext") -> None:
    bp = ctx.bp
    workspace = ctx.add(
        "azure-native:operationalinsights:Workspace", "app-logs", workspace_name=names.workspace(bp.name, bp.stage),
        location=ctx.location, sku={"name": "PerGB2018"}, retention_in_days=30)
    ctx.insights = ctx.add(
        "azure-native:applicationinsights:Component", "app-insights", resource_name=names.insights(bp.name, bp.stage),
        location=ctx.location, kind="web", application_type="web", ingestion_mode="LogAnalytics",
        workspace_resource_id=workspace.out("id"), flow_type="Bluefield", request_source="rest",  # SDK defaults
        public_network_access_for_ingestion="Enabled", public_network_access_for_query="Enabled")
