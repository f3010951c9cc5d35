"""Stores across deploys (deployer/resources/lifecycle.py and the engine): adopt what `destroy` kept,
refuse a change that replaces a stateful store, replace one only when asked."""

from __future__ import annotations

import json

import pytest

from conftest import tiny_blueprint
from deployer import engine, providers
from deployer.errors import BlueprintError
from deployer.providers import EngineOptions
from deployer.resources import lifecycle
from graph_support import executor_registrations, expected_options, recording_monitor
from toy_provider import YAML, ToyProvider, toy_artifacts

WITH_TABLE = YAML.replace("  uploads: {kind: bucket}\n", "  uploads: {kind: bucket}\n  orders: {kind: table, key: id}\n")


def test_fingerprints_name_kind_and_table_key(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    assert lifecycle.fingerprints(bp) == {"orders": {"kind": "table", "key": "id"}, "uploads": {"kind": "bucket"}}


def test_a_table_key_change_is_refused_at_the_key(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE.replace("key: id", "key: sku"))
    found = lifecycle.replacements({"orders": {"kind": "table", "key": "id"}, "uploads": {"kind": "bucket"}}, bp)
    assert [(d.message, d.location.path, d.location.line) for d in found] == [
        ("store 'orders' changes its key from 'id' to 'sku': that replaces the table and loses its data",
         "stores.orders.key", 4)]
    assert found[0].hint.startswith("declare a new store, copy the data over, then remove 'orders'; or deploy "
                                    "with --replace-data orders")
    assert lifecycle.replacements({"orders": {"kind": "table", "key": "id"}}, bp, allowed=["orders"]) == []


def test_a_kind_change_is_refused_but_a_topic_holds_no_data(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    found = lifecycle.replacements({"orders": {"kind": "queue"}, "uploads": {"kind": "topic"}}, bp)
    assert [d.message for d in found] == [
        "store 'orders' changes its kind from queue to table: that replaces the queue and loses its data"]



def test_an_existing_store_is_never_a_replacement_whatever_its_key(tmp_path):
    """deployer does not own an existing table: a new `key` (how the table is read) replaces nothing."""
    bp = tiny_blueprint(tmp_path, WITH_TABLE.replace("key: id", "key: sku") +
                        "clouds: {aws: {existing: {orders: customers}}}\n")
    assert lifecycle.fingerprints(bp, "aws")["orders"] == {"kind": "table", "key": "sku", "existing": "customers"}
    assert lifecycle.fingerprints(bp, "gcp")["orders"] == {"kind": "table", "key": "sku"}
    before = {"orders": {"kind": "table", "key": "id"}}
    assert lifecycle.replacements(before, bp, cloud="aws") == []
    assert lifecycle.replacements({"orders": {**before["orders"], "existing": "customers"}}, bp, cloud="aws") == []
    assert [d.location.path for d in lifecycle.replacements(before, bp, cloud="gcp")] == ["stores.orders.key"]

DEPLOYMENT = {"resources": [
    {"urn": "urn:pulumi:dev::toy::pulumi:pulumi:Stack::toy-dev", "type": "pulumi:pulumi:Stack", "custom": False},
    {"urn": "urn:pulumi:dev::toy::aws:s3/bucket:Bucket::store-uploads-bucket", "type": "aws:s3/bucket:Bucket",
     "id": "toy-dev-uploads-123456789012", "custom": True, "retainOnDelete": True},
    {"urn": "urn:pulumi:dev::toy::aws:iam/role:Role::fn-resize-role", "type": "aws:iam/role:Role",
     "id": "toy-dev-resize", "custom": True},
]}


def test_the_kept_record_holds_retained_resources_and_an_earlier_record():
    earlier = {"store-orders-table": {"type": "aws:dynamodb/table:Table", "id": "toy-dev-orders"}}
    assert lifecycle.kept_record(DEPLOYMENT, earlier) == {
        "store-orders-table": {"type": "aws:dynamodb/table:Table", "id": "toy-dev-orders"},
        "store-uploads-bucket": {"type": "aws:s3/bucket:Bucket", "id": "toy-dev-uploads-123456789012"}}


def test_adoption_imports_exactly_the_recorded_resources_and_pulumi_receives_the_ids(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    provider = ToyProvider()
    record = lifecycle.kept_record(DEPLOYMENT, {
        "store-orders-table": {"type": "aws:s3/bucket:Bucket", "id": "wrong-type"},  # not adopted
        "fn-resize-role": {"type": "aws:iam/role:Role", "id": "not-retained"}})     # not a kept store
    graph = lifecycle.adopt(provider.compile(bp, toy_artifacts(bp, tmp_path)), record)
    imports = {r.name: r.options.import_id for r in graph.resources if r.options.import_id}
    assert imports == {"store-uploads-bucket": "toy-dev-uploads-123456789012"}
    monitors = []
    executor_registrations(provider, graph, lambda m: monitors.append(recording_monitor(m)) or monitors[0])
    assert monitors[0].options == expected_options(graph)
    assert monitors[0].options["store-uploads-bucket"]["import"] == "toy-dev-uploads-123456789012"


def test_replace_data_deletes_the_store_before_replacing_it(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    graph = lifecycle.replace_stores(ToyProvider().compile(bp, toy_artifacts(bp, tmp_path)), ["orders"])
    assert {r.name for r in graph.resources if r.options.delete_before_replace} == {"store-orders-table"}


def test_every_graph_stack_exports_its_stores_identity(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    graph = ToyProvider().compile(bp, toy_artifacts(bp, tmp_path))
    assert graph.outputs[lifecycle.STORES_OUTPUT] == lifecycle.fingerprints(bp)


# -- the engine, with a fake Automation API stack -----------------------------------------------------

class FakeStack:
    """What PulumiEngine calls on an Automation API Stack: outputs, export/import, up."""

    def __init__(self, outputs: dict, deployment: dict | None = None):
        from pulumi.automation import OutputValue

        self._outputs = {k: OutputValue(v, False) for k, v in outputs.items()}
        self.deployment = json.loads(json.dumps(deployment or {"resources": []}))
        self.imported = None
        self.programs = []

    def outputs(self):
        return self._outputs

    def export_stack(self):
        from pulumi.automation import Deployment

        return Deployment(version=3, deployment=self.deployment)

    def import_stack(self, deployment):
        self.imported = deployment.deployment

    def up(self, program=None, **kwargs):
        self.programs.append(program)
        return "up result"


@pytest.fixture
def pulumi_engine(tmp_path):
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    provider = ToyProvider()

    def make(replace=()):
        options = EngineOptions(artifacts=toy_artifacts(bp, tmp_path), extra={"replace_data": replace})
        return engine.PulumiEngine(provider, bp, options)

    return make


def test_up_reads_the_record_and_refuses_a_replacement(pulumi_engine):
    record = {"store-uploads-bucket": {"type": "aws:s3/bucket:Bucket", "id": "b"}}
    eng = pulumi_engine()
    eng._prepare_update(FakeStack({lifecycle.KEPT_OUTPUT: record,
                                   lifecycle.STORES_OUTPUT: {"orders": {"kind": "table", "key": "id"}}}), flip=True)
    assert eng.kept == record
    with pytest.raises(BlueprintError) as err:
        pulumi_engine()._prepare_update(FakeStack({lifecycle.STORES_OUTPUT: {"orders": {"kind": "table",
                                                                                         "key": "sku"}}}), flip=True)
    assert err.value.exit_code == 2 and "changes its key from 'sku' to 'id'" in err.value.diagnostics[0].message


def test_replace_data_stops_retaining_the_replaced_store_in_the_state(pulumi_engine):
    deployment = {"resources": [
        {"urn": "urn:pulumi:dev::toy::aws:dynamodb/table:Table::store-orders-table", "retainOnDelete": True},
        {"urn": "urn:pulumi:dev::toy::aws:s3/bucket:Bucket::store-uploads-bucket", "retainOnDelete": True}]}
    stack = FakeStack({lifecycle.STORES_OUTPUT: {"orders": {"kind": "table", "key": "sku"}}}, deployment)
    pulumi_engine(replace=("orders",))._prepare_update(stack, flip=True)
    assert [r["retainOnDelete"] for r in stack.imported["resources"]] == [False, True]


def test_a_keeping_destroy_is_one_update_exporting_the_record(pulumi_engine):
    import pulumi
    import pulumi.runtime

    from deployer.plan_mocks import _stack_outputs

    stack = FakeStack({lifecycle.KEPT_OUTPUT: {"store-orders-table": {"type": "aws:dynamodb/table:Table",
                                                                      "id": "toy-dev-orders"}}}, DEPLOYMENT)
    assert pulumi_engine()._destroy_keeping(stack, engine.EventTranslator(None)) == "up result"
    program = stack.programs[0]

    class Nothing(pulumi.runtime.Mocks):
        def new_resource(self, args):
            raise AssertionError(f"the record program declared {args.typ}")

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Nothing(), project="toy", stack="dev", preview=False)
    @pulumi.runtime.test
    def run():
        program()

    run()
    assert _stack_outputs()[lifecycle.KEPT_OUTPUT] == {
        "store-orders-table": {"type": "aws:dynamodb/table:Table", "id": "toy-dev-orders"},
        "store-uploads-bucket": {"type": "aws:s3/bucket:Bucket", "id": "toy-dev-uploads-123456789012"}}



DROPPED_UPLOADS = """\
name: toy
stores:
  orders: {kind: table, key: id}
functions:
  report:
    code: fn
    handler: main.run
"""


def test_an_up_records_a_store_dropped_from_the_blueprint_and_adopts_what_was_recorded(tmp_path):
    """The state retains the bucket and the blueprint dropped it: the cloud keeps it (retain_on_delete)
    and Pulumi forgets it, so this `up` records it; the table an earlier destroy kept is adopted (import)
    and leaves the record. Adding `uploads` back later then adopts the bucket instead of colliding."""
    import pulumi
    import pulumi.runtime

    from deployer.plan_mocks import _stack_outputs
    from deployer.resources.execute import reference_mocks

    bp = tiny_blueprint(tmp_path, DROPPED_UPLOADS)
    provider = ToyProvider()
    table = {"type": "aws:dynamodb/table:Table", "id": "toy-dev-orders"}
    eng = engine.PulumiEngine(provider, bp, EngineOptions(artifacts=toy_artifacts(bp, tmp_path)))
    eng._prepare_update(FakeStack({lifecycle.KEPT_OUTPUT: {"store-orders-table": table}}, DEPLOYMENT), flip=True)
    assert eng.kept == {"store-orders-table": table}  # the bucket is still managed: nothing to import
    graph = provider.compile(bp, toy_artifacts(bp, tmp_path))
    mocks = reference_mocks(provider.sdk_index(), lifecycle.adopt(graph, eng.kept))
    pulumi.runtime.set_mocks(mocks, project="toy", stack="dev", preview=False)

    @pulumi.runtime.test
    def run():
        eng._program()

    run()
    assert mocks.ids == {"store-orders-table": "toy-dev-orders"}
    assert _stack_outputs()[lifecycle.KEPT_OUTPUT] == {
        "store-uploads-bucket": {"type": "aws:s3/bucket:Bucket", "id": "toy-dev-uploads-123456789012"}}



def test_an_up_that_adopts_imports_as_is_then_applies_the_blueprint(tmp_path, pulumi_engine):
    """Imported resources ignore every input (Pulumi refuses an import whose inputs differ from the
    cloud's), so the same `up` runs a second update that applies the blueprint to them."""
    bp = tiny_blueprint(tmp_path, WITH_TABLE)
    graph = lifecycle.adopt(ToyProvider().compile(bp, toy_artifacts(bp, tmp_path)),
                            {"store-uploads-bucket": {"type": "aws:s3/bucket:Bucket", "id": "b"}})
    bucket = next(r for r in graph.resources if r.name == "store-uploads-bucket")
    assert bucket.options.import_id == "b" and set(bucket.options.ignore_changes) == set(bucket.inputs) != set()

    class Summarised(FakeStack):
        def up(self, program=None, **kwargs):
            super().up(program, **kwargs)
            return type("UpResult", (), {"summary": type("S", (), {"resource_changes": {}})(), "outputs": {}})()

    def up_on(stack):
        eng = pulumi_engine()
        eng._stack, eng._configure, eng._call, eng._after_up = (lambda create: stack), (lambda s: None), \
            (lambda fn: fn()), (lambda: None)
        eng.up()
        return eng

    adopting = Summarised({lifecycle.KEPT_OUTPUT: {"store-uploads-bucket": {"type": "aws:s3/bucket:Bucket",
                                                                           "id": "b"}}})
    up_on(adopting)
    plain_up = Summarised({})
    up_on(plain_up)
    dropped = Summarised({lifecycle.KEPT_OUTPUT: {"store-gone-bucket": {"type": "aws:s3/bucket:Bucket", "id": "g"}}})
    up_on(dropped)  # recorded, but the blueprint does not declare it: nothing adopted, one update
    assert (len(adopting.programs), len(plain_up.programs), len(dropped.programs)) == (2, 1, 1)

def test_still_kept_and_to_adopt():
    record = {"a": {"type": "t", "id": "1"}, "b": {"type": "t", "id": "2"}}
    managed = {"resources": [{"urn": "urn:pulumi:dev::toy::t::a"}]}
    assert lifecycle.to_adopt(record, managed) == {"b": {"type": "t", "id": "2"}}

    class Declares:
        resources = [type("R", (), {"name": "b"})()]

    assert lifecycle.still_kept(record, Declares()) == {"a": {"type": "t", "id": "1"}}

def test_plan_refuses_a_replacement_against_the_last_outputs(tmp_path, capsys):
    from deployer import state
    from deployer.cli.app import main

    tiny_blueprint(tmp_path, WITH_TABLE.replace("key: id", "key: sku"))
    state.write_outputs(tmp_path, "toy", "dev", {lifecycle.STORES_OUTPUT: {"orders": {"kind": "table", "key": "id"}}})
    undo = providers.register(ToyProvider())
    try:
        with pytest.raises(SystemExit) as refused:
            main(["plan", "--cloud", "toy", "--json", "-f", str(tmp_path / "deployer.yaml")])
        capsys.readouterr()
        with pytest.raises(SystemExit) as allowed:
            main(["plan", "--cloud", "toy", "--json", "--replace-data", "orders", "-f", str(tmp_path / "deployer.yaml")])
    finally:
        undo()
    assert refused.value.code == 2 and allowed.value.code in (0, None)


def test_plan_and_up_do_not_refuse_a_key_change_of_an_existing_table(tmp_path, capsys):
    from deployer import state
    from deployer.cli.app import main

    bp = tiny_blueprint(tmp_path, WITH_TABLE.replace("key: id", "key: sku").replace(
        "orders: {kind: table, key: sku}", "orders: {kind: table, key: sku, existing: customers}"))
    state.write_outputs(tmp_path, "toy", "dev", {lifecycle.STORES_OUTPUT: {"orders": {"kind": "table", "key": "id"}}})
    undo = providers.register(ToyProvider())
    try:
        with pytest.raises(SystemExit) as planned:
            main(["plan", "--cloud", "toy", "--json", "-f", str(tmp_path / "deployer.yaml")])
    finally:
        undo()
    assert planned.value.code in (0, None), capsys.readouterr().err
    eng = engine.PulumiEngine(ToyProvider(), bp, EngineOptions(artifacts=toy_artifacts(bp, tmp_path)))
    eng._prepare_update(FakeStack({lifecycle.STORES_OUTPUT: {"orders": {"kind": "table", "key": "id"}}}), flip=True)
    assert eng.kept == {}


# -- stores that already exist --------------------------------------------------------------------------

def test_an_existing_store_is_read_never_created_and_its_grants_name_it(tmp_path):
    from deployer import plan
    from graph_support import assert_executor_matches_plan

    bp = tiny_blueprint(tmp_path, YAML.replace("uploads: {kind: bucket}", "uploads: {kind: bucket, existing: company-uploads}"))
    provider = ToyProvider()
    planned = assert_executor_matches_plan(provider, bp, toy_artifacts(bp, tmp_path))
    by_name = {r.name: r for r in planned.resources}
    assert by_name["store-uploads-bucket"].inputs == {}
    assert by_name["store-uploads-bucket"].options == {"read": "company-uploads"}
    assert by_name["fn-resize-bucket-uploads-permission"].inputs["sourceArn"] == "${store-uploads-bucket.arn}"
    assert plan.render(provider, bp, provider.compile(bp, toy_artifacts(bp, tmp_path))).outputs["stores"] == {
        "uploads": "${store-uploads-bucket.bucket}"}


def test_a_per_cloud_existing_name_wins_and_must_name_a_store(tmp_path):
    bp = tiny_blueprint(tmp_path, YAML.replace("uploads: {kind: bucket}", "uploads: {kind: bucket, existing: x}")
                        + "clouds:\n  aws: {existing: {uploads: arn-form}}\n")
    assert bp.existing("uploads", "aws") == "arn-form" and bp.existing("uploads", "gcp") == "x"
    with pytest.raises(BlueprintError) as err:
        tiny_blueprint(tmp_path, YAML + "clouds:\n  gcp: {existing: {uplods: b}}\n")
    assert [(d.message, d.location.path, d.hint) for d in err.value.diagnostics] == [
        ("unknown store 'uplods'", "clouds.gcp.existing.uplods", "did you mean 'uploads'?")]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_up_after_destroy_imports_every_kept_resource_on_each_cloud(cloud, monkeypatch):
    """orders on each cloud: a keeping destroy records every retained resource; the next up's program
    imports each of them (none is created again), and Pulumi receives the ids."""
    from conftest import example_copy
    from deployer.pipeline import prepare

    monkeypatch.setenv("GCP_PROJECT", "orders-demo")
    prepared = prepare(example_copy("orders"), "dev", cloud, planning=True)
    graph = prepared.graph
    kept = graph.retained()
    # GCP keeps both tables in one Firestore database, owned by the first table
    stores = {"orders", "fulfilment"} if cloud == "gcp" else {"orders", "notifications", "fulfilment"}
    assert {r.owner.name for r in kept if r.owner.kind == "store"} == stores
    deployment = {"resources": [{"urn": f"urn:pulumi:dev::orders::{r.type}::{r.name}", "type": r.type,
                                 "id": f"id-of-{r.name}", "custom": True, "retainOnDelete": True} for r in kept]}
    rules = prepared.provider.graph_rules()
    adopted = lifecycle.adopt(graph, lifecycle.kept_record(deployment), rules.not_adopted)
    imports = {r.name: r.options.import_id for r in adopted.resources if r.options.import_id}
    assert imports == {r.name: f"id-of-{r.name}" for r in kept if r.type not in rules.not_adopted}
    if cloud == "gcp":  # the queue's backlog lives in its subscription: kept, and adopted with the topic
        assert {"store-fulfilment-topic", "store-fulfilment-sub"} <= set(imports)
    monitors = []
    executor_registrations(prepared.provider, adopted, lambda m: monitors.append(recording_monitor(m)) or monitors[0])
    assert {n: o["import"] for n, o in monitors[0].options.items() if o["import"]} == imports


# -- a keeping destroy that detaches first (GCP: push subscriptions must not outlive their function) ----

def gcp_state(*names: str) -> dict:
    """A GCP stack's state: the queue's subscription (retained) and whatever else is named."""
    sub = "gcp:pubsub/subscription:Subscription"
    return {"resources": [
        {"urn": f"urn:pulumi:dev::orders::{sub}::store-fulfilment-sub", "type": sub, "custom": True,
         "id": "projects/orders-demo/subscriptions/orders-dev-fulfilment-sub", "retainOnDelete": True},
        *({"urn": f"urn:pulumi:dev::orders::t::{n}", "type": "t", "id": n, "custom": True, "retainOnDelete": True}
          for n in names)]}


class ConfiguredStack(FakeStack):
    """A FakeStack that also records config changes in order with the updates; the stack's program (the
    detaching update) releases the resources named in `released` from the state, as Pulumi does with a
    retained resource the program no longer declares."""

    def __init__(self, outputs: dict, deployment: dict | None = None, released: tuple[str, ...] = ()):
        super().__init__(outputs, deployment)
        self.steps: list[str] = []
        self.released = released

    def set_config(self, key, value):
        self.steps.append(f"{key}={value.value}")

    def up(self, program=None, **kwargs):
        self.steps.append("up: the stack's program" if program is None else "up: the record")
        if program is None:
            self.deployment["resources"] = [r for r in self.deployment["resources"]
                                            if not r["urn"].endswith(tuple(f"::{n}" for n in self.released))]
        return super().up(program, **kwargs)


def engine_for(cloud: str, tmp_path, monkeypatch):
    from conftest import example_copy
    from deployer.blueprint.load import load_blueprint

    monkeypatch.setenv("GCP_PROJECT", "orders-demo")
    bp = load_blueprint(example_copy("orders"))
    return engine.PulumiEngine(providers.get(cloud), bp, EngineOptions(artifacts=toy_artifacts(bp, tmp_path)))


DETACHING = ["deployer:detach=true", "up: the stack's program", "deployer:detach=false", "up: the record"]


@pytest.mark.parametrize("cloud, state, steps", [
    ("gcp", gcp_state(), DETACHING),
    ("gcp", {"resources": []}, ["up: the record"]),  # an emptied stack (a second destroy): nothing to detach
    ("aws", DEPLOYMENT, ["up: the record"]), ("azure", DEPLOYMENT, ["up: the record"])])
def test_a_keeping_destroy_detaches_first_only_where_the_provider_asks(cloud, state, steps, tmp_path, monkeypatch):
    stack = ConfiguredStack({}, state)
    eng = engine_for(cloud, tmp_path, monkeypatch)
    assert eng._destroy_keeping(stack, engine.EventTranslator(None)) == "up result"
    assert stack.steps == steps


def test_the_record_keeps_what_the_detaching_update_released(tmp_path, monkeypatch):
    """A kept store the blueprint no longer declares leaves the state in the detaching update (retained,
    so the cloud keeps it): the record of the destroy still names it, with the earlier record."""
    import pulumi.runtime

    from deployer.plan_mocks import _stack_outputs

    earlier = {"store-old-table": {"type": "t", "id": "old"}}
    stack = ConfiguredStack({lifecycle.KEPT_OUTPUT: earlier}, gcp_state("store-gone-bucket"),
                            released=("store-gone-bucket",))
    engine_for("gcp", tmp_path, monkeypatch)._destroy_keeping(stack, engine.EventTranslator(None))
    assert stack.steps == DETACHING
    class Nothing(pulumi.runtime.Mocks):
        def new_resource(self, args):
            raise AssertionError(f"the record program declared {args.typ}")

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Nothing(), project="orders", stack="dev", preview=False)

    @pulumi.runtime.test
    def run():
        stack.programs[-1]()

    run()
    assert _stack_outputs()[lifecycle.KEPT_OUTPUT] == {
        "store-fulfilment-sub": {"type": "gcp:pubsub/subscription:Subscription",
                                 "id": "projects/orders-demo/subscriptions/orders-dev-fulfilment-sub"},
        "store-gone-bucket": {"type": "t", "id": "store-gone-bucket"}, "store-old-table": {"type": "t", "id": "old"}}


def test_the_detaching_update_turns_push_subscriptions_into_pull_ones(tmp_path, monkeypatch):
    """The stack's program reads `deployer:detach`: set, the queue's kept subscription is declared
    without push config (the same resource, updated in place); unset (`up`), it pushes to the worker.
    The detaching update exports the record too, should the destroy stop after it."""
    import pulumi
    import pulumi.runtime

    from deployer.plan_mocks import _stack_outputs
    from deployer.resources.execute import reference_mocks

    eng = engine_for("gcp", tmp_path, monkeypatch)
    eng._destroy_keeping(ConfiguredStack({lifecycle.KEPT_OUTPUT: {"store-old-sub": {"type": "t", "id": "i"}}},
                                         gcp_state()), engine.EventTranslator(None))
    declared = {}
    for detach in ("true", "false"):
        graph = eng.provider.compile(eng.bp, eng.options.artifacts)
        mocks = reference_mocks(eng.provider.sdk_index(), graph)
        pulumi.runtime.set_mocks(mocks, project="orders", stack="dev", preview=False)
        pulumi.runtime.set_all_config({"deployer:detach": detach, "gcp:project": "orders-demo"})

        @pulumi.runtime.test
        def run():
            eng._program()

        run()
        declared[detach] = {name: inputs for typ, name, inputs in mocks.registered
                            if typ == "gcp:pubsub/subscription:Subscription"}
        assert _stack_outputs()[lifecycle.KEPT_OUTPUT] == {"store-old-sub": {"type": "t", "id": "i"}}
    pulumi.runtime.set_all_config({})
    assert set(declared["true"]) == set(declared["false"]) == {"store-fulfilment-sub", "store-fulfilment-dlq-sub"}
    assert "pushConfig" not in declared["true"]["store-fulfilment-sub"]
    assert declared["false"]["store-fulfilment-sub"]["pushConfig"]["pushEndpoint"] == \
        "${fn-worker-function.url}/_deployer/push"


def test_detached_changes_name_what_the_state_holds_and_the_detached_graph_changes(monkeypatch):
    from conftest import example_copy
    from deployer.pipeline import prepare

    monkeypatch.setenv("GCP_PROJECT", "orders-demo")
    prepared = prepare(example_copy("orders"), "dev", "gcp", planning=True)
    graph = prepared.graph
    detached = prepared.provider.compile(prepared.bp, prepared.artifacts, detach=True)
    assert lifecycle.detached_changes(graph, detached, gcp_state("fn-worker-function")) == ["store-fulfilment-sub"]
    assert lifecycle.detached_changes(graph, detached, {"resources": []}) == []
    assert lifecycle.detached_changes(graph, graph, gcp_state()) == []
