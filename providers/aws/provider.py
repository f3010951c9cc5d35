"""The AWS provider: a thin class that dispatches into one module per blueprint kind.

`program()` declares in the core's order (stores, then functions, then triggers), so each kind module
only looks up resources declared before it (providers/aws/context.py). `check()` and `package()` do
not import Pulumi. `mock_resource`/`mock_call` answer what the program reads under `deployer plan`
(ARNs, URLs, ids), shaped like the real ones so policies and outputs look as they will in the cloud.
"""

from __future__ import annotations

from typing import Any, Callable

from deployer.blueprint.model import (
    Blueprint, BucketStore, QueueStore, TableStore, TopicStore,
)
from deployer.errors import BlueprintError, Diagnostic
from deployer.providers import Artifact, Provider
from providers.aws import mocks, rules
from providers.aws.settings import AwsSettings

PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


class AwsProvider(Provider):
    name = "aws"
    settings = AwsSettings
    title = "AWS (Lambda, API Gateway, SQS, SNS, S3, DynamoDB, EventBridge Scheduler)"
    services = {"api": "API Gateway HTTP API", "schedule": "EventBridge Scheduler", "function": "Lambda",
                "bucket": "S3", "table": "DynamoDB", "queue": "SQS", "topic": "SNS",
                "dead-letter": "SQS dead-letter queue"}

    def __init__(self) -> None:
        self.region = "us-east-1"

    def check(self, bp: Blueprint) -> list[Diagnostic]:
        return rules.check(bp)

    def target(self, bp: Blueprint, function: str):
        from deployer.packaging import Target

        runtime = bp.functions[function].runtime
        return Target(PLATFORMS[bp.clouds.aws.architecture], runtime.removeprefix("python"))

    def package(self, bp: Blueprint, function: str) -> Artifact:
        from deployer import packaging

        artifact = packaging.package(bp, function, cloud=self.name, target=self.target(bp, function))
        problems = rules.check_artifact(bp, function, artifact.size, artifact.unzipped_size)
        if problems:
            raise BlueprintError(problems)
        return artifact

    def stack_config(self, bp: Blueprint) -> dict[str, str]:
        return {"aws:region": bp.clouds.aws.region}

    def program(self, bp: Blueprint, artifacts: dict[str, Artifact]) -> Callable[[], None]:
        """The program; secrets are read now, so a missing one stops `up` before Pulumi starts."""
        from deployer import secrets

        self.region = bp.clouds.aws.region
        missing = sorted(set(bp.functions) - set(artifacts))
        if missing:
            raise ValueError(f"no package for function(s) {', '.join(missing)}")
        values = secrets.values(bp)

        def program() -> None:
            declare(bp, artifacts, values)

        return program

    def mock_resource(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return mocks.resource(typ, name, inputs, self.region)

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        return mocks.call(token, args, self.region)


def declare(bp: Blueprint, artifacts: dict[str, Artifact], values: dict[str, str]) -> None:
    """Every resource of the blueprint, and the stack outputs (docs/contracts.md)."""
    import pulumi

    from providers.aws import buckets, functions, http, queues, schedules, tables, topics
    from providers.aws.context import Context

    ctx = Context(bp, artifacts, bp.clouds.aws.region)
    for name, store in bp.stores.items():
        match store:
            case BucketStore():
                ctx.stores[name] = buckets.declare(ctx, name, store)
            case TableStore():
                ctx.stores[name] = tables.declare(ctx, name, store)
            case QueueStore():
                ctx.stores[name] = queues.declare(ctx, name, store)
            case TopicStore():
                ctx.stores[name] = topics.declare(ctx, name, store)
            case _:
                raise TypeError(f"the AWS provider does not support store kind {type(store).__name__}")
    for name in bp.functions:
        ctx.functions[name] = functions.declare(ctx, name, values)
    api_url = http.declare(ctx)
    for name in bp.functions:
        schedules.declare(ctx, name)
    for name, store in bp.stores.items():
        match store:
            case BucketStore():
                buckets.notify(ctx, name)
            case QueueStore():
                queues.consume(ctx, name)
            case TopicStore():
                topics.subscribe(ctx, name)
            case TableStore():
                pass
    if api_url is not None:
        pulumi.export("api_url", api_url)
    pulumi.export("functions", {name: ref.physical for name, ref in ctx.functions.items()})
    pulumi.export("stores", {name: ref.locator for name, ref in ctx.stores.items()})
