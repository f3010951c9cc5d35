"""Resolved references: who triggers whom and who may touch what, computed once from the model.

Providers, the local cloud and the diagrams all ask the same questions ("which stores does this
function reach, with which rights?", "who consumes this queue?"). They ask here, so the answer is the
same everywhere: a trigger grants exactly what receiving its event needs (consuming a queue), and
`uses` grants the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from deployer.blueprint.model import (
    Blueprint, BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger,
)

# What each access word means, as the set of elementary rights.
RIGHTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"write"}),
    "read-write": frozenset({"read", "write"}),
    "publish": frozenset({"publish"}),
    "consume": frozenset({"consume"}),
}


@dataclass(frozen=True)
class Grant:
    """A function's rights on one store: `rights` is a subset of read, write, publish, consume."""

    store: str
    kind: str
    rights: frozenset[str]


def trigger_store(trigger) -> str | None:
    """The store a trigger listens to, if any."""
    match trigger:
        case BucketTrigger(bucket=name) | QueueTrigger(queue=name) | TopicTrigger(topic=name):
            return name
        case HttpTrigger() | ScheduleTrigger():
            return None
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def grants(bp: Blueprint, function: str) -> list[Grant]:
    """Every store the function may reach, with its rights, sorted by store name."""
    fn = bp.functions[function]
    rights: dict[str, set[str]] = {}
    for store, access in fn.uses.items():
        rights.setdefault(store, set()).update(RIGHTS[access])
    for trigger in fn.triggers:
        if isinstance(trigger, QueueTrigger):
            rights.setdefault(trigger.queue, set()).add("consume")
    return [Grant(name, bp.stores[name].kind, frozenset(r)) for name, r in sorted(rights.items())
            if name in bp.stores]


def reachable_stores(bp: Blueprint, function: str) -> list[str]:
    """Stores the function needs to find at run time (its grants plus the stores it is triggered by)."""
    names = {g.store for g in grants(bp, function)}
    names.update(s for t in bp.functions[function].triggers if (s := trigger_store(t)))
    return sorted(n for n in names if n in bp.stores)


def consumers(bp: Blueprint, store: str) -> list[tuple[str, object]]:
    """(function name, trigger) for every trigger on the store, in blueprint order.

    Indexed once per blueprint (it is frozen): asking per store would otherwise scan every function
    for every store, which is quadratic on large blueprints."""
    if bp._consumers is None:
        index: dict[str, list] = {}
        for name, _, trigger in triggers(bp):
            if (store_name := trigger_store(trigger)) is not None:
                index.setdefault(store_name, []).append((name, trigger))
        bp._consumers = index
    return list(bp._consumers.get(store, []))


def triggers(bp: Blueprint) -> Iterator[tuple[str, int, object]]:
    """(function name, trigger index, trigger) for every trigger in the blueprint."""
    for name, fn in bp.functions.items():
        for index, trigger in enumerate(fn.triggers):
            yield name, index, trigger


def http_routes(bp: Blueprint) -> list[tuple[str, str, str]]:
    """(method, path, function) for every HTTP trigger, in blueprint order."""
    return [(t.method, t.path, name) for name, _, t in triggers(bp) if isinstance(t, HttpTrigger)]
