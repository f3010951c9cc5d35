"""Helpers of the AWS tests: plan a blueprint under mocks once per process, look resources up."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

from deployer import plan
from deployer.pipeline import prepare
from deployer.plan import Plan, PlannedResource

# pulumi_aws warns about its own deprecated classes when a module is first imported.
IGNORE_SDK_WARNINGS = "ignore::DeprecationWarning"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_NAMES = sorted(p.parent.name for p in (ROOT / "blueprints").glob("*/deployer.yaml"))


@functools.lru_cache(maxsize=None)
def plan_file(path: str, stage: str = "dev") -> Plan:
    prepared = prepare(path, stage, "aws")
    return plan.run(prepared.provider, prepared.bp, prepared.artifacts)


def plan_example(name: str, stage: str = "dev") -> Plan:
    from conftest import example_copy

    return plan_file(str(example_copy(name)), stage)  # a copy: packaging writes .deployer/ beside it


def one(result: Plan, name: str) -> PlannedResource:
    found = [r for r in result.resources if r.name == name]
    assert len(found) == 1, f"{name}: {len(found)} resources; have {[r.name for r in result.resources]}"
    return found[0]


def of_type(result: Plan, typ: str) -> list[PlannedResource]:
    return [r for r in result.resources if r.type == typ]


ARCHIVE = re.compile(r"^(?P<fn>.+)-[0-9a-f]{12}\.zip$")


def normalised(result: Plan) -> dict:
    """The plan as JSON with archive content hashes replaced (they change with any runtime edit)."""
    data = copy.deepcopy(result.to_json())
    for res in data["resources"]:
        code = res["inputs"].get("code")
        if isinstance(code, dict) and "$archive" in code:
            code["$archive"] = ARCHIVE.sub(r"\g<fn>-<sha12>.zip", code["$archive"])
    return data
