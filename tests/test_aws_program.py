"""The AWS program of every example blueprint, run under Pulumi's mocks (`deployer plan`).

Golden files (tests/golden/aws/<example>.json) hold the whole resource graph: type, logical name,
group and inputs. Regenerate them with `pytest tests/test_aws_program.py --update-golden` and review
the diff. Archive names are normalised to `<function>-<sha12>.zip` because the hash covers the shared
runtime and shim, which other parts of the project change; test_archive_is_the_built_package checks
the real names. The other tests assert each rule of the AWS mapping on its own.
"""

from __future__ import annotations

import json

import pytest

from aws_support import IGNORE_SDK_WARNINGS, ROOT, normalised, of_type, one, plan_example
from conftest import tiny_blueprint

pytestmark = pytest.mark.filterwarnings(IGNORE_SDK_WARNINGS)

FUNCTION = "aws:lambda/function:Function"


def test_golden(example, golden):
    golden(f"aws/{example.parent.name}.json", normalised(plan_example(example.parent.name)))


def test_archive_is_the_built_package():
    from deployer.pipeline import prepare

    from conftest import example_copy

    prepared = prepare(str(example_copy("orders")), "dev", "aws")
    result = plan_example("orders")
    for name, artifact in prepared.artifacts.items():
        assert one(result, f"fn-{name}-function").inputs["code"] == {"$archive": artifact.path.name}


def test_function_settings_and_log_group_first():
    result = plan_example("orders")
    fn = one(result, "fn-api-function").inputs
    assert (fn["name"], fn["runtime"], fn["handler"], fn["memorySize"], fn["timeout"], fn["architectures"]) == (
        "orders-dev-api", "python3.12", "deployer_shim.handler", 512, 15, ["arm64"])
    logs = one(result, "fn-api-logs").inputs
    assert logs == {"name": "/aws/lambda/orders-dev-api", "retentionInDays": 14}
    assert fn["loggingConfig"] == {"logFormat": "Text", "logGroup": "/aws/lambda/orders-dev-api"}
    assert fn["role"] == "arn:aws:iam::123456789012:role/orders-dev-api"


def test_stage_overrides_reach_the_program():
    fn = one(plan_example("orders", "prod"), "fn-api-function").inputs
    assert fn["name"] == "orders-prod-api" and fn["memorySize"] == 1024


def test_environment_locates_every_reachable_store():
    env = one(plan_example("orders"), "fn-api-function").inputs["environment"]["variables"]
    assert env == {
        "DEPLOYER_APP": "orders-dev", "DEPLOYER_CLOUD": "aws", "DEPLOYER_FUNCTION": "api",
        "DEPLOYER_KEY_ORDERS": "id",
        "DEPLOYER_STORE_EVENTS": "arn:aws:sns:us-east-1:123456789012:orders-dev-events",
        "DEPLOYER_STORE_FULFILMENT": "https://sqs.us-east-1.amazonaws.com/123456789012/orders-dev-fulfilment",
        "DEPLOYER_STORE_ORDERS": "orders-dev-orders", "LOG_LEVEL": "info",
    }


def test_secrets_are_masked_in_the_plan():
    env = one(plan_example("iot"), "fn-ingest-function").inputs["environment"]["variables"]
    assert env["INGEST_TOKEN"] == "[secret]"
    assert "test-token" not in json.dumps(plan_example("iot").to_json())


def test_queue_dead_letter_and_visibility_timeout():
    result = plan_example("orders")
    queue = one(result, "store-fulfilment-queue").inputs
    assert json.loads(queue["redrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dev-fulfilment-dlq", "maxReceiveCount": 5}
    assert queue["visibilityTimeoutSeconds"] == 6 * 20  # worker's timeout is 20 s
    assert one(result, "store-fulfilment-dlq").inputs["name"] == "orders-dev-fulfilment-dlq"


def test_event_source_mapping_batches_and_partial_failures():
    small = one(plan_example("orders"), "fn-worker-queue-fulfilment").inputs
    assert small["batchSize"] == 10 and "maximumBatchingWindowInSeconds" not in small
    assert small["functionResponseTypes"] == ["ReportBatchItemFailures"]
    big = one(plan_example("iot"), "fn-analyse-queue-readings").inputs
    assert big["batchSize"] == 25 and big["maximumBatchingWindowInSeconds"] == 1
    # the batching window adds to the time a message may stay in flight
    assert one(plan_example("iot"), "store-readings-queue").inputs["visibilityTimeoutSeconds"] == 6 * (30 + 1)


def test_one_notification_per_bucket_with_every_filter():
    result = plan_example("images")
    notes = of_type(result, "aws:s3/bucketNotification:BucketNotification")
    assert [n.name for n in notes] == ["store-uploads-notification"]
    arn = "arn:aws:lambda:us-east-1:123456789012:function:images-dev-"
    assert notes[0].inputs["lambdaFunctions"] == [
        {"events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/", "filterSuffix": ".jpg",
         "lambdaFunctionArn": arn + "resize"},
        {"events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/", "filterSuffix": ".png",
         "lambdaFunctionArn": arn + "resize"},
        {"events": ["s3:ObjectRemoved:*"], "filterPrefix": "incoming/", "lambdaFunctionArn": arn + "cleanup"},
    ]
    perms = {r.name: r.inputs for r in of_type(result, "aws:lambda/permission:Permission")
             if r.inputs["principal"] == "s3.amazonaws.com"}
    assert sorted(perms) == ["fn-cleanup-bucket-uploads-permission", "fn-resize-bucket-uploads-permission"]
    assert {p["sourceArn"] for p in perms.values()} == {"arn:aws:s3:::images-dev-uploads"}
    assert {p["sourceAccount"] for p in perms.values()} == {"123456789012"}


def test_buckets_are_private_and_encrypted():
    result = plan_example("images")
    block = one(result, "store-uploads-public-access-block").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    rule = one(result, "store-uploads-encryption").inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_http_api_routes_cors_and_scoped_permissions():
    result = plan_example("orders")
    api = one(result, "app-api").inputs
    assert api["protocolType"] == "HTTP"
    assert api["corsConfiguration"] == {"allowHeaders": ["content-type"], "allowMethods": ["GET", "POST"],
                                        "allowOrigins": ["*"], "maxAge": 600}
    assert one(result, "app-stage").inputs == {"apiId": one_id(result), "autoDeploy": True, "name": "$default"}
    routes = sorted(r.inputs["routeKey"] for r in of_type(result, "aws:apigatewayv2/route:Route"))
    assert routes == ["GET /orders", "GET /orders/{id}", "POST /orders"]
    integration = one(result, "fn-api-integration").inputs
    assert (integration["integrationType"], integration["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    permission = one(result, "fn-api-http-permission").inputs
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{one_id(result)}/*/*"


def one_id(result) -> str:
    from deployer.naming import short_hash

    return short_hash("app-api", 10)


def test_topic_subscription_and_permission_per_consumer():
    result = plan_example("orders")
    sub = one(result, "fn-notify-topic-events-subscription").inputs
    assert sub["protocol"] == "lambda"
    assert sub["topic"] == "arn:aws:sns:us-east-1:123456789012:orders-dev-events"
    assert sub["endpoint"] == "arn:aws:lambda:us-east-1:123456789012:function:orders-dev-notify"
    perm = one(result, "fn-notify-topic-events-permission").inputs
    assert (perm["principal"], perm["sourceArn"]) == ("sns.amazonaws.com", sub["topic"])


def test_table_on_demand_with_the_key():
    table = one(plan_example("iot"), "store-metrics-table").inputs
    assert (table["billingMode"], table["hashKey"], table["attributes"]) == (
        "PAY_PER_REQUEST", "device", [{"name": "device", "type": "S"}])


def test_schedules_with_timezone_and_rate():
    result = plan_example("report")
    nightly = one(result, "fn-nightly-schedule-0").inputs
    assert nightly["scheduleExpression"] == "cron(0 3 * * ? *)"
    assert nightly["scheduleExpressionTimezone"] == "Europe/Paris"
    assert nightly["flexibleTimeWindow"] == {"mode": "OFF"}
    assert json.loads(nightly["target"]["input"]) == {"deployer": "schedule", "schedule": "0 3 * * *",
                                                      "time": "<aws.scheduler.scheduled-time>"}
    assert nightly["target"]["roleArn"] == "arn:aws:iam::123456789012:role/report-dev-nightly-scheduler"
    snapshot = one(result, "fn-snapshot-schedule-0").inputs
    assert (snapshot["scheduleExpression"], snapshot["scheduleExpressionTimezone"]) == ("rate(1 hour)", "UTC")


def test_every_resource_belongs_to_a_known_group():
    for name in ("orders", "images", "iot", "report"):
        result = plan_example(name)
        assert {r.group.split(" ")[0] for r in result.resources} <= {"app", "store", "function"}
        assert all(r.group != "app" or r.name.startswith("app-") for r in result.resources)


def test_a_missing_secret_stops_the_program_before_pulumi_runs(monkeypatch):
    from deployer import providers
    from deployer.blueprint.load import load_blueprint
    from deployer.errors import BlueprintError

    monkeypatch.delenv("INGEST_TOKEN", raising=False)
    bp = load_blueprint(ROOT / "blueprints" / "iot" / "deployer.yaml")
    with pytest.raises(BlueprintError) as err:
        providers.get("aws").program(bp, {name: None for name in bp.functions})
    assert [d.location.path for d in err.value.diagnostics] == ["secrets.INGEST_TOKEN"]


def test_stack_outputs_follow_the_contract():
    outputs = plan_example("orders").outputs
    assert outputs == {
        "api_url": f"https://{one_id(None)}.execute-api.us-east-1.amazonaws.com",
        "functions": {"api": "orders-dev-api", "notify": "orders-dev-notify", "worker": "orders-dev-worker"},
        "stores": {"events": "arn:aws:sns:us-east-1:123456789012:orders-dev-events",
                   "fulfilment": "https://sqs.us-east-1.amazonaws.com/123456789012/orders-dev-fulfilment",
                   "notifications": "orders-dev-notifications", "orders": "orders-dev-orders"},
    }
    assert set(plan_example("images").outputs) == {"api_url", "functions", "stores"}


def test_architecture_and_packaging_platform_match(tmp_path):
    from deployer import providers
    from deployer.blueprint.load import load_blueprint

    bp = tiny_blueprint(tmp_path, "name: arch\nclouds: {aws: {architecture: x86_64}}\n"
                                  "functions: {f: {code: fn, handler: main.run, runtime: python3.11}}\n")
    aws = providers.get("aws")
    assert aws.target(bp, "f") == packaging_target("manylinux2014_x86_64", "3.11")
    default = load_blueprint(ROOT / "blueprints" / "orders" / "deployer.yaml")
    assert aws.target(default, "api") == packaging_target("manylinux2014_aarch64", "3.12")
    assert one(plan_example("orders"), "fn-api-function").inputs["architectures"] == ["arm64"]


def packaging_target(platform: str, python: str):
    from deployer.packaging import Target

    return Target(platform, python)
