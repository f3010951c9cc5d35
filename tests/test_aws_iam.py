"""Least privilege of the AWS program: one role per function, exact ARNs, only the needed actions.

Every policy document the program generates for the example blueprints goes through parliament
(Duo Labs' IAM linter) and must give zero findings; then each statement is checked for wildcards
and against the exact set of actions each function's triggers and `uses` need.
"""

from __future__ import annotations

import json

import parliament
import pytest

from aws_support import EXAMPLE_NAMES, IGNORE_SDK_WARNINGS, of_type, one, plan_example

pytestmark = pytest.mark.filterwarnings(IGNORE_SDK_WARNINGS)
ACCOUNT = "123456789012"


def policies(example: str) -> dict[str, dict]:
    return {r.name: json.loads(r.inputs["policy"]) for r in of_type(plan_example(example), "aws:iam/rolePolicy:RolePolicy")}


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_parliament_finds_nothing(example):
    for name, document in policies(example).items():
        findings = parliament.analyze_policy_string(json.dumps(document)).findings
        assert [f"{f.issue}: {f.detail}" for f in findings] == [], name


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_no_wildcards_where_a_specific_value_exists(example):
    for name, document in policies(example).items():
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in a for a in actions), (name, statement)
            resource = statement["Resource"]
            assert isinstance(resource, str) and resource.startswith("arn:aws:"), (name, statement)
            # the only wildcards allowed: objects of one bucket, streams of one log group
            assert "*" not in resource or resource.endswith(("/*", ":*")), (name, statement)
            assert "*" not in resource[:-2], (name, statement)


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_one_role_per_function_trusting_lambda(example):
    result = plan_example(example)
    from deployer.blueprint.load import load_blueprint
    from aws_support import ROOT

    bp = load_blueprint(ROOT / "blueprints" / example / "deployer.yaml")
    roles = {r.name: r.inputs for r in of_type(result, "aws:iam/role:Role")}
    for function in bp.functions:
        trust = json.loads(roles[f"fn-{function}-role"]["assumeRolePolicy"])
        assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                       "Action": "sts:AssumeRole"}]
    assert len({r["name"] for r in roles.values()}) == len(roles)


def test_exact_grants_of_the_orders_api():
    document = policies("orders")["fn-api-policy"]
    arn = f"us-east-1:{ACCOUNT}"
    assert document["Statement"] == [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:{arn}:log-group:/aws/lambda/orders-dev-api:*"},
        {"Sid": "Events", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": f"arn:aws:sns:{arn}:orders-dev-events"},
        {"Sid": "Fulfilment", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": f"arn:aws:sqs:{arn}:orders-dev-fulfilment"},
        {"Sid": "Orders", "Effect": "Allow",
         "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"],
         "Resource": f"arn:aws:dynamodb:{arn}:table/orders-dev-orders"},
    ]


def test_queue_consumer_gets_consume_rights_only_from_its_trigger():
    statements = {s["Sid"]: s for s in policies("orders")["fn-worker-policy"]["Statement"]}
    assert statements["Fulfilment"]["Action"] == [
        "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert set(statements) == {"Logs", "Fulfilment", "Orders"}


def test_bucket_rights_split_objects_and_listing():
    statements = {s["Sid"]: s for s in policies("images")["fn-api-policy"]["Statement"]}
    assert statements["UploadsObjects"] == {"Sid": "UploadsObjects", "Effect": "Allow",
                                            "Action": ["s3:DeleteObject", "s3:PutObject"],
                                            "Resource": "arn:aws:s3:::images-dev-uploads/*"}
    assert statements["ThumbnailsObjects"]["Action"] == ["s3:GetObject"]
    assert statements["Thumbnails"] == {"Sid": "Thumbnails", "Effect": "Allow", "Action": ["s3:ListBucket"],
                                        "Resource": "arn:aws:s3:::images-dev-thumbnails"}
    assert "Uploads" not in statements  # write-only: no listing


def test_function_without_stores_may_only_log():
    # the resize function reads uploads (trigger) and writes thumbnails; cleanup only writes thumbnails
    statements = policies("images")["fn-cleanup-policy"]["Statement"]
    assert [s["Sid"] for s in statements] == ["Logs", "ThumbnailsObjects"]


def test_scheduler_role_may_invoke_only_its_function():
    result = plan_example("report")
    role = one(result, "fn-nightly-scheduler-role").inputs
    assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    document = json.loads(one(result, "fn-nightly-scheduler-policy").inputs["policy"])
    assert document["Statement"] == [{"Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                      "Resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:report-dev-nightly"}]
    assert parliament.analyze_policy_string(json.dumps(document)).findings == []


def test_parliament_would_catch_a_mismatch():
    """Guard against a silent linter: the same check flags an action on the wrong kind of resource."""
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                    "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"}]}
    assert [f.issue for f in parliament.analyze_policy_string(json.dumps(bad)).findings] == ["RESOURCE_MISMATCH"]
