"""The AWS resource graph of every example blueprint, as `deployer plan --cloud aws` renders it.

Golden files (tests/golden/aws/<example>.json) hold the whole graph: type, logical name, group, inputs
under wire names and options. Regenerate them with `pytest tests/test_aws_program.py --update-golden`
and review the diff. Archive names are normalised to `<function>-<sha12>.zip` because the hash covers
the shared runtime and shim, which other parts of the project change; test_archive_is_the_built_package
checks the real names. Outputs only the cloud knows show as references (`${fn-api_role.arn}`). The
other tests assert each rule of the AWS mapping on its own; test_aws_defects.py holds the fixes of
issue 12's review, test_aws_iam.py least privilege.
"""

from __future__ import annotations

import json

import pytest

from aws_support import EXAMPLE_NAMES, IGNORE_SDK_WARNINGS, ROOT, normalised, of_type, one, plan_example
from conftest import example_copy, tiny_blueprint

pytestmark = pytest.mark.filterwarnings(IGNORE_SDK_WARNINGS)
FUNCTION = "aws:lambda/function:Function"


def test_golden(example, golden):
    golden(f"aws/{example.parent.name}.json", normalised(plan_example(example.parent.name)))


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_executor_registers_exactly_the_plan(example):
    from deployer.pipeline import prepare
    from graph_support import assert_executor_matches_plan

    prepared = prepare(str(example_copy(example)), "dev", "aws")  # a copy: no build output in the repository
    planned = assert_executor_matches_plan(prepared.provider, prepared.bp, prepared.artifacts)
    assert len(planned.resources) == len(plan_example(example).resources)


def test_plan_imports_no_pulumi():
    import subprocess
    import sys

    code = ("import sys; from deployer.pipeline import prepare; from deployer import plan; "
            f"p = prepare({str(example_copy('images'))!r}, 'dev', 'aws'); "
            "plan.run(p.provider, p.bp, p.artifacts); "
            "print(sorted(m for m in sys.modules if m.startswith(('pulumi', 'boto'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_archive_is_the_built_package():
    from deployer.pipeline import prepare

    prepared = prepare(str(example_copy("orders")), "dev", "aws")
    result = plan_example("orders")
    for name, artifact in prepared.artifacts.items():
        assert one(result, f"fn-{name}_function").inputs["code"] == {"$archive": artifact.path.name}


def test_function_settings_and_log_group_first():
    result = plan_example("orders")
    fn = one(result, "fn-api_function")
    inputs = fn.inputs
    assert (inputs["name"], inputs["runtime"], inputs["handler"], inputs["memorySize"], inputs["timeout"],
            inputs["architectures"]) == ("orders-dev-api", "python3.12", "deployer_shim.handler", 512, 15, ["arm64"])
    assert one(result, "fn-api_logs").inputs == {"name": "/aws/lambda/orders-dev-api", "retentionInDays": 14}
    assert inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": "${fn-api_logs.name}"}
    assert inputs["role"] == "${fn-api_role.arn}"
    assert fn.options["depends_on"] == ["fn-api_logs", "fn-api_policy"]


def test_stage_overrides_reach_the_graph():
    fn = one(plan_example("orders", "prod"), "fn-api_function").inputs
    assert fn["name"] == "orders-prod-api" and fn["memorySize"] == 1024


def test_environment_locates_every_reachable_store():
    env = one(plan_example("orders"), "fn-api_function").inputs["environment"]["variables"]
    assert env == {
        "DEPLOYER_APP": "orders-dev", "DEPLOYER_CLOUD": "aws", "DEPLOYER_FUNCTION": "api",
        "DEPLOYER_KEY_ORDERS": "id",
        "DEPLOYER_STORE_EVENTS": "${store-events-topic.arn}",
        "DEPLOYER_STORE_FULFILMENT": "${store-fulfilment-queue.url}",
        "DEPLOYER_STORE_ORDERS": "${store-orders-table.name}", "LOG_LEVEL": "info",
    }


def test_queue_dead_letter_and_visibility_timeout():
    result = plan_example("orders")
    queue = one(result, "store-fulfilment-queue").inputs
    assert json.loads(queue["redrivePolicy"]) == {"deadLetterTargetArn": "${store-fulfilment-dlq.arn}",
                                                  "maxReceiveCount": 5}
    assert queue["visibilityTimeoutSeconds"] == 6 * 20  # worker's timeout is 20 s
    assert one(result, "store-fulfilment-dlq").inputs["name"] == "orders-dev-fulfilment_dlq"


def test_event_source_mapping_batches_and_partial_failures():
    small = one(plan_example("orders"), "fn-worker_queue_fulfilment").inputs
    assert small["batchSize"] == 10 and "maximumBatchingWindowInSeconds" not in small
    assert small["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (small["eventSourceArn"], small["functionName"]) == ("${store-fulfilment-queue.arn}",
                                                                "${fn-worker_function.arn}")
    big = one(plan_example("iot"), "fn-analyse_queue_readings").inputs
    assert big["batchSize"] == 25 and big["maximumBatchingWindowInSeconds"] == 1
    # the batching window adds to the time a message may stay in flight
    assert one(plan_example("iot"), "store-readings-queue").inputs["visibilityTimeoutSeconds"] == 6 * (30 + 1)


def test_one_notification_per_bucket_with_every_filter():
    result = plan_example("images")
    notes = of_type(result, "aws:s3/bucketNotification:BucketNotification")
    assert [n.name for n in notes] == ["store-uploads-notification"]
    assert notes[0].inputs["lambdaFunctions"] == [
        {"events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/", "filterSuffix": ".jpg",
         "lambdaFunctionArn": "${fn-resize_function.arn}"},
        {"events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/", "filterSuffix": ".png",
         "lambdaFunctionArn": "${fn-resize_function.arn}"},
        {"events": ["s3:ObjectRemoved:*"], "filterPrefix": "incoming/", "lambdaFunctionArn": "${fn-cleanup_function.arn}"},
    ]
    assert notes[0].options["depends_on"] == ["fn-cleanup_bucket_uploads_permission",
                                              "fn-resize_bucket_uploads_permission"]
    perms = {r.name: r.inputs for r in of_type(result, "aws:lambda/permission:Permission")
             if r.inputs["principal"] == "s3.amazonaws.com"}
    assert sorted(perms) == ["fn-cleanup_bucket_uploads_permission", "fn-resize_bucket_uploads_permission"]
    assert {p["sourceArn"] for p in perms.values()} == {"${store-uploads-bucket.arn}"}
    assert {p["sourceAccount"] for p in perms.values()} == {"${getCallerIdentity.account_id}"}


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
    assert one(result, "app-stage").inputs == {"apiId": "${app-api.id}", "autoDeploy": True, "name": "$default"}
    routes = {r.name: r for r in of_type(result, "aws:apigatewayv2/route:Route")}
    assert sorted(r.inputs["routeKey"] for r in routes.values()) == ["GET /orders", "GET /orders/{id}", "POST /orders"]
    assert {r.group for r in routes.values()} == {"function api"}
    assert {r.inputs["target"] for r in routes.values()} == {"integrations/${fn-api_integration.id}"}
    integration = one(result, "fn-api_integration").inputs
    assert (integration["integrationType"], integration["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration["integrationUri"] == "${fn-api_function.invoke_arn}"
    permission = one(result, "fn-api_http-permission").inputs
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"] == "${app-api.execution_arn}/*/*"


def test_topic_subscription_and_permission_per_consumer():
    result = plan_example("orders")
    sub = one(result, "fn-notify_topic_events_subscription")
    assert sub.inputs == {"topic": "${store-events-topic.arn}", "protocol": "lambda",
                          "endpoint": "${fn-notify_function.arn}"}
    assert sub.options["depends_on"] == ["fn-notify_topic_events_permission"]
    perm = one(result, "fn-notify_topic_events_permission").inputs
    assert (perm["principal"], perm["sourceArn"], perm["function"]) == (
        "sns.amazonaws.com", "${store-events-topic.arn}", "orders-dev-notify")


def test_table_on_demand_with_the_key():
    table = one(plan_example("iot"), "store-metrics-table").inputs
    assert (table["billingMode"], table["hashKey"], table["attributes"]) == (
        "PAY_PER_REQUEST", "device", [{"name": "device", "type": "S"}])


def test_schedules_with_timezone_and_rate():
    result = plan_example("report")
    nightly = one(result, "fn-nightly_schedule_0").inputs
    assert nightly["name"] == "report-dev-nightly_s0"
    assert nightly["scheduleExpression"] == "cron(0 3 * * ? *)"
    assert nightly["scheduleExpressionTimezone"] == "Europe/Paris"
    assert nightly["flexibleTimeWindow"] == {"mode": "OFF"}
    assert json.loads(nightly["target"]["input"]) == {"deployer": "schedule", "schedule": "0 3 * * *",
                                                      "time": "<aws.scheduler.scheduled-time>"}
    assert nightly["target"]["roleArn"] == "${fn-nightly_scheduler-role.arn}"
    snapshot = one(result, "fn-snapshot_schedule_0").inputs
    assert (snapshot["scheduleExpression"], snapshot["scheduleExpressionTimezone"]) == ("rate(1 hour)", "UTC")


def test_every_resource_belongs_to_a_known_group():
    for name in EXAMPLE_NAMES:
        result = plan_example(name)
        assert {r.group.split(" ")[0] for r in result.resources} <= {"app", "store", "function"}
        for res in result.resources:
            kind, _, owner = res.group.partition(" ")
            prefix = {"app": "app-", "store": f"store-{owner}-", "function": f"fn-{owner}_"}[kind]
            assert res.name.startswith(prefix), (res.group, res.name)


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
        "api_url": "${app-api.api_endpoint}",
        "functions": {"api": "orders-dev-api", "notify": "orders-dev-notify", "worker": "orders-dev-worker"},
        "stores": {"events": "${store-events-topic.arn}", "fulfilment": "${store-fulfilment-queue.url}",
                   "notifications": "${store-notifications-table.name}", "orders": "${store-orders-table.name}"},
        "deployer_stores": {"events": {"kind": "topic"}, "fulfilment": {"kind": "queue"},
                            "notifications": {"kind": "table", "key": "id"}, "orders": {"kind": "table", "key": "id"}},
    }
    assert plan_example("images").outputs["stores"] == {"thumbnails": "${store-thumbnails-bucket.bucket}",
                                                        "uploads": "${store-uploads-bucket.bucket}"}


def test_architecture_and_packaging_platform_match(tmp_path):
    from deployer import providers
    from deployer.blueprint.load import load_blueprint

    bp = tiny_blueprint(tmp_path, "name: arch\nclouds: {aws: {architecture: x86_64}}\n"
                                  "functions: {f: {code: fn, handler: main.run, runtime: python3.11}}\n")
    aws = providers.get("aws")
    assert aws.target(bp, "f") == packaging_target("manylinux_2_26_x86_64", "3.11")  # Amazon Linux 2
    default = load_blueprint(ROOT / "blueprints" / "orders" / "deployer.yaml")
    assert aws.target(default, "api") == packaging_target("manylinux_2_34_aarch64", "3.12")  # AL2023
    assert one(plan_example("orders"), "fn-api_function").inputs["architectures"] == ["arm64"]


def packaging_target(platform: str, python: str):
    from deployer.packaging import Target

    return Target(platform, python)




@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_ejected_program_registers_the_plan_with_the_same_urns(example, tmp_path):
    from deployer import plan
    from deployer.pipeline import prepare
    from deployer.resources.eject import eject

    prepared = prepare(str(example_copy(example)), "dev", "aws")  # a copy: no build output in the repository
    graph = prepared.provider.compile(prepared.bp, prepared.artifacts)
    eject(graph, prepared.provider.sdk_index(), tmp_path / "infra", blueprint="deployer.yaml", pulumi_version="3.0.0")
    expected = plan.render(prepared.provider, prepared.bp, graph)
    from graph_support import run_ejected

    registered, urns = run_ejected(prepared.provider, graph, tmp_path / "infra")
    assert registered == {(r.type, r.name): r.inputs for r in expected.resources}
    assert urns == {f"urn:pulumi:dev::{example}::pulumi:pulumi:Stack${r.type}::{r.name}" for r in expected.resources}
