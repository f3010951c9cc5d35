"""GCP tables that already exist: a collection of a Firestore database deployer did not create.

The database is read by its id (never created, changed, kept or imported), the function's account gets
datastore.user / datastore.viewer conditioned on THAT database, the table's locator carries its
project and database to the runtime client, and `validate --cloud gcp` checks the form (docs/gcp.md).
"""

from __future__ import annotations

import json

import pytest
from graph_support import assert_executor_matches_plan
from test_gcp_program import by_name, fake_artifacts, tiny

from conftest import run_cli
from deployer import providers
from deployer.resources import lifecycle

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DATABASE = "gcp:firestore/database:Database"
BINDING = "gcp:projects/iAMMember:IAMMember"

ALL_EXISTING = """\
name: ex
clouds:
  gcp:
    project: p-123456
    existing: {customers: "(default)/customers"}
stores:
  customers: {kind: table, key: email, existing: customers}
  ledger: {kind: table, existing: projects/finance-prj/databases/books/documents/ledger}
  audit: {kind: table, existing: projects/finance-prj/databases/books/documents/audit}
functions:
  f: {code: code, handler: main.run, uses: {customers: read, ledger: read, audit: read-write}}
  g: {code: code, handler: main.run, uses: {customers: read-write}}
"""

MIXED = """\
name: mix
clouds: {gcp: {project: p-123456}}
stores:
  orders: {kind: table}
  customers: {kind: table, existing: crm-db/customers}
functions:
  api: {code: code, handler: main.run, uses: {orders: read-write, customers: read}}
  report: {code: code, handler: main.run, uses: {customers: read}}
"""


def firestore_bindings(p) -> dict[str, tuple[str, str, str, str]]:
    """name -> (project, role, member, condition expression) of every Firestore data binding."""
    return {r.name: (r.inputs["project"], r.inputs["role"], r.inputs["member"], r.inputs["condition"]["expression"])
            for r in p.resources if r.type == BINDING and r.inputs["role"].startswith("roles/datastore.")}


def env_of(p, function: str) -> dict:
    return by_name(p)[f"fn-{function}-function"]["serviceConfig"]["environmentVariables"]


def test_existing_tables_read_their_databases_and_the_apps_own_is_not_declared(tmp_path):
    bp = tiny(tmp_path, ALL_EXISTING)
    p = assert_executor_matches_plan(providers.get("gcp"), bp, fake_artifacts(bp))
    databases = {r.name: (r.inputs, r.options) for r in p.resources if r.type == DATABASE}
    assert databases == {  # two databases, each read once (ledger and audit share one), none created
        "store-customers-database": ({}, {"read": "projects/p-123456/databases/(default)"}),
        "store-ledger-database": ({}, {"read": "projects/finance-prj/databases/books"})}
    assert p.outputs["stores"] == {"customers": "projects/p-123456/databases/(default)/documents/customers",
                                   "ledger": "projects/finance-prj/databases/books/documents/ledger",
                                   "audit": "projects/finance-prj/databases/books/documents/audit"}
    env = env_of(p, "f")
    assert "DEPLOYER_GCP_DATABASE" not in env  # every table's locator names its own database
    assert (env["DEPLOYER_STORE_LEDGER"], env["DEPLOYER_KEY_CUSTOMERS"]) == (
        "projects/finance-prj/databases/books/documents/ledger", "email")


def test_grants_name_the_existing_database_one_binding_per_function_and_database(tmp_path):
    p = assert_executor_matches_plan(providers.get("gcp"), bp := tiny(tmp_path, ALL_EXISTING), fake_artifacts(bp))
    f, g = "${fn-f-account.member}", "${fn-g-account.member}"
    default, books = ('resource.name == "projects/p-123456/databases/(default)"',
                      'resource.name == "projects/finance-prj/databases/books"')
    assert firestore_bindings(p) == {
        "fn-f-firestore-(default)-datastore-viewer": ("p-123456", "roles/datastore.viewer", f, default),
        # ledger (read) and audit (read-write) share a database: one binding, the larger role
        "fn-f-firestore-finance-prj.books-datastore-user": ("finance-prj", "roles/datastore.user", f, books),
        "fn-g-firestore-(default)-datastore-user": ("p-123456", "roles/datastore.user", g, default)}
    conditions = [r.inputs["condition"]["title"] for r in p.resources if r.type == BINDING
                  and r.inputs["role"].startswith("roles/datastore.")]
    assert sorted(conditions) == ["only database (default) of p-123456", "only database (default) of p-123456",
                                  "only database books of finance-prj"]


def test_created_and_existing_tables_together(tmp_path):
    bp = tiny(tmp_path, MIXED)
    p = assert_executor_matches_plan(providers.get("gcp"), bp, fake_artifacts(bp))
    res = {r.name: r for r in p.resources}
    assert res["app-firestore"].inputs["name"] == "mix-dev-db" and "read" not in res["app-firestore"].options
    assert res["store-customers-database"].options == {"read": "projects/p-123456/databases/crm-db"}
    assert firestore_bindings(p) == {  # the app's own binding keeps its name
        "fn-api-datastore-user": ("p-123456", "roles/datastore.user", "${fn-api-account.member}",
                                  'resource.name == "projects/p-123456/databases/mix-dev-db"'),
        "fn-api-firestore-crm-db-datastore-viewer": ("p-123456", "roles/datastore.viewer", "${fn-api-account.member}",
                                                     'resource.name == "projects/p-123456/databases/crm-db"'),
        "fn-report-firestore-crm-db-datastore-viewer": ("p-123456", "roles/datastore.viewer",
                                                        "${fn-report-account.member}",
                                                        'resource.name == "projects/p-123456/databases/crm-db"')}
    assert env_of(p, "api")["DEPLOYER_GCP_DATABASE"] == "mix-dev-db"
    assert env_of(p, "api")["DEPLOYER_STORE_ORDERS"] == "mix-dev-orders"
    assert "DEPLOYER_GCP_DATABASE" not in env_of(p, "report")
    assert env_of(p, "report")["DEPLOYER_STORE_CUSTOMERS"] == "projects/p-123456/databases/crm-db/documents/customers"


@pytest.mark.parametrize("keep_data", [True, False])
def test_an_existing_database_is_never_kept_deleted_or_imported(tmp_path, keep_data):
    bp = tiny(tmp_path, ALL_EXISTING)
    graph = providers.get("gcp").compile(bp, fake_artifacts(bp), keep_data=keep_data)
    read = [r for r in graph.resources if r.type == DATABASE]
    assert [(r.inputs, r.options.retain_on_delete, r.options.read_id is not None) for r in read] == [
        ({}, False, True), ({}, False, True)]
    record = {r.name: {"type": DATABASE, "id": r.options.read_id} for r in read}  # even if a record named them
    adopted = lifecycle.adopt(graph, record, providers.get("gcp").graph_rules().not_adopted)
    assert not [r.name for r in adopted.resources if r.options.import_id]


# ------------------------------------------------------------------------------------------ the form

@pytest.mark.parametrize("text, expected", [
    ("(default)/customers", ("p-123456", "(default)", "customers")),
    ("crm-db/customers", ("p-123456", "crm-db", "customers")),
    ("projects/other-prj/databases/(default)/documents/people", ("other-prj", "(default)", "people")),
    ("projects/example.com:corp-prj/databases/crm-db/documents/Customers 2", ("example.com:corp-prj", "crm-db",
                                                                               "Customers 2")),
])
def test_the_forms_an_existing_table_takes(text, expected):
    from providers.gcp.tables import parse_existing

    found = parse_existing(text, "p-123456")
    assert (found.project, found.database, found.collection) == expected
    assert found.path == f"projects/{expected[0]}/databases/{expected[1]}/documents/{expected[2]}"


@pytest.mark.parametrize("text, why", [
    ("customers", "names no database"),
    ("CRM/customers", "'CRM' is not a Firestore database id"),
    ("db/customers", "'db' is not a Firestore database id"),  # at least 4 characters
    ("(default)/users/u1/orders", "not a top-level collection id"),
    ("(default)/__stats__", "a collection id Firestore reserves"),
    ("projects/P!/databases/(default)/documents/c", "'P!' is not a project id"),
])
def test_malformed_forms_say_why(text, why):
    from providers.gcp.tables import parse_existing

    assert why in parse_existing(text, "p-123456")


def test_validate_refuses_a_malformed_existing_table_with_its_line_and_the_forms(tmp_path):
    tiny(tmp_path, MIXED.replace("crm-db/customers", "customers"))
    done = run_cli("validate", "--cloud", "gcp", "-f", str(tmp_path / "deployer.yaml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    text = done.stdout + done.stderr
    assert "deployer.yaml:5" in text and "stores.customers.existing" in text
    assert "'customers' is no Firestore collection on GCP: it names no database" in text
    assert "(default)/<collection>" in text and "projects/<project>/databases/<database>/documents/<collection>" in text
    assert run_cli("plan", "--cloud", "gcp", "-f", str(tmp_path / "deployer.yaml")).returncode == 2


def test_a_per_cloud_form_is_located_under_clouds_gcp_existing(tmp_path):
    bp = tiny(tmp_path, ALL_EXISTING.replace('"(default)/customers"', "bad"))
    found = [(d.severity, d.location.path, d.location.line) for d in providers.get("gcp").check(bp)]
    assert found == [("error", "clouds.gcp.existing.customers", 5)]


def test_the_apps_own_database_is_refused_while_deployer_creates_it(tmp_path):
    bp = tiny(tmp_path, MIXED.replace("crm-db/customers", "mix-dev-db/customers"))
    found = [(d.location.path, d.message) for d in providers.get("gcp").check(bp)]
    assert [path for path, _ in found] == ["stores.customers.existing"]
    assert "this app's own database 'projects/p-123456/databases/mix-dev-db'" in found[0][1]
    alone = tiny(tmp_path, ALL_EXISTING.replace('"(default)/customers"', "ex-dev-db/customers"))
    assert providers.get("gcp").check(alone) == []  # no table creates it: another existing database (a kept one)


def test_plan_counts_existing_databases_as_read_not_created(tmp_path):
    tiny(tmp_path, ALL_EXISTING)
    done = run_cli("plan", "--cloud", "gcp", "-f", str(tmp_path / "deployer.yaml"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.split()[:3] == ["=", "firestore.Database", "store-customers-database"] for line in lines)
    data = json.loads(run_cli("plan", "--cloud", "gcp", "--json", "-f", str(tmp_path / "deployer.yaml")).stdout)
    created = len([r for r in data["resources"] if "read" not in r.get("options", {})])
    assert lines[-1].startswith(f"{created} resources to create and 2 existing referenced in ")


# ------------------------------------------------------------------------------ the runtime client

def test_the_client_writes_each_table_to_its_own_database(monkeypatch):
    """Against the Firestore fake (real SDK, real gRPC): a created table lands in DEPLOYER_GCP_DATABASE of
    DEPLOYER_GCP_PROJECT, an existing one in the project and database its locator names."""
    from fixtures.events.shimkit import set_env
    from fixtures.gcp_fakes import fake

    from deployer.runtime import stores
    from deployer.runtime.clients import gcp

    firestore = fake("firestore")
    gcp.reset()
    set_env(monkeypatch, {"FIRESTORE_EMULATOR_HOST": firestore.host, "DEPLOYER_GCP_PROJECT": "portable-demo",
                          "DEPLOYER_CLOUD": "gcp", "DEPLOYER_GCP_DATABASE": "app-dev-db",
                          "DEPLOYER_STORE_ORDERS": "app-dev-orders", "DEPLOYER_KEY_ORDERS": "id",
                          "DEPLOYER_STORE_PEOPLE": "projects/crm-prj/databases/(default)/documents/people",
                          "DEPLOYER_KEY_PEOPLE": "email"})
    stores.table("orders").put("o/1", {"total": 3})
    stores.table("people").put("ada@example.com", {"name": "Ada"})
    assert {"projects/portable-demo/databases/app-dev-db/documents/app-dev-orders/o%2F1",
            "projects/crm-prj/databases/(default)/documents/people/ada@example.com"} <= set(firestore.documents)
    assert stores.table("people").get("ada@example.com") == {"name": "Ada", "email": "ada@example.com"}
    assert [i["email"] for i in stores.table("people").scan("ada")] == ["ada@example.com"]
    assert stores.table("orders").get("ada@example.com") is None  # another database: not there


def test_the_ejected_program_reads_the_existing_databases(tmp_path):
    """Logical names like `fn-f-firestore-(default)-datastore-viewer` survive eject; the databases are `get`s."""
    from graph_support import run_ejected
    from toy_provider import toy_artifacts

    from deployer import plan
    from deployer.resources.eject import eject

    bp = tiny(tmp_path, ALL_EXISTING)
    artifacts = toy_artifacts(bp, tmp_path)
    provider = providers.get("gcp")
    graph = provider.compile(bp, artifacts)
    eject(graph, provider.sdk_index(), tmp_path / "infra", blueprint="deployer.yaml", pulumi_version="3.0.0")
    program = (tmp_path / "infra" / "__main__.py").read_text()
    assert 'Database.get("store-customers-database", "projects/p-123456/databases/(default)")' in program
    registered, _ = run_ejected(provider, graph, tmp_path / "infra")
    assert registered == {(r.type, r.name): r.inputs for r in plan.render(provider, bp, graph).resources}
