"""The AWS defects found by issue 12's review, and issue 20's guards for AWS, each on a targeted graph.

Every test here failed on the program the graph replaced (see the issue note for the break-and-run
record): names that collide, bucket names that are not unique worldwide or end in `-`, secrets in
plain Lambda environment variables, reserved concurrency on queue consumers, DLQs that keep messages
no longer than their source, asynchronous events dropped after Lambda's retries, a Scheduler trust
without `aws:SourceAccount`, buckets reachable without TLS; then retain flags and retries (issue 20).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from aws_support import IGNORE_SDK_WARNINGS
from deployer import plan, providers
from deployer.errors import BlueprintError
from deployer.providers import Artifact

pytestmark = pytest.mark.filterwarnings(IGNORE_SDK_WARNINGS)


def setup(tmp_path, text: str):
    from conftest import tiny_blueprint

    bp = tiny_blueprint(tmp_path, text)
    artifacts = {f: Artifact(f, tmp_path / f"{f}-000000000000.zip", "0" * 64, 1) for f in bp.functions}
    return providers.get("aws"), bp, artifacts


def planned(tmp_path, text: str) -> dict:
    provider, bp, artifacts = setup(tmp_path, text)
    result = plan.run(provider, bp, artifacts)
    return {r.name: r for r in result.resources}


def graph_problems(provider, bp, graph) -> list[str]:
    from deployer.resources import checks

    return [d.message for d in checks.check(graph, provider.sdk_index(), provider.graph_rules(), bp)]


def with_resource(graph, resource):
    return dataclasses.replace(graph, resources=graph.resources + (resource,))


COLLIDING = """\
name: clash
stores:
  jobs: {kind: queue}
  jobs-dlq: {kind: queue}
functions:
  f: {code: fn, handler: main.run, triggers: [{schedule: "every 5 minutes"}, {queue: jobs}]}
  f-scheduler: {code: fn, handler: main.run, triggers: [{schedule: "every 1 hours"}, {queue: jobs-dlq}]}
"""


def test_generated_names_cannot_collide_with_user_names(tmp_path):
    resources = planned(tmp_path, COLLIDING)
    roles = sorted(r.inputs["name"] for r in resources.values() if r.type == "aws:iam/role:Role")
    assert roles == ["clash-dev-f", "clash-dev-f-scheduler", "clash-dev-f-scheduler_scheduler",
                     "clash-dev-f_scheduler"]
    queues = sorted(r.inputs["name"] for r in resources.values() if r.type == "aws:sqs/queue:Queue")
    assert queues == ["clash-dev-f-scheduler_failed", "clash-dev-f_failed", "clash-dev-jobs", "clash-dev-jobs-dlq",
                      "clash-dev-jobs-dlq_dlq", "clash-dev-jobs_dlq"]
    assert {"fn-f_scheduler-role", "fn-f-scheduler_role"} <= set(resources)


def test_the_graph_rule_catches_two_resources_of_one_type_with_one_name(tmp_path):
    from deployer.resources.graph import Resource, store

    provider, bp, artifacts = setup(tmp_path, COLLIDING)
    graph = provider.compile(bp, artifacts)
    assert graph_problems(provider, bp, graph) == []
    twin = Resource("aws:sqs/queue:Queue", "store-jobs-twin", store("jobs"), {"name": "clash-dev-jobs"})
    assert graph_problems(provider, bp, with_resource(graph, twin)) == [
        "store-jobs-twin: SQS queue name 'clash-dev-jobs' is also the name of store-jobs-queue"]


def test_bucket_names_are_unique_worldwide_and_never_end_in_a_hyphen(tmp_path):
    resources = planned(tmp_path, "name: files\nstores: {files-: {kind: bucket}}\n"
                                  "functions: {f: {code: fn, handler: main.run, uses: {files-: read}}}\n")
    name = resources["store-files--bucket"].inputs["bucket"]
    assert name == "files-dev-files--${getCallerIdentity.account_id}-us-east-1"


def test_bucket_rules_flag_a_bucket_anyone_may_hold_or_ending_in_a_hyphen(tmp_path):
    from deployer.resources.graph import Resource, store

    provider, bp, artifacts = setup(tmp_path, "name: files\nstores: {up: {kind: bucket}}\n"
                                              "functions: {f: {code: fn, handler: main.run}}\n")
    graph = provider.compile(bp, artifacts)
    common = Resource("aws:s3/bucket:Bucket", "store-up-other", store("up"), {"bucket": "files-dev-up"})
    trailing = Resource("aws:s3/bucket:Bucket", "store-up-trailing", store("up"), {"bucket": "files-dev-up-"})
    found = graph_problems(provider, bp, with_resource(with_resource(graph, common), trailing))
    assert found == [
        "store-up-other: S3 bucket name 'files-dev-up' must be unique worldwide but holds nothing specific to "
        "this account",
        "store-up-trailing: S3 bucket name 'files-dev-up-' does not match " + provider.graph_rules().names[
            "aws:s3/bucket:Bucket"].pattern,
        "store-up-trailing: S3 bucket name 'files-dev-up-' must be unique worldwide but holds nothing specific to "
        "this account",
    ]


def test_long_bucket_names_are_cut_counting_twelve_digits_of_account_id(tmp_path):
    from deployer.resources.checks import rendered_name

    store = "s" + "x" * 39
    provider, bp, artifacts = setup(tmp_path, f"name: {'a' * 24}\nstores: {{{store}: {{kind: bucket}}}}\n"
                                              "functions: {f: {code: fn, handler: main.run}}\n")
    graph = provider.compile(bp, artifacts)
    bucket = graph.by_name()[f"store-{store}-bucket"]
    text, longest = rendered_name(bucket.inputs["bucket"], provider.graph_rules())
    assert longest == 63 and text.endswith("-${getCallerIdentity.account_id}-us-east-1")
    assert graph_problems(provider, bp, graph) == []
    from deployer.resources.values import Template

    longer = dataclasses.replace(bucket, name="store-x-longer",
                                 inputs={"bucket": Template.of("z", *bucket.inputs["bucket"].parts)})
    assert graph_problems(provider, bp, with_resource(graph, longer))[0] == (
        f"store-x-longer: S3 bucket name 'z{text}' can be 64 characters; the limit is 63")


SECRETS = """\
name: pay
secrets: {STRIPE_KEY: {from: env}, MAIL_TOKEN: {from: env}}
functions:
  charge: {code: fn, handler: main.run, secrets: [STRIPE_KEY], triggers: [{http: POST /charge}]}
  mail: {code: fn, handler: main.run, secrets: [MAIL_TOKEN, STRIPE_KEY]}
  plain: {code: fn, handler: main.run}
"""


def test_secrets_live_in_ssm_and_each_role_reads_only_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIPE_KEY", "sk_live_do_not_show")
    monkeypatch.setenv("MAIL_TOKEN", "mt_do_not_show")
    resources = planned(tmp_path, SECRETS)
    assert "do_not_show" not in json.dumps([r.to_json() for r in resources.values()])
    parameter = resources["app-secret-STRIPE_KEY"].inputs
    assert (parameter["name"], parameter["type"], parameter["value"]) == (
        "/deployer/pay-dev/secrets/STRIPE_KEY", "SecureString", "[secret]")
    charge = resources["fn-charge_function"].inputs["environment"]["variables"]
    assert charge["DEPLOYER_SECRET_PARAMETERS"] == "/deployer/pay-dev/secrets/STRIPE_KEY"
    assert "STRIPE_KEY" not in charge
    mail = resources["fn-mail_function"].inputs["environment"]["variables"]
    assert mail["DEPLOYER_SECRET_PARAMETERS"] == ("/deployer/pay-dev/secrets/MAIL_TOKEN,"
                                                  "/deployer/pay-dev/secrets/STRIPE_KEY")

    def secret_statements(function):
        document = json.loads(resources[f"fn-{function}_policy"].inputs["policy"])
        return [s for s in document["Statement"] if s["Sid"] == "Secrets"]

    assert secret_statements("charge") == [{"Sid": "Secrets", "Effect": "Allow", "Action": ["ssm:GetParameters"],
                                            "Resource": ["${app-secret-STRIPE_KEY.arn}"]}]
    assert secret_statements("mail")[0]["Resource"] == ["${app-secret-MAIL_TOKEN.arn}", "${app-secret-STRIPE_KEY.arn}"]
    assert secret_statements("plain") == []
    assert "DEPLOYER_SECRET_PARAMETERS" not in resources["fn-plain_function"].inputs["environment"]["variables"]


def test_queue_consumer_concurrency_is_the_mappings_not_reserved(tmp_path):
    resources = planned(tmp_path, "name: q\nstores: {jobs: {kind: queue}}\nfunctions:\n"
                                  "  w: {code: fn, handler: main.run, max_instances: 5, triggers: [{queue: jobs}]}\n"
                                  "  h: {code: fn, handler: main.run, max_instances: 3, triggers: [{http: GET /}]}\n")
    assert resources["fn-w_queue_jobs"].inputs["scalingConfig"] == {"maximumConcurrency": 5}
    assert "reservedConcurrentExecutions" not in resources["fn-w_function"].inputs
    assert resources["fn-h_function"].inputs["reservedConcurrentExecutions"] == 3


@pytest.mark.parametrize("retries", [3, 7])
def test_dead_letter_after_the_blueprints_retries_kept_longer_than_the_source(tmp_path, retries):
    resources = planned(tmp_path, f"name: q\nstores: {{jobs: {{kind: queue, retries: {retries}}}}}\n"
                                  "functions: {w: {code: fn, handler: main.run, triggers: [{queue: jobs}]}}\n")
    queue, dlq = resources["store-jobs-queue"].inputs, resources["store-jobs-dlq"].inputs
    assert json.loads(queue["redrivePolicy"]) == {"deadLetterTargetArn": "${store-jobs-dlq.arn}",
                                                  "maxReceiveCount": retries}
    assert (queue["messageRetentionSeconds"], dlq["messageRetentionSeconds"]) == (4 * 86400, 14 * 86400)


ASYNC = """\
name: ev
stores: {up: {kind: bucket}, news: {kind: topic}, jobs: {kind: queue}}
functions:
  s3: {code: fn, handler: main.run, triggers: [{bucket: up}]}
  sns: {code: fn, handler: main.run, triggers: [{topic: news}]}
  tick: {code: fn, handler: main.run, triggers: [{schedule: "every 5 minutes"}]}
  web: {code: fn, handler: main.run, triggers: [{http: GET /}, {queue: jobs}]}
"""


def test_asynchronous_invocations_that_fail_go_to_a_failure_queue(tmp_path):
    resources = planned(tmp_path, ASYNC)
    for function in ("s3", "sns", "tick"):
        config = resources[f"fn-{function}_async"]
        assert config.type == "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
        assert config.inputs == {"functionName": f"ev-dev-{function}", "maximumRetryAttempts": 2,
                                 "destinationConfig": {"onFailure": {"destination": f"${{fn-{function}_failed.arn}}"}}}
        assert config.options["depends_on"] == [f"fn-{function}_function", f"fn-{function}_policy"]
        statements = json.loads(resources[f"fn-{function}_policy"].inputs["policy"])["Statement"]
        assert {"Sid": "FailedEvents", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                "Resource": f"${{fn-{function}_failed.arn}}"} in statements
    assert "fn-web_async" not in resources and "fn-web_failed" not in resources
    target = resources["fn-tick_schedule_0"].inputs["target"]
    assert target["deadLetterConfig"] == {"arn": "${fn-tick_failed.arn}"}


def test_scheduler_role_trusts_only_this_accounts_schedules(tmp_path):
    resources = planned(tmp_path, ASYNC)
    trust = json.loads(resources["fn-tick_scheduler-role"].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "${getCallerIdentity.account_id}"}}


def test_buckets_refuse_requests_without_tls(tmp_path):
    resources = planned(tmp_path, ASYNC)
    policy = resources["store-up-policy"]
    assert policy.inputs["bucket"] == "${store-up-bucket.id}"
    assert json.loads(policy.inputs["policy"])["Statement"] == [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["${store-up-bucket.arn}", "${store-up-bucket.arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]


@pytest.mark.parametrize("subscription", ["store-up-notification", "fn-sns_topic_news_subscription"])
def test_a_subscription_not_waiting_for_its_permission_is_flagged(tmp_path, subscription):
    provider, bp, artifacts = setup(tmp_path, ASYNC)
    graph = provider.compile(bp, artifacts)
    assert graph_problems(provider, bp, graph) == []
    bare = dataclasses.replace(graph.by_name()[subscription], options=dataclasses.replace(
        graph.by_name()[subscription].options, depends_on=()))
    broken = dataclasses.replace(graph, resources=tuple(bare if r.name == subscription else r for r in graph.resources))
    function = "s3" if subscription.startswith("store") else "sns"
    assert graph_problems(provider, bp, broken) == [
        f"{subscription} may be created before the aws:lambda/permission:Permission that lets it invoke "
        f"function {function}"]


STATEFUL = {"aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:sqs/queue:Queue"}


@pytest.mark.parametrize("keep", [True, False])
def test_stateful_stores_are_retained_unless_data_is_deleted(tmp_path, keep):
    text = ASYNC.replace("jobs: {kind: queue}}", "jobs: {kind: queue}, rows: {kind: table}}")
    provider, bp, artifacts = setup(tmp_path, text + "  t: {code: fn, handler: main.run, uses: {rows: read}}\n")
    graph = provider.compile(bp, artifacts, keep_data=keep)
    stateful = sorted(r.name for r in graph.resources if r.type in STATEFUL)
    assert stateful == ["fn-s3_failed", "fn-sns_failed", "fn-tick_failed", "store-jobs-dlq", "store-jobs-queue",
                        "store-rows-table", "store-up-bucket"]
    retained = sorted(r.name for r in graph.retained() if r.type in STATEFUL)
    assert retained == (stateful if keep else [])
    assert graph.by_name()["store-up-bucket"].inputs["force_destroy"] is (not keep)


@pytest.mark.parametrize("text", [COLLIDING, SECRETS, ASYNC])
def test_executor_registers_exactly_the_plan_of_targeted_blueprints(tmp_path, text, monkeypatch):
    from graph_support import assert_executor_matches_plan

    monkeypatch.setenv("STRIPE_KEY", "x")
    monkeypatch.setenv("MAIL_TOKEN", "y")
    provider, bp, artifacts = setup(tmp_path, text)
    assert_executor_matches_plan(provider, bp, artifacts)


EXISTING = """\
name: ex
stores:
  up: {kind: bucket, existing: company-uploads}
  rows: {kind: table, existing: company-rows}
  jobs: {kind: queue}
  news: {kind: topic}
clouds:
  aws:
    region: eu-west-1
    existing:
      jobs: https://sqs.eu-west-1.amazonaws.com/123456789012/company-jobs
      news: arn:aws:sns:eu-west-1:123456789012:company-news
functions:
  f: {code: fn, handler: main.run, uses: {up: read, rows: write, news: publish}, triggers: [{queue: jobs}, {bucket: up}]}
"""


def test_existing_stores_are_read_never_created_and_still_granted_and_wired(tmp_path):
    resources = planned(tmp_path, EXISTING)
    read = {name: r.options.get("read") for name, r in resources.items() if r.group.startswith("store ")}
    assert read == {"store-up-bucket": "company-uploads", "store-rows-table": "company-rows",
                    "store-jobs-queue": "https://sqs.eu-west-1.amazonaws.com/123456789012/company-jobs",
                    "store-news-topic": "arn:aws:sns:eu-west-1:123456789012:company-news",
                    "store-up-notification": None}
    assert all(resources[n].inputs == {} for n in read if n != "store-up-notification")
    # the ids of read resources are known: plan shows them, and what reads them
    assert resources["fn-f_function"].inputs["environment"]["variables"]["DEPLOYER_STORE_UP"] == "company-uploads"
    env = resources["fn-f_function"].inputs["environment"]["variables"]
    assert (env["DEPLOYER_STORE_ROWS"], env["DEPLOYER_STORE_JOBS"], env["DEPLOYER_STORE_NEWS"]) == (
        "company-rows", "https://sqs.eu-west-1.amazonaws.com/123456789012/company-jobs",
        "arn:aws:sns:eu-west-1:123456789012:company-news")
    assert resources["fn-f_queue_jobs"].inputs["eventSourceArn"] == "${store-jobs-queue.arn}"
    sids = [s["Sid"] for s in json.loads(resources["fn-f_policy"].inputs["policy"])["Statement"]]
    assert sids == ["Logs", "Jobs", "News", "Rows", "Up", "UpObjects", "FailedEvents"]


def test_an_existing_queue_or_topic_needs_the_id_aws_reads_it_by(tmp_path):
    from conftest import tiny_blueprint

    bp = tiny_blueprint(tmp_path, "name: ex\nstores: {jobs: {kind: queue, existing: company-jobs}}\n"
                                  "clouds: {aws: {existing: {news: company-news}}}\n"
                                  "functions: {f: {code: fn, handler: main.run}}\n".replace(
                                      "stores: {jobs: {kind: queue, existing: company-jobs}}",
                                      "stores: {jobs: {kind: queue, existing: company-jobs}, news: {kind: topic}}"))
    found = [(d.location.path, d.message) for d in providers.get("aws").check(bp)]
    assert found == [
        ("stores.jobs.existing", "AWS reads an existing queue by its id, and 'company-jobs' is not one"),
        ("clouds.aws.existing.news", "AWS reads an existing topic by its id, and 'company-news' is not one")]


def test_executor_reads_existing_stores_by_their_ids(tmp_path):
    from graph_support import assert_executor_matches_plan

    provider, bp, artifacts = setup(tmp_path, EXISTING)
    assert_executor_matches_plan(provider, bp, artifacts)
