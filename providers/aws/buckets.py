"""Buckets -> S3: private (all public access blocked), encrypted at rest, one notification per bucket.

S3 keeps ONE notification configuration per bucket: two `BucketNotification` resources on one bucket
overwrite each other on every deploy. So every trigger on a bucket, from every function, is merged into
one resource, with each trigger's prefix and suffix filters; it depends on the invoke permissions, since
S3 tests that it may invoke each function when the configuration is written.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deployer.blueprint.model import BucketStore, BucketTrigger
from providers.aws import names
from providers.aws.context import Context, StoreRef

EVENTS = {"created": "s3:ObjectCreated:*", "deleted": "s3:ObjectRemoved:*"}


def declare(ctx: Context, name: str, store: BucketStore) -> StoreRef:
    # `destroy --delete-data` first deploys with deleteData=true: only then may a non-empty bucket go.
    bucket = aws.s3.Bucket(f"store-{name}-bucket", bucket=names.bucket_name(ctx.bp, name),
                           force_destroy=not ctx.keep, opts=ctx.stateful())
    aws.s3.BucketPublicAccessBlock(
        f"store-{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=ctx.stateful())
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"store-{name}-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}, "bucket_key_enabled": True}],
        opts=ctx.stateful())
    return StoreRef(name, "bucket", bucket.arn, bucket.bucket, bucket)


def notify(ctx: Context, bucket: str) -> None:
    """A permission per consuming function, then the bucket's one notification with every trigger."""
    triggers = [(fn, t) for fn, t in ctx.consumers(bucket) if isinstance(t, BucketTrigger)]
    if not triggers:
        return
    ref = ctx.store(bucket)
    permissions = []
    for function in sorted({fn for fn, _ in triggers}):
        target = ctx.function(function)
        permissions.append(aws.lambda_.Permission(
            f"fn-{function}-bucket-{bucket}-permission",
            action="lambda:InvokeFunction", function=target.physical, principal="s3.amazonaws.com",
            source_arn=ref.arn, source_account=ctx.account_id(),
            opts=pulumi.ResourceOptions(depends_on=[target.resource])))
    aws.s3.BucketNotification(
        f"store-{bucket}-notification", bucket=ref.resource.id,
        lambda_functions=[_configuration(ctx, fn, t) for fn, t in triggers],
        opts=pulumi.ResourceOptions(depends_on=permissions))


def _configuration(ctx: Context, function: str, trigger: BucketTrigger) -> dict:
    config = {"lambda_function_arn": ctx.function(function).arn, "events": [EVENTS[trigger.on]]}
    if trigger.prefix:
        config["filter_prefix"] = trigger.prefix
    if trigger.suffix:
        config["filter_suffix"] = trigger.suffix
    return config
