"""Azure, reviewed the way Azure's engineers would: what ARM answers on a first `up`, a second `up` and an
`up` after `destroy`, on blueprints unlike the examples (names at their limits, odd but valid names,
secrets, long-running topic consumers). Each test names the defect it guards and the source that
says what Azure answers.

- Key Vault names may not hold consecutive hyphens (Microsoft's naming rules; PSRule's
  Azure.KeyVault.Name): a blueprint named `a-` or `a--b` made `a--dev-kv-...`, which ARM refuses.
- A deleted vault is soft-deleted and keeps its name (7 days here), so a vault deleted by a plain
  `destroy` made the next `up` fail with `409 ConflictError: A vault with the same name already exists
  in deleted state` (alan-turing-institute/data-safe-haven#2523, with azure-native). azure-native deletes
  a secret through Key Vault's data plane (its custom_keyvault.go), which an `up` run by an Owner of an
  RBAC vault may not do (403), and a deleted secret keeps its name as well (pulumi-azure-native#1174).
- An API Management instance is soft-deleted for 48 hours on every tier (learn.microsoft.com,
  api-management/soft-delete): its name cannot be reused meanwhile.
- The Service Bus trigger renews a message's lock for 5 minutes by default (ServiceBusProcessorOptions.
  MaxAutoLockRenewalDuration; azure-functions-host#1026): a consumer running longer loses its lock and
  the message is delivered again while it still runs.
- App settings are one namespace: a secret named like a setting deployer or the platform owns would
  replace it (AZURE_CLIENT_ID, WEBSITE_*...), as an `env` entry would.
- Containers, queues, subscriptions and named values collapse doubled hyphens, so two functions `f--g`
  and `f-g` would share their event queues, Service Bus subscriptions and gateway key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import tiny_blueprint
from deployer import plan, secrets
from providers.azure import names, package, rules
from providers.azure.provider import AzureProvider
from test_azure_plan import SUBSCRIPTION, fake_artifacts

PROVIDER = AzureProvider()


@pytest.fixture(autouse=True)
def subscription(monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)


def planned(bp) -> dict[str, plan.PlannedResource]:
    with secrets.placeholders():
        return {r.name: r for r in plan.run(PROVIDER, bp, fake_artifacts(bp)).resources}


SECRETS = """
name: {name}
secrets: {{API_KEY: {{from: env}}}}
functions:
  api:
    code: fn
    handler: main.run
    secrets: [API_KEY]
    triggers: [{{http: GET /a}}]
"""


@pytest.mark.parametrize("name", ["a-", "a--b", "ledger"])
def test_vault_names_hold_no_consecutive_hyphens(tmp_path, name):
    bp = tiny_blueprint(tmp_path, SECRETS.format(name=name), code="fn")
    vault = planned(bp)["app-vault"].inputs["vaultName"]
    assert "--" not in vault and re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", vault)
    assert vault.endswith(names.subscription_tag(SUBSCRIPTION) + vault[-4:])  # still worldwide-unique


def test_the_vault_rule_refuses_consecutive_hyphens():
    rule = rules.rules(SUBSCRIPTION).names["azure-native:keyvault:Vault"]
    assert re.fullmatch(rule.pattern, "orders-dev-kv-abc123")
    assert not re.fullmatch(rule.pattern, "orders--dev-kv-abc123")


def test_a_plain_destroy_keeps_the_vault_and_its_secrets(tmp_path):
    bp = tiny_blueprint(tmp_path, SECRETS.format(name="shop"), code="fn")
    kept = {r.name for r in PROVIDER.compile(bp, fake_artifacts(bp)).retained()}
    assert {"app-vault", "app-secret-API_KEY"} <= kept


def test_secrets_are_never_deleted_through_the_data_plane(tmp_path):
    """`destroy --delete-data` deletes the vault (and so every secret in it); the secrets themselves
    are only forgotten, never deleted one by one (a data-plane call the deploying Owner may not make)."""
    bp = tiny_blueprint(tmp_path, SECRETS.format(name="shop"), code="fn")
    kept = {r.name for r in PROVIDER.compile(bp, fake_artifacts(bp), keep_data=False).retained()}
    assert kept == {"app-secret-API_KEY"}


def test_a_plain_destroy_keeps_the_gateway(tmp_path):
    bp = tiny_blueprint(tmp_path, SECRETS.format(name="shop"), code="fn")
    assert "app-gateway" in {r.name for r in PROVIDER.compile(bp, fake_artifacts(bp)).retained()}
    assert "app-gateway" not in {r.name for r in PROVIDER.compile(bp, fake_artifacts(bp), keep_data=False).retained()}


TOPICS = """
name: alerts
stores: {signals: {kind: topic}}
functions:
  slow: {code: fn, handler: main.run, timeout: 1800, triggers: [{topic: signals}]}
  quick: {code: fn, handler: main.run, timeout: 30, triggers: [{topic: signals}]}
  hour: {code: fn, handler: main.run, timeout: 3600, triggers: [{topic: signals}]}
  web: {code: fn, handler: main.run, triggers: [{http: GET /a}]}
"""


def test_topic_consumers_keep_their_message_lock_for_their_whole_timeout(tmp_path):
    bp = tiny_blueprint(tmp_path, TOPICS, code="fn")
    renew = {fn: package.host_json(bp, fn)["extensions"].get("serviceBus", {}).get("maxAutoLockRenewalDuration")
             for fn in bp.functions}
    assert renew == {"slow": "00:30:00", "quick": "00:05:00", "hour": "01:00:00", "web": None}
    assert json.loads(package.files(bp, "slow")["host.json"])["functionTimeout"] == "00:30:00"


RESERVED_SECRETS = """
name: shop
secrets: {{{secret}: {{from: env}}}}
functions:
  api: {{code: fn, handler: main.run, secrets: [{secret}], triggers: [{{http: GET /a}}]}}
"""


@pytest.mark.parametrize("secret", ["AZURE_CLIENT_ID", "WEBSITE_RUN_FROM_PACKAGE", "FUNCTIONS_WORKER_RUNTIME",
                                    "APPLICATIONINSIGHTS_CONNECTION_STRING", "AZUREWEBJOBSSTORAGE"])
def test_a_secret_named_like_a_reserved_app_setting_is_refused(tmp_path, secret):
    bp = tiny_blueprint(tmp_path, RESERVED_SECRETS.format(secret=secret), code="fn")
    found = [d for d in PROVIDER.check(bp) if d.severity == "error"]
    assert [(d.location.path, secret in d.message) for d in found] == [("functions.api.secrets[0]", True)]


def test_an_ordinary_secret_name_is_accepted(tmp_path):
    bp = tiny_blueprint(tmp_path, RESERVED_SECRETS.format(secret="STRIPE_KEY"), code="fn")
    assert [d for d in PROVIDER.check(bp) if d.severity == "error"] == []


TWINS = """
name: shop
stores: {up: {kind: bucket}, events: {kind: topic}}
functions:
  f--g: {code: fn, handler: main.run, triggers: [{bucket: up}, {topic: events}, {http: GET /a}]}
  f-g: {code: fn, handler: main.run, triggers: [{bucket: up}, {topic: events}, {http: GET /b}]}
"""


def test_functions_whose_azure_names_collide_are_refused(tmp_path):
    bp = tiny_blueprint(tmp_path, TWINS, code="fn")
    found = [d for d in PROVIDER.check(bp) if d.severity == "error"]
    assert [(d.location.path, "'f--g'" in d.message and "'f-g'" in d.message) for d in found] == [
        ("functions.f-g", True)]


def test_functions_with_distinct_azure_names_pass(tmp_path):
    bp = tiny_blueprint(tmp_path, TWINS.replace("f-g:", "fg:"), code="fn")
    assert [d for d in PROVIDER.check(bp) if d.severity == "error"] == []


# -- the review's blueprints: every trigger kind, names at their limits, every store kind and right ----

REVIEW = Path(__file__).resolve().parent / "fixtures" / "azure_review"
CASES = {"limits": "production-europe-west-canary-0001", "stores": "dev", "fanout": "dev", "odd": "s-"}


def review(name: str):
    from deployer.blueprint.load import load_blueprint

    return load_blueprint(REVIEW / name / "deployer.yaml", stage=CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_review_blueprints_pass_check_and_the_graph_rules_and_the_executor_registers_the_plan(name):
    from graph_support import assert_executor_matches_plan

    bp = review(name)
    assert [d.message for d in PROVIDER.check(bp) if d.severity == "error"] == []
    with secrets.placeholders():
        plan.run(PROVIDER, bp, fake_artifacts(bp))  # the graph rules: names, lengths, worldwide tags
        assert_executor_matches_plan(PROVIDER, bp, fake_artifacts(bp))


@pytest.mark.parametrize("name", sorted(CASES))
def test_review_blueprints_role_assignments_are_unique_guids_scoped_below_accounts(name):
    """Role assignment names are GUIDs unique per tenant; ARM refuses a changed principal or scope under
    the same name, so no two assignments may share one. No scope is an account, namespace, vault or group."""
    bp = review(name)
    roles = [r.inputs for r in planned(bp).values() if r.type == "azure-native:authorization:RoleAssignment"]
    guids = [r["roleAssignmentName"] for r in roles]
    assert len(set(guids)) == len(guids) and all(re.fullmatch(r"[0-9a-f-]{36}", g) for g in guids)
    for role in roles:
        assert re.search(r"/(containers|queues|tables|topics|subscriptions|secrets)/[^/]+$", role["scope"]), role


def test_the_long_blueprint_keeps_every_name_within_azure_limits():
    bp = review("limits")
    res = planned(bp)
    by_type = {}
    for r in res.values():
        by_type.setdefault(r.type.split(":")[-1], []).append(r.inputs)
    assert all(len(a["accountName"]) <= 24 for a in by_type["StorageAccount"])
    assert all(len(s["name"]) <= names.SITE_MAX for s in by_type["WebApp"])
    assert all(len(q["queueName"]) <= 63 for q in by_type["Queue"])
    assert all(len(s["eventSubscriptionName"]) <= 64 for s in by_type["SystemTopicEventSubscription"])
    apps = {s["name"] for s in by_type["WebApp"]}
    assert len({names.host_id(a) for a in apps}) == len(apps)  # no two apps share a Functions host id
    flex = [s["functionAppConfig"]["scaleAndConcurrency"] for s in by_type["WebApp"]]
    assert {f["instanceMemoryMB"] for f in flex} == {512, 2048, 4096}
    assert {f["maximumInstanceCount"] for f in flex} == {40, 1000}
    assert len(by_type["SystemTopic"]) == 1  # Event Grid allows one system topic per storage account


DERIVED = """
name: shop
stores:
  jobs: {kind: queue}
  jobs-poison: {kind: queue}
  uploads: {kind: bucket}
  resize-events0: {kind: queue}
functions:
  resize: {code: fn, handler: main.run, triggers: [{bucket: uploads}]}
"""


def test_a_store_named_like_a_derived_queue_is_refused(tmp_path):
    """`jobs-poison` is the runtime's poison queue of `jobs`, and `resize-events0` the queue Event Grid
    fills for resize's bucket trigger: each store would be that queue (one physical queue, two owners)."""
    bp = tiny_blueprint(tmp_path, DERIVED, code="fn")
    found = {d.location.path: d.message for d in PROVIDER.check(bp) if d.severity == "error"}
    assert found == {
        "stores.jobs-poison": "store 'jobs-poison' and the poison queue of store 'jobs' would both be the Azure "
                              "queue 'shop-dev-jobs-poison'",
        "stores.resize-events0": "store 'resize-events0' and the event queue of function 'resize' (triggers[0]) "
                                 "would both be the Azure queue 'shop-dev-resize-events0'"}


def test_a_bucket_named_like_a_host_container_is_refused(tmp_path):
    from deployer.blueprint.load import load_blueprint

    tiny_blueprint(tmp_path, "name: azure\nstores: {hosts: {kind: bucket}}\n", code="fn")
    bp = load_blueprint(tmp_path / "deployer.yaml", stage="webjobs")
    found = {d.location.path: d.message for d in PROVIDER.check(bp) if d.severity == "error"}
    assert found == {"stores.hosts": "store 'hosts' and the Functions host's container would both be the Azure "
                                     "container 'azure-webjobs-hosts'"}
