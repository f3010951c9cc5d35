"""Every example validates for every stage it declares; the JSON Schema agrees with the loader.

The schema is checked both ways: it accepts every example and every `deployer init` template, and for
each invalid fixture it says what the fixture's `# schema:` line says (rejects what it can express,
accepts what only `deployer validate` can see: references, routes, cron, code folders).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from deployer.blueprint.load import load_blueprint, parse
from deployer.blueprint.model import ROUTE_PATTERN, Secret
from deployer.blueprint.spec import json_schema
from deployer.cli.app import main

INVALID = Path(__file__).resolve().parent / "invalid"
TEMPLATES = Path(__file__).resolve().parent.parent / "deployer" / "templates"


@pytest.fixture(scope="module")
def validator():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def stages_of(example: Path) -> list[str]:
    data, _, _ = parse(example)
    return ["dev", *[s for s in data.get("stages", {}) if s != "dev"]]


def test_example_validates_for_every_stage(example, capsys):
    for stage in stages_of(example):
        bp = load_blueprint(example, stage=stage, env={"INGEST_TOKEN": "x"})
        assert bp.stage == stage and bp.functions
        with pytest.raises(SystemExit) as exit_info:
            main(["validate", "--json", "-f", str(example), "--stage", stage])
        assert exit_info.value.code in (0, None)
        assert json.loads(capsys.readouterr().out) == {"ok": True, "diagnostics": []}


def test_stage_overrides_and_defaults_are_applied():
    orders = Path(__file__).resolve().parent.parent / "blueprints" / "orders" / "deployer.yaml"
    dev, prod = load_blueprint(orders, stage="dev"), load_blueprint(orders, stage="prod")
    assert (dev.functions["api"].memory, dev.functions["worker"].memory) == (512, 256)
    assert (prod.functions["api"].memory, prod.functions["worker"].memory) == (1024, 512)
    assert dev.functions["notify"].env == {"LOG_LEVEL": "info"}


def test_schema_accepts_every_example(example, validator):
    data, _, _ = parse(example)
    assert list(validator.iter_errors(data)) == []


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.iterdir() if (p / "deployer.yaml").is_file()))
def test_schema_accepts_every_template(template, validator):
    text = (TEMPLATES / template / "deployer.yaml").read_text().replace("{{name}}", "demo")
    import yaml

    assert list(validator.iter_errors(yaml.safe_load(text))) == []


def schema_verdicts() -> list[tuple[Path, str]]:
    cases = []
    for path in sorted(INVALID.glob("*.yaml")):
        for line in path.read_text().splitlines():
            if line.startswith("# schema: "):
                cases.append((path, line.removeprefix("# schema: ")))
    return cases


@pytest.mark.parametrize("fixture,verdict", schema_verdicts(), ids=lambda v: getattr(v, "stem", v))
def test_schema_on_invalid_fixtures(fixture, verdict, validator):
    data, _, _ = parse(fixture)
    assert validator.is_valid(data) is (verdict == "accepts")


def test_schema_rejects_many_fixtures():
    verdicts = [v for _, v in schema_verdicts()]
    assert verdicts.count("rejects") >= 25


def test_schema_shows_both_http_forms_and_the_from_alias():
    defs = json_schema()["$defs"]
    forms = defs["HttpTrigger"]["properties"]["http"]["anyOf"]
    assert forms[0] == {"pattern": ROUTE_PATTERN, "type": "string"}
    assert forms[1] == {"$ref": "#/$defs/HttpRoute"}
    assert list(defs["Secret"]["properties"]) == ["from"]
    assert Secret.model_validate({"from": "env"}).from_ == "env"
    assert defs["Function"]["additionalProperties"] is False


def test_schema_rejects_bad_names_in_maps(validator):
    assert not validator.is_valid({"name": "a", "functions": {"Bad_Name": {"code": "x", "handler": "m.f"}}})
    assert validator.is_valid({"name": "a", "functions": {"good-name": {"code": "x", "handler": "m.f"}}})


def test_schema_command_prints_the_schema(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["schema"])
    assert exit_info.value.code in (0, None)
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "deployer blueprint (format 1)" and schema["required"] == ["name"]
    assert sorted(schema["properties"]) == ["clouds", "defaults", "format", "functions", "http", "name", "secrets",
                                            "stages", "stores"]
    assert sorted(schema["$defs"]) == [
        "AwsSettings", "AzureSettings", "BucketStore", "BucketTrigger", "Clouds", "Cors", "Defaults", "Function",
        "GcpSettings", "HttpRoute", "HttpSettings", "HttpTrigger", "LocalSettings", "QueueStore", "QueueTrigger",
        "ScheduleTrigger", "Secret", "TableStore", "TopicStore", "TopicTrigger"]
    assert schema["additionalProperties"] is False and schema["$defs"]["Function"]["required"] == ["code", "handler"]
