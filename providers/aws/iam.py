"""Least privilege: one role per function, statements naming exact ARNs and only the actions needed.

What a function may do comes from one place, `refs.grants(bp, fn)` (its `uses` plus what its triggers
need), mapped here to the IAM actions the runtime's AWS client calls (deployer/runtime/clients/aws.py):

    bucket read   s3:GetObject on <bucket>/*, s3:ListBucket on <bucket>
    bucket write  s3:PutObject, s3:DeleteObject on <bucket>/*
    table read    dynamodb:GetItem, dynamodb:Scan on <table>
    table write   dynamodb:PutItem, dynamodb:DeleteItem on <table>
    queue publish sqs:SendMessage on <queue>
    queue consume sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes, ChangeMessageVisibility on <queue>
    topic publish sns:Publish on <topic>
    logs          logs:CreateLogStream, logs:PutLogEvents on the function's own log group

The log group is created by the program (with its retention), so no role may create log groups.
Schedules get a role of their own that trusts scheduler.amazonaws.com and may invoke one function.
Tests run every generated document through parliament.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from deployer.blueprint import refs
from providers.aws import names
from providers.aws.context import Context

VERSION = "2012-10-17"

# (kind, right) -> [(actions, resource suffix)]: the suffix is appended to the store's ARN.
ACTIONS: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {
    ("bucket", "read"): [(("s3:GetObject",), "/*"), (("s3:ListBucket",), "")],
    ("bucket", "write"): [(("s3:DeleteObject", "s3:PutObject"), "/*")],
    ("table", "read"): [(("dynamodb:GetItem", "dynamodb:Scan"), "")],
    ("table", "write"): [(("dynamodb:DeleteItem", "dynamodb:PutItem"), "")],
    ("queue", "publish"): [(("sqs:SendMessage",), "")],
    ("queue", "consume"): [(("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                             "sqs:ReceiveMessage"), "")],
    ("topic", "publish"): [(("sns:Publish",), "")],
}
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def trust(service: str) -> str:
    return json.dumps({"Version": VERSION, "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def store_statements(ctx: Context, function: str) -> list[dict]:
    """One statement per (store, resource) with the sorted actions its rights need; ARNs are Outputs."""
    merged: dict[tuple[str, str], set[str]] = {}
    for grant in refs.grants(ctx.bp, function):
        for right in sorted(grant.rights):
            if (grant.kind, right) not in ACTIONS:
                raise ValueError(f"no AWS actions for {right} on a {grant.kind}")
            for actions, suffix in ACTIONS[(grant.kind, right)]:
                merged.setdefault((grant.store, suffix), set()).update(actions)
    return [{"Sid": _sid(store, suffix), "Effect": "Allow", "Action": sorted(actions),
             "Resource": ctx.store(store).arn.apply(lambda arn, s=suffix: arn + s)}
            for (store, suffix), actions in sorted(merged.items())]


def _sid(store: str, suffix: str) -> str:
    words = [w.capitalize() for w in store.split("-")] + (["Objects"] if suffix else [])
    return "".join(words)


def function_role(ctx: Context, function: str, log_group) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The function's role (trusting Lambda) and its one inline policy."""
    role = aws.iam.Role(f"fn-{function}-role", name=names.role_name(ctx.bp, function),
                        assume_role_policy=trust("lambda.amazonaws.com"))
    statements = [{"Sid": "Logs", "Effect": "Allow", "Action": list(LOG_ACTIONS),
                   "Resource": log_group.arn.apply(lambda arn: arn + ":*")}]
    statements += store_statements(ctx, function)
    policy = aws.iam.RolePolicy(f"fn-{function}-policy", role=role.id, name="deployer",
                                policy=document(statements))
    return role, policy


def document(statements: list[dict]) -> pulumi.Output:
    """A policy document as a JSON string Output (the statements hold ARN Outputs)."""
    return pulumi.Output.json_dumps({"Version": VERSION, "Statement": statements})


def scheduler_role(ctx: Context, function: str) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A role EventBridge Scheduler assumes to invoke exactly this function."""
    target = ctx.function(function)
    role = aws.iam.Role(f"fn-{function}-scheduler-role", name=names.role_name(ctx.bp, function, "scheduler"),
                        assume_role_policy=trust("scheduler.amazonaws.com"))
    policy = aws.iam.RolePolicy(f"fn-{function}-scheduler-policy", role=role.id, name="deployer-invoke",
                       policy=document([{"Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                         "Resource": target.arn}]))
    return role, policy
