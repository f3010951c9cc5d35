"""Least privilege of the AWS graph: one role per function, exact ARNs, only the needed actions.

Every policy document the graph holds for the example blueprints goes through parliament (Duo Labs'
IAM linter) with its references resolved to realistic ARNs (aws_support.resolver) and must give zero
findings; then each statement is checked for wildcards, and every function's grants are compared with
a table written here, per access word, NOT derived from the provider's code (issue 20 item 7).
"""

from __future__ import annotations

import json

import parliament
import pytest

from aws_support import ACCOUNT, EXAMPLE_NAMES, IGNORE_SDK_WARNINGS, ROOT, of_type, one, plan_example, resolver

pytestmark = pytest.mark.filterwarnings(IGNORE_SDK_WARNINGS)
POLICY = "aws:iam/rolePolicy:RolePolicy"

# What each access word (and a queue trigger, which means "consume") lets a function do on a store.
ALLOWED = {
    ("bucket", "read"): {"s3:GetObject", "s3:ListBucket"},
    ("bucket", "write"): {"s3:PutObject", "s3:DeleteObject"},
    ("table", "read"): {"dynamodb:GetItem", "dynamodb:Scan"},
    ("table", "write"): {"dynamodb:PutItem", "dynamodb:DeleteItem"},
    ("queue", "publish"): {"sqs:SendMessage"},
    ("queue", "consume"): {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                           "sqs:ChangeMessageVisibility"},
    ("topic", "publish"): {"sns:Publish"},
}
WORDS = {"read": ("read",), "write": ("write",), "read-write": ("read", "write"), "publish": ("publish",),
         "consume": ("consume",)}


def policies(example: str) -> dict[str, dict]:
    result = plan_example(example)
    resolve = resolver(result)
    return {r.name: json.loads(resolve(r.inputs["policy"])) for r in of_type(result, POLICY)}


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
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                assert resource.startswith("arn:aws:"), (name, statement)
                # the only wildcards allowed: objects of one bucket, streams of one log group
                assert "*" not in resource or resource.endswith(("/*", ":*")), (name, statement)
                assert "*" not in resource[:-2], (name, statement)


def expected_actions(bp, function: str) -> dict[str, set[str]]:
    """Store -> IAM actions, from the blueprint and the ALLOWED table only."""
    fn = bp.functions[function]
    out: dict[str, set[str]] = {}
    for store, word in fn.uses.items():
        for right in WORDS[word]:
            out.setdefault(store, set()).update(ALLOWED[(bp.stores[store].kind, right)])
    for trigger in fn.triggers:
        queue = getattr(trigger, "queue", None)
        if queue:
            out.setdefault(queue, set()).update(ALLOWED[("queue", "consume")])
    return out


def granted_actions(result, document: dict) -> dict[str, set[str]]:
    """Store -> IAM actions of a function's policy (statements on stores only), by the store's ARN."""
    resolve = resolver(result)
    arns = {resolve(f"${{{r.name}.arn}}"): r.group.split(" ", 1)[1] for r in result.resources
            if r.group.startswith("store ") and r.name.endswith(("-bucket", "-table", "-queue", "-topic"))}
    out: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            store = arns.get(resource.removesuffix("/*"))
            if store is not None:
                out.setdefault(store, set()).update(statement["Action"])
    return out


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_function_gets_exactly_what_its_triggers_and_uses_imply(example):
    from deployer.blueprint.load import load_blueprint

    bp = load_blueprint(ROOT / "blueprints" / example / "deployer.yaml")
    result, documents = plan_example(example), policies(example)
    for function in bp.functions:
        assert granted_actions(result, documents[f"fn-{function}_policy"]) == expected_actions(bp, function), function


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_the_rest_of_each_policy_is_logs_secrets_and_failures_only(example):
    result = plan_example(example)
    for name, document in policies(example).items():
        if name.endswith("_scheduler-policy"):
            continue
        function = name.removeprefix("fn-").removesuffix("_policy")
        on_stores = sum(len(a) for a in granted_actions(result, document).values())
        extra = {s["Sid"]: s for s in document["Statement"] if s["Sid"] in ("Logs", "Secrets", "FailedEvents")}
        assert sum(len(s["Action"]) for s in document["Statement"]) == on_stores + sum(
            len(s["Action"]) for s in extra.values()), name
        assert extra["Logs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert extra["Logs"]["Resource"].endswith(f"dev-{function}:*")
        if "FailedEvents" in extra:
            assert extra["FailedEvents"]["Action"] == ["sqs:SendMessage"]
            assert extra["FailedEvents"]["Resource"].endswith(f"-dev-{function}_failed")


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_one_role_per_function_trusting_lambda(example):
    from deployer.blueprint.load import load_blueprint

    result = plan_example(example)
    bp = load_blueprint(ROOT / "blueprints" / example / "deployer.yaml")
    roles = {r.name: r.inputs for r in of_type(result, "aws:iam/role:Role")}
    for function in bp.functions:
        trust = json.loads(roles[f"fn-{function}_role"]["assumeRolePolicy"])
        assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                       "Action": "sts:AssumeRole"}]
    assert len({r["name"] for r in roles.values()}) == len(roles)


def test_exact_grants_of_the_orders_api():
    document = policies("orders")["fn-api_policy"]
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


def test_policies_name_the_graph_references_not_copies():
    raw = json.loads(one(plan_example("orders"), "fn-worker_policy").inputs["policy"])
    assert [s["Resource"] for s in raw["Statement"]] == [
        "${fn-worker_logs.arn}:*", "${store-fulfilment-queue.arn}", "${store-orders-table.arn}"]


def test_bucket_rights_split_objects_and_listing():
    statements = {s["Sid"]: s for s in policies("images")["fn-api_policy"]["Statement"]}
    bucket = f"images-dev-uploads-{ACCOUNT}-us-east-1"
    assert statements["UploadsObjects"] == {"Sid": "UploadsObjects", "Effect": "Allow",
                                            "Action": ["s3:DeleteObject", "s3:PutObject"],
                                            "Resource": f"arn:aws:s3:::{bucket}/*"}
    assert statements["ThumbnailsObjects"]["Action"] == ["s3:GetObject"]
    assert statements["Thumbnails"] == {"Sid": "Thumbnails", "Effect": "Allow", "Action": ["s3:ListBucket"],
                                        "Resource": f"arn:aws:s3:::images-dev-thumbnails-{ACCOUNT}-us-east-1"}
    assert "Uploads" not in statements  # write-only: no listing


def test_bucket_trigger_alone_grants_no_store_access():
    # cleanup is triggered by uploads and only writes thumbnails; it may also dead-letter its failed events
    statements = policies("images")["fn-cleanup_policy"]["Statement"]
    assert [s["Sid"] for s in statements] == ["Logs", "ThumbnailsObjects", "FailedEvents"]


def test_scheduler_role_may_invoke_only_its_function_for_this_account_only():
    result = plan_example("report")
    resolve = resolver(result)
    role = one(result, "fn-nightly_scheduler-role").inputs
    trust = json.loads(resolve(role["assumeRolePolicy"]))["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                      "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]
    document = json.loads(resolve(one(result, "fn-nightly_scheduler-policy").inputs["policy"]))
    assert document["Statement"] == [
        {"Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
         "Resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:report-dev-nightly"},
        {"Sid": "DeadLetter", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:report-dev-nightly_failed"}]
    assert parliament.analyze_policy_string(json.dumps(document)).findings == []


def test_parliament_would_catch_a_mismatch():
    """Guard against a silent linter: the same check flags an action on the wrong kind of resource."""
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                    "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"}]}
    assert [f.issue for f in parliament.analyze_policy_string(json.dumps(bad)).findings] == ["RESOURCE_MISMATCH"]
