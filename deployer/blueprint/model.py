"""The blueprint model (format 1): typed, frozen, cloud-neutral.

This is the contract between the user's YAML and every provider. It says nothing about any cloud:
a cloud's own settings live under `clouds.<name>` and its limits live in that provider's `check`.
Models are frozen and forbid unknown keys, so a typo is an error with a "did you mean", never a
silently ignored setting. The JSON Schema printed by `deployer schema` is generated from these classes.

Cross-field rules (a trigger names an existing store of the right kind, no duplicate routes, cron that
parses, code folders that exist ...) are not here: they need the whole blueprint and its folder, and
live in `deployer.blueprint.resolve`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, field_validator

from deployer.errors import DeployerError, Location

NAME_PATTERN = r"^[a-z][a-z0-9-]*$"
LOGICAL_PATTERN = r"^[a-z][a-z0-9-]*$"
SECRET_PATTERN = r"^[A-Z][A-Z0-9_]*$"
ENV_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
HANDLER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.[A-Za-z_][A-Za-z0-9_]*$"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
ROUTE_PATTERN = r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) +/[^\s]*$"
PATH_PATTERN = r"^/[^\s]*$"

Runtime = Literal["python3.11", "python3.12", "python3.13"]
Access = Literal["read", "write", "read-write", "publish", "consume"]
LogicalName = Annotated[str, Field(pattern=LOGICAL_PATTERN, max_length=40)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------------------------- stores


def _existing() -> Any:
    return Field(None, min_length=1, max_length=1024,
                 description="A store that already exists, by the cloud's name or id (per cloud: "
                             "`clouds.<cloud>.existing`): deployer grants access and wires triggers, but never "
                             "creates, changes or deletes it.")


class BucketStore(Model):
    """An object store (S3 bucket, GCS bucket, Blob container, a folder locally)."""

    kind: Literal["bucket"] = Field(description="The store kind.")
    existing: str | None = _existing()


class TableStore(Model):
    """A key-value table keyed by one string attribute (DynamoDB, Firestore, Table storage, SQLite)."""

    kind: Literal["table"] = Field(description="The store kind.")
    existing: str | None = _existing()
    key: str = Field("id", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name of the key attribute.")


class QueueStore(Model):
    """A work queue: each message goes to one consumer, retried, then dead-lettered."""

    kind: Literal["queue"] = Field(description="The store kind.")
    existing: str | None = _existing()
    retries: int = Field(5, ge=1, le=100, description="Deliveries before a message is dead-lettered.")
    dead_letter: bool = Field(True, description="Keep messages that failed every retry in a dead-letter queue.")


class TopicStore(Model):
    """A publish/subscribe topic: every consumer receives every message."""

    kind: Literal["topic"] = Field(description="The store kind.")
    existing: str | None = _existing()


Store = Annotated[Union[BucketStore, TableStore, QueueStore, TopicStore], Field(discriminator="kind")]
STORE_KINDS = ("bucket", "table", "queue", "topic")
ACCESS_BY_KIND: dict[str, tuple[str, ...]] = {
    "bucket": ("read", "write", "read-write"),
    "table": ("read", "write", "read-write"),
    "queue": ("publish", "consume"),
    "topic": ("publish",),
}


# ------------------------------------------------------------------------------------------- triggers


class HttpRoute(Model):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"] = Field(
        description="HTTP method; ANY matches every method.")
    path: str = Field(pattern=PATH_PATTERN, description="Path from `/`; `{name}` segments are path parameters.")


class HttpTrigger(Model):
    """`http: POST /orders` or `http: {method: GET, path: "/orders/{id}"}`."""

    http: Annotated[str, Field(pattern=ROUTE_PATTERN)] | HttpRoute = Field(
        description="The route: `METHOD /path`, or a mapping with `method` and `path`.")

    @property
    def route(self) -> HttpRoute:
        if isinstance(self.http, HttpRoute):
            return self.http
        method, path = self.http.split(None, 1)
        return HttpRoute(method=method, path=path.strip())

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def path(self) -> str:
        return self.route.path


class BucketTrigger(Model):
    """Runs the function when an object is created in (or deleted from) a bucket."""

    bucket: LogicalName = Field(description="The bucket store whose objects trigger the function.")
    on: Literal["created", "deleted"] = Field("created", description="Which event: an object created or deleted.")
    prefix: str = Field("", description="Only keys that start with this.")
    suffix: str = Field("", description="Only keys that end with this (e.g. `.jpg`).")


class QueueTrigger(Model):
    """Consumes a queue, `batch` messages per invocation at most."""

    queue: LogicalName = Field(description="The queue store the function consumes.")
    batch: int = Field(1, ge=1, le=10000, description="Messages per invocation, at most.")


class TopicTrigger(Model):
    """Receives every message published on a topic."""

    topic: LogicalName = Field(description="The topic store the function subscribes to.")


class ScheduleTrigger(Model):
    """5-field cron (`0 3 * * *`) or `every N minutes|hours|days`, in `timezone` (IANA name)."""

    schedule: str = Field(min_length=1, description="5-field cron or `every N minutes|hours|days`.")
    timezone: str = Field("UTC", description="IANA timezone the cron is read in.")


TRIGGER_KEYS = ("http", "bucket", "queue", "topic", "schedule")


def _trigger_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {HttpTrigger: "http", BucketTrigger: "bucket", QueueTrigger: "queue",
                TopicTrigger: "topic", ScheduleTrigger: "schedule"}.get(type(value))
    if isinstance(value, dict):
        for key in TRIGGER_KEYS:
            if key in value:
                return key
    return None


Trigger = Annotated[
    Union[
        Annotated[HttpTrigger, Tag("http")],
        Annotated[BucketTrigger, Tag("bucket")],
        Annotated[QueueTrigger, Tag("queue")],
        Annotated[TopicTrigger, Tag("topic")],
        Annotated[ScheduleTrigger, Tag("schedule")],
    ],
    Discriminator(
        _trigger_tag,
        custom_error_type="trigger_kind",
        custom_error_message="a trigger needs one of the keys http, bucket, queue, topic, schedule",
    ),
]


# ------------------------------------------------------------------------------------------ functions


class Function(Model):
    """One function: its code, its handler, what triggers it and which stores it uses."""

    code: str = Field(min_length=1, description="Folder with the function's code, relative to the blueprint.")
    handler: str = Field(pattern=HANDLER_PATTERN, description="module.function inside the code folder.")
    runtime: Runtime = Field("python3.12", description="Python version (default: `defaults.runtime`).")
    memory: int = Field(256, ge=64, le=32768, description="Memory in MB.")
    timeout: int = Field(10, ge=1, le=3600, description="Timeout in seconds.")
    max_instances: int | None = Field(None, ge=1, le=10000, description="Upper bound of concurrent instances.")
    env: dict[Annotated[str, Field(pattern=ENV_PATTERN)], str] = Field(
        default_factory=dict, description="Environment variables (merged over `defaults.env`).")
    uses: dict[LogicalName, Access] = Field(
        default_factory=dict, description="Stores the code reaches, with an access word each.")
    triggers: list[Trigger] = Field(default_factory=list, description="Events that run the function.")
    secrets: list[Annotated[str, Field(pattern=SECRET_PATTERN)]] = Field(
        default_factory=list, description="Secrets (declared under top-level `secrets`) given as env variables.")


class Defaults(Model):
    """Values merged into every function that does not set them."""

    runtime: Runtime = Field("python3.12", description="Python version.")
    memory: int = Field(256, ge=64, le=32768, description="Memory in MB.")
    timeout: int = Field(10, ge=1, le=3600, description="Timeout in seconds.")
    max_instances: int | None = Field(None, ge=1, le=10000, description="Upper bound of concurrent instances.")
    env: dict[Annotated[str, Field(pattern=ENV_PATTERN)], str] = Field(
        default_factory=dict, description="Environment variables of every function.")


# --------------------------------------------------------------------------------- cloud settings


class Clouds(Model):
    """Per-cloud settings: a key per installed cloud, each with the settings its provider declares.

    The core names no cloud: the loader validates each entry with the model its provider declares
    (`Provider.settings`, deployer/blueprint/resolve.py) and `bp.clouds.<name>` is that model, with its
    defaults when the blueprint says nothing about that cloud."""

    model_config = ConfigDict(frozen=True, extra="allow")

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("_"):
                raise
        from deployer import providers

        try:
            return providers.get(name).settings()
        except DeployerError as exc:
            raise AttributeError(f"no cloud {name!r}: {exc.message}") from None


class CloudSettings(Model):
    """What every cloud's settings have: stores that already exist, in that cloud's own form."""

    existing: dict[LogicalName, Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=dict, description="Stores that already exist on this cloud: store name -> the cloud's "
                                          "name or id (overrides the store's own `existing`).")


def settings_model(cloud: Any) -> type[BaseModel] | None:
    """The settings model of an installed cloud provider (None for a cloud nobody registered)."""
    from deployer import providers

    return providers.get(cloud).settings if isinstance(cloud, str) and cloud in providers.available() else None


class Cors(Model):
    origins: list[str] = Field(default_factory=lambda: ["*"], description="Allowed origins.")
    methods: list[str] = Field(default_factory=lambda: ["*"], description="Allowed methods.")
    headers: list[str] = Field(default_factory=lambda: ["*"], description="Allowed request headers.")
    max_age: int = Field(600, ge=0, le=86400, description="Seconds a browser may cache the preflight answer.")


class HttpSettings(Model):
    """Settings of the blueprint's one HTTP API."""

    cors: Cors | None = Field(None, description="CORS of the HTTP API; none when absent.")


class Secret(Model):
    from_: Literal["env"] = Field("env", alias="from", description="Where the value comes from at deploy time.")


# ----------------------------------------------------------------------------------------- blueprint


class Blueprint(Model):
    """A whole blueprint after interpolation, stage overrides and defaults were applied."""

    format: Literal[1] = Field(1, description="Blueprint format version.")
    name: str = Field(pattern=NAME_PATTERN, max_length=24, description="Application name; prefixes resource names.")
    defaults: Defaults = Field(default_factory=Defaults, description="Values every function inherits.")
    clouds: Clouds = Field(default_factory=Clouds, description="Per-cloud settings; every cloud is optional.")
    http: HttpSettings = Field(default_factory=HttpSettings, description="Settings of the HTTP API.")
    stores: dict[LogicalName, Store] = Field(default_factory=dict, description="Buckets, tables, queues, topics.")
    functions: dict[LogicalName, Function] = Field(default_factory=dict, description="The functions.")
    secrets: dict[Annotated[str, Field(pattern=SECRET_PATTERN)], Secret] = Field(
        default_factory=dict, description="Secrets, granted to functions by name.")
    stages: dict[Annotated[str, Field(pattern=NAME_PATTERN)], dict[str, Any]] = Field(
        default_factory=dict, description="Per-stage overrides of any key above (`--stage`).")

    # Set by the loader; not part of the YAML.
    _stage: str = PrivateAttr("dev")
    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(None)
    _marks: dict[str, tuple[int, int]] = PrivateAttr(default_factory=dict)
    _consumers: dict[str, list] | None = PrivateAttr(None)  # refs.consumers' index, built once

    @field_validator("functions")
    @classmethod
    def _names_fit(cls, value: dict) -> dict:
        for name in value:
            if not re.match(LOGICAL_PATTERN, name):
                raise ValueError(f"bad function name {name!r}")
        return value

    # ------------------------------------------------------------------ context given by the loader
    @property
    def stage(self) -> str:
        return self._stage

    @property
    def root(self) -> Path:
        """The blueprint's folder: `code` paths are relative to it."""
        return self._root

    @property
    def source(self) -> Path | None:
        return self._source

    def bind(self, *, stage: str, root: Path, source: Path | None,
             marks: dict[str, tuple[int, int]] | None = None) -> "Blueprint":
        self._stage, self._root, self._source = stage, root, source
        self._marks = dict(marks or {})
        return self

    def mark(self, path: str) -> tuple[int, int] | None:
        """(line, column), 1-based, of a field path like `functions.api.triggers[1].http`.

        Falls back to the nearest enclosing node that has a mark (a defaulted field has none)."""
        while path:
            if path in self._marks:
                return self._marks[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self._marks.get("", None)

    def locate(self, path: str) -> Location:
        """Where a field path is in the blueprint file (for a Diagnostic), line and column from `mark`."""
        line, column = self.mark(path) or (None, None)
        return Location(self._source, line, column, path)

    # -------------------------------------------------------------------------- typed lookups
    def store(self, name: str) -> BucketStore | TableStore | QueueStore | TopicStore:
        return self.stores[name]

    def code_dir(self, function: str) -> Path:
        return (self.root / self.functions[function].code).resolve()

    def existing(self, store: str, cloud: str) -> str | None:
        """The existing resource a store names on `cloud` (`clouds.<cloud>.existing` first), or None."""
        per_cloud = getattr(getattr(self.clouds, cloud, None), "existing", None) or {}
        return per_cloud.get(store) or getattr(self.stores[store], "existing", None)

    def stage_name(self) -> str:
        """`<name>-<stage>`: the prefix of every physical resource name."""
        return f"{self.name}-{self.stage}"
