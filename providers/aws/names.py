"""AWS physical and logical names, derived only from the blueprint (`<name>-<stage>-<logical>`).

Each helper applies the limit of its service and `deployer.naming` cuts longer names with a stable
hash, so the same blueprint always gives the same names and a stateful store is never renamed.

Generated names can never collide with a user's: blueprint names are `[a-z][a-z0-9-]*`, so every part
this provider adds to a user's name (`_dlq`, `_scheduler`, `_failed`, `_s0`, and `_` in logical names)
starts with `_`, a character no blueprint name can hold. A function `f` with a schedule and a function
`f-scheduler` get the roles `app-dev-f_scheduler` and `app-dev-f-scheduler`; queue stores `jobs` and
`jobs-dlq` get the dead-letter queues `app-dev-jobs_dlq` and `app-dev-jobs-dlq_dlq`. The graph rule
"physical names unique per type" (checks.py, with `graph_rules()` below) catches what slips through.

S3 bucket names are unique in the whole of AWS, so `images-dev-uploads` is most likely someone else's:
a bucket's name ends with the deploying account's id and the region (`Template`, the account id is a
`getCallerIdentity` call), which no other account can hold. S3 allows no `_`; dots are left out too
(they break virtual-hosted TLS), so a bucket name is `<app>-<stage>-<store>-<account>-<region>`.
"""

from __future__ import annotations

from deployer.blueprint import refs
from deployer.blueprint.model import Blueprint
from deployer.naming import env_key, key_env, physical_name
from deployer.resources.values import Template

LAMBDA_MAX = 64
ROLE_MAX = 64
SCHEDULE_MAX = 64
QUEUE_MAX = 80
TOPIC_MAX = 256
BUCKET_MAX = 63
TABLE_MAX = 255
LOG_GROUP_MAX = 512
API_MAX = 128
PARAMETER_MAX = 1011 - len("arn:aws-us-gov:ssm:ap-southeast-2:123456789012:parameter")  # the limit counts the ARN
#: Parameter Store reserves names starting with `aws` or `ssm` (any case, `/` or not): secrets live under it
PARAMETER_ROOT = "/deployer"
STATEMENT_MAX = 100  # a Lambda permission's statement id
ACCOUNT_ID_LENGTH = 12
SEP = "_"  # what this provider adds to a user's name starts with it; blueprint names cannot hold it


def _name(bp: Blueprint, logical: str, suffix: str = "", *, max_length: int) -> str:
    """`<app>-<stage>-<logical>` cut to leave room for `suffix` (a generated part starting with `_`)."""
    return physical_name(bp.name, bp.stage, logical, max_length=max_length - len(suffix)) + suffix


def function_name(bp: Blueprint, function: str) -> str:
    return _name(bp, function, max_length=LAMBDA_MAX)


def role_name(bp: Blueprint, function: str, part: str = "") -> str:
    return _name(bp, function, SEP + part if part else "", max_length=ROLE_MAX)


def log_group(bp: Blueprint, function: str) -> str:
    return f"/aws/lambda/{function_name(bp, function)}"


def schedule_name(bp: Blueprint, function: str, index: int) -> str:
    return _name(bp, function, f"{SEP}s{index}", max_length=SCHEDULE_MAX)


def queue_name(bp: Blueprint, store: str, dead_letter: bool = False) -> str:
    return _name(bp, store, SEP + "dlq" if dead_letter else "", max_length=QUEUE_MAX)


def failure_queue_name(bp: Blueprint, function: str) -> str:
    """Where the asynchronous invocations of a function that failed every retry go."""
    return _name(bp, function, SEP + "failed", max_length=QUEUE_MAX)


def topic_name(bp: Blueprint, store: str) -> str:
    return _name(bp, store, max_length=TOPIC_MAX)


def bucket_name(bp: Blueprint, store: str, account_id, region: str) -> Template:
    """`<app>-<stage>-<store>-<account id>-<region>`, cut to 63 characters (see the module docstring)."""
    tail = 1 + ACCOUNT_ID_LENGTH + 1 + len(region)
    prefix = physical_name(bp.name, bp.stage, store, max_length=BUCKET_MAX - tail)
    return Template.of(prefix + "-", account_id, "-" + region)


def table_name(bp: Blueprint, store: str) -> str:
    return _name(bp, store, max_length=TABLE_MAX)


def api_name(bp: Blueprint) -> str:
    return _name(bp, "api", max_length=API_MAX)


def secret_parameter(bp: Blueprint, secret: str) -> str:
    """The SSM parameter of a blueprint secret: `/deployer/<app>-<stage>/secrets/<NAME>`. Not
    `/<app>-<stage>/...`: Parameter Store refuses names that start with `aws` or `ssm` (case-insensitive,
    leading `/` or not: "No access to reserved parameter name"), and `aws-costs` is a fine app name."""
    return f"{PARAMETER_ROOT}/{bp.stage_name()}/secrets/{secret}"


def statement_id(logical: str) -> str:
    """A Lambda permission's statement id: its logical name, cut to 100 characters with a hash. Left to
    Pulumi, it is the logical name plus `-` and 7 random characters, which pulumi-aws refuses past 100
    (`AutoName("statementId", 100)`): a long function and store name failed the first `up`."""
    return physical_name(logical, max_length=STATEMENT_MAX, lowercase=False, allowed=r"a-zA-Z0-9_-")


def env_keys(bp: Blueprint, function: str) -> list[str]:
    """The DEPLOYER_* variable names a function gets (for the environment size check)."""
    keys = ["DEPLOYER_CLOUD", "DEPLOYER_APP", "DEPLOYER_FUNCTION"]
    if bp.functions[function].secrets:
        keys.append(SECRETS_ENV)
    for store in refs.reachable_stores(bp, function):
        keys.append(env_key(store))
        if bp.stores[store].kind == "table":
            keys.append(key_env(store))
    return keys


#: The variable naming the SSM parameters a function's secrets are loaded from at cold start (the shim).
SECRETS_ENV = "DEPLOYER_SECRET_PARAMETERS"


# Logical (Pulumi) names: `fn-<function>_<what>`, `store-<store>-<what>`, `app-<what>`. Store names keep
# their historical form (it cannot collide: every store suffix is one fixed word set, none ending in
# another); function-owned ones put `_` between the user's name and what the provider adds.


def fn(function: str, *parts: str) -> str:
    return f"fn-{function}" + "".join(SEP + p for p in parts)
