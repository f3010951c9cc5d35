"""A GCP engineer's review of blueprints unlike the examples (tests/fixtures/gcp_review): names near every
limit, every trigger kind, existing stores of every kind (some in another project).

Each blueprint's plan passes the graph checks and the executor registers exactly it under Pulumi's mocks;
the tests below state what the GCP APIs would answer to the resources of a first `up` where the review
found them wrong, and the limits they were checked against (docs/gcp.md).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from graph_support import assert_executor_matches_plan
from test_gcp_program import ENV, by_name, fake_artifacts, run_plan

from deployer import plan, providers
from deployer.blueprint.load import load_blueprint
from providers.gcp.provider import GcpProvider

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REVIEW = Path(__file__).parent / "fixtures" / "gcp_review"
STAGES = {"long": "production-eu"}


def review(tmp_path: Path, name: str):
    """A review blueprint with a code folder, loaded at its stage."""
    shutil.copy(REVIEW / f"{name}.yaml", tmp_path / "deployer.yaml")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n\n\n"
                                               "def handle(request):\n    return {'status': 200}\n")
    return load_blueprint(tmp_path / "deployer.yaml", stage=STAGES.get(name, "dev"), env=ENV)


def tiny(tmp_path: Path, body: str):
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n")
    (tmp_path / "deployer.yaml").write_text(textwrap.dedent(body))
    return load_blueprint(tmp_path / "deployer.yaml", env=ENV)


def errors(bp) -> list[tuple[str, str]]:
    return [(d.location.path, d.message) for d in GcpProvider().check(bp) if d.severity == "error"]


@pytest.mark.parametrize("name", ["long", "every", "existing"])
def test_review_blueprints_plan_cleanly_and_the_executor_registers_exactly_the_plan(name, tmp_path):
    bp = review(tmp_path, name)
    assert errors(bp) == []
    provider = providers.get("gcp")
    graph = provider.compile(bp, fake_artifacts(bp))
    assert [d for d in plan.check_graph(provider, bp, graph) if d.severity == "error"] == []
    assert_executor_matches_plan(provider, bp, fake_artifacts(bp))


def test_names_at_their_limits_stay_within_what_gcp_accepts(tmp_path):
    """A 24-character app, a 13-character stage, 40-character functions and stores, a 28-character project:
    every physical name is cut with a hash to its GCP limit (Cloud Run service 49, service account 6-30,
    bucket 63, API Gateway ids 63 with the 26 characters Terraform appends to an api config prefix)."""
    p = run_plan(review(tmp_path, "long"))
    names = {(r.type.split(":")[1], r.name): r.inputs for r in p.resources}
    limits = {"cloudfunctionsv2/function": ("name", 48), "serviceaccount/account": ("accountId", 30),
              "storage/bucket": ("name", 63), "apigateway/api": ("apiId", 63), "apigateway/gateway": ("gatewayId", 63),
              "eventarc/trigger": ("name", 63), "firestore/database": ("name", 63)}
    checked = 0
    for (kind, _), inputs in names.items():
        if kind in limits:
            field, most = limits[kind]
            assert len(inputs[field]) <= most, (kind, inputs[field])
            checked += 1
    assert checked > 15
    accounts = [i["accountId"] for (k, _), i in names.items() if k == "serviceaccount/account"]
    assert len(set(accounts)) == len(accounts) and all(len(a) >= 6 for a in accounts)
    assert len(names[("apigateway/apiConfig", "app-api-config")]["apiConfigIdPrefix"]) + 26 <= 63


def test_the_gateway_id_is_cut_to_api_gateways_49_characters(tmp_path):
    """API Gateway takes gateway ids of at most 49 characters (its hostname appends a hash); a 24-character
    app at a 23-character stage made `<app>-<stage>-gw` 51 long, and the first `up` failed at the gateway."""
    shutil.copy(REVIEW / "long.yaml", tmp_path / "deployer.yaml")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n\n\n"
                                               "def handle(request):\n    return {'status': 200}\n")
    bp = load_blueprint(tmp_path / "deployer.yaml", stage="production-europe-west1", env=ENV)
    res = by_name(run_plan(bp))  # the graph checks hold the gateway to 49 too
    gateway = res["app-api-gateway"]["gatewayId"]
    assert len(gateway) <= 49 and gateway.startswith("warehouse-inventory-sync-production-eu")
    assert res["app-api"]["apiId"] == "warehouse-inventory-sync-production-europe-west1-api"  # 52: ids take 63


def test_the_source_bucket_keeps_no_soft_deleted_zips_but_store_buckets_keep_the_default(tmp_path):
    """Cloud Storage soft-deletes by default (7 days, billed): right for a store's data, wasteful for the
    source bucket, whose zips are replaced by every code change and which `destroy` deletes."""
    res = by_name(run_plan(review(tmp_path, "every")))
    assert res["app-source"]["softDeletePolicy"] == {"retentionDurationSeconds": 0}
    assert "softDeletePolicy" not in res["store-media-bucket"]


def test_only_eventarc_reached_functions_have_internal_ingress(tmp_path):
    """Cloud Run admits Pub/Sub push and Cloud Scheduler through internal ingress only on the default
    run.app URL; both call the function's `url` (cloudfunctions.net), so a queue consumer with internal
    ingress would refuse every push. Eventarc triggers address the Cloud Run service: internal stays."""
    res = by_name(run_plan(review(tmp_path, "every")))
    ingress = {name.removeprefix("fn-").removesuffix("-function"): inputs["serviceConfig"]["ingressSettings"]
               for name, inputs in res.items() if name.endswith("-function")}
    assert ingress == {"kitchen": "ALLOW_ALL", "writer": "ALLOW_ALL", "cron": "ALLOW_ALL",  # gateway, scheduler
                       "worker": "ALLOW_ALL", "bulker": "ALLOW_ALL", "nodlqw": "ALLOW_ALL",  # Pub/Sub push
                       "thumbs": "ALLOW_INTERNAL_ONLY", "pdfs": "ALLOW_INTERNAL_ONLY",  # Eventarc
                       "fan1": "ALLOW_INTERNAL_ONLY", "fan2": "ALLOW_INTERNAL_ONLY", "fan3": "ALLOW_INTERNAL_ONLY"}
    assert res["store-jobs-sub"]["pushConfig"]["pushEndpoint"] == "${fn-worker-function.url}/_deployer/push"


def test_publishing_to_an_existing_topic_of_another_project_grants_there(tmp_path):
    """A grant on an existing topic names the topic's own project: with the short name and this project,
    GCP would look for `projects/adopt-proj/topics/company-events` and answer 404 on the first `up`."""
    res = by_name(run_plan(review(tmp_path, "existing")))
    far = {name: res[name]["project"] for name in ("fn-onevent-far-topic-pubsub-publisher",
                                                    "fn-onevent-far-queue-pubsub-publisher")}
    assert far == {"fn-onevent-far-topic-pubsub-publisher": "other-proj-1",
                   "fn-onevent-far-queue-pubsub-publisher": "other-proj-1"}
    assert res["fn-onevent-far-topic-pubsub-publisher"]["topic"] == "${store-far-topic-topic.name}"
    assert res["fn-onjob-local-topic-pubsub-publisher"]["project"] == "adopt-proj"
    assert res["store-far-queue-sub"]["project"] == "adopt-proj"  # the subscription is this project's own
    assert res["store-far-queue-sub"]["topic"] == "projects/other-proj-1/topics/company-jobs"


def test_a_topic_trigger_on_another_projects_topic_is_refused(tmp_path):
    """A function's Pub/Sub (Eventarc) trigger takes a topic of the function's own project; a queue's push
    subscription may read another project's topic, so that is the hint."""
    bp = tiny(tmp_path, """\
        name: far
        clouds: {gcp: {project: here-proj, existing: {news: projects/there-proj/topics/news}}}
        stores:
          news: {kind: topic}
          mine: {kind: topic, existing: projects/here-proj/topics/mine}
        functions:
          f: {code: code, handler: main.run, triggers: [{topic: news}]}
          g: {code: code, handler: main.run, triggers: [{topic: mine}]}
    """)
    diags = [d for d in GcpProvider().check(bp) if d.severity == "error"]
    assert [(d.location.path, d.location.line) for d in diags] == [("functions.f.triggers[0]", 7)]
    assert "'there-proj'" in diags[0].message and "queue" in diags[0].hint


def test_a_trigger_on_an_existing_bucket_warns_once_where_the_bucket_is_named(tmp_path):
    """Eventarc takes a bucket's events only in the bucket's location and project; an existing bucket's are
    unknown offline, so `validate` says where the trigger is created (once per bucket)."""
    bp = review(tmp_path, "existing")
    warned = [d for d in GcpProvider().check(bp) if "is existing" in d.message]
    assert [(d.severity, d.location.path) for d in warned] == [("warning", "stores.legacy-bucket.existing")]
    assert "'us-central1'" in warned[0].message and "'adopt-proj'" in warned[0].message


@pytest.mark.parametrize("name, stores, path", [
    ("goog-shop", "{}", "name"), ("my-google-app", "{}", "name"), ("shop", "{google-files: {kind: bucket}}",
                                                                     "stores.google-files")])
def test_names_gcp_reserves_are_refused(name, stores, path, tmp_path):
    """Cloud Storage refuses bucket names starting with `goog` or containing `google` (Pub/Sub topics too
    refuse a `goog` prefix): every such name starts with `<name>-<stage>`, a bucket's holds its store name."""
    bp = tiny(tmp_path, f"name: {name}\nclouds: {{gcp: {{project: p-123456}}}}\nstores: {stores}\n"
                        "functions: {f: {code: code, handler: main.run}}\n")
    assert [p for p, _ in errors(bp)] == [path]


def test_environment_variables_cloud_run_reserves_are_refused(tmp_path):
    """Cloud Run functions set PORT, K_SERVICE, K_REVISION, FUNCTION_TARGET ... and refuse keys that start
    with X_GOOGLE_: a deploy setting one fails, so `validate` says where."""
    bp = tiny(tmp_path, """\
        name: envs
        clouds: {gcp: {project: p-123456}}
        secrets:
          PORT: {from: env}
        functions:
          f:
            code: code
            handler: main.run
            secrets: [PORT]
            env: {K_SERVICE: x, X_GOOGLE_THING: y, PORTS: fine, LOG_LEVEL: info}
    """)
    assert [p for p, _ in errors(bp)] == ["functions.f.env.K_SERVICE", "functions.f.env.X_GOOGLE_THING", "secrets.PORT"]


def test_a_function_level_warning_is_said_once_for_several_schedules(tmp_path):
    bp = review(tmp_path, "long")
    deadline = [d for d in GcpProvider().check(bp) if "attempt deadline" in d.message]
    assert len(deadline) == 1
