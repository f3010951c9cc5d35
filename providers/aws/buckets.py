"""Buckets -> S3: private (all public access blocked), encrypted at rest, TLS only, one notification.

- Encryption at rest is SSE-S3 (AES256), with no `bucket_key_enabled`: S3 Bucket Keys only cut the KMS
  requests of SSE-KMS, so the flag means nothing here and only risks a difference on read-back (an
  import after `destroy` must find what the program declares).

- A bucket that already exists (`existing`) is read by its name; only its notification is written
  (S3 keeps one per bucket, so it replaces any the bucket had).
- The name is unique worldwide: it ends with the account id and the region (names.bucket_name).
- A bucket policy denies every request not made over TLS (`aws:SecureTransport` false), as AWS's
  security best practices and Security Hub's S3.5 ask.
- S3 keeps ONE notification configuration per bucket: two `BucketNotification` resources on one bucket
  overwrite each other on every deploy. So every trigger on a bucket, from every function, is merged into
  one resource, with each trigger's prefix and suffix filters; it depends on the invoke permissions, since
  S3 tests that it may invoke each function when the configuration is written.
- S3 matches prefix and suffix filters against the URL-encoded key (as its events carry it), so the
  blueprint's raw key parts are encoded (`key_filter`).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from deployer.blueprint.model import BucketStore, BucketTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import Resource, store as owner
from deployer.resources.values import Template
from providers.aws import iam, names
from providers.aws.context import Context

EVENTS = {"created": "s3:ObjectCreated:*", "deleted": "s3:ObjectRemoved:*"}
BUCKET = "aws:s3/bucket:Bucket"


def declare(ctx: Context, name: str, store: BucketStore) -> StoreRef:
    existing = ctx.bp.existing(name, "aws")
    if existing:  # read by name, never changed: no access block, encryption or policy of ours on it
        bucket = ctx.g.add(BUCKET, f"store-{name}-bucket", owner(name), read_id=existing)
        return StoreRef(name, "bucket", bucket, bucket.out("arn"), bucket.out("id"))  # S3's id is the name
    # `destroy --delete-data` first deploys with deleteData=true: only then may a non-empty bucket go.
    keep = ctx.keep_data
    bucket = ctx.g.add(BUCKET, f"store-{name}-bucket", owner(name), retain=keep,
                       bucket=names.bucket_name(ctx.bp, name, ctx.account_id(), ctx.region), force_destroy=not keep)
    block = ctx.g.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"store-{name}-public-access-block",
                      owner(name), retain=keep, bucket=bucket.out("id"), block_public_acls=True,
                      block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
    ctx.g.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              f"store-{name}-encryption", owner(name), retain=keep, bucket=bucket.out("id"),
              rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    ctx.g.add("aws:s3/bucketPolicy:BucketPolicy", f"store-{name}-policy", owner(name), retain=keep,
              depends_on=[block], bucket=bucket.out("id"), policy=tls_only(bucket))
    return StoreRef(name, "bucket", bucket, bucket.out("arn"), bucket.out("bucket"))


def tls_only(bucket: Resource) -> object:
    """Deny any request to the bucket or its objects that is not made over TLS."""
    return iam.document([{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket.out("arn"), Template.of(bucket.out("arn"), "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])


def notify(ctx: Context, bucket: str) -> None:
    """A permission per consuming function, then the bucket's one notification with every trigger."""
    triggers = [(fn, t) for fn, t in ctx.consumers(bucket) if isinstance(t, BucketTrigger)]
    if not triggers:
        return
    ref = ctx.store(bucket)
    permissions = []
    for function in sorted({fn for fn, _ in triggers}):
        permissions.append(iam.invoke_permission(
            ctx, function, names.fn(function, "bucket", bucket, "permission"), "s3.amazonaws.com", ref.ident,
            source_account=ctx.account_id()))
    ctx.g.add("aws:s3/bucketNotification:BucketNotification", f"store-{bucket}-notification", owner(bucket),
              depends_on=permissions, bucket=ref.resource.out("id"),
              lambda_functions=[_configuration(ctx, fn, t) for fn, t in triggers])


def _configuration(ctx: Context, function: str, trigger: BucketTrigger) -> dict:
    config = {"lambda_function_arn": ctx.function(function).resource.out("arn"), "events": [EVENTS[trigger.on]]}
    if trigger.prefix:
        config["filter_prefix"] = key_filter(trigger.prefix)
    if trigger.suffix:
        config["filter_suffix"] = key_filter(trigger.suffix)
    return config


def key_filter(value: str) -> str:
    """A blueprint's prefix or suffix (part of a key, as every cloud reads it) as S3 matches it: against the
    key URL-encoded the way its events carry it (space as `+`, `=` as `%3D`, `/` kept). Given raw,
    `year=2024/` or `raw data/` matches no key, and the function is silently never invoked."""
    return quote_plus(value, safe="/")
