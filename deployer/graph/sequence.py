"""Sequence diagrams: follow the chain of triggers from one entry (a route, a store, a schedule, a function).

A flowchart shows everything at once; a sequence shows what happens, in order, when one thing occurs:
`POST /orders` reaches the API, the function reads and writes its table, publishes to a topic and
sends to a queue, the caller gets its response, and then every topic consumer and the queue's worker
run (and, when the worker fails every delivery, the message lands in the dead-letter queue).

The chain is what the blueprint declares: a function's `uses` say what it may touch, so each granted
right is drawn as one call (we cannot know whether the code really makes it on every request).
Synchronous hops (HTTP, table and bucket calls) are `->>` with a `-->>` reply; asynchronous ones
(publish, send, deliveries, bucket events, schedules) are `-)`. Bucket events depend on keys we cannot
know, so the trigger's filter is a note. A function already drawn is not expanded again (cycles cut).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from deployer.blueprint import refs
from deployer.blueprint.model import (
    Blueprint, BucketStore, BucketTrigger, HttpTrigger, QueueStore, QueueTrigger, ScheduleTrigger,
    TableStore, TopicStore, TopicTrigger,
)
from deployer.errors import UsageError
from deployer.graph.model import API_ID, node_id, schedule_id
from deployer.graph.services import GENERIC, has_dead_letter

CLIENT = "client"


@dataclass(frozen=True)
class Msg:
    source: str
    target: str
    arrow: str        # "sync" | "reply" | "async"
    text: str


@dataclass(frozen=True)
class Note:
    over: tuple[str, ...]
    text: str


@dataclass
class Block:
    kind: str                                   # "alt" | "opt" | "par"
    sections: list[tuple[str, list]] = field(default_factory=list)


@dataclass
class Sequence:
    title: str
    participants: dict[str, tuple[str, ...]] = field(default_factory=dict)   # id -> label lines
    steps: list = field(default_factory=list)


# ------------------------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Entry:
    kind: str          # "route" | "store" | "schedule" | "function"
    function: str = ""
    store: str = ""
    index: int = -1    # the trigger's index in the function (route, schedule)


def entries(bp: Blueprint) -> dict[str, Entry]:
    """Every valid entry, spelled as the user types it, in a stable order."""
    found: dict[str, Entry] = {}
    for function, index, trigger in refs.triggers(bp):
        if isinstance(trigger, HttpTrigger):
            found.setdefault(f"{trigger.method} {trigger.path}", Entry("route", function, index=index))
    for name in bp.stores:
        found[name] = Entry("store", store=name)
    for function, index, trigger in refs.triggers(bp):
        if isinstance(trigger, ScheduleTrigger):
            found.setdefault(f"schedule:{function}", Entry("schedule", function, index=index))
    for function in bp.functions:
        found.setdefault(function, Entry("function", function))
    return found


def describe(bp: Blueprint, entry: Entry) -> str:
    """The entry as a user would type it (`POST /orders`, `uploads`, `schedule:nightly`, `api`)."""
    match entry.kind:
        case "route":
            return trigger_text(bp.functions[entry.function].triggers[entry.index])
        case "store":
            return entry.store
        case "schedule":
            return f"schedule:{entry.function}"
        case "function":
            return entry.function
    raise TypeError(f"unsupported sequence entry kind {entry.kind!r}")


def resolve(bp: Blueprint, text: str) -> Entry:
    """The entry named by `text`; `store:` and `function:` prefixes settle a name used by both."""
    known = entries(bp)
    wanted = " ".join(text.split())
    route = re.match(r"^([A-Za-z]+) (/\S*)$", wanted)
    if route:
        wanted = f"{route.group(1).upper()} {route.group(2)}"
    kind, _, name = wanted.partition(":")
    if kind == "store" and name in bp.stores:
        return Entry("store", store=name)
    if kind == "function" and name in bp.functions:
        return Entry("function", name)
    if wanted in bp.stores and wanted in bp.functions:
        raise UsageError(f"{wanted!r} is both a store and a function",
                         hint=f"write --sequence store:{wanted} or --sequence function:{wanted}")
    if wanted in known:
        return known[wanted]
    close = difflib.get_close_matches(wanted, list(known), n=1, cutoff=0.5)
    raise UsageError(f"unknown sequence entry {text!r}; valid entries: {', '.join(known)}",
                     hint=(f"did you mean {close[0]!r}?" if close else "give a route, a store, schedule:<function> "
                           "or a function"))


# ------------------------------------------------------------------------------------------- builder


def build(bp: Blueprint, entry: Entry, services: dict[str, str] | None = None, title: str = "",
          cloud: str | None = None) -> Sequence:
    builder = _Builder(bp, services or GENERIC, Sequence(title or f"{bp.name} ({bp.stage})"), cloud)
    match entry.kind:
        case "route" | "schedule":
            fn = bp.functions[entry.function]
            builder.invoke(entry.function, [fn.triggers[entry.index]])
        case "function":
            builder.invoke(entry.function, list(bp.functions[entry.function].triggers))
        case "store":
            builder.from_store(entry.store)
        case other:
            raise TypeError(f"unsupported sequence entry kind {other!r}")
    return builder.seq


class _Builder:
    def __init__(self, bp: Blueprint, names: dict[str, str], seq: Sequence, cloud: str | None):
        self.bp, self.names, self.seq, self.cloud = bp, names, seq, cloud
        self.expanded: set[str] = set()

    # -------------------------------------------------------------------------- participants
    def who(self, kind: str, name: str = "", index: int = 0) -> str:
        """The participant id of a thing, declared on first use (so order follows the story)."""
        match kind:
            case "client":
                pid, lines = CLIENT, ("Client",)
            case "api":
                pid, lines = API_ID, ("HTTP API", self.names["api"])
            case "schedule":
                pid, lines = schedule_id(name, index), ("schedule", self.names["schedule"])
            case "function" | "bucket" | "table" | "queue" | "topic" | "dead-letter":
                shown = f"{name} dead letters" if kind == "dead-letter" else name
                pid, lines = node_id(kind, name), (shown, self.names[kind])
            case _:
                raise TypeError(f"unsupported participant kind {kind!r}")
        self.seq.participants.setdefault(pid, tuple(dict.fromkeys(lines)))
        return pid

    def store_who(self, store: str) -> str:
        return self.who(self.bp.stores[store].kind, store)

    # ------------------------------------------------------------------------------ entries
    def invoke(self, function: str, arrivals: list) -> None:
        """An entry function: how it is reached (one section per trigger), its calls, replies, then the rest."""
        fn_id = self.who("function", function)
        sections = [(trigger_text(group[0]), self.arrival(function, group)) for group in _by_source(arrivals)]
        if not sections:
            sections = [("direct call", [Msg(self.who("client"), fn_id, "sync", "invoke")])]
        self.emit_choice("alt", sections)
        self.expanded.add(function)
        calls, pending = self.calls(function)
        self.seq.steps += calls
        self.seq.steps += self.replies(function, arrivals)
        for trigger in arrivals:
            self.seq.steps += self.after(function, trigger)
        for store in pending:
            self.seq.steps += self.follow(store)

    def from_store(self, store: str) -> None:
        client, target = self.who("client"), self.store_who(store)
        match self.bp.stores[store]:
            case BucketStore() | TableStore():
                self.seq.steps += [Msg(client, target, "sync", "write"), Msg(target, client, "reply", "ok")]
            case QueueStore():
                self.seq.steps.append(Msg(client, target, "async", "send"))
            case TopicStore():
                self.seq.steps.append(Msg(client, target, "async", "publish"))
            case other:
                raise TypeError(f"unsupported store {type(other).__name__}")
        self.seq.steps += self.follow(store) or [Note((target,), f"no function is triggered by {store}")]

    def emit_choice(self, kind: str, sections: list) -> None:
        if len(sections) == 1:
            self.seq.steps += sections[0][1]
        else:
            self.seq.steps.append(Block(kind, sections))

    # ----------------------------------------------------------------------------- the chain
    def arrival(self, function: str, triggers: list) -> list:
        """How the event reaches the function (all the triggers share one source)."""
        fn_id, first = self.who("function", function), triggers[0]
        match first:
            case HttpTrigger():
                client, api = self.who("client"), self.who("api")
                return [Msg(client, api, "sync", trigger_text(first)), Msg(api, fn_id, "sync", "request")]
            case ScheduleTrigger():
                index = self.bp.functions[function].triggers.index(first)
                return [Msg(self.who("schedule", function, index), fn_id, "async", trigger_text(first))]
            case BucketTrigger(bucket=store):
                source = self.store_who(store)
                events = " or ".join(dict.fromkeys(f"object {t.on}" for t in triggers))
                return [Note((source, fn_id), " or ".join(bucket_filter(t) for t in triggers)),
                        Msg(source, fn_id, "async", events)]
            case QueueTrigger(queue=store):
                return [Msg(self.store_who(store), fn_id, "async", f"messages, batch up to {first.batch}")]
            case TopicTrigger(topic=store):
                return [Msg(self.store_who(store), fn_id, "async", "message")]
        raise TypeError(f"unsupported trigger {type(first).__name__}")

    def calls(self, function: str) -> tuple[list, list[str]]:
        """The function's calls to its stores, and the stores whose events follow (to draw afterwards)."""
        fn_id, sync, later, pending = self.who("function", function), [], [], []
        triggered_by = {refs.trigger_store(t) for t in self.bp.functions[function].triggers}
        for grant in sorted(refs.grants(self.bp, function), key=_reads_first):
            rights = grant.rights - {"consume"} if grant.store in triggered_by else grant.rights
            if not rights:
                continue
            target = self.store_who(grant.store)
            if rights & {"read", "write"}:
                ask = " / ".join(r for r in ("read", "write") if r in rights)
                reply = " / ".join(w for r, w in (("read", "items"), ("write", "ok")) if r in rights)
                sync += [Msg(fn_id, target, "sync", ask), Msg(target, fn_id, "reply", reply)]
            if "consume" in rights:
                sync += [Msg(fn_id, target, "sync", "receive"), Msg(target, fn_id, "reply", "messages")]
            if "publish" in rights:
                later.append(Msg(fn_id, target, "async", "send" if grant.kind == "queue" else "publish"))
            if rights & {"write", "publish"}:
                pending.append(grant.store)
        return sync + later, pending

    def replies(self, function: str, arrivals: list) -> list:
        fn_id = self.who("function", function)
        if not arrivals:
            return [Msg(fn_id, self.who("client"), "reply", "result")]
        if not any(isinstance(t, HttpTrigger) for t in arrivals):
            return []
        api, client = self.who("api"), self.who("client")
        steps = [Msg(fn_id, api, "reply", "response"), Msg(api, client, "reply", "response")]
        if all(isinstance(t, HttpTrigger) for t in arrivals):
            return steps
        return [Block("opt", [("when called over HTTP", steps)])]

    def after(self, function: str, trigger) -> list:
        """What follows a delivery: a queue message the function failed goes to the dead-letter queue."""
        if not isinstance(trigger, QueueTrigger):
            return []
        store = self.bp.stores[trigger.queue]
        queue, label = self.store_who(trigger.queue), f"{function} fails {store.retries} deliveries"
        if has_dead_letter(store, self.cloud):
            body = [Msg(queue, self.who("dead-letter", trigger.queue), "async", "dead-letter the message")]
        else:
            body = [Note((queue,), "message dropped (no dead-letter queue)")]
        return [Block("opt", [(label, body)])]

    def follow(self, store: str) -> list:
        """Who runs because something was written, published or sent to `store`."""
        groups: dict[str, list] = {}
        for function, trigger in refs.consumers(self.bp, store):
            groups.setdefault(function, []).append(trigger)
        if not groups:
            return []
        sections = [(f"to {fn}", self.deliver(fn, triggers)) for fn, triggers in groups.items()]
        if len(sections) == 1:
            return sections[0][1]
        kind = "alt" if self.bp.stores[store].kind == "queue" else "par"
        return [Block(kind, sections)]

    def deliver(self, function: str, triggers: list) -> list:
        """The delivery to one function, what it does, and its failure path; a function already drawn
        (a cycle, or a second path to it) is not expanded again."""
        steps = self.arrival(function, triggers)
        fn_id = self.who("function", function)
        if function in self.expanded:
            return steps + [Note((fn_id,), f"{function} runs as shown above (not repeated)")] \
                + self.after(function, triggers[0])
        self.expanded.add(function)
        calls, pending = self.calls(function)
        steps += calls + self.after(function, triggers[0])
        for store in pending:
            steps += self.follow(store)
        return steps


def trigger_text(trigger) -> str:
    match trigger:
        case HttpTrigger():
            return f"{trigger.method} {trigger.path}"
        case ScheduleTrigger():
            return f"{trigger.schedule} ({trigger.timezone})"
        case BucketTrigger():
            return f"object {trigger.on} in {trigger.bucket}"
        case QueueTrigger():
            return f"message on {trigger.queue}"
        case TopicTrigger():
            return f"message on {trigger.topic}"
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def bucket_filter(trigger: BucketTrigger) -> str:
    parts = [f"prefix {trigger.prefix}" if trigger.prefix else "", f"suffix {trigger.suffix}" if trigger.suffix else ""]
    keys = ", ".join(p for p in parts if p) or "any key"
    return f"{trigger.on}: {keys}"


def _reads_first(grant) -> int:
    """Reads before read-writes before writes: a function gathers, then stores (stable within each)."""
    return 0 if "write" not in grant.rights else 1 if "read" in grant.rights else 2


def _by_source(triggers: list) -> list[list]:
    """Triggers grouped so that those on one store arrive together (resize on .jpg and .png uploads)."""
    groups: dict[object, list] = {}
    for number, trigger in enumerate(triggers):
        groups.setdefault(refs.trigger_store(trigger) or number, []).append(trigger)
    return list(groups.values())
