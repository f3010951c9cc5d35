"""The flowchart of a blueprint as plain data: nodes (sources, functions, stores) and labelled edges.

Built once from the blueprint and its resolved references (deployer.blueprint.refs), then written out
by mermaid.py and dot.py. Keeping the graph separate from the syntax means both formats show exactly
the same nodes and edges, and the tests can check the graph itself.

Node ids are made here and are safe in Mermaid and DOT: a kind prefix and the logical name with `-`
replaced by `_` (logical names are `[a-z][a-z0-9-]*`, so the mapping is one-to-one within a kind and no
id is a keyword such as `end`). Labels are free text; each writer escapes them for its syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer.blueprint import refs
from deployer.blueprint.model import (
    Blueprint, BucketStore, BucketTrigger, HttpTrigger, QueueStore, QueueTrigger, ScheduleTrigger,
    TableStore, TopicStore, TopicTrigger,
)
from deployer.graph.services import GENERIC, has_dead_letter

API_ID = "http_api"


@dataclass(frozen=True)
class Node:
    id: str
    kind: str          # one of services.KINDS
    name: str          # logical name (or a fixed caption for the API and schedules)
    service: str       # the generic kind or the cloud's service name

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.name, self.service) if self.name != self.service else (self.name,)


@dataclass
class Edge:
    source: str
    target: str
    kind: str          # "trigger" | "access" | "dead-letter"
    lines: list[str] = field(default_factory=list)


@dataclass
class Graph:
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def add_edge(self, source: str, target: str, kind: str, line: str) -> None:
        """Add an edge, or one more label line to the edge already joining source to target."""
        for edge in self.edges:
            if (edge.source, edge.target, edge.kind) == (source, target, kind):
                if line not in edge.lines:
                    edge.lines.append(line)
                return
        self.edges.append(Edge(source, target, kind, [line]))


def node_id(kind: str, name: str) -> str:
    prefix = {"function": "fn", "dead-letter": "dlq"}.get(kind, "store")
    return f"{prefix}_{name.replace('-', '_')}"


def schedule_id(function: str, index: int) -> str:
    return f"schedule_{function.replace('-', '_')}_{index}"


def build(bp: Blueprint, services: dict[str, str] | None = None, cloud: str | None = None) -> Graph:
    """The flowchart of `bp`; `services` (services.services_for(cloud)) puts a cloud's names on the nodes."""
    names = services or GENERIC
    graph = Graph(title=f"{bp.name} ({bp.stage})")
    if refs.http_routes(bp):
        graph.nodes.append(Node(API_ID, "api", "HTTP API", names["api"]))
    for function, index, trigger in refs.triggers(bp):
        if isinstance(trigger, ScheduleTrigger):
            graph.nodes.append(Node(schedule_id(function, index), "schedule", "schedule", names["schedule"]))
    for function in bp.functions:
        graph.nodes.append(Node(node_id("function", function), "function", function, names["function"]))
    for name, store in bp.stores.items():
        graph.nodes.append(Node(node_id(store.kind, name), store.kind, name, names[store.kind]))
    _add_dead_letters(bp, graph, names, cloud)
    for function, index, trigger in refs.triggers(bp):
        _add_trigger(graph, function, index, trigger)
    for function in bp.functions:
        _add_access(bp, graph, function)
    return graph


def _add_dead_letters(bp: Blueprint, graph: Graph, names: dict[str, str], cloud: str | None) -> None:
    for name, store in bp.stores.items():
        if isinstance(store, QueueStore) and has_dead_letter(store, cloud):
            dlq = node_id("dead-letter", name)
            graph.nodes.append(Node(dlq, "dead-letter", f"{name} dead letters", names["dead-letter"]))
            graph.add_edge(node_id("queue", name), dlq, "dead-letter", f"after {store.retries} deliveries")


def trigger_label(trigger) -> str:
    """What an edge from an event source to a function says about the trigger."""
    match trigger:
        case HttpTrigger():
            return f"{trigger.method} {trigger.path}"
        case ScheduleTrigger():
            return f"{trigger.schedule} ({trigger.timezone})"
        case BucketTrigger():
            return " ".join(p for p in (trigger.on, _filter_text(trigger)) if p)
        case QueueTrigger():
            return f"consume, batch {trigger.batch}"
        case TopicTrigger():
            return "subscribe"
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def _filter_text(trigger: BucketTrigger) -> str:
    parts = [f"prefix {trigger.prefix}" if trigger.prefix else "", f"suffix {trigger.suffix}" if trigger.suffix else ""]
    return ", ".join(p for p in parts if p)


def _add_trigger(graph: Graph, function: str, index: int, trigger) -> None:
    target = node_id("function", function)
    match trigger:
        case HttpTrigger():
            source = API_ID
        case ScheduleTrigger():
            source = schedule_id(function, index)
        case BucketTrigger(bucket=store) | QueueTrigger(queue=store) | TopicTrigger(topic=store):
            source = node_id("store", store)
        case _:
            raise TypeError(f"unsupported trigger {type(trigger).__name__}")
    graph.add_edge(source, target, "trigger", trigger_label(trigger))


def access_label(rights: frozenset[str]) -> str:
    """`read`, `write`, `read-write`, `publish`, `consume`, or several joined by commas."""
    words = ["read-write"] if {"read", "write"} <= rights else [r for r in ("read", "write") if r in rights]
    words += [r for r in ("publish", "consume") if r in rights]
    return ", ".join(words)


def _add_access(bp: Blueprint, graph: Graph, function: str) -> None:
    """Edges for `uses`: rights a trigger already implies (consuming its own queue) are not repeated."""
    triggered_by = {refs.trigger_store(t) for t in bp.functions[function].triggers}
    for grant in refs.grants(bp, function):
        rights = grant.rights - {"consume"} if grant.store in triggered_by else grant.rights
        if not rights:
            continue
        match bp.stores[grant.store]:
            case BucketStore() | TableStore() | QueueStore() | TopicStore():
                graph.add_edge(node_id("function", function), node_id("store", grant.store), "access",
                               access_label(rights))
            case other:
                raise TypeError(f"unsupported store {type(other).__name__}")
