"""What GCP would answer under `deployer plan` (Pulumi's mock runtime): ids and the outputs the program reads.

Only outputs the program actually reads are invented here: a function's Cloud Run URL and service
name, an account's email and resource name, a topic's path, a bucket's name, the gateway's hostname,
the API's managed service, the project number and the Cloud Storage service agent. Values look like
GCP's (same formats), derived from the inputs so plans are deterministic.
"""

from __future__ import annotations

from typing import Any

from deployer import naming

PROJECT_NUMBER = "123456789012"
# How a secret input arrives in a mock (pulumi.runtime.rpc): {SIG_KEY: SECRET_SIG, "value": ...}.
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def _merge(value: Any, **extra: Any) -> Any:
    """Add outputs to a nested input, keeping it secret when it came secret (a secret env taints it all)."""
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        return {SIG_KEY: SECRET_SIG, "value": _merge(value.get("value"), **extra)}
    return {**(value or {}), **extra}


def _project(inputs: dict[str, Any]) -> str:
    import pulumi

    return inputs.get("project") or pulumi.Config("gcp").get("project") or "project"


def resource(typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    project = _project(inputs)
    out = dict(inputs)
    physical = inputs.get("name") or name
    match typ:
        case "gcp:cloudfunctionsv2/function:Function":
            region = inputs.get("location", "us-central1")
            service = _merge(inputs.get("serviceConfig"),
                             service=f"projects/{project}/locations/{region}/services/{physical}",
                             uri=f"https://{physical}-{naming.short_hash(project, 10)}-uc.a.run.app")
            out.update(serviceConfig=service, url=f"https://{region}-{project}.cloudfunctions.net/{physical}",
                       state="ACTIVE")
            return f"projects/{project}/locations/{region}/functions/{physical}", out
        case "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            out.update(email=email, member=f"serviceAccount:{email}",
                       name=f"projects/{project}/serviceAccounts/{email}")
            return out["name"], out
        case "gcp:pubsub/topic:Topic" | "gcp:pubsub/subscription:Subscription":
            kind = "topics" if typ.endswith("Topic") else "subscriptions"
            return f"projects/{project}/{kind}/{physical}", out
        case "gcp:storage/bucket:Bucket":
            out.update(url=f"gs://{physical}", selfLink=f"https://www.googleapis.com/storage/v1/b/{physical}")
            return physical, out
        case "gcp:storage/bucketObject:BucketObject":
            out.update(outputName=physical, generation=1)
            return f"{inputs.get('bucket')}-{physical}", out
        case "gcp:apigateway/api:Api":
            service = f"{inputs['apiId']}-{naming.short_hash(project, 13)}.apigateway.{project}.cloud.goog"
            out.update(managedService=service,
                       name=f"projects/{project}/locations/global/apis/{inputs['apiId']}")
            return out["name"], out
        case "gcp:apigateway/apiConfig:ApiConfig":
            config = f"{inputs.get('apiConfigIdPrefix', '')}mock"
            api = f"projects/{project}/locations/global/apis/{inputs['api']}"
            out.update(apiConfigId=config, name=f"{api}/configs/{config}")
            return out["name"], out
        case "gcp:apigateway/gateway:Gateway":
            out.update(defaultHostname=f"{inputs['gatewayId']}-{naming.short_hash(project, 8)}.uc.gateway.dev")
            return f"projects/{project}/locations/{inputs.get('region')}/gateways/{inputs['gatewayId']}", out
        case "gcp:firestore/database:Database":
            return f"projects/{project}/databases/{physical}", out
    return f"{name}-id", out


def call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    match token:
        case "gcp:organizations/getProject:getProject":
            project = args.get("projectId") or _project({})
            return {"number": PROJECT_NUMBER, "projectId": project, "name": project, "id": f"projects/{project}"}
        case "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
            return {"emailAddress": email, "member": f"serviceAccount:{email}", "project": args.get("project")}
    return {}
