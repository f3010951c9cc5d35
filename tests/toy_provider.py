"""A small graph provider over the AWS SDK index, for testing the core (deployer/resources) on its own.

It is not the AWS provider: it declares a bucket per bucket store, a role, an SSM secret and a Lambda
function per function, and a permission + notification per bucket trigger, with every kind of
expression, so the three interpreters (plan, executor, eject) meet each one. `broken` switches make it
emit the mistakes the graph checks must catch.
"""

from __future__ import annotations

from pathlib import Path

from deployer.blueprint.model import BucketStore, BucketTrigger, TableStore
from deployer.providers import Artifact, Provider
from deployer.resources.checks import NameRule, Ordering, Rules
from deployer.resources.compile import FunctionRef, StoreRef
from deployer.resources.graph import APP, function, store
from deployer.resources.values import Archive, Base64, Json, Secret, Template

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "getCallerIdentity.account_id"


class ToyProvider(Provider):
    name = "toy"
    broken: frozenset[str] = frozenset()

    def __init__(self, broken: set[str] | None = None):
        self.broken = frozenset(broken or ())

    def sdk_index(self):
        from deployer.resources.index import load

        return load(str(ROOT / "providers" / "aws" / "sdk_index.json"))

    def package(self, bp, function):
        folder = bp.root / ".deployer" / "build"
        folder.mkdir(parents=True, exist_ok=True)
        return toy_artifacts(bp, folder)[function]

    def stack_config(self, bp):
        return {"aws:region": "eu-west-1"}

    def graph_rules(self) -> Rules:
        return Rules(
            names={"aws:s3/bucket:Bucket": NameRule("bucket", 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]", worldwide=True,
                                                     unique_parts=("${" + ACCOUNT + "}",)),
                   "aws:iam/role:Role": NameRule("name", 64, r"[\w+=,.@-]+")},
            orderings=(Ordering("aws:s3/bucketNotification:BucketNotification", "aws:lambda/permission:Permission"),),
            reference_lengths={"${" + ACCOUNT + "}": 12})

    def declare_store(self, ctx, name, spec):
        match spec:
            case BucketStore() if ctx.bp.existing(name, "toy"):
                bucket = ctx.g.add("aws:s3/bucket:Bucket", f"store-{name}-bucket", store(name),
                                   read_id=ctx.bp.existing(name, "toy"))
                return StoreRef(name, "bucket", bucket, bucket.out("arn"), bucket.out("bucket"))
            case BucketStore():
                account = ctx.g.call("aws:index/getCallerIdentity:getCallerIdentity")
                physical = (f"{ctx.bp.stage_name()}-{name}" if "local-bucket-name" in self.broken
                            else Template.of(f"{ctx.bp.stage_name()}-{name}-", account.out("account_id")))
                bucket = ctx.g.add("aws:s3/bucket:Bucket", f"store-{name}-bucket", store(name),
                                   retain=ctx.keep_data, bucket=physical, force_destroy=not ctx.keep_data)
                return StoreRef(name, "bucket", bucket, bucket.out("arn"), bucket.out("bucket"))
            case TableStore():
                table = ctx.g.add("aws:dynamodb/table:Table", f"store-{name}-table", store(name),
                                  retain=ctx.keep_data, name=f"{ctx.bp.stage_name()}-{name}", hash_key=spec.key,
                                  attributes=[{"name": spec.key, "type": "S"}], billing_mode="PAY_PER_REQUEST")
                return StoreRef(name, "table", table, table.out("arn"), table.out("name"))
        raise TypeError(f"the toy provider has no {type(spec).__name__}")

    def declare_function(self, ctx, name):
        fn = ctx.bp.functions[name]
        role_name = "same-role" if "same-role-name" in self.broken else f"{ctx.bp.stage_name()}-{name}"
        role = ctx.g.add("aws:iam/role:Role", f"fn-{name}-role", function(name), name=role_name,
                         assume_role_policy=Json({"Version": "2012-10-17", "Statement": [
                             {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                              "Action": "sts:AssumeRole"}]}))
        env = {"DEPLOYER_FUNCTION": name, **{f"STORE_{s.upper()}": ref.locator for s, ref in ctx.stores.items()}}
        for secret in fn.secrets:
            param = ctx.g.add("aws:ssm/parameter:Parameter", f"fn-{name}-secret-{secret}", function(name),
                              name=f"/{ctx.bp.stage_name()}/{name}/{secret}", type="SecureString",
                              value=Secret(secret))
            env[f"SECRET_{secret}"] = param.out("name")
        extra = {"runtim": "python3.12"} if "unknown-arg" in self.broken else {}
        lam = ctx.g.add("aws:lambda/function:Function", f"fn-{name}-function", function(name),
                        name=f"{ctx.bp.stage_name()}-{name}", role=role.out("arn"), runtime=fn.runtime,
                        handler="deployer_shim.handler", code=Archive(str(ctx.artifacts[name].path)),
                        memory_size=fn.memory, environment={"variables": env},
                        description=Base64(Template.of("role ", role.out("name"))), **extra)
        return FunctionRef(name, lam, f"{ctx.bp.stage_name()}-{name}", {"arn": lam.out("arn")})

    def declare_triggers(self, ctx):
        ctx.api_url = Template.of("https://", ctx.g.add("aws:apigatewayv2/api:Api", "app-api", APP,
                                                        protocol_type="HTTP").out("api_endpoint"))
        for name, spec in ctx.bp.stores.items():
            triggers = [(fn, t) for fn, t in ctx.consumers(name) if isinstance(t, BucketTrigger)]
            if not triggers:
                continue
            permissions = [ctx.g.add("aws:lambda/permission:Permission", f"fn-{fn}-bucket-{name}-permission",
                                     function(fn), action="lambda:InvokeFunction", function=ctx.function(fn).physical,
                                     principal="s3.amazonaws.com", source_arn=ctx.store(name).ident)
                           for fn in sorted({fn for fn, _ in triggers})]
            depends = [] if "no-permission-first" in self.broken else permissions
            ctx.g.add("aws:s3/bucketNotification:BucketNotification", f"store-{name}-notification", store(name),
                      depends_on=depends, bucket=ctx.store(name).resource.out("id"),
                      lambda_functions=[{"lambda_function_arn": ctx.function(fn).extra["arn"],
                                         "events": ["s3:ObjectCreated:*"]} for fn, _ in triggers])


YAML = """\
name: toy
stores:
  uploads: {kind: bucket}
secrets:
  TOKEN: {from: env}
functions:
  resize:
    code: fn
    handler: main.run
    secrets: [TOKEN]
    uses: {uploads: read}
    triggers:
      - bucket: uploads
  report:
    code: fn
    handler: main.run
"""


def toy_artifacts(bp, tmp: Path) -> dict[str, Artifact]:
    out = {}
    for name in bp.functions:
        path = tmp / f"{name}-0123456789ab.zip"
        path.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
        out[name] = Artifact(name, path, "0" * 64, path.stat().st_size)
    return out
