"""GCP identities and grants: least privilege stated as a table, secrets, shared project bindings, builds.

The table below is written from the blueprints' `uses` and triggers by hand (docs/gcp.md, "Identities
and least privilege"), not derived from the provider: each function's runtime account (`run`) and
invoker account (`inv`) must hold exactly these roles, on exactly these targets, in every example.
"""

from __future__ import annotations

import json
import re

import pytest
from test_gcp_program import example_plan, run_plan, tiny

from conftest import EXAMPLES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DB, VIEWER, USER = "firestore database", "roles/datastore.viewer", "roles/datastore.user"
READ, WRITE, PUBLISH = "roles/storage.objectViewer", "roles/storage.objectUser", "roles/pubsub.publisher"
INVOKE, RECEIVE = "roles/run.invoker", "roles/eventarc.eventReceiver"

#: example -> function -> {(account, role, target)}: what `uses` and the triggers imply, per access word.
LEAST_PRIVILEGE = {
    "orders": {
        "api": {("run", USER, DB), ("run", PUBLISH, "topic events"), ("run", PUBLISH, "topic fulfilment")},
        "notify": {("run", USER, DB), ("inv", INVOKE, "function notify")},
        "worker": {("run", USER, DB), ("inv", INVOKE, "function worker")},  # consume: pushed, nothing to grant
    },
    "images": {
        "resize": {("run", READ, "bucket uploads"), ("run", WRITE, "bucket thumbnails"),
                   ("inv", INVOKE, "function resize"), ("inv", RECEIVE, "project")},
        "cleanup": {("run", WRITE, "bucket thumbnails"), ("inv", INVOKE, "function cleanup"),
                    ("inv", RECEIVE, "project")},
        "api": {("run", WRITE, "bucket uploads"), ("run", READ, "bucket thumbnails")},
    },
    "iot": {
        "ingest": {("run", PUBLISH, "topic readings"), ("run", "roles/secretmanager.secretAccessor", "secret ingest-token")},
        "analyse": {("run", USER, DB), ("run", PUBLISH, "topic alerts"), ("inv", INVOKE, "function analyse")},
        "alert": {("run", WRITE, "bucket archive"), ("inv", INVOKE, "function alert")},
    },
    "report": {
        "record": {("run", USER, DB)},
        "read-report": {("run", READ, "bucket reports")},
        "nightly": {("run", VIEWER, DB), ("run", WRITE, "bucket reports"), ("inv", INVOKE, "function nightly")},
        "snapshot": {("run", VIEWER, DB), ("run", WRITE, "bucket reports"), ("inv", INVOKE, "function snapshot")},
    },
}


def target(res, app: str) -> str:
    """What a binding is on, in the table's words."""
    inputs = res.inputs
    match res.type:
        case "gcp:storage/bucketIAMMember:BucketIAMMember":
            return "bucket " + re.fullmatch(r"\$\{store-(.+)-bucket\.name\}", inputs["bucket"]).group(1)
        case "gcp:pubsub/topicIAMMember:TopicIAMMember":
            return "topic " + re.fullmatch(r"\$\{store-(.+)-(topic|dlq)\.name\}", inputs["topic"]).group(1)
        case "gcp:projects/iAMMember:IAMMember":
            return DB if "/databases/" in inputs.get("condition", {}).get("expression", "") else "project"
        case "gcp:cloudrunv2/serviceIamMember:ServiceIamMember":
            return "function " + inputs["name"].removeprefix(app + "-")
        case "gcp:secretmanager/secretIamMember:SecretIamMember":
            return "secret " + re.fullmatch(r"\$\{app-secret-(.+)\.secret_id\}", inputs["secretId"]).group(1)
    raise AssertionError(f"a binding the table does not know: {res.type}")


def held(p, function: str) -> set[tuple[str, str, str]]:
    """Every binding whose member is one of the function's two accounts."""
    accounts = {"${fn-%s-account.member}" % function: "run", "${fn-%s-invoker.member}" % function: "inv"}
    return {(accounts[r.inputs["member"]], r.inputs["role"], target(r, p.app)) for r in p.resources
            if r.inputs.get("member") in accounts}


def test_the_table_covers_every_example():
    assert sorted(LEAST_PRIVILEGE) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_function_holds_exactly_what_its_uses_and_triggers_imply(name):
    bp, p = example_plan(name)
    assert set(LEAST_PRIVILEGE[name]) == set(bp.functions)
    for function, expected in LEAST_PRIVILEGE[name].items():
        assert held(p, function) == expected, function


def test_firestore_grants_are_narrowed_to_the_apps_database():
    _, p = example_plan("report")
    res = {r.name: r.inputs for r in p.resources}
    assert res["fn-nightly-datastore-viewer"]["condition"] == {
        "title": "only report-dev database", "description": "deployer: Firestore roles have no grain below the database",
        "expression": 'resource.name == "projects/report-demo/databases/report-dev-db"'}
    assert res["app-firestore"] == {"name": "report-dev-db", "project": "report-demo", "locationId": "us-central1",
                                    "type": "FIRESTORE_NATIVE", "deletionPolicy": "ABANDON"}


# ------------------------------------------------------------------------------------------- secrets

def test_secrets_live_in_secret_manager_readable_by_granted_functions_only():
    _, p = example_plan("iot")
    res = {r.name: r for r in p.resources}
    assert res["app-secret-ingest-token"].inputs == {"secretId": "iot-dev-ingest-token", "project": "iot-demo",
                                                     "replication": {"auto": {}}, "labels": {"deployer-app": "iot-dev"}}
    assert res["app-secret-ingest-token-version"].inputs == {"secret": "${app-secret-ingest-token.id}",
                                                             "secretData": "[secret]"}
    ingest = res["fn-ingest-function"].inputs["serviceConfig"]
    assert "INGEST_TOKEN" not in ingest["environmentVariables"]  # never plain environment
    assert ingest["secretEnvironmentVariables"] == [{
        "key": "INGEST_TOKEN", "projectId": "iot-demo", "secret": "${app-secret-ingest-token.secret_id}",
        "version": "${app-secret-ingest-token-version.version}"}]
    accessors = [r for r in p.resources if r.type == "gcp:secretmanager/secretIamMember:SecretIamMember"]
    assert [(r.name, r.inputs["member"]) for r in accessors] == [("fn-ingest-secret-ingest-token",
                                                                  "${fn-ingest-account.member}")]
    assert "fn-ingest-secret-ingest-token" in res["fn-ingest-function"].options["depends_on"]
    assert "secretEnvironmentVariables" not in res["fn-analyse-function"].inputs["serviceConfig"]
    assert "test-token" not in json.dumps([r.inputs for r in p.resources])


def test_secret_granted_to_two_functions_is_one_secret_with_two_accessors(tmp_path):
    bp = tiny(tmp_path, "name: sec\nclouds: {gcp: {project: p-123456}}\nsecrets: {API_KEY: {from: env}}\n"
                        "functions:\n  a: {code: code, handler: main.run, secrets: [API_KEY]}\n"
                        "  b: {code: code, handler: main.run, secrets: [API_KEY]}\n  c: {code: code, handler: main.run}\n")
    p = run_plan(bp)
    kinds = [(r.type.rsplit(":", 1)[-1], r.name) for r in p.resources if "secret" in r.type]
    assert sorted(kinds) == [("Secret", "app-secret-api-key"), ("SecretIamMember", "fn-a-secret-api-key"),
                             ("SecretIamMember", "fn-b-secret-api-key"), ("SecretVersion", "app-secret-api-key-version")]


# --------------------------------------------------------------------------- bindings shared by stacks

@pytest.mark.parametrize("name", EXAMPLES)
def test_one_project_binding_per_role_member_and_condition(name):
    _, p = example_plan(name)
    seen = [(r.inputs["role"], r.inputs["member"], json.dumps(r.inputs.get("condition"), sort_keys=True))
            for r in p.resources if r.type == "gcp:projects/iAMMember:IAMMember"]
    assert len(seen) == len(set(seen))


def test_a_function_using_two_tables_gets_one_firestore_binding(tmp_path):
    bp = tiny(tmp_path, "name: two\nclouds: {gcp: {project: p-123456}}\n"
                        "stores: {a: {kind: table, key: id}, b: {kind: table, key: id}}\n"
                        "functions:\n  f: {code: code, handler: main.run, uses: {a: read, b: read-write}}\n")
    bindings = [r.name for r in run_plan(bp).resources if r.type == "gcp:projects/iAMMember:IAMMember"
                and r.inputs["role"].startswith("roles/datastore.")]
    assert bindings == ["fn-f-datastore-user"]


def test_the_grant_every_stack_of_a_project_shares_is_kept_on_destroy():
    _, p = example_plan("images")
    shared = {r.name: r for r in p.resources}["app-gcs-agent-pubsub-publisher"]
    assert shared.inputs == {"project": "images-demo", "role": "roles/pubsub.publisher",
                             "member": "${getProjectServiceAccount.member}"}
    assert shared.options["retain_on_delete"] is True
    stack_own = [r.name for r in p.resources if r.type == "gcp:projects/iAMMember:IAMMember"
                 and r.options.get("retain_on_delete")]
    # the others name this stack's accounts
    assert stack_own == ["app-eventarc-agent-serviceagent", "app-gcs-agent-pubsub-publisher"]


def test_event_triggers_wait_for_the_eventarc_agent_created_with_its_role():
    """A fresh project has no Eventarc service agent when the API is enabled; creating an event trigger
    before it exists fails ("Permission denied while using the Eventarc Service Agent"). The agent is
    created explicitly, granted its role (a grant every stack shares: kept), and every function with an
    event trigger, and every extra Eventarc trigger, waits for it."""
    _, p = example_plan("images")
    res = {r.name: r for r in p.resources}
    assert res["app-eventarc-agent"].type == "gcp:projects/serviceIdentity:ServiceIdentity"
    assert res["app-eventarc-agent"].inputs == {"project": "images-demo", "service": "eventarc.googleapis.com"}
    assert "app-api-eventarc" in res["app-eventarc-agent"].options["depends_on"]
    role = res["app-eventarc-agent-serviceagent"]
    assert role.inputs == {"project": "images-demo", "role": "roles/eventarc.serviceAgent",
                           "member": "${app-eventarc-agent.member}"}
    assert role.options["retain_on_delete"] is True
    for fn in ("resize", "cleanup"):
        assert "app-eventarc-agent-serviceagent" in res[f"fn-{fn}-function"].options["depends_on"]
    assert not [r for r in example_plan("report")[1].resources if "eventarc" in r.name]  # no event trigger there
    _, orders = example_plan("orders")
    need = {r.name for r in orders.resources if "app-eventarc-agent-serviceagent" in r.options.get("depends_on", [])}
    assert need == {"fn-notify-function"}  # the queue's worker and the HTTP api have no Eventarc trigger


# --------------------------------------------------------------------------------------------- builds

def test_functions_build_as_the_apps_build_account_with_the_documented_roles():
    _, p = example_plan("orders")
    res = {r.name: r for r in p.resources}
    assert res["app-build-account"].inputs["accountId"] == "orders-dev-build"
    roles = {r.inputs["role"]: r.inputs for r in p.resources if r.inputs.get("member") == "${app-build-account.member}"}
    assert sorted(roles) == ["roles/artifactregistry.writer", "roles/logging.logWriter", "roles/storage.objectAdmin"]
    assert roles["roles/storage.objectAdmin"]["condition"]["expression"] == (
        'resource.name.startsWith("projects/_/buckets/orders-dev-source-orders-demo") || '
        'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")')
    for fn in ("api", "notify", "worker"):
        assert res[f"fn-{fn}-function"].inputs["buildConfig"]["serviceAccount"] == "${app-build-account.name}"
        assert {"app-build-logging-logwriter", "app-build-artifactregistry-writer",
                "app-build-storage-objectadmin"} <= set(res[f"fn-{fn}-function"].options["depends_on"])


def test_no_public_access_anywhere():
    for name in EXAMPLES:
        _, p = example_plan(name)
        text = json.dumps([r.inputs for r in p.resources])
        assert "allUsers" not in text and "allAuthenticatedUsers" not in text
        assert not [r for r in p.resources if r.type.startswith("gcp:projects/iAM") and "Member" not in r.type]


def test_after_a_keeping_destroy_only_the_stores_are_imported():
    """A keeping destroy records every retained resource; the next up imports the stores' resources and
    declares the shared project grant again (adding an existing member is accepted; its state id,
    `project/role/member`, is no import id)."""
    from deployer.resources.lifecycle import adopt

    _, p = example_plan("images")
    record = {"store-uploads-bucket": {"type": "gcp:storage/bucket:Bucket", "id": "images-dev-uploads-images-demo"},
              "app-gcs-agent-pubsub-publisher": {"type": "gcp:projects/iAMMember:IAMMember",
                                                 "id": "images-demo/roles/pubsub.publisher/serviceAccount:x"}}
    from deployer import providers

    skip = providers.get("gcp").graph_rules().not_adopted
    adopted = {r.name: r.options.import_id for r in adopt(p.graph, record, skip).resources if r.options.import_id}
    assert adopted == {"store-uploads-bucket": "images-dev-uploads-images-demo"}
