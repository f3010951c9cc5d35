"""The AWS provider: a thin class that dispatches into one module per blueprint kind.

It compiles to the resource graph (deployer/resources) through the shared driver's hooks: stores, then
functions, then triggers, each in its own module, none importing Pulumi. `plan` renders that graph and
`up` runs it through the shared executor. `graph_rules()` tells the graph checks what AWS accepts as
physical names (length, characters, which must be unique worldwide) and which subscriptions must wait
for their invoke permission.
"""

from __future__ import annotations

from typing import Any

from deployer.blueprint.model import Blueprint, BucketStore, QueueStore, TableStore, TopicStore
from deployer.errors import BlueprintError, Diagnostic
from deployer.providers import Artifact, Provider
from providers.aws import names, rules
from providers.aws.settings import AwsSettings

MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
#: glibc of the Lambda runtimes' Linux: python3.12 and later run on Amazon Linux 2023 (glibc 2.34), older
#: ones on Amazon Linux 2 (glibc 2.26), which cannot load manylinux_2_28 wheels.
AL2023_FROM = (3, 12)


def platform(architecture: str, runtime: str) -> str:
    """The newest manylinux tag a Lambda runtime takes (deployer.installers lists the older ones)."""
    version = tuple(int(p) for p in runtime.removeprefix("python").split(".")[:2])
    glibc = 34 if version >= AL2023_FROM else 26
    return f"manylinux_2_{glibc}_{MACHINES[architecture]}"


class AwsProvider(Provider):
    name = "aws"
    settings = AwsSettings
    title = "AWS (Lambda, API Gateway, SQS, SNS, S3, DynamoDB, EventBridge Scheduler)"
    services = {"api": "API Gateway HTTP API", "schedule": "EventBridge Scheduler", "function": "Lambda",
                "bucket": "S3", "table": "DynamoDB", "queue": "SQS", "topic": "SNS",
                "dead-letter": "SQS dead-letter queue"}
    #: What deploying needs (deployer.prerequisites): installed by `pip install 'deployer[aws]'`.
    requirements = ("pulumi", "pulumi-aws")
    extra = "aws"

    def check(self, bp: Blueprint) -> list[Diagnostic]:
        return rules.check(bp)

    def target(self, bp: Blueprint, function: str):
        from deployer.packaging import Target

        runtime = bp.functions[function].runtime
        return Target(platform(bp.clouds.aws.architecture, runtime), runtime.removeprefix("python"))

    def package(self, bp: Blueprint, function: str) -> Artifact:
        from deployer import packaging

        artifact = packaging.package(bp, function, cloud=self.name, target=self.target(bp, function))
        problems = rules.check_artifact(bp, function, artifact.size, artifact.unzipped_size)
        if problems:
            raise BlueprintError(problems)
        return artifact

    def stack_config(self, bp: Blueprint) -> dict[str, str]:
        return {"aws:region": bp.clouds.aws.region}

    # `deployer invoke` / `deployer logs` (providers/aws/remote.py, imported on use)
    def invoke(self, bp, function, event, options):
        from providers.aws import remote

        return remote.invoke(bp, function, event, options)

    def logs(self, bp, function, since, follow, filter, options):
        from providers.aws import remote

        return remote.logs(bp, function, since, follow, filter, options)

    # -- the resource graph ----------------------------------------------------------------------------

    def context(self, bp: Blueprint, artifacts: dict[str, Artifact], keep_data: bool):
        from deployer.resources.graph import Builder
        from providers.aws.context import Context

        return Context(bp, artifacts, Builder(self.name, bp.name, bp.stage, self.stack_config(bp)), keep_data)

    def declare_store(self, ctx, name: str, store: Any):
        from providers.aws import buckets, queues, tables, topics

        match store:
            case BucketStore():
                return buckets.declare(ctx, name, store)
            case TableStore():
                return tables.declare(ctx, name, store)
            case QueueStore():
                return queues.declare(ctx, name, store)
            case TopicStore():
                return topics.declare(ctx, name, store)
        raise TypeError(f"the AWS provider does not support store kind {type(store).__name__}")

    def declare_function(self, ctx, name: str):
        from providers.aws import functions

        return functions.declare(ctx, name)

    def declare_triggers(self, ctx) -> None:
        from providers.aws import buckets, http, queues, schedules, topics

        ctx.api_url = http.declare(ctx)
        for name in ctx.bp.functions:
            schedules.declare(ctx, name)
        for name, store in ctx.bp.stores.items():
            match store:
                case BucketStore():
                    buckets.notify(ctx, name)
                case QueueStore():
                    queues.consume(ctx, name)
                case TopicStore():
                    topics.subscribe(ctx, name)
                case TableStore():
                    pass
                case _:
                    raise TypeError(f"the AWS provider does not support store kind {type(store).__name__}")

    def graph_rules(self):
        return graph_rules()


ACCOUNT_REF = "${getCallerIdentity.account_id}"


def graph_rules():
    """AWS's naming rules per type (service quotas as documented) and the trigger orderings."""
    from deployer.resources.checks import NameRule, Ordering, Rules

    rules_by_type = {
        "aws:lambda/function:Function": NameRule("name", names.LAMBDA_MAX, r"[a-zA-Z0-9_-]+", description="Lambda function"),
        "aws:iam/role:Role": NameRule("name", names.ROLE_MAX, r"[\w+=,.@-]+", description="IAM role"),
        "aws:sqs/queue:Queue": NameRule("name", names.QUEUE_MAX, r"[a-zA-Z0-9_-]+", description="SQS queue"),
        "aws:sns/topic:Topic": NameRule("name", names.TOPIC_MAX, r"[a-zA-Z0-9_-]+", description="SNS topic"),
        "aws:dynamodb/table:Table": NameRule("name", names.TABLE_MAX, r"[a-zA-Z0-9_.-]{3,}",
                                             description="DynamoDB table"),
        "aws:s3/bucket:Bucket": NameRule(
            "bucket", names.BUCKET_MAX, r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
            r"(?<!-s3alias)(?<!--ol-s3)(?<!\.mrap)(?<!--x-s3)(?<!--table-s3)", worldwide=True,
            unique_parts=(ACCOUNT_REF,), description="S3 bucket"),
        "aws:scheduler/schedule:Schedule": NameRule("name", names.SCHEDULE_MAX, r"[0-9a-zA-Z_.-]+",
                                                    description="EventBridge schedule"),
        "aws:cloudwatch/logGroup:LogGroup": NameRule("name", names.LOG_GROUP_MAX, r"[\w#./-]+",
                                                     description="CloudWatch log group"),
        # Parameter Store reserves names starting with aws or ssm, any case, after the leading `/` too
        "aws:ssm/parameter:Parameter": NameRule("name", names.PARAMETER_MAX, r"/(?![aA][wW][sS]|[sS][sS][mM])"
                                                r"[a-zA-Z0-9_.\-/]+", description="SSM parameter"),
        "aws:lambda/permission:Permission": NameRule("statement_id", names.STATEMENT_MAX, r"[a-zA-Z0-9_-]+",
                                                     description="Lambda permission statement"),
        "aws:apigatewayv2/api:Api": NameRule("name", names.API_MAX, r".+", description="HTTP API"),
    }
    orderings = (
        Ordering("aws:s3/bucketNotification:BucketNotification", "aws:lambda/permission:Permission"),
        Ordering("aws:sns/topicSubscription:TopicSubscription", "aws:lambda/permission:Permission"),
    )
    return Rules(rules_by_type, orderings, {ACCOUNT_REF: names.ACCOUNT_ID_LENGTH})
