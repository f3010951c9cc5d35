"""What AWS would answer, for `deployer plan`: ids, ARNs and URLs shaped like the real ones.

The program reads these outputs (ARNs into IAM policies, the queue URL into DEPLOYER_STORE_*, the API
endpoint into `api_url`), so under mocks they must exist and look real: parliament checks the policies
built from them. Ids are derived from the logical name, so plans (and golden files) are stable.
"""

from __future__ import annotations

from typing import Any

from deployer.naming import short_hash
from providers.aws.names import ACCOUNT


def resource(typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    out = dict(inputs)
    physical = inputs.get("name") or name
    ident = physical
    match typ:
        case "aws:dynamodb/table:Table":
            out["arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{physical}"
        case "aws:sns/topic:Topic":
            out["arn"] = ident = f"arn:aws:sns:{region}:{ACCOUNT}:{physical}"
        case "aws:s3/bucket:Bucket":
            ident = inputs.get("bucket") or name
            out.update(arn=f"arn:aws:s3:::{ident}", bucket=ident)
        case "aws:sqs/queue:Queue":
            ident = f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{physical}"
            out.update(arn=f"arn:aws:sqs:{region}:{ACCOUNT}:{physical}", url=ident)
        case "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{physical}"
        case "aws:iam/role:Role":
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{physical}"
        case "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{physical}"
            out.update(arn=arn, qualifiedArn=f"{arn}:$LATEST",
                       invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations")
        case "aws:apigatewayv2/api:Api":
            ident = short_hash(name, 10)
            out.update(apiEndpoint=f"https://{ident}.execute-api.{region}.amazonaws.com",
                       executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT}:{ident}")
        case "aws:scheduler/schedule:Schedule":
            out["arn"] = f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule/default/{physical}"
        case _:
            ident = f"{name}-{short_hash(name)}"
    return ident, out


def call(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    match token:
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/plan", "userId": "AIDAPLAN",
                    "id": ACCOUNT}
        case "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region}
    raise NotImplementedError(f"the AWS plan mocks do not answer {token}")
