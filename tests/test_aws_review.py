"""The AWS review the guide announces: new blueprints near AWS's limits, read as AWS would on a first
`up`, a second `up` and an `up` after `destroy`, and the defects that reading found.

Four blueprints unlike blueprints/*: LONG (app, stage, store and function names at their limits, two
functions with prefix/suffix filters on one bucket, both events), FANOUT (a topic with four consumers, a
queue with two consumers, 100 retries, a queue without DLQ, batch 10000, secrets), EVERYTHING (one
function using every store kind at each access level, schedules in three time zones, a greedy route,
CORS) and ADOPT (`existing` stores of every kind in a region of their own). Each plans with no graph
problem and the executor registers exactly its plan. The defects, each checked on its blueprint:

- Lambda permission statement ids were left to Pulumi's autonaming: the logical name plus `-` and 7
  random characters, which pulumi-aws caps at 100 (`tfbridge.AutoName("statementId", 100, "-")`);
  `resource.NewUniqueName` then refuses the name ("plus 7 random chars is longer than maximum length
  100") and the first `up` fails for a function and a bucket or topic with long names.
- An existing queue or topic in another region than `clouds.aws.region`: Lambda reads SQS only in its
  own region ("The Lambda function and the Amazon SQS queue must be in the same AWS Region"), and SNS
  subscribes only in the topic's region ("Invalid parameter: TopicArn").
- Secret parameters named `/<app>-<stage>/...`: Parameter Store reserves every name that starts with
  `aws` or `ssm`, case-insensitive, with or without the leading `/` ("No access to reserved parameter
  name"), so an app called `aws-costs` with a secret failed its first `up`; and a secret over 4 KB failed
  PutParameter in the Standard tier.
- Bucket prefix/suffix filters given raw: S3 matches them against the URL-encoded key, so `year=2024/`
  or a space matched nothing and the function was silently never invoked.
- A secret named like a variable Lambda sets (AWS_SECRET_ACCESS_KEY): the shim set it over the role's
  credentials at cold start. Existing FIFO topics, published or over-batched FIFO queues, buckets and
  tables given by ARN: refused by `check` for what they are. A consumed queue dead-lettering before 5
  receives warns (AWS's advice for Lambda pollers). SSE-S3 loses the meaningless `bucket_key_enabled`.
"""

from __future__ import annotations

import json
import re

import pytest

from aws_support import IGNORE_SDK_WARNINGS
from deployer import plan, providers
from deployer.providers import Artifact

pytestmark = pytest.mark.filterwarnings(IGNORE_SDK_WARNINGS)

LONG_STAGE = "a-very-long-stage-name-for-testing-limits-of-names-0123456789ab"  # 63, the longest stage
LONG = """\
name: abcdefghij-klmnopqrstu-v
defaults: {runtime: python3.12, timeout: 120}
clouds: {aws: {region: ap-southeast-2}}
stores:
  uploads-with-a-very-long-store-name-abcd: {kind: bucket}
  media: {kind: bucket}
  announcements-to-everyone-listening-abcd: {kind: topic}
functions:
  thumbnails-for-images-with-a-long-name-x:
    code: fn
    handler: main.run
    uses: {uploads-with-a-very-long-store-name-abcd: read-write, media: write}
    triggers:
      - {bucket: uploads-with-a-very-long-store-name-abcd, on: created, prefix: images/, suffix: .jpg}
      - {bucket: media, on: deleted}
      - {topic: announcements-to-everyone-listening-abcd}
      - {http: "GET /thumbnails/{id}"}
  videos:
    code: fn
    handler: main.run
    timeout: 900
    max_instances: 5
    uses: {media: read}
    triggers:
      - {bucket: uploads-with-a-very-long-store-name-abcd, on: created, prefix: videos/, suffix: .mp4}
      - {bucket: uploads-with-a-very-long-store-name-abcd, on: deleted, prefix: videos/}
      - {bucket: media, on: created}
"""

FANOUT = """\
name: events
defaults: {runtime: python3.13, timeout: 300}
stores:
  jobs: {kind: queue, retries: 100, dead_letter: true}
  loose: {kind: queue, retries: 1, dead_letter: false}
  news: {kind: topic}
  audit: {kind: table, key: pk}
secrets:
  API_TOKEN: {from: env}
  DB_PASSWORD: {from: env}
functions:
  fast: {code: fn, handler: main.run, timeout: 3, max_instances: 2, triggers: [{queue: jobs, batch: 10000}]}
  slow:
    code: fn
    handler: main.run
    timeout: 900
    secrets: [API_TOKEN]
    triggers: [{queue: jobs, batch: 1}, {queue: loose, batch: 11}, {topic: news}]
  fan-a: {code: fn, handler: main.run, triggers: [{topic: news}], uses: {audit: write}}
  fan-b: {code: fn, handler: main.run, triggers: [{topic: news}], uses: {audit: read},
          secrets: [API_TOKEN, DB_PASSWORD]}
  fan-c: {code: fn, handler: main.run, triggers: [{topic: news}], uses: {jobs: publish, news: publish}}
"""

EVERYTHING = """\
name: cronly
http:
  cors: {origins: ["https://example.com"], methods: [GET], headers: [authorization], max_age: 86400}
stores:
  b: {kind: bucket}
  t: {kind: table}
  q: {kind: queue}
  s: {kind: topic}
functions:
  everything:
    code: fn
    handler: main.run
    timeout: 30
    uses: {b: read-write, t: read-write, q: publish, s: publish}
    triggers:
      - {schedule: "0 3 * * *", timezone: Europe/Paris}
      - {schedule: "*/15 9-17 * * 1-5", timezone: America/New_York}
      - {schedule: "every 1 minutes"}
      - {http: "ANY /{proxy+}"}
      - {http: "GET /"}
  readonly: {code: fn, handler: main.run, uses: {b: read, t: read}, triggers: [{queue: q, batch: 10}]}
  writeonly: {code: fn, handler: main.run, uses: {b: write, t: write}, triggers: [{http: "POST /items/{id}"}]}
"""

ADOPT = """\
name: adopt
clouds:
  aws:
    region: eu-west-1
    existing:
      photos: my-photos-bucket
      ledger: ledger-table
      inbox: https://sqs.eu-west-1.amazonaws.com/123456789012/inbox
      alerts: arn:aws:sns:eu-west-1:123456789012:alerts
stores:
  photos: {kind: bucket}
  ledger: {kind: table, key: id}
  inbox: {kind: queue}
  alerts: {kind: topic}
  own: {kind: bucket}
functions:
  handler:
    code: fn
    handler: main.run
    timeout: 60
    uses: {photos: read-write, ledger: read-write, alerts: publish, own: read}
    triggers: [{bucket: photos, on: created}, {queue: inbox, batch: 5}, {topic: alerts}, {bucket: own}]
"""

BLUEPRINTS = {"long": (LONG, LONG_STAGE), "fanout": (FANOUT, "dev"), "everything": (EVERYTHING, "dev"),
              "adopt": (ADOPT, "dev")}
PERMISSION = "aws:lambda/permission:Permission"


def setup(tmp_path, text: str, stage: str = "dev"):
    from deployer.blueprint.load import load_blueprint

    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "main.py").write_text("def run(event):\n    return None\n")
    (tmp_path / "deployer.yaml").write_text(text)
    bp = load_blueprint(tmp_path / "deployer.yaml", stage=stage)
    artifacts = {f: Artifact(f, tmp_path / f"{f}-000000000000.zip", "0" * 64, 1) for f in bp.functions}
    return providers.get("aws"), bp, artifacts


def errors(tmp_path, text: str) -> list[tuple]:
    """(field path, message, hint) of every error the AWS checks find in the blueprint `text`."""
    provider, bp, _ = setup(tmp_path, text)
    return [(d.location.path, d.message, d.hint) for d in provider.check(bp) if d.severity == "error"]


def planned(tmp_path, text: str, stage: str = "dev") -> dict:
    provider, bp, artifacts = setup(tmp_path, text, stage)
    return {r.name: r for r in plan.run(provider, bp, artifacts).resources}


def problems(provider, bp, graph) -> list[str]:
    from deployer.resources import checks

    return [d.message for d in checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)]


@pytest.fixture(autouse=True)
def _secret_values(monkeypatch):
    monkeypatch.setenv("API_TOKEN", "x")
    monkeypatch.setenv("DB_PASSWORD", "y")


@pytest.mark.parametrize("name", sorted(BLUEPRINTS))
def test_review_blueprints_pass_aws_checks_and_the_executor_registers_their_plan(tmp_path, name):
    from graph_support import assert_executor_matches_plan

    text, stage = BLUEPRINTS[name]
    provider, bp, artifacts = setup(tmp_path, text, stage)
    assert [d.message for d in provider.check(bp) if d.severity == "error"] == []
    assert problems(provider, bp, provider.compile(bp, artifacts)) == []
    assert_executor_matches_plan(provider, bp, artifacts)


# -- Lambda permission statement ids ------------------------------------------------------------------


def test_every_permission_names_its_statement_within_lambdas_100_characters(tmp_path):
    resources = planned(tmp_path, LONG, LONG_STAGE)
    permissions = {n: r.inputs for n, r in resources.items() if r.type == PERMISSION}
    assert len(permissions) == 6  # 2 functions x 2 buckets, 1 topic, 1 HTTP API
    for name, inputs in permissions.items():
        sid = inputs.get("statementId")
        # without a statement id Pulumi names it `<logical name>-` + 7 random characters, at most 100
        assert sid and len(sid) <= 100 and re.fullmatch(r"[a-zA-Z0-9_-]+", sid), (name, sid)
    longest = "fn-thumbnails-for-images-with-a-long-name-x_bucket_uploads-with-a-very-long-store-name-abcd_permission"
    assert len(longest) + len("-") + 7 > 100 and longest in permissions
    assert len(permissions[longest]["statementId"]) == 100
    topic = "fn-thumbnails-for-images-with-a-long-name-x_topic_announcements-to-everyone-listening-abcd_permission"
    assert len(topic) + 8 > 100 and len(permissions[topic]["statementId"]) <= 100
    assert permissions["fn-videos_bucket_media_permission"]["statementId"] == "fn-videos_bucket_media_permission"
    assert len({i["statementId"] for i in permissions.values()}) == len(permissions)


def test_a_statement_id_over_lambdas_limit_is_a_graph_problem(tmp_path):
    import dataclasses

    provider, bp, artifacts = setup(tmp_path, LONG, LONG_STAGE)
    graph = provider.compile(bp, artifacts)
    permission = next(r for r in graph.resources if r.type == PERMISSION)
    long = dataclasses.replace(permission, inputs={**permission.inputs, "statement_id": "s" * 101})
    broken = dataclasses.replace(graph, resources=tuple(long if r is permission else r for r in graph.resources))
    assert problems(provider, bp, broken) == [
        f"{permission.name}: Lambda permission statement name '{'s' * 101}' can be 101 characters; the limit is 100"]


# -- existing stores in another region ----------------------------------------------------------------


def test_an_existing_queue_or_topic_must_be_in_the_deploying_region(tmp_path):
    text = ADOPT.replace("region: eu-west-1", "region: us-east-1")
    found = errors(tmp_path, text)
    assert found == [
        ("clouds.aws.existing.inbox", "existing queue 'inbox' is in eu-west-1, and this blueprint deploys to "
         "us-east-1: Lambda reads a queue only in its own region",
         "deploy to eu-west-1 (clouds.aws.region), or use a queue in us-east-1"),
        ("clouds.aws.existing.alerts", "existing topic 'alerts' is in eu-west-1, and this blueprint deploys to "
         "us-east-1: SNS subscribes a function only in the topic's region",
         "deploy to eu-west-1 (clouds.aws.region), or use a topic in us-east-1")]
    assert errors(tmp_path, ADOPT) == []


# -- secret parameters and Parameter Store's reserved prefixes ----------------------------------------


@pytest.mark.parametrize("app", ["aws-costs", "ssmtool", "orders"])
def test_secret_parameter_names_never_start_with_a_reserved_prefix(tmp_path, app):
    text = (f"name: {app}\nsecrets: {{API_TOKEN: {{from: env}}}}\n"
            "functions: {f: {code: fn, handler: main.run, secrets: [API_TOKEN]}}\n")
    provider, bp, artifacts = setup(tmp_path, text)
    graph = provider.compile(bp, artifacts)
    parameter = graph.by_name()["app-secret-API_TOKEN"].inputs["name"]
    assert parameter == f"/deployer/{app}-dev/secrets/API_TOKEN"
    assert not re.match(r"/?(aws|ssm)", parameter, re.IGNORECASE)
    assert problems(provider, bp, graph) == []
    env = graph.by_name()["fn-f_function"].inputs["environment"]["variables"]
    assert env["DEPLOYER_SECRET_PARAMETERS"] == parameter


@pytest.mark.parametrize("name", ["/aws-costs-dev/secrets/X", "/SSM/x", "awsx", "/Aws/x"])
def test_the_graph_rule_refuses_parameter_names_parameter_store_reserves(tmp_path, name):
    import dataclasses

    provider, bp, artifacts = setup(tmp_path, "name: pay\nsecrets: {K1: {from: env}}\n"
                                              "functions: {f: {code: fn, handler: main.run, secrets: [K1]}}\n")
    graph = provider.compile(bp, artifacts)
    parameter = graph.by_name()["app-secret-K1"]
    renamed = dataclasses.replace(parameter, inputs={**parameter.inputs, "name": name})
    broken = dataclasses.replace(graph, resources=tuple(renamed if r is parameter else r for r in graph.resources))
    rule = provider.graph_rules().names["aws:ssm/parameter:Parameter"]
    assert problems(provider, bp, broken) == [
        f"app-secret-K1: SSM parameter name {name!r} does not match {rule.pattern}"]


def test_fanout_policies_grant_each_consumer_and_publisher_exactly_its_part(tmp_path):
    resources = planned(tmp_path, FANOUT)

    def actions(function):
        statements = json.loads(resources[f"fn-{function}_policy"].inputs["policy"])["Statement"]
        return {s["Sid"]: s["Action"] for s in statements}

    consume = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert actions("fast") == {"Logs": ["logs:CreateLogStream", "logs:PutLogEvents"], "Jobs": consume}
    assert actions("slow")["Jobs"] == consume and actions("slow")["Loose"] == consume
    assert actions("fan-c")["Jobs"] == ["sqs:SendMessage"] and actions("fan-c")["News"] == ["sns:Publish"]
    assert actions("fan-a")["Audit"] == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    assert actions("fan-b")["Audit"] == ["dynamodb:GetItem", "dynamodb:Scan"]
    # the slowest consumer sets the visibility timeout: 6 x 900 s, and 6 x (900 + 1 s window) with batch 11
    assert resources["store-jobs-queue"].inputs["visibilityTimeoutSeconds"] == 5400
    assert resources["store-loose-queue"].inputs["visibilityTimeoutSeconds"] == 5406
    subscriptions = sorted(n for n, r in resources.items() if r.type == "aws:sns/topicSubscription:TopicSubscription")
    assert subscriptions == [f"fn-{f}_topic_news_subscription" for f in ("fan-a", "fan-b", "fan-c", "slow")]


# -- SQS redrive below what Lambda's poller needs ---------------------------------------------------------


def test_a_consumed_queue_dead_lettering_before_five_receives_warns(tmp_path):
    text = ("name: q\nstores: {jobs: {kind: queue, retries: 3}, calm: {kind: queue, retries: 5},"
            " idle: {kind: queue, retries: 2}}\n"
            "functions: {f: {code: fn, handler: main.run, triggers: [{queue: jobs}, {queue: calm}],"
            " uses: {idle: publish}}}\n")
    provider, bp, _ = setup(tmp_path, text)
    found = [(d.severity, d.location.path, d.message, d.hint) for d in provider.check(bp)]
    # Lambda's poller counts a batch it received but could not run (throttled) as a delivery
    assert found == [
        ("warning", "stores.jobs.retries", "queue 'jobs' is consumed by Lambda and dead-letters after 3 "
         "receives: a receive Lambda could not run (throttled) counts too, so a burst can dead-letter messages "
         "that never ran (AWS advises at least 5)", "set retries: 5 or more")]
    # an existing queue keeps its own redrive: `retries` says nothing about it
    text = text.replace("functions:", "clouds: {aws: {existing: {jobs: https://sqs.us-east-1.amazonaws.com/"
                                      "123456789012/jobs}}}\nfunctions:")
    provider, bp, _ = setup(tmp_path, text)
    assert [d.message for d in provider.check(bp)] == []


def test_buckets_are_encrypted_with_s3_managed_keys_and_no_kms_only_setting(tmp_path):
    # S3 Bucket Keys cut KMS requests for SSE-KMS; with SSE-S3 (AES256) the setting means nothing, and what
    # S3 reads back for it is not the input, so an import after `destroy` could find a difference
    resources = planned(tmp_path, EVERYTHING)
    assert resources["store-b-encryption"].inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def test_an_existing_fifo_topic_or_a_published_fifo_queue_is_refused_for_what_it_is(tmp_path):
    fifo = ADOPT.replace("123456789012/inbox", "123456789012/inbox.fifo").replace(
        "123456789012:alerts", "123456789012:alerts.fifo")
    found = errors(tmp_path, fifo)
    # a FIFO topic delivers to SQS queues only; Lambda may consume a FIFO queue (nobody publishes here)
    assert found == [
        ("clouds.aws.existing.alerts", "existing topic 'alerts' is a FIFO topic: SNS delivers a FIFO topic to SQS "
         "queues only, and a message published to it needs a message group id, which the store client does not "
         "send", "use a standard topic")]
    found = errors(tmp_path, fifo.replace("alerts.fifo", "alerts").replace(
        "uses: {photos: read-write", "uses: {inbox: publish, photos: read-write"))
    assert found == [
        ("clouds.aws.existing.inbox", "existing queue 'inbox' is a FIFO queue: a message sent to it needs a message "
         "group id, which the store client does not send", "use a standard queue, or only consume this one")]
    # Lambda reads a FIFO queue 10 messages at a time at most, with no batching window
    found = errors(tmp_path, fifo.replace("alerts.fifo", "alerts").replace("batch: 5", "batch: 11"))
    assert found == [
        ("functions.handler.triggers[1].batch", "queue 'inbox' is a FIFO queue: Lambda reads it 10 messages at a "
         "time at most", "set batch to 10 or less")]


# -- S3 key filters are matched against the URL-encoded key -------------------------------------------


def test_bucket_filters_are_url_encoded_as_s3_matches_them(tmp_path):
    text = ("name: lake\nstores: {raw: {kind: bucket}}\nfunctions:\n"
            "  load: {code: fn, handler: main.run, triggers: [{bucket: raw, prefix: 'year=2024/raw data/',"
            " suffix: ' v1+2.csv'}]}\n"
            "  plain: {code: fn, handler: main.run, triggers: [{bucket: raw, prefix: incoming/, suffix: .jpg}]}\n")
    resources = planned(tmp_path, text)
    configs = resources["store-raw-notification"].inputs["lambdaFunctions"]
    # S3 compares filters with the key as its events carry it: space as `+`, `=` as %3D, `+` as %2B
    assert [(c["filterPrefix"], c["filterSuffix"]) for c in configs] == [
        ("year%3D2024/raw+data/", "+v1%2B2.csv"), ("incoming/", ".jpg")]


def test_an_existing_bucket_or_table_is_named_not_given_by_arn_or_url(tmp_path):
    text = ADOPT.replace("photos: my-photos-bucket", "photos: arn:aws:s3:::my-photos-bucket").replace(
        "ledger: ledger-table", "ledger: arn:aws:dynamodb:eu-west-1:123456789012:table/ledger-table")
    found = errors(tmp_path, text)
    assert found == [
        ("clouds.aws.existing.photos", "AWS reads an existing bucket by its id, and 'arn:aws:s3:::my-photos-bucket' "
         "is not one", "give the bucket's name, like company-uploads (under clouds.aws.existing.photos)"),
        ("clouds.aws.existing.ledger", "AWS reads an existing table by its id, and "
         "'arn:aws:dynamodb:eu-west-1:123456789012:table/ledger-table' is not one",
         "give the table's name, like orders (under clouds.aws.existing.ledger)")]


def test_secret_parameters_take_values_over_4_kb(tmp_path):
    # Standard parameters hold 4096 characters ("Standard tier parameters support a maximum parameter value of
    # 4096 characters"): Intelligent-Tiering stays Standard (free) and turns Advanced (8 KB) only when needed
    resources = planned(tmp_path, FANOUT)
    assert {resources[f"app-secret-{s}"].inputs["tier"] for s in ("API_TOKEN", "DB_PASSWORD")} == {
        "Intelligent-Tiering"}


@pytest.mark.parametrize("secret", ["AWS_SECRET_ACCESS_KEY", "AWS_REGION", "LAMBDA_TASK_ROOT", "TZ"])
def test_a_secret_may_not_take_the_name_of_a_variable_lambda_sets(tmp_path, secret):
    # the shim sets each secret as an environment variable at cold start, past Lambda's own check: a secret
    # named AWS_SECRET_ACCESS_KEY would replace the execution role's key and fail every AWS call
    text = (f"name: pay\nsecrets: {{{secret}: {{from: env}}}}\n"
            f"functions: {{f: {{code: fn, handler: main.run, secrets: [{secret}]}}}}\n")
    provider, bp, _ = setup(tmp_path, text)
    found = [(d.location.path, d.message) for d in provider.check(bp) if d.severity == "error"]
    assert found == [(f"secrets.{secret}", f"secret name {secret!r} is an environment variable AWS Lambda "
                      "sets: the function would see the secret in its place")]
