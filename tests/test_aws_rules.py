"""AWS's rules in `check` (providers/aws/rules.py), as `deployer validate --cloud aws` shows them.

Each rule gives one diagnostic at the blueprint location of the field at fault; messages are
asserted whole.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from deployer import providers
from deployer.blueprint.load import load_blueprint
from providers.aws import rules
from conftest import tiny_blueprint

BASE = """\
name: rules
stores:
  up: {kind: bucket}
functions:
"""


def check(tmp_path: Path, functions: str, name: str = "rules"):
    bp = tiny_blueprint(tmp_path, BASE.replace("rules", name) + textwrap.indent(textwrap.dedent(functions), "  "))
    return [(d.severity, d.location.line, d.location.path, d.message) for d in providers.get("aws").check(bp)]


def test_examples_pass(example):
    assert providers.get("aws").check(load_blueprint(example)) == []


def test_memory_and_timeout_limits(tmp_path):
    found = check(tmp_path, """\
        small:
          code: fn
          handler: main.run
          memory: 64
          timeout: 1000
        """)
    assert found == [
        ("error", 8, "functions.small.memory", "memory 64 MB is outside AWS Lambda's 128-10240 MB"),
        ("error", 9, "functions.small.timeout", "timeout 1000 s is over AWS Lambda's 900 s"),
    ]


def test_reserved_environment_variable(tmp_path):
    found = check(tmp_path, """\
        fn:
          code: fn
          handler: main.run
          env: {AWS_REGION: eu-west-1}
        """)
    assert found == [("error", 8, "functions.fn.env.AWS_REGION",
                      "environment variable AWS_REGION is reserved by AWS Lambda")]


def test_cron_with_both_day_fields_is_an_error_at_the_schedule(tmp_path):
    found = check(tmp_path, """\
        fn:
          code: fn
          handler: main.run
          triggers:
            - schedule: "0 0 1 * MON"
        """)
    assert len(found) == 1
    severity, line, path, message = found[0]
    assert (severity, line, path) == ("error", 9, "functions.fn.triggers[0].schedule")
    assert message.startswith("'0 0 1 * MON' sets both day-of-month (1) and day-of-week (MON)")


def test_http_function_longer_than_api_gateway_waits_is_a_warning(tmp_path):
    found = check(tmp_path, """\
        api:
          code: fn
          handler: main.run
          timeout: 60
          triggers: [{http: GET /}]
        """)
    assert found == [("warning", 8, "functions.api.timeout",
                      "api has an HTTP trigger and a timeout of 60 s; API Gateway gives up after 30 s")]


def test_overlapping_bucket_filters_are_an_error(tmp_path):
    found = check(tmp_path, """\
        a:
          code: fn
          handler: main.run
          triggers: [{bucket: up, prefix: in/}]
        b:
          code: fn
          handler: main.run
          triggers: [{bucket: up, prefix: in/raw/, suffix: .jpg}, {bucket: up, on: deleted, prefix: in/}]
        """)
    assert found == [("error", 12, "functions.b.triggers[0]",
                      "this trigger on bucket up overlaps functions.a.triggers[0] (same event, prefixes and "
                      "suffixes that can match one key); S3 rejects overlapping notifications")]


def test_long_names_are_cut_with_a_warning(tmp_path):
    long, app = "f" + "x" * 39, "a" * 24
    found = check(tmp_path, f"""\
        {long}:
          code: fn
          handler: main.run
        """, name=app)
    assert len(found) == 1 and found[0][:3] == ("warning", 6, f"functions.{long}")  # the mark of a mapping is its first key
    assert found[0][3].startswith(f"the Lambda name '{app}-dev-{long}' is longer than 64 characters and is cut to ")


def test_package_limits(tmp_path):
    check(tmp_path, "fn: {code: fn, handler: main.run}\n")
    bp = load_blueprint(tmp_path / "deployer.yaml")
    found = rules.check_artifact(bp, "fn", 51 * 2**20, 251 * 2**20)
    assert [d.message for d in found] == [
        "the package of fn is 51.0 MB zipped; AWS Lambda accepts 50 MB",
        "the package of fn is 251.0 MB unzipped; AWS Lambda accepts 250 MB",
    ]
    assert {(d.location.path, d.cloud) for d in found} == {("functions.fn.code", "aws")}
    assert rules.check_artifact(bp, "fn", 50 * 2**20, 250 * 2**20) == []


def test_consuming_one_queue_twice_is_an_error(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: twice\nstores: {jobs: {kind: queue, retries: 5}}\nfunctions:\n"
                                  "  w:\n    code: fn\n    handler: main.run\n    triggers:\n      - queue: jobs\n"
                                  "      - queue: jobs\n        batch: 5\n")
    found = providers.get("aws").check(bp)
    assert [(d.location.line, d.location.path, d.message) for d in found] == [
        (9, "functions.w.triggers[1]", "w already consumes queue jobs")]


def test_route_names_stay_unique():
    from providers.aws.http import route_names

    names = route_names([("GET", "/a-b", "f"), ("GET", "/a/b", "f"), ("POST", "/a/b", "f")])
    assert names[2] == "fn-f_route_post-a-b" and len(set(names)) == 3
    assert names[0].startswith("fn-f_route_get-a-b-") and names[1].startswith("fn-f_route_get-a-b-")


def test_route_paths_api_gateway_cannot_route(tmp_path):
    found = check(tmp_path, """\
        api:
          code: fn
          handler: main.run
          triggers:
            - http: GET /files/{path+}/meta
            - http: GET /files/{path+}
        """)
    assert found == [("error", 9, "functions.api.triggers[0].http", "API Gateway cannot route '/files/{path+}/meta'")]


# -- defects of issue 12's review: each of these passed validate before --------------------------------


def test_log_retention_must_be_a_value_cloudwatch_accepts(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: logs\nclouds: {aws: {log_retention_days: 100}}\n"
                                  "functions: {f: {code: fn, handler: main.run}}\n")
    found = providers.get("aws").check(bp)
    assert [(d.severity, d.location.line, d.location.path, d.hint) for d in found] == [
        ("error", 2, "clouds.aws.log_retention_days", "use 90, the nearest")]
    assert found[0].message.startswith("CloudWatch Logs cannot keep logs 100 days; it accepts 1, 3, 5, 7, 14, ")
    ok = tiny_blueprint(tmp_path, "name: logs\nclouds: {aws: {log_retention_days: 731}}\n"
                                  "functions: {f: {code: fn, handler: main.run}}\n")
    assert providers.get("aws").check(ok) == []


def test_env_and_secret_names_lambda_accepts(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: envs\nsecrets: {K: {from: env}, GOOD_KEY: {from: env}}\nfunctions:\n"
                                  "  f: {code: fn, handler: main.run, secrets: [K, GOOD_KEY],\n"
                                  "      env: {_X: '1', A: '2', Ok_1: '3'}}\n")
    found = [(d.severity, d.location.path, d.message) for d in providers.get("aws").check(bp)]
    assert found == [
        ("error", "functions.f.env._X", "environment variable name '_X' is not valid on AWS Lambda "
                                        "(a letter, then at least one letter, digit or _)"),
        ("error", "functions.f.env.A", "environment variable name 'A' is not valid on AWS Lambda "
                                       "(a letter, then at least one letter, digit or _)"),
        ("error", "secrets.K", "secret name 'K' is not a valid AWS Lambda environment variable name "
                               "(a letter, then at least one letter, digit or _)"),
    ]


def test_a_queue_without_dead_letter_warns_that_retries_mean_nothing(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: q\nstores: {jobs: {kind: queue, retries: 4, dead_letter: false}}\n"
                                  "functions: {f: {code: fn, handler: main.run, triggers: [{queue: jobs}]}}\n")
    found = providers.get("aws").check(bp)
    assert [(d.severity, d.location.path, d.message, d.hint) for d in found] == [
        ("warning", "stores.jobs.dead_letter", "queue 'jobs' has no dead-letter queue: SQS hands a failing message "
         "back until its retention (14 days) runs out, not `retries` (4) times",
         "set dead_letter: true to keep failed messages aside after `retries` attempts")]


def test_max_instances_of_a_queue_consumer_outside_what_sqs_takes_warns(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: q\nstores: {jobs: {kind: queue, retries: 5}}\n"
                                  "functions: {f: {code: fn, handler: main.run, max_instances: 1,"
                                  " triggers: [{queue: jobs}]}}\n")
    found = providers.get("aws").check(bp)
    assert [(d.severity, d.location.path, d.message) for d in found] == [
        ("warning", "functions.f.max_instances", "f consumes a queue: max_instances 1 becomes its event source "
         "mapping's maximum concurrency 2 (SQS allows 2-1000)")]
