"""Azure's rules over a compiled graph (deployer/resources/checks.py): where each type's physical name
is, Azure's length and character limits, and which names must be unique worldwide.

Worldwide names (storage account, sites, Key Vault, Service Bus namespace, API Management) must hold
the subscription tag (names.py): a name derived from the blueprint and stage alone would be the same
for everyone deploying the same example, and the second deployment would fail on a taken name.
"""

from __future__ import annotations

from deployer.resources.checks import NameRule, Rules
from providers.azure import names

DNS = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"


def rules(subscription: str) -> Rules:
    tag = (names.subscription_tag(subscription),)
    return Rules(names={
        "azure-native:storage:StorageAccount": NameRule(
            "account_name", 24, r"[a-z0-9]{3,24}", worldwide=True, unique_parts=tag, description="storage account"),
        "azure-native:web:WebApp": NameRule(
            "name", names.SITE_MAX, DNS, worldwide=True, unique_parts=tag, description="Function App"),
        "azure-native:keyvault:Vault": NameRule(
            "vault_name", 24, r"(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", worldwide=True, unique_parts=tag,
            description="Key Vault"),
        "azure-native:servicebus:Namespace": NameRule(
            "namespace_name", 50, r"[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]", worldwide=True, unique_parts=tag,
            description="Service Bus namespace"),
        "azure-native:apimanagement:ApiManagementService": NameRule(
            "service_name", 50, r"[a-zA-Z][a-zA-Z0-9-]{0,48}[a-zA-Z0-9]?", worldwide=True, unique_parts=tag,
            description="API Management service"),
        "azure-native:operationalinsights:Workspace": NameRule(
            "workspace_name", names.WORKSPACE_MAX, r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]",
            description="Log Analytics workspace"),
        "azure-native:web:AppServicePlan": NameRule("name", 60, r"[A-Za-z0-9-]{1,60}", description="plan"),
        "azure-native:storage:BlobContainer": NameRule(
            "container_name", 63, r"[a-z0-9](-?[a-z0-9])+", description="blob container"),
        "azure-native:storage:Queue": NameRule("queue_name", 63, r"[a-z0-9](-?[a-z0-9])+", description="queue"),
        "azure-native:storage:Table": NameRule("table_name", 63, r"[A-Za-z][A-Za-z0-9]{2,62}", description="table"),
        "azure-native:servicebus:Topic": NameRule("topic_name", 50, r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}",
                                                   description="Service Bus topic"),
        "azure-native:keyvault:Secret": NameRule("secret_name", 127, r"[A-Za-z0-9-]{1,127}", description="secret"),
    })
