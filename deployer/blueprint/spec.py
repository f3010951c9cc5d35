"""The JSON Schema of blueprint format 1, generated from the model (what `deployer schema` prints).

Editors (VS Code's YAML extension, JetBrains) use it to check and complete blueprints as they are
typed, so it must say what the loader says: unknown keys are errors (`additionalProperties: false`,
also for maps keyed by names, where pydantic only emits `patternProperties`), names follow their
patterns, and `secrets.X.from` appears under its YAML spelling, not the Python field name.
What a schema cannot express (references between stores and triggers, routes, cron, code folders)
is left to `deployer validate`.
"""

from __future__ import annotations

from typing import Any

SCHEMA_ID = "https://deployer.dev/schemas/blueprint-1.json"


def json_schema() -> dict[str, Any]:
    from deployer.blueprint.model import Blueprint

    schema = Blueprint.model_json_schema(by_alias=True, mode="validation")
    _clouds(schema)
    _close_maps(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "deployer blueprint (format 1)",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _clouds(schema: dict[str, Any]) -> None:
    """`clouds` holds one entry per installed provider, each with the settings model it declares."""
    from deployer import providers

    defs = schema.setdefault("$defs", {})
    properties = {}
    for name in providers.available():
        model = providers.get(name).settings
        sub = model.model_json_schema(by_alias=True, mode="validation")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        properties[name] = {"$ref": f"#/$defs/{model.__name__}",
                            "description": f"Settings used with `--cloud {name}`."}
    clouds = defs["Clouds"]
    clouds.update(properties=properties, additionalProperties=False)


def _close_maps(node: Any) -> None:
    """Maps keyed by a pattern (`functions`, `stores` ...) reject keys that do not match it."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_maps(value)
