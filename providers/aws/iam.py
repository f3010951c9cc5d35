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
    secrets       ssm:GetParameters on exactly the parameters of the secrets granted to the function
    failures      sqs:SendMessage on the function's own failure queue (asynchronous triggers only)

The log group is created by the graph (with its retention), so no role may create log groups. Secrets
are SecureString parameters encrypted with the AWS-managed key `aws/ssm`, whose key policy already
lets principals of the account decrypt through SSM: no kms statement is needed, and which parameters a
role may read is decided by `ssm:GetParameters` alone. Schedules get a role of their own that trusts
scheduler.amazonaws.com from this account only (`aws:SourceAccount`) and may invoke one function and
dead-letter into its failure queue. Tests run every generated document through parliament.

The other side, who may invoke a function (`invoke_permission`: API Gateway, S3, SNS), is the function's
resource policy: one statement per source ARN, each with a statement id of its own (names.statement_id).
"""

from __future__ import annotations

from typing import Any

from deployer.blueprint import refs
from deployer.resources.graph import Resource, function as owner
from deployer.resources.values import Json, Template
from providers.aws import names
from providers.aws.context import Context

VERSION = "2012-10-17"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PERMISSION = "aws:lambda/permission:Permission"

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


def trust(service: str, account: Any = None) -> Json:
    """A trust policy for one service; with `account`, only on behalf of that account (confused deputy)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
    return Json({"Version": VERSION, "Statement": [statement]})


def document(statements: list[dict]) -> Json:
    return Json({"Version": VERSION, "Statement": statements})


def store_statements(ctx: Context, function: str) -> list[dict]:
    """One statement per (store, resource) with the sorted actions its rights need."""
    merged: dict[tuple[str, str], set[str]] = {}
    for grant in refs.grants(ctx.bp, function):
        for right in sorted(grant.rights):
            if (grant.kind, right) not in ACTIONS:
                raise ValueError(f"no AWS actions for {right} on a {grant.kind}")
            for actions, suffix in ACTIONS[(grant.kind, right)]:
                merged.setdefault((grant.store, suffix), set()).update(actions)
    return [{"Sid": _sid(store, suffix), "Effect": "Allow", "Action": sorted(actions),
             "Resource": Template.of(ctx.store(store).ident, suffix) if suffix else ctx.store(store).ident}
            for (store, suffix), actions in sorted(merged.items())]


def _sid(store: str, suffix: str) -> str:
    words = [w.capitalize() for w in store.split("-")] + (["Objects"] if suffix else [])
    return "".join(words)


def function_role(ctx: Context, function: str, log_group: Resource, secrets: list[Resource],
                  failures: Resource | None) -> tuple[Resource, Resource]:
    """The function's role (trusting Lambda) and its one inline policy."""
    role = ctx.g.add(ROLE, names.fn(function, "role"), owner(function), name=names.role_name(ctx.bp, function),
                     assume_role_policy=trust("lambda.amazonaws.com"))
    statements = [{"Sid": "Logs", "Effect": "Allow", "Action": list(LOG_ACTIONS),
                   "Resource": Template.of(log_group.out("arn"), ":*")}]
    statements += store_statements(ctx, function)
    if secrets:
        statements.append({"Sid": "Secrets", "Effect": "Allow", "Action": ["ssm:GetParameters"],
                           "Resource": [p.out("arn") for p in secrets]})
    if failures is not None:
        statements.append({"Sid": "FailedEvents", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": failures.out("arn")})
    policy = ctx.g.add(ROLE_POLICY, names.fn(function, "policy"), owner(function), role=role.out("id"),
                       name="deployer", policy=document(statements))
    return role, policy


def scheduler_role(ctx: Context, function: str, failures: Resource) -> tuple[Resource, Resource]:
    """A role EventBridge Scheduler assumes (for this account only) to invoke exactly this function and
    to put what it could not deliver into the function's failure queue."""
    target = ctx.function(function)
    role = ctx.g.add(ROLE, names.fn(function, "scheduler-role"), owner(function),
                     name=names.role_name(ctx.bp, function, "scheduler"),
                     assume_role_policy=trust("scheduler.amazonaws.com", ctx.account_id()))
    policy = ctx.g.add(ROLE_POLICY, names.fn(function, "scheduler-policy"), owner(function), role=role.out("id"),
                       name="deployer-invoke", policy=document([
                           {"Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                            "Resource": target.resource.out("arn")},
                           {"Sid": "DeadLetter", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                            "Resource": failures.out("arn")}]))
    return role, policy


def invoke_permission(ctx: Context, function: str, logical: str, principal: str, source_arn: Any,
                      **extra: Any) -> Resource:
    """The resource-policy statement that lets `principal` invoke `function` from `source_arn` only, with
    a statement id of its own (names.statement_id: never left to autonaming, which overflows)."""
    target = ctx.function(function)
    return ctx.g.add(PERMISSION, logical, owner(function), depends_on=[target.resource],
                     statement_id=names.statement_id(logical), action="lambda:InvokeFunction",
                     function=target.physical, principal=principal, source_arn=source_arn, **extra)
