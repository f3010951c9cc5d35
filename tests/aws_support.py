"""Helpers of the AWS tests: plan a blueprint under mocks once per process, look resources up."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

from deployer import plan
from deployer.pipeline import prepare
from deployer.plan import Plan, PlannedResource

# pulumi_aws warns about its own deprecated classes when a module is first imported.
IGNORE_SDK_WARNINGS = "ignore::DeprecationWarning"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_NAMES = sorted(p.parent.name for p in (ROOT / "blueprints").glob("*/deployer.yaml"))


@functools.lru_cache(maxsize=None)
def plan_file(path: str, stage: str = "dev") -> Plan:
    prepared = prepare(path, stage, "aws")
    return plan.run(prepared.provider, prepared.bp, prepared.artifacts)


def plan_example(name: str, stage: str = "dev") -> Plan:
    from conftest import example_copy

    return plan_file(str(example_copy(name)), stage)  # a copy: packaging writes .deployer/ beside it


def one(result: Plan, name: str) -> PlannedResource:
    found = [r for r in result.resources if r.name == name]
    assert len(found) == 1, f"{name}: {len(found)} resources; have {[r.name for r in result.resources]}"
    return found[0]


def of_type(result: Plan, typ: str) -> list[PlannedResource]:
    return [r for r in result.resources if r.type == typ]


ARCHIVE = re.compile(r"^(?P<fn>.+)-[0-9a-f]{12}\.zip$")


def normalised(result: Plan) -> dict:
    """The plan as JSON with archive content hashes replaced (they change with any runtime edit)."""
    data = copy.deepcopy(result.to_json())
    for res in data["resources"]:
        code = res["inputs"].get("code")
        if isinstance(code, dict) and "$archive" in code:
            code["$archive"] = ARCHIVE.sub(r"\g<fn>-<sha12>.zip", code["$archive"])
    return data


# -- what AWS would answer: plan references resolved to realistic values (for parliament and readable
#    assertions). Only the tests hold this fake; the provider's graph never needs it.

ACCOUNT = "123456789012"
REGION = "us-east-1"
REF = re.compile(r"\$\{([^.}]+)\.([a-z_]+)\}")


def _answer(res: PlannedResource, attr: str, resolve) -> str:
    name = resolve(str(res.inputs.get("name") or res.inputs.get("bucket") or res.name))
    arn = {
        "aws:dynamodb/table:Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "aws:sns/topic:Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "aws:s3/bucket:Bucket": f"arn:aws:s3:::{name}",
        "aws:sqs/queue:Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "aws:cloudwatch/logGroup:LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}",
        "aws:iam/role:Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "aws:lambda/function:Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "aws:ssm/parameter:Parameter": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}",
        "aws:apigatewayv2/api:Api": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api0000001",
    }.get(res.type, f"arn:aws:unknown:{REGION}:{ACCOUNT}:{res.name}")
    match attr:
        case "arn":
            return arn
        case "execution_arn":
            return arn
        case "url":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        case "invoke_arn":
            return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        case "api_endpoint":
            return f"https://api0000001.execute-api.{REGION}.amazonaws.com"
        case "id" if res.type == "aws:apigatewayv2/api:Api":
            return "api0000001"
        case "id" | "name" | "bucket":
            return name
    return f"{res.name}-{attr}"


def resolver(result: Plan):
    """A function turning any planned value's `${resource.attr}` references into what AWS would answer."""
    by_name = {r.name: r for r in result.resources}

    def resolve(value):
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, str):
            return value

        def one_ref(m: re.Match) -> str:
            target, attr = m.group(1), m.group(2)
            if target == "getCallerIdentity":
                return ACCOUNT
            return _answer(by_name[target], attr, resolve)

        return REF.sub(one_ref, value)

    return resolve
