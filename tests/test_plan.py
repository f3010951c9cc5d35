"""deployer.plan and deployer.secrets below the CLI: grouping, masking, placeholders, errors."""

from __future__ import annotations

import pytest

from deployer import plan_mocks as plan, secrets
from deployer.blueprint.load import load_blueprint
from deployer.errors import BlueprintError
from conftest import BLUEPRINTS, tiny_blueprint

IOT = BLUEPRINTS / "iot" / "deployer.yaml"


def test_owner_prefers_the_longest_known_name(tmp_path):
    bp = tiny_blueprint(tmp_path, "name: own\nstores: {a: {kind: table}, a-b: {kind: table}}\n"
                                  "functions: {x: {code: f, handler: main.run}, x-y: {code: f, handler: main.run}}\n",
                        code="f")
    assert plan.owner(bp, "fn-x-y-role") == "function x-y"
    assert plan.owner(bp, "fn-x-role") == "function x"
    assert plan.owner(bp, "store-a-b-table") == "store a-b"
    assert plan.owner(bp, "store-a-table") == "store a"
    assert plan.owner(bp, "app-api") == "app"
    assert plan.owner(bp, "fn-unknown-role") == "app"


def test_plain_masks_secret_values_inside_pulumi_secrets():
    wrapped = {plan.SECRET_SIG_KEY: plan.SECRET_SIG, "value": {"variables": {"TOKEN": "hunter2", "A": "b"}}}
    assert plan.plain({"environment": wrapped}, frozenset({"hunter2"})) == {
        "environment": {"variables": {"TOKEN": "[secret]", "A": "b"}}}
    # a secret holding none of the known values is masked whole
    assert plan.plain({"password": {plan.SECRET_SIG_KEY: plan.SECRET_SIG, "value": "x"}}) == {"password": "[secret]"}


def test_secret_values_come_from_the_environment():
    bp = load_blueprint(IOT)
    assert secrets.values(bp, env={"INGEST_TOKEN": "t"}) == {"INGEST_TOKEN": "t"}
    assert secrets.granted(bp, "ingest", env={"INGEST_TOKEN": "t"}) == {"INGEST_TOKEN": "t"}
    assert secrets.granted(bp, "analyse", env={"INGEST_TOKEN": "t"}) == {}


def test_missing_secret_is_an_error_to_deploy_at_its_declaration():
    bp = load_blueprint(IOT)
    with pytest.raises(BlueprintError) as err:
        secrets.values(bp, env={})
    [diag] = err.value.diagnostics
    assert (diag.severity, diag.location.path, diag.location.line, diag.message) == (
        "error", "secrets.INGEST_TOKEN", secret_line(), "secret INGEST_TOKEN has no value: set the environment variable INGEST_TOKEN")


def test_missing_secret_is_a_placeholder_and_a_warning_to_plan():
    bp = load_blueprint(IOT)
    with secrets.placeholders():
        assert secrets.values(bp, env={}) == {"INGEST_TOKEN": "<INGEST_TOKEN not set>"}
    assert [d.severity for d in secrets.check(bp, env={}, planning=True)] == ["warning"]


def secret_line() -> int:
    """The line declaring INGEST_TOKEN in the iot example (the example may gain comments)."""
    lines = (BLUEPRINTS / "iot" / "deployer.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith("INGEST_TOKEN:"))
