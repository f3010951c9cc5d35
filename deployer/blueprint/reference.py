"""Generate the key tables of docs/blueprint.md from the model, so the reference cannot drift.

docs/blueprint.md is hand-written prose with generated blocks between markers:

    <!-- BEGIN GENERATED keys -->   ...   <!-- END GENERATED keys -->

`python -m deployer.blueprint.reference` rewrites the blocks; `--check` exits 1 when the file differs
from what the model says (tests/test_blueprint_reference.py runs the same check). Types, defaults,
constraints and descriptions come from the pydantic fields; examples come from EXAMPLES below, and
every field must have one (a new field without an example fails the docs test).
Blocks: `keys` (every key of format 1) and `diagnostics` (what each invalid fixture in tests/invalid
produces, so the catalogue of messages is the one the tests assert).
"""

from __future__ import annotations

import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from deployer.blueprint import model as m

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "blueprint.md"
INVALID = ROOT / "tests" / "invalid"

# (heading path, model) in the order the reference presents them.
SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", m.Blueprint), ("defaults", m.Defaults), ("functions.NAME", m.Function),
    ("stores.NAME (kind: bucket)", m.BucketStore), ("stores.NAME (kind: table)", m.TableStore),
    ("stores.NAME (kind: queue)", m.QueueStore), ("stores.NAME (kind: topic)", m.TopicStore),
    ("triggers[] http", m.HttpTrigger), ("triggers[].http (mapping form)", m.HttpRoute),
    ("triggers[] bucket", m.BucketTrigger), ("triggers[] queue", m.QueueTrigger),
    ("triggers[] topic", m.TopicTrigger), ("triggers[] schedule", m.ScheduleTrigger),
    ("secrets.NAME", m.Secret), ("clouds", m.Clouds),
    *((f"clouds.{cloud}", m.settings_model(cloud)) for cloud in ("aws", "gcp", "azure", "local")),
    ("http", m.HttpSettings), ("http.cors", m.Cors),
]
ANCHORS = {cls: re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") for title, cls in SECTIONS}

EXAMPLES: dict[str, str] = {
    "Blueprint.format": "format: 1", "Blueprint.name": "name: orders",
    "Blueprint.defaults": "defaults: {memory: 512}", "Blueprint.clouds": "clouds: {aws: {region: eu-west-1}}",
    "Blueprint.http": "http: {cors: {origins: [\"*\"]}}", "Blueprint.stores": "stores: {jobs: {kind: queue}}",
    "Blueprint.functions": "functions: {api: {code: functions/api, handler: main.handle}}",
    "Blueprint.secrets": "secrets: {STRIPE_KEY: {from: env}}",
    "Blueprint.stages": "stages: {prod: {defaults: {memory: 1024}}}",
    "Defaults.runtime": "runtime: python3.12", "Defaults.memory": "memory: 512", "Defaults.timeout": "timeout: 30",
    "Defaults.max_instances": "max_instances: 50", "Defaults.env": "env: {LOG_LEVEL: info}",
    "Function.code": "code: functions/api", "Function.handler": "handler: main.handle",
    "Function.runtime": "runtime: python3.13", "Function.memory": "memory: 1024", "Function.timeout": "timeout: 60",
    "Function.max_instances": "max_instances: 10", "Function.env": "env: {THUMBNAIL_SIZE: \"128\"}",
    "Function.uses": "uses: {orders: read-write, events: publish}",
    "Function.triggers": "triggers: [{http: POST /orders}]", "Function.secrets": "secrets: [STRIPE_KEY]",
    "BucketStore.kind": "kind: bucket", "TableStore.kind": "kind: table", "TableStore.key": "key: device",
    "QueueStore.kind": "kind: queue", "QueueStore.retries": "retries: 5", "QueueStore.dead_letter": "dead_letter: false",
    "TopicStore.kind": "kind: topic", "HttpTrigger.http": "http: GET /orders/{id}",
    "HttpRoute.method": "method: GET", "HttpRoute.path": "path: \"/orders/{id}\"",
    "BucketTrigger.bucket": "bucket: uploads", "BucketTrigger.on": "on: deleted",
    "BucketTrigger.prefix": "prefix: incoming/", "BucketTrigger.suffix": "suffix: .jpg",
    "QueueTrigger.queue": "queue: jobs", "QueueTrigger.batch": "batch: 10", "TopicTrigger.topic": "topic: events",
    "ScheduleTrigger.schedule": "schedule: \"0 3 * * *\"", "ScheduleTrigger.timezone": "timezone: Europe/Paris",
    "Secret.from": "from: env", "Clouds.aws": "aws: {region: us-east-1}",
    "Clouds.gcp": "gcp: {project: my-project}", "Clouds.azure": "azure: {location: westeurope}",
    "Clouds.local": "local: {port: 8080}", "AwsSettings.region": "region: eu-west-1",
    "AwsSettings.architecture": "architecture: x86_64", "AwsSettings.log_retention_days": "log_retention_days: 30",
    "GcpSettings.project": "project: \"${env:GCP_PROJECT}\"", "GcpSettings.region": "region: europe-west1",
    "AzureSettings.location": "location: northeurope", "AzureSettings.build": "build: local",
    "LocalSettings.port": "port: 8080",
    "BucketStore.existing": "existing: company-uploads", "TableStore.existing": "existing: customers",
    "QueueStore.existing": "existing: billing-jobs", "TopicStore.existing": "existing: company-events",
    "AwsSettings.existing": "existing: {jobs: \"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs\"}",
    "GcpSettings.existing": "existing: {uploads: company-uploads}",
    "AzureSettings.existing": "existing: {uploads: uploads}", "LocalSettings.existing": "existing: {uploads: shared}",
    "HttpSettings.cors": "cors: {origins: [\"https://example.com\"]}",
    "Cors.origins": "origins: [\"https://example.com\"]", "Cors.methods": "methods: [GET, POST]",
    "Cors.headers": "headers: [content-type]", "Cors.max_age": "max_age: 3600",
}


def type_text(tp: Any, metadata: list | tuple = ()) -> str:
    """A field's type in words: `integer 64..32768`, `map: name -> Function`, `'read' | 'write'`."""
    if typing.get_origin(tp) is typing.Annotated:
        inner, *meta = typing.get_args(tp)
        flat = [x for item in meta for x in getattr(item, "metadata", [item])]
        return type_text(inner, [*metadata, *flat, *[i for i in meta if hasattr(i, "pattern")]])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" if not isinstance(a, str) else f"`{a}`" for a in args)
    if origin is dict:
        return f"map: {type_text(args[0])} → {type_text(args[1])}"
    if origin is list:
        return f"list of {type_text(args[0])}"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
        if tp == _strip(m.Trigger):
            return "trigger (one of the `triggers[]` tables)"
        members = [a for a in args if a is not type(None)]
        parts = [type_text(a, metadata if len(members) == 1 else ()) for a in members]
        return " or ".join(parts) + (" (optional)" if type(None) in args else "")
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{ANCHORS[tp]})" if tp in ANCHORS else tp.__name__
    return _scalar(tp, metadata)


def _strip(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp


def _scalar(tp: Any, metadata: list | tuple) -> str:
    name = {int: "integer", str: "string", bool: "boolean", float: "number"}.get(tp, getattr(tp, "__name__", str(tp)))
    if tp is Any or tp is typing.Any:
        name = "any"
    low = next((x.ge for x in metadata if hasattr(x, "ge")), None)
    high = next((x.le for x in metadata if hasattr(x, "le")), None)
    if low is not None or high is not None:
        name += f" {'' if low is None else low}..{'' if high is None else high}"
    pattern = next((getattr(x, "pattern", None) for x in metadata if getattr(x, "pattern", None)), None)
    if pattern:
        name = "name" if pattern == m.NAME_PATTERN else f"string matching `{pattern}`"
    longest = next((x.max_length for x in metadata if hasattr(x, "max_length")), None)
    if longest:
        name += f", at most {longest} chars"
    if any(getattr(x, "min_length", None) == 1 for x in metadata):
        name += ", not empty"
    return name


def default_text(info) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return "defaults of its keys"
        return f"`{json.dumps(value)}`"
    if info.default is PydanticUndefined:
        return "**required**"
    return "none" if info.default is None else f"`{info.default}`" if isinstance(info.default, str) else \
        f"`{json.dumps(info.default)}`"


def keys_block() -> str:
    """Markdown: one table per model, every key with type, default, description and example."""
    out = []
    for title, cls in SECTIONS:
        out += [f"### {title}", "", (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "", "",
                "| key | type | default | description | example |", "|---|---|---|---|---|"]
        if cls is m.Clouds:
            out += _cloud_rows()
        for name, info in cls.model_fields.items():
            key = info.alias or name
            example = EXAMPLES.get(f"{cls.__name__}.{key}")
            if example is None:
                raise KeyError(f"no example for {cls.__name__}.{key}: add one to reference.EXAMPLES")
            description, example = _cell(info.description or ""), _cell(example)
            out.append(f"| `{key}` | {type_text(info.annotation, info.metadata)} | {default_text(info)} | "
                       f"{description} | `{example}` |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _cloud_rows() -> list[str]:
    """`clouds` has a key per built-in provider, typed by the settings model the provider declares."""
    rows = []
    for title, cls in SECTIONS:
        if title.startswith("clouds."):
            cloud = title.removeprefix("clouds.")
            rows.append(f"| `{cloud}` | {type_text(cls)} | defaults of its keys | Settings used with `--cloud "
                        f"{cloud}`. | `{_cell(EXAMPLES[f'Clouds.{cloud}'])}` |")
    return rows


def diagnostics_block(folder: Path = INVALID) -> str:
    """Markdown: the message (and hint) each invalid fixture produces, from its `# expect:` lines."""
    rows = ["| fixture | location | message | hint |", "|---|---|---|---|"]
    for path in sorted(folder.glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# expect: "):
                where, _, rest = line.removeprefix("# expect: ").partition(" ")
                parts = [p for p in rest.split(" | ") if not p.startswith("file: ")]
                hint = parts[2] if len(parts) > 2 else ""
                rows.append(f"| `{path.stem}` | {where} `{parts[0]}` | {_cell(parts[1])} | {_cell(hint)} |")
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


BLOCKS = {"keys": keys_block, "diagnostics": diagnostics_block}


def render(text: str) -> str:
    """The document with every generated block replaced by what the model says now."""
    for name, make in BLOCKS.items():
        begin, end = f"<!-- BEGIN GENERATED {name} -->", f"<!-- END GENERATED {name} -->"
        if begin not in text or end not in text:
            raise ValueError(f"docs/blueprint.md lacks the markers of the '{name}' block")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{make()}{end}{tail}"
    return text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in args:
        if current != wanted:
            print(f"{DOC} is out of date: run python -m deployer.blueprint.reference", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
