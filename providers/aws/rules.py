"""AWS's rules for a blueprint (`deployer validate --cloud aws`, and before every plan and deploy).

Pure checks on the model: no Pulumi import, so `validate` stays fast. Each problem is a Diagnostic at
the blueprint location of the field that causes it, with cloud="aws". Package size limits need the
built zips and are checked where they are built (`AwsProvider.package`).
"""

from __future__ import annotations

import re

from deployer.blueprint.model import (
    Blueprint, BucketTrigger, HttpTrigger, QueueStore, QueueTrigger, ScheduleTrigger, TopicTrigger,
)
from deployer.errors import Diagnostic
from providers.aws import cron, names
from providers.aws.queues import MAX_CONCURRENCY, maximum_concurrency

RUNTIMES = ("python3.11", "python3.12", "python3.13")
MEMORY = (128, 10240)
TIMEOUT_MAX = 900
HTTP_TIMEOUT_MAX = 30  # API Gateway answers 503 after 30 s whatever the function does
ENV_BYTES_MAX = 4096
ZIP_MAX = 50 * 1024 * 1024
UNZIPPED_MAX = 250 * 1024 * 1024
_SEGMENT = r"(?:[A-Za-z0-9._~@:$&'()*,;=!-]+|\{[A-Za-z_][A-Za-z0-9_]*\})"
_GREEDY = r"\{[A-Za-z_][A-Za-z0-9_]*\+\}"
ROUTE_PATH = re.compile(rf"^(?:/|(?:/{_SEGMENT})+/?|(?:/{_SEGMENT})*/{_GREEDY})$")
RESERVED_ENV = ("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN_TRACE_ID", "TZ")
ENV_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")  # what Lambda accepts as an environment variable's name
#: the only values CloudWatch Logs accepts as a log group's retention (PutRetentionPolicy)
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


def diagnostic(bp: Blueprint, path: str, message: str, hint: str | None = None,
               severity: str = "error") -> Diagnostic:
    return Diagnostic(message, bp.locate(path), hint=hint, severity=severity, code="aws", cloud="aws")


def check(bp: Blueprint) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name in bp.functions:
        found += check_function(bp, name)
    found += check_buckets(bp)
    found += check_queue_consumers(bp)
    found += check_settings(bp)
    found += check_secrets(bp)
    found += check_queues(bp)
    found += check_existing(bp)
    return found


#: the form AWS reads an existing store by (Pulumi's `get` takes the resource's id)
EXISTING_FORMS = {"queue": (re.compile(r"https://sqs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/\d{12}/"
                                       r"(?=[\w.-]{1,80}$)[\w-]+(\.fifo)?"),
                            "the queue's URL, like https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
                  "topic": (re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:(?=[\w.-]{1,256}$)[\w-]+(\.fifo)?"),
                            "the topic's ARN, like arn:aws:sns:us-east-1:123456789012:events"),
                  # by name, not ARN or URL (legacy us-east-1 buckets may hold capitals and `_`)
                  "bucket": (re.compile(r"[A-Za-z0-9._-]{3,255}"), "the bucket's name, like company-uploads"),
                  "table": (re.compile(r"[A-Za-z0-9._-]{3,255}"), "the table's name, like orders")}


#: where the region sits in a queue URL or topic ARN, and why it must be the deploying one
EXISTING_REGION = {"queue": (re.compile(r"https://sqs\.([a-z0-9-]+)\."), "Lambda reads a queue only in its own region"),
                   "topic": (re.compile(r"arn:[^:]+:sns:([a-z0-9-]+):"),
                             "SNS subscribes a function only in the topic's region")}


def check_existing(bp: Blueprint) -> list[Diagnostic]:
    found = []
    for name, store in bp.stores.items():
        existing = bp.existing(name, "aws")
        form = EXISTING_FORMS.get(store.kind)
        if not (existing and form):
            continue
        per_cloud = name in (getattr(bp.clouds.aws, "existing", None) or {})
        path = f"clouds.aws.existing.{name}" if per_cloud else f"stores.{name}.existing"
        if not form[0].fullmatch(existing):
            found.append(diagnostic(bp, path, f"AWS reads an existing {store.kind} by its id, and {existing!r} is "
                                    f"not one", f"give {form[1]} (under clouds.aws.existing.{name})"))
            continue
        if store.kind in EXISTING_REGION:
            found += _check_existing_region(bp, path, name, store.kind, existing)
            found += _check_existing_fifo(bp, path, name, store.kind, existing)
    return found


FIFO_BATCH = 10  # the largest batch Lambda reads from a FIFO queue (and it takes no batching window)


def _check_existing_fifo(bp: Blueprint, path: str, name: str, kind: str, existing: str) -> list[Diagnostic]:
    """A FIFO queue or topic takes only messages with a message group id, which the store clients do not
    send; SNS delivers a FIFO topic to SQS queues only. Lambda may consume a FIFO queue."""
    if not existing.endswith(".fifo"):
        return []
    if kind == "topic":
        return [diagnostic(bp, path, f"existing topic {name!r} is a FIFO topic: SNS delivers a FIFO topic to SQS "
                           "queues only, and a message published to it needs a message group id, which the store "
                           "client does not send", "use a standard topic")]
    if any(fn.uses.get(name) == "publish" for fn in bp.functions.values()):
        return [diagnostic(bp, path, f"existing queue {name!r} is a FIFO queue: a message sent to it needs a message "
                           "group id, which the store client does not send", "use a standard queue, or only consume "
                           "this one")]
    return [diagnostic(bp, f"functions.{fn_name}.triggers[{index}].batch", f"queue {name!r} is a FIFO queue: Lambda "
                       f"reads it {FIFO_BATCH} messages at a time at most", f"set batch to {FIFO_BATCH} or less")
            for fn_name, fn in bp.functions.items() for index, t in enumerate(fn.triggers)
            if isinstance(t, QueueTrigger) and t.queue == name and t.batch > FIFO_BATCH]


def _check_existing_region(bp: Blueprint, path: str, name: str, kind: str, existing: str) -> list[Diagnostic]:
    """Lambda's event source mappings and SNS's Subscribe work in the queue's or topic's region only (and
    the function's store client calls its own region): an existing one elsewhere fails the first `up`."""
    pattern, why = EXISTING_REGION[kind]
    region, here = pattern.match(existing).group(1), bp.clouds.aws.region
    if region == here:
        return []
    return [diagnostic(bp, path, f"existing {kind} {name!r} is in {region}, and this blueprint deploys to {here}: "
                       f"{why}", f"deploy to {region} (clouds.aws.region), or use a {kind} in {here}")]


def check_settings(bp: Blueprint) -> list[Diagnostic]:
    days = bp.clouds.aws.log_retention_days
    if days in LOG_RETENTION_DAYS:
        return []
    nearest = min(LOG_RETENTION_DAYS, key=lambda d: (abs(d - days), d))
    return [diagnostic(bp, "clouds.aws.log_retention_days",
                       f"CloudWatch Logs cannot keep logs {days} days; it accepts "
                       f"{', '.join(map(str, LOG_RETENTION_DAYS))}", f"use {nearest}, the nearest")]


def check_secrets(bp: Blueprint) -> list[Diagnostic]:
    """Handlers read secrets as environment variables, so their names follow Lambda's rules too. The shim
    sets them at cold start, past Lambda's own refusal of reserved names: a secret named
    AWS_SECRET_ACCESS_KEY would replace the execution role's key and every AWS call would fail."""
    found = []
    for name in bp.secrets:
        if not ENV_NAME.fullmatch(name):
            found.append(diagnostic(bp, f"secrets.{name}", f"secret name {name!r} is not a valid AWS Lambda "
                                    "environment variable name (a letter, then at least one letter, digit or _)",
                                    "rename it"))
        elif name.startswith(RESERVED_ENV):  # DEPLOYER_* is refused for every cloud (blueprint checks)
            found.append(diagnostic(bp, f"secrets.{name}", f"secret name {name!r} is an environment variable AWS "
                                    "Lambda sets: the function would see the secret in its place",
                                    "rename it (the handler reads it under its new name)"))
    return found


#: AWS advises a redrive maxReceiveCount of at least 5 for a queue Lambda polls (services-sqs-configure)
LAMBDA_RECEIVES = 5


def check_queues(bp: Blueprint) -> list[Diagnostic]:
    found = []
    consumed = {t.queue for fn in bp.functions.values() for t in fn.triggers if isinstance(t, QueueTrigger)}
    for name, store in bp.stores.items():
        if not isinstance(store, QueueStore) or bp.existing(name, "aws"):
            continue
        if not store.dead_letter:
            found.append(diagnostic(
                bp, f"stores.{name}.dead_letter", f"queue {name!r} has no dead-letter queue: SQS hands a failing "
                f"message back until its retention (14 days) runs out, not `retries` ({store.retries}) times",
                "set dead_letter: true to keep failed messages aside after `retries` attempts", "warning"))
        elif name in consumed and store.retries < LAMBDA_RECEIVES:
            found.append(diagnostic(
                bp, f"stores.{name}.retries", f"queue {name!r} is consumed by Lambda and dead-letters after "
                f"{store.retries} receives: a receive Lambda could not run (throttled) counts too, so a burst can "
                f"dead-letter messages that never ran (AWS advises at least {LAMBDA_RECEIVES})",
                f"set retries: {LAMBDA_RECEIVES} or more", "warning"))
    for fn_name, fn in bp.functions.items():
        if fn.max_instances is None or not any(isinstance(t, QueueTrigger) for t in fn.triggers):
            continue
        if not MAX_CONCURRENCY[0] <= fn.max_instances <= MAX_CONCURRENCY[1]:
            found.append(diagnostic(
                bp, f"functions.{fn_name}.max_instances", f"{fn_name} consumes a queue: max_instances "
                f"{fn.max_instances} becomes its event source mapping's maximum concurrency "
                f"{maximum_concurrency(fn.max_instances)} (SQS allows {MAX_CONCURRENCY[0]}-{MAX_CONCURRENCY[1]})",
                f"set max_instances between {MAX_CONCURRENCY[0]} and {MAX_CONCURRENCY[1]}", "warning"))
    return found


def check_function(bp: Blueprint, name: str) -> list[Diagnostic]:
    fn, base = bp.functions[name], f"functions.{name}"
    found: list[Diagnostic] = []
    if fn.runtime not in RUNTIMES:
        found.append(diagnostic(bp, f"{base}.runtime", f"AWS Lambda does not run {fn.runtime}",
                                f"use one of {', '.join(RUNTIMES)}"))
    if not MEMORY[0] <= fn.memory <= MEMORY[1]:
        found.append(diagnostic(bp, f"{base}.memory", f"memory {fn.memory} MB is outside AWS Lambda's "
                                f"{MEMORY[0]}-{MEMORY[1]} MB", "set memory between 128 and 10240"))
    if fn.timeout > TIMEOUT_MAX:
        found.append(diagnostic(bp, f"{base}.timeout", f"timeout {fn.timeout} s is over AWS Lambda's "
                                f"{TIMEOUT_MAX} s", "split the work, or use a queue to chain invocations"))
    found += _check_env(bp, name)
    found += _check_names(bp, name)
    for index, trigger in enumerate(fn.triggers):
        found += _check_trigger(bp, name, index, trigger)
    return found


def _check_env(bp: Blueprint, name: str) -> list[Diagnostic]:
    fn, found = bp.functions[name], []
    for key in fn.env:
        if key.startswith(RESERVED_ENV):
            found.append(diagnostic(bp, f"functions.{name}.env.{key}",
                                    f"environment variable {key} is reserved by AWS Lambda", "rename it"))
        elif not ENV_NAME.fullmatch(key):
            found.append(diagnostic(bp, f"functions.{name}.env.{key}", f"environment variable name {key!r} is not "
                                    "valid on AWS Lambda (a letter, then at least one letter, digit or _)",
                                    "rename it"))
    # secrets travel as the names of their SSM parameters, in one variable
    sample = {**fn.env, **{k: "x" * 96 for k in names.env_keys(bp, name)}}
    if fn.secrets:
        sample[names.SECRETS_ENV] = ",".join(names.secret_parameter(bp, s) for s in fn.secrets)
    size = sum(len(k) + len(v) for k, v in sample.items())
    if size > ENV_BYTES_MAX:
        found.append(diagnostic(bp, f"functions.{name}.env", f"the environment of {name} is about {size} bytes; "
                                f"AWS Lambda allows {ENV_BYTES_MAX}", "move large values to a bucket or table"))
    return found


def _check_names(bp: Blueprint, name: str) -> list[Diagnostic]:
    full = f"{bp.stage_name()}-{name}"
    if len(full) <= names.LAMBDA_MAX:
        return []
    return [diagnostic(bp, f"functions.{name}", f"the Lambda name {full!r} is longer than {names.LAMBDA_MAX} "
                       f"characters and is cut to {names.function_name(bp, name)!r}",
                       "shorten the blueprint, stage or function name for a readable name", "warning")]


def _check_trigger(bp: Blueprint, name: str, index: int, trigger) -> list[Diagnostic]:
    path = f"functions.{name}.triggers[{index}]"
    timeout = bp.functions[name].timeout
    match trigger:
        case ScheduleTrigger(schedule=text):
            try:
                cron.expression(text)
            except ValueError as exc:
                return [diagnostic(bp, f"{path}.schedule", str(exc))]
            return []
        case HttpTrigger(path=route_path) if not ROUTE_PATH.match(route_path):
            return [diagnostic(bp, f"{path}.http", f"API Gateway cannot route '{route_path}'",
                               "use literal segments and {param}, with an optional greedy {param+} last")]
        case HttpTrigger():
            if timeout > HTTP_TIMEOUT_MAX:
                return [diagnostic(bp, f"functions.{name}.timeout", f"{name} has an HTTP trigger and a timeout of "
                                   f"{timeout} s; API Gateway gives up after {HTTP_TIMEOUT_MAX} s",
                                   "keep HTTP handlers under 30 s; hand long work to a queue", "warning")]
            return []
        case QueueTrigger() | TopicTrigger() | BucketTrigger():
            return []
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def check_queue_consumers(bp: Blueprint) -> list[Diagnostic]:
    """A function consumes a queue through one event source mapping: a second trigger is a mistake."""
    found = []
    for fn_name, fn in bp.functions.items():
        seen: set[str] = set()
        for index, trigger in enumerate(fn.triggers):
            if isinstance(trigger, QueueTrigger):
                if trigger.queue in seen:
                    found.append(diagnostic(bp, f"functions.{fn_name}.triggers[{index}]",
                                            f"{fn_name} already consumes queue {trigger.queue}",
                                            "keep one trigger per queue; set its batch size"))
                seen.add(trigger.queue)
    return found


def check_buckets(bp: Blueprint) -> list[Diagnostic]:
    """S3 rejects a notification whose filters overlap for the same event type (AWS: 'Configurations overlap')."""
    found: list[Diagnostic] = []
    seen: list[tuple[str, int, BucketTrigger]] = []
    for fn_name, fn in bp.functions.items():
        for index, trigger in enumerate(fn.triggers):
            if not isinstance(trigger, BucketTrigger):
                continue
            for other_fn, other_index, other in seen:
                if _overlap(trigger, other):
                    found.append(diagnostic(
                        bp, f"functions.{fn_name}.triggers[{index}]",
                        f"this trigger on bucket {trigger.bucket} overlaps functions.{other_fn}.triggers"
                        f"[{other_index}] (same event, prefixes and suffixes that can match one key); "
                        "S3 rejects overlapping notifications",
                        "make the prefixes or suffixes disjoint"))
            seen.append((fn_name, index, trigger))
    return found


def _overlap(a: BucketTrigger, b: BucketTrigger) -> bool:
    if a.bucket != b.bucket or a.on != b.on:
        return False
    prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    return prefixes and suffixes


def check_artifact(bp: Blueprint, name: str, size: int, unzipped: int) -> list[Diagnostic]:
    """Lambda's package limits: 50 MB zipped (direct upload), 250 MB unzipped."""
    found = []
    if size > ZIP_MAX:
        found.append(diagnostic(bp, f"functions.{name}.code", f"the package of {name} is {size / 2**20:.1f} MB "
                                "zipped; AWS Lambda accepts 50 MB", "trim requirements.txt or the code folder"))
    if unzipped > UNZIPPED_MAX:
        found.append(diagnostic(bp, f"functions.{name}.code", f"the package of {name} is {unzipped / 2**20:.1f} "
                                "MB unzipped; AWS Lambda accepts 250 MB", "trim requirements.txt"))
    return found
