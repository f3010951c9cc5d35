"""`deployer cost`: what a blueprint will cost per month on each cloud, before anything is deployed.

Three inputs, each kept where it belongs:
- **what will exist**: the plan of each cloud (the resource graph rendered, or the mock plan of a provider
  not yet on the graph): resource types and owners, so what is priced is exactly what `up` would create
  (AWS's log group per function, GCP's API Gateway, Azure's app per function);
- **prices**: data, not code: `providers/<cloud>/prices.yaml`, dated, one region, the source page of
  every figure, and which meters each resource type (and each store kind) runs;
- **usage**: a small YAML file (`--usage`) with documented defaults, so an estimate exists with no input
  and gets better with real numbers.

A charge is (meter, quantity): the quantity comes from the owner's usage (a function's requests,
GB-seconds, log GB; a store's messages, storage, reads, writes; the app's HTTP requests) times an
optional factor. Free tiers are applied once per meter across the whole blueprint, as a credit line.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deployer.errors import BlueprintError, Diagnostic, Location

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint
    from deployer.plan import Plan

MONTH_DAYS = 30


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ------------------------------------------------------------------------------------------ usage


class FunctionUsage(_Model):
    requests: int | None = Field(None, ge=0, description="Invocations per month (default: from its triggers).")
    duration_ms: float | None = Field(None, gt=0, description="Mean run time of one invocation.")
    log_gb: float | None = Field(None, ge=0, description="Log data written per month.")


class StoreUsage(_Model):
    messages: int | None = Field(None, ge=0, description="Messages per month (queues, topics).")
    storage_gb: float | None = Field(None, ge=0, description="Data stored (buckets, tables).")
    reads: int | None = Field(None, ge=0, description="Read operations per month (buckets, tables).")
    writes: int | None = Field(None, ge=0, description="Write operations per month (buckets, tables).")


class UsageDefaults(_Model):
    requests: int = Field(100_000, ge=0, description="Invocations per month of a function with an HTTP route.")
    duration_ms: float = Field(100, gt=0, description="Mean run time of an invocation.")
    log_gb: float = Field(0.1, ge=0, description="Log data per function per month.")
    messages: int = Field(100_000, ge=0, description="Messages per queue or topic per month.")
    storage_gb: float = Field(1, ge=0, description="Data per bucket or table.")
    reads: int = Field(100_000, ge=0, description="Reads per bucket or table per month.")
    writes: int = Field(10_000, ge=0, description="Writes per bucket or table per month.")


class Usage(_Model):
    defaults: UsageDefaults = Field(default_factory=UsageDefaults)
    routes: dict[str, int] = Field(default_factory=dict, description="Requests per month per route ('GET /x').")
    functions: dict[str, FunctionUsage] = Field(default_factory=dict)
    stores: dict[str, StoreUsage] = Field(default_factory=dict)


def load_usage(path: Path | None, bp: "Blueprint") -> tuple[Usage, bool]:
    """(usage, whether it came from a file). Unknown functions, stores and routes are located errors."""
    if path is None:
        return Usage(), False
    from deployer.blueprint.load import parse

    data, marks, key_marks = parse(path)
    try:
        usage = Usage.model_validate(data)
    except ValidationError as exc:
        raise BlueprintError([_problem(path, marks, ".".join(str(p) for p in err["loc"]), err["msg"])
                              for err in exc.errors()]) from None
    routes = {f"{method} {p}" for method, p, _ in _routes(bp)}
    problems = [_problem(path, key_marks, f"{section}.{name}", f"the blueprint has no {what} {name!r}")
                for section, names, what in (("functions", bp.functions, "function"), ("stores", bp.stores, "store"),
                                              ("routes", routes, "route"))
                for name in getattr(usage, section) if name not in names]
    if problems:
        raise BlueprintError(problems)
    return usage, True


def _problem(path: Path, marks: dict, where: str, message: str) -> Diagnostic:
    line, column = marks.get(where, (None, None))
    return Diagnostic(f"{where}: {message}", Location(path, line, column, where), code="usage")


def _routes(bp: "Blueprint") -> list[tuple[str, str, str]]:
    from deployer.blueprint.refs import http_routes

    return http_routes(bp)


# --------------------------------------------------------------------------------- quantities


def schedule_runs(text: str, timezone: str) -> float:
    """Runs per (30-day) month of a blueprint schedule."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from croniter import croniter

    from deployer.blueprint.schedule import Every, parse_schedule

    parsed = parse_schedule(text)
    if isinstance(parsed, Every):
        return MONTH_DAYS * 24 * 60 / parsed.minutes
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo(timezone))
    it, runs = croniter(parsed.expression, start), 0
    while it.get_next(datetime) < start + dt.timedelta(days=MONTH_DAYS):
        runs += 1
    return runs


class Quantities:
    """Monthly quantities per owner, from the blueprint and the usage (module docstring)."""

    def __init__(self, bp: "Blueprint", usage: Usage):
        self.bp, self.usage, self.d = bp, usage, usage.defaults

    def store(self, name: str) -> dict[str, float]:
        u = self.usage.stores.get(name, StoreUsage())
        pick = lambda attr: getattr(u, attr) if getattr(u, attr) is not None else getattr(self.d, attr)  # noqa: E731
        return {"messages": pick("messages"), "storage_gb": pick("storage_gb"), "reads": pick("reads"),
                "writes": pick("writes"), "count": 1}

    def requests(self, name: str) -> tuple[float, float]:
        """(all invocations, those through the HTTP API) per month."""
        from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger

        fn, given = self.bp.functions[name], self.usage.functions.get(name, FunctionUsage())
        routed = [f"{m} {p}" for m, p, f in _routes(self.bp) if f == name]
        http = sum(self.usage.routes.get(r, 0) for r in routed) if any(r in self.usage.routes for r in routed) \
            else (self.d.requests if routed else 0)
        total = float(http)
        for trigger in fn.triggers:
            match trigger:
                case HttpTrigger():
                    pass
                case ScheduleTrigger():
                    total += schedule_runs(trigger.schedule, trigger.timezone)
                case QueueTrigger():
                    total += math.ceil(self.store(trigger.queue)["messages"] / trigger.batch)
                case TopicTrigger():
                    total += self.store(trigger.topic)["messages"]
                case BucketTrigger():
                    total += self.store(trigger.bucket)["writes"]
        if given.requests is not None:
            total = float(given.requests)
        elif not fn.triggers:
            total = float(self.d.requests)
        return total, float(http)

    def function(self, name: str, table: "PriceTable") -> dict[str, float]:
        from deployer.blueprint.model import ScheduleTrigger

        fn, given = self.bp.functions[name], self.usage.functions.get(name, FunctionUsage())
        requests, http = self.requests(name)
        seconds = requests * (given.duration_ms or self.d.duration_ms) / 1000
        vcpu = next((v for m, v in sorted(table.vcpu_by_memory.items()) if fn.memory <= m), 0.0)
        memory = next((m for m in sorted(table.billed_memory) if fn.memory <= m), fn.memory)
        schedules = [t for t in fn.triggers if isinstance(t, ScheduleTrigger)]
        runs = sum(schedule_runs(t.schedule, t.timezone) for t in schedules)
        return {"requests": requests, "http_requests": http, "gb_seconds": seconds * memory / 1024,
                "vcpu_seconds": seconds * vcpu, "log_gb": given.log_gb if given.log_gb is not None else self.d.log_gb,
                "runs_per_schedule": runs / len(schedules) if schedules else 0.0, "count": 1}

    def app(self) -> dict[str, float]:
        return {"http_requests": sum(self.requests(name)[1] for name in self.bp.functions), "count": 1}


# ------------------------------------------------------------------------------------------ prices


class Meter(_Model):
    unit: str
    price: float = Field(ge=0, description="Price of `per` units, in the table's currency.")
    per: float = Field(1, gt=0)
    free: float = Field(0, ge=0, description="Units free per month (the cloud's always-free tier).")
    source: str = Field(pattern=r"^https://")
    note: str = ""


class Charge(_Model):
    meter: str
    quantity: str
    factor: float = 1


class PriceTable(_Model):
    cloud: str
    region: str
    currency: Literal["USD"] = "USD"
    date: dt.date
    vcpu_by_memory: dict[int, float] = Field(default_factory=dict)
    #: instance memory sizes (MB) the cloud bills, when it rounds a function's memory up to one of them
    billed_memory: list[int] = Field(default_factory=list)
    meters: dict[str, Meter]
    resources: dict[str, list[Charge]] = Field(default_factory=dict)
    stores: dict[str, list[Charge]] = Field(default_factory=dict)

    def check(self) -> list[str]:
        """Every charge names a meter (a `{setting}` in the name must match at least one meter)."""
        import re

        def known(name: str) -> bool:
            pattern = re.escape(name).replace(r"\{", "{").replace(r"\}", "}")
            return any(re.fullmatch(re.sub(r"\{[^}]*\}", ".+", pattern), m) for m in self.meters)

        return [f"{where}: unknown meter {c.meter}" for where, charges in
                [*self.resources.items(), *self.stores.items()] for c in charges if not known(c.meter)]


def load_prices(path: Path) -> PriceTable:
    import yaml

    table = PriceTable.model_validate(yaml.safe_load(path.read_text()))
    problems = table.check()
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return table


# --------------------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class Line:
    owner: str      # "function api", "store orders", "app" or "free tier"
    meter: str
    quantity: float
    cost: float


@dataclass
class Estimate:
    cloud: str
    region: str
    date: str
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)

    def by_owner(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.owner] = out.get(line.owner, 0.0) + line.cost
        return out

    def to_json(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "region": self.region, "prices_date": self.date, "total": round(self.total, 2),
                "by_owner": {k: round(v, 2) for k, v in self.by_owner().items()},
                "lines": [{"owner": ln.owner, "meter": ln.meter, "quantity": round(ln.quantity, 3),
                           "cost": round(ln.cost, 4)} for ln in self.lines]}


def estimate(plan: "Plan", bp: "Blueprint", usage: Usage, table: PriceTable, *, free_tier: bool = True) -> Estimate:
    """Price every resource of the plan, then each store's data, then the free tiers."""
    q = Quantities(bp, usage)
    result = Estimate(table.cloud, table.region, table.date.isoformat())

    def quantities(owner: str) -> dict[str, float]:
        kind, _, name = owner.partition(" ")
        if kind == "function":
            return q.function(name, table)
        if kind == "store":
            return q.store(name)
        return q.app()

    settings = getattr(bp.clouds, table.cloud).model_dump()

    def charge(owner: str, charges: list[Charge]) -> None:
        values = quantities(owner)
        for c in charges:
            name = c.meter.format_map(settings)  # e.g. lambda-gb-seconds-{architecture}
            meter = table.meters[name]
            amount = values.get(c.quantity, 0.0) * c.factor
            result.lines.append(Line(owner, name, amount, amount * meter.price / meter.per))

    for res in plan.resources:
        if res.type in table.resources and "read" not in res.options:  # an existing store is not priced
            charge(res.group, table.resources[res.type])
    for name, store in bp.stores.items():
        if store.kind in table.stores and not bp.existing(name, table.cloud):
            charge(f"store {name}", table.stores[store.kind])
    if free_tier:
        result.lines += _free_tier(result.lines, table)
    return result


def _free_tier(lines: list[Line], table: PriceTable) -> list[Line]:
    used: dict[str, float] = {}
    for line in lines:
        used[line.meter] = used.get(line.meter, 0.0) + line.quantity
    credits = []
    for name, amount in sorted(used.items()):
        meter = table.meters[name]
        if meter.free and amount:
            free = min(amount, meter.free)
            credits.append(Line("free tier", name, -free, -free * meter.price / meter.per))
    return credits


def stale(table: PriceTable, today: dt.date | None = None) -> bool:
    """A price table older than a year is stale (a test fails on it, so the figures are kept current)."""
    today = today or dt.date.today()
    return (today - table.date).days > 365
