"""What Azure would answer under Pulumi's mock runtime (`deployer plan`): ids, names, host names, SAS.

Outputs hold every value the program reads: `name` (from the resource's own name input), ARM `id`s
shaped like real ones (role assignments are scoped to them, so tests can check the scope), a Function
App's `defaultHostName` and `identity.principalId`, API Management's `gatewayUrl`, Application
Insights' `connectionString`, and the invokes getClientConfig and listStorageAccountServiceSAS.
"""

from __future__ import annotations

from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "11111111-1111-1111-1111-111111111111"

# type token -> (input holding the resource's name, ARM path of the resource below its parents)
NAMES = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:storage:Queue": "queueName",
    "azure-native:storage:Table": "tableName",
    "azure-native:storage:Blob": "blobName",
    "azure-native:web:AppServicePlan": "name",
    "azure-native:web:WebApp": "name",
    "azure-native:web:WebAppApplicationSettings": "name",
    "azure-native:applicationinsights:Component": "resourceName",
    "azure-native:operationalinsights:Workspace": "workspaceName",
    "azure-native:servicebus:Namespace": "namespaceName",
    "azure-native:servicebus:Topic": "topicName",
    "azure-native:servicebus:Subscription": "subscriptionName",
    "azure-native:authorization:RoleAssignment": "roleAssignmentName",
    "azure-native:apimanagement:ApiManagementService": "serviceName",
    "azure-native:apimanagement:Api": "apiId",
    "azure-native:apimanagement:ApiOperation": "operationId",
    "azure-native:apimanagement:ApiOperationPolicy": "policyId",
    "azure-native:apimanagement:ApiPolicy": "policyId",
    "azure-native:eventgrid:SystemTopic": "systemTopicName",
    "azure-native:eventgrid:SystemTopicEventSubscription": "eventSubscriptionName",
}


PROVIDERS = {
    "web:AppServicePlan": "Microsoft.Web/serverfarms",
    "web:WebApp": "Microsoft.Web/sites",
    "applicationinsights:Component": "Microsoft.Insights/components",
    "operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "apimanagement:ApiManagementService": "Microsoft.ApiManagement/service",
    "eventgrid:SystemTopic": "Microsoft.EventGrid/systemTopics",
}


def arm_id(typ: str, inputs: dict[str, Any], name: str) -> str:
    """An ARM id shaped like Azure's, from the parent names in the inputs."""
    rg = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{inputs.get('resourceGroupName', name)}"
    account = f"{rg}/providers/Microsoft.Storage/storageAccounts/{inputs.get('accountName')}"
    bus = f"{rg}/providers/Microsoft.ServiceBus/namespaces/{inputs.get('namespaceName')}"
    match typ.split(":", 1)[1]:
        case "resources:ResourceGroup":
            return rg
        case "storage:StorageAccount":
            return account
        case "storage:BlobContainer":
            return f"{account}/blobServices/default/containers/{name}"
        case "storage:Queue":
            return f"{account}/queueServices/default/queues/{name}"
        case "storage:Table":
            return f"{account}/tableServices/default/tables/{name}"
        case "servicebus:Namespace":
            return f"{rg}/providers/Microsoft.ServiceBus/namespaces/{name}"
        case "servicebus:Topic":
            return f"{bus}/topics/{name}"
        case "servicebus:Subscription":
            return f"{bus}/topics/{inputs.get('topicName')}/subscriptions/{name}"
        case "authorization:RoleAssignment":
            return f"{inputs.get('scope')}/providers/Microsoft.Authorization/roleAssignments/{name}"
    namespace = PROVIDERS.get(typ.split(":", 1)[1], typ.split(":")[1])
    return f"{rg}/providers/{namespace}/{name}"


def resource(typ: str, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = inputs.get(NAMES.get(typ, "name")) or logical
    outputs = dict(inputs, name=name)
    outputs["id"] = arm_id(typ, inputs, name)
    match typ:
        case "azure-native:web:WebApp":
            outputs["defaultHostName"] = f"{name}.azurewebsites.net"
            outputs["identity"] = {"type": "SystemAssigned", "principalId": f"principal-{name}", "tenantId": TENANT}
        case "azure-native:apimanagement:ApiManagementService":
            outputs["gatewayUrl"] = f"https://{name}.azure-api.net"
        case "azure-native:applicationinsights:Component":
            outputs["connectionString"] = f"InstrumentationKey=ikey-{name};IngestionEndpoint=https://example/"
    return outputs["id"], outputs


def call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    match token:
        case "azure-native:authorization:getClientConfig":
            return {"subscriptionId": SUBSCRIPTION, "tenantId": TENANT, "clientId": "mock-client",
                    "objectId": "mock-object"}
        case "azure-native:storage:listStorageAccountServiceSAS":
            return {"serviceSasToken": f"sv=mock&sp={args.get('permissions')}&sr={args.get('resource')}&sig=mock"}
    raise NotImplementedError(f"the Azure mocks do not answer {token}")
