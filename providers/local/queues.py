"""Durable delivery: queues, topic subscriptions and bucket events, all on one SQLite (WAL) database.

The store client (deployer/runtime/clients/local.py) inserts rows into `messages`; this dispatcher
claims them, invokes the consuming function and acknowledges. Every kind of asynchronous event uses
this one path, so they all get the same guarantees:

- at-least-once: a row is deleted only after its handler succeeded; a claimed row becomes visible
  again after the visibility timeout, and at start-up the claims of a previous (killed) local cloud
  are released at once, so `kill -9` loses nothing;
- retries with exponential backoff, attempts counted per delivery, dead-lettered (table
  `dead_letters`) after the queue's `retries` deliveries (3 for topics and bucket events);
- batches of up to `batch` rows per invocation, and only the failed rows of a batch are retried;
- a topic fans out to one durable delivery queue per consuming trigger (table `subscriptions`).

Delivery queues are named by what they deliver, never by a trigger's position in the blueprint:
`q:<queue>`, `t:<topic>:<function>`, `b:<bucket>:<function>:<on>:<prefix>:<suffix>` (a second
identical trigger of one function gets `#2`). So moving, adding or removing other triggers leaves a
pending delivery where its trigger finds it. When a trigger itself changes or goes (or rows come from an
older layout, `t:<topic>:<function>:<index>`), `adopt()` at start-up moves its pending rows to the one
trigger of the same function and store that takes them; what no trigger takes is kept, logged and
shown by `deployer status` (`backlog()`), never silently stranded.

A trigger of a store that already exists (providers/local/existing.py) is delivered from the machine's
shared queues.db, not the stage's: its Consumer has the app and stage's `owner` tag, its store is the
existing name, and a topic's or bucket's delivery queue names `<owner>/<function>`
(`t:company-events:orders.dev.1a2b3c4d/notify`), so apps sharing the store never take each other's
deliveries. One Broker per database; the shared one tags its claims with the owner, so a restart
releases this app's stale claims only (another app's claims expire with their visibility timeout).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass

from deployer.blueprint.model import BucketTrigger, QueueTrigger, TopicTrigger
from deployer.runtime.clients import local as client
from deployer.runtime.messages import MAX_MESSAGE_BYTES
from providers.local.workers import InvocationError, Pool, log_line

BACKOFF = float(os.environ.get("DEPLOYER_LOCAL_RETRY_DELAY", "0.25"))
MAX_BACKOFF = 30.0
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class Consumer:
    queue: str       # internal delivery queue name
    function: str
    source: str      # queue | topic | bucket
    batch: int
    retries: int
    dead_letter: bool
    store: str = ""  # the store's name in its database: the logical name, or the existing name
    trigger: object = None
    owner: str = ""  # set for a store that already exists: delivered from the shared queues.db
    logical: str = ""  # the store's logical name in this blueprint

    @property
    def who(self) -> str:
        """The consuming function as delivery queue names spell it (owner-qualified when shared)."""
        return f"{self.owner}/{self.function}" if self.owner else self.function


SOURCES = {"q": "queue", "t": "topic", "b": "bucket"}


def delivery_name(function: str, trigger, store: str | None = None) -> str:
    """The delivery queue of one trigger, from what it is (see the module docstring); `store` is the
    store's name in its database when it is not the trigger's (an existing store), and `function` is
    then owner-qualified."""
    match trigger:
        case QueueTrigger(queue=q):
            return f"q:{store or q}"
        case TopicTrigger(topic=t):
            return f"t:{store or t}:{function}"
        case BucketTrigger(bucket=b, on=on, prefix=prefix, suffix=suffix):
            return f"b:{store or b}:{function}:{on}:{prefix}:{suffix}"
    raise TypeError(f"{type(trigger).__name__} has no delivery queue")


def _store_of(trigger) -> str:
    match trigger:
        case QueueTrigger(queue=q):
            return q
        case TopicTrigger(topic=t):
            return t
        case BucketTrigger(bucket=b):
            return b
    raise TypeError(f"{type(trigger).__name__} has no store")


def consumers(bp) -> list[Consumer]:
    """Every asynchronous trigger of the blueprint as a delivery queue and its consuming function."""
    from providers.local import existing

    shared, owner = existing.names(bp), existing.owner_of(bp)
    out = []
    for name, fn in bp.functions.items():
        seen: dict[str, int] = {}
        for trigger in fn.triggers:
            if not isinstance(trigger, (QueueTrigger, TopicTrigger, BucketTrigger)):
                continue
            logical = _store_of(trigger)
            mine = owner if logical in shared else ""
            store = shared.get(logical, logical)
            queue = delivery_name(f"{mine}/{name}" if mine else name, trigger, store)
            seen[queue] = seen.get(queue, 0) + 1
            extra = {"owner": mine, "logical": logical}
            match trigger:
                case QueueTrigger(batch=batch):
                    spec = bp.stores[logical]
                    out.append(Consumer(queue, name, "queue", batch, spec.retries, spec.dead_letter, store, trigger,
                                        **extra))
                case TopicTrigger():
                    queue += f"#{seen[queue]}" if seen[queue] > 1 else ""
                    out.append(Consumer(queue, name, "topic", 1, DEFAULT_RETRIES, True, store, trigger, **extra))
                case BucketTrigger():
                    queue += f"#{seen[queue]}" if seen[queue] > 1 else ""
                    out.append(Consumer(queue, name, "bucket", 1, DEFAULT_RETRIES, True, store, trigger, **extra))
    return out


def register(conn, bp, owner: str = "") -> None:
    """Write the blueprint's topic subscriptions and bucket triggers where the store client finds them:
    the stage's own (all rows of its queues.db), or with `owner` this app and stage's rows of the shared
    queues.db of existing stores, leaving every other app's rows alone."""
    mine = [c for c in consumers(bp) if c.owner == owner]
    where, args = ("WHERE instr(queue, ':' || ? || '/') > 0", (owner,)) if owner else ("", ())
    with conn:
        conn.execute(f"DELETE FROM subscriptions {where}", args)
        conn.execute(f"DELETE FROM bucket_triggers {where}", args)
        for c in mine:
            if c.source == "topic":
                conn.execute("INSERT INTO subscriptions VALUES (?, ?)", (c.store, c.queue))
            elif c.source == "bucket":
                t = c.trigger
                conn.execute("INSERT INTO bucket_triggers VALUES (?, ?, ?, ?, ?)",
                             (c.store, t.on, t.prefix, t.suffix, c.queue))


def _parse(queue: str) -> tuple[str, str, str]:
    """(source, store, function) of a delivery queue name, of this layout or the index-named one."""
    parts = queue.split(":", 3)
    source = SOURCES.get(parts[0], "")
    if source == "queue" or len(parts) < 3:
        return source, parts[1] if len(parts) > 1 else "", ""
    return source, parts[1], parts[2].split("#", 1)[0]


def _takes(consumer: Consumer, data: bytes) -> bool:
    """Would this bucket trigger have received this event? (Topics take every message.)"""
    if consumer.source != "bucket":
        return True
    try:
        event = json.loads(data)
    except ValueError:
        return False
    t = consumer.trigger
    key = str(event.get("key", ""))
    return event.get("type") == t.on and key.startswith(t.prefix) and key.endswith(t.suffix)


def adopt(conn, consumer_list: list[Consumer], owner: str = "") -> tuple[int, list[dict]]:
    """Move pending rows of delivery queues no trigger consumes to the one trigger of the same function
    and store that takes them. Returns (rows moved, backlog() of what is left without a consumer).
    With `owner` (the shared queues.db), only that app and stage's delivery queues are looked at."""
    consumer_list = [c for c in consumer_list if c.owner == owner]
    current = {c.queue for c in consumer_list}
    moved = 0
    with conn:
        for (queue,) in conn.execute("SELECT DISTINCT queue FROM messages").fetchall():
            source, store, function = _parse(queue)
            if queue in current or source in ("queue", "") or not owns(owner, queue):
                continue
            targets = [c for c in consumer_list if (c.source, c.store, c.who) == (source, store, function)]
            if len(targets) != 1:
                continue
            rows = conn.execute("SELECT id, data FROM messages WHERE queue = ?", (queue,)).fetchall()
            ids = [(targets[0].queue, row) for row, data in rows if _takes(targets[0], data)]
            conn.executemany("UPDATE messages SET queue = ? WHERE id = ?", ids)
            moved += len(ids)
    return moved, [b for b in backlog(conn, consumer_list, owner) if not b["consumer"] and b["pending"]]


def owns(owner: str, queue: str) -> bool:
    """Is this delivery queue one of the app and stage's (always, in the stage's own queues.db)?"""
    return not owner or f":{owner}/" in queue


def backlog(conn, consumer_list: list[Consumer], owner: str = "", queues: tuple[str, ...] = ()) -> list[dict]:
    """Pending and dead-lettered messages per delivery queue, with who consumes it (None: nobody). With
    `owner` (the shared queues.db): this app and stage's delivery queues, and the existing `queues`
    (`q:<name>`) it uses, whoever consumes them."""
    consumer_list = [c for c in consumer_list if c.owner == owner]
    by_queue = {c.queue: c for c in consumer_list}
    out: dict[str, dict] = {}
    for c in consumer_list:
        out[c.queue] = {"queue": c.queue, "source": c.source, "store": c.store, "consumer": c.function,
                        "pending": 0, "dead_letters": 0}
    for table, field in (("messages", "pending"), ("dead_letters", "dead_letters")):
        for queue, count in conn.execute(f"SELECT queue, count(*) FROM {table} GROUP BY queue"):
            if owner and not (queue in by_queue or queue in queues or owns(owner, queue)):
                continue
            source, store, _ = _parse(queue)
            entry = out.setdefault(queue, {"queue": queue, "source": source, "store": store, "consumer": None,
                                           "pending": 0, "dead_letters": 0})
            entry[field] = count
            if queue in by_queue:
                entry["consumer"] = by_queue[queue].function
    return sorted(out.values(), key=lambda e: e["queue"])


class Broker:
    """Claims, acknowledges and retries rows. One connection, used from the event loop's thread."""

    def __init__(self, state, owner: str = ""):
        self.conn = client.connect(state / "queues.db", client.SCHEMA)
        self.owner = owner
        self.boot = f"{owner}:{uuid.uuid4().hex}" if owner else uuid.uuid4().hex

    def release_stale(self) -> int:
        """Release the claims of a previous run at once: every other claim in the stage's queues.db, this
        app and stage's only in the shared one (other local clouds hold theirs)."""
        mine = "AND substr(claimed, 1, length(?)) = ?" if self.owner else ""
        args = (f"{self.owner}:", f"{self.owner}:") if self.owner else ()
        with self.conn:
            return self.conn.execute("UPDATE messages SET claimed = NULL, visible_at = ? "
                                     f"WHERE claimed IS NOT NULL AND claimed != ? {mine}",
                                     (time.time(), self.boot, *args)).rowcount

    def refuse_oversize(self) -> int:
        """Dead-letter pending rows larger than the message limit (written before it was enforced, or by
        hand), so no delivery ever loads them on the event loop; returns how many. length() of a BLOB
        reads its header, not its bytes."""
        now, limit = time.time(), MAX_MESSAGE_BYTES
        error = f"MessageTooLarge: more than {limit:,} bytes, the portable message limit; never delivered"
        with self.conn:
            self.conn.execute("INSERT INTO dead_letters (queue, msg_id, data, attributes, attempts, error, created, "
                              "failed_at) SELECT queue, msg_id, data, attributes, attempts, ?, created, ? "
                              "FROM messages WHERE length(data) > ?", (error, now, limit))
            return self.conn.execute("DELETE FROM messages WHERE length(data) > ?", (limit,)).rowcount

    def claim(self, queue: str, limit: int, visibility: float) -> list[dict]:
        now = time.time()
        with self.conn:
            rows = self.conn.execute(
                "UPDATE messages SET attempts = attempts + 1, visible_at = ?, claimed = ? WHERE id IN "
                "(SELECT id FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY id LIMIT ?) "
                "RETURNING id, msg_id, data, attributes, attempts", (now + visibility, self.boot, queue, now, limit)
            ).fetchall()
        rows.sort()
        return [{"row": r[0], "msg_id": r[1], "data": r[2], "attributes": json.loads(r[3]), "attempt": r[4]}
                for r in rows]

    def settle(self, consumer: Consumer, items: list[dict], failed: dict[int, str]) -> list[dict]:
        """Delete the delivered rows; back off or dead-letter the failed ones. Returns the dead-lettered."""
        now, dead = time.time(), []
        with self.conn:
            done = [(i["row"],) for i in items if i["row"] not in failed]
            self.conn.executemany("DELETE FROM messages WHERE id = ?", done)
            for item in items:
                if item["row"] not in failed:
                    continue
                error = failed[item["row"]]
                if item["attempt"] >= consumer.retries:
                    dead.append(item)
                    if consumer.dead_letter:
                        self.conn.execute(
                            "INSERT INTO dead_letters (queue, msg_id, data, attributes, attempts, error, created, "
                            "failed_at) SELECT queue, msg_id, data, attributes, attempts, ?, created, ? "
                            "FROM messages WHERE id = ?", (error, now, item["row"]))
                    self.conn.execute("DELETE FROM messages WHERE id = ?", (item["row"],))
                else:
                    delay = min(BACKOFF * 2 ** (item["attempt"] - 1), MAX_BACKOFF)
                    self.conn.execute("UPDATE messages SET visible_at = ?, claimed = NULL, error = ? WHERE id = ?",
                                      (now + delay, error, item["row"]))
        return dead


class Dispatcher:
    """One loop per consumer: claim up to `batch` rows, run them on the function's pool, settle."""

    def __init__(self, brokers: dict[str, Broker], pools: dict[str, Pool], consumer_list: list[Consumer]):
        """`brokers`: by owner, "" for the stage's queues.db (and the owner's for the shared one)."""
        self.brokers, self.pools, self.consumers = brokers, pools, consumer_list
        self.events = {c.queue: asyncio.Event() for c in consumer_list}
        self.tasks: list[asyncio.Task] = []
        self.inflight: set[asyncio.Task] = set()

    def wake(self) -> None:
        """New messages may be waiting (a handler sent or published): every idle consumer looks now."""
        for event in self.events.values():
            event.set()

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._run(c)) for c in self.consumers]

    async def stop(self) -> None:
        for task in self.tasks + list(self.inflight):
            task.cancel()
        await asyncio.gather(*self.tasks, *self.inflight, return_exceptions=True)

    async def _run(self, consumer: Consumer) -> None:
        pool = self.pools[consumer.function]
        slots = asyncio.Semaphore(pool.spec.max_workers)
        idle = 0.002
        wake = self.events[consumer.queue]
        while True:
            await slots.acquire()
            try:
                items = self.brokers[consumer.owner].claim(consumer.queue, consumer.batch, pool.spec.timeout + 5)
            except Exception as exc:  # noqa: BLE001 - e.g. disk full: report, keep trying
                log_line(pool.spec, f"DISPATCH ERROR {consumer.queue}: {exc}")
                items = []
            if not items:
                slots.release()
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), idle)
                except asyncio.TimeoutError:
                    idle = min(idle * 2, 0.1)
                continue
            idle = 0.002
            task = asyncio.create_task(self._deliver(consumer, pool, items))
            self.inflight.add(task)
            task.add_done_callback(lambda t: (self.inflight.discard(t), slots.release()))

    async def _deliver(self, consumer: Consumer, pool: Pool, items: list[dict]) -> None:
        payload = {"source": consumer.source, "items": items, "store": consumer.logical}
        try:
            failed = dict(await pool.invoke("messages", payload))
        except InvocationError as exc:
            failed = {i["row"]: f"{type(exc).__name__}: {exc}" for i in items}
        try:
            dead = self.brokers[consumer.owner].settle(consumer, items, failed)
        except Exception as exc:  # noqa: BLE001 - unsettled rows are redelivered after the visibility timeout
            log_line(pool.spec, f"SETTLE ERROR {consumer.queue}: {exc}")
            return
        for item in dead:
            log_line(pool.spec, f"DEAD-LETTER {item['msg_id']} from {consumer.queue} after {item['attempt']} "
                                f"attempts: {failed[item['row']]}")


def describe_stranded(entry: dict) -> str:
    """The log line for pending messages that no trigger consumes."""
    what = {"queue": f"queue {entry['store']!r}", "topic": f"topic {entry['store']!r}",
            "bucket": f"bucket {entry['store']!r}"}.get(entry["source"], "an unknown source")
    return (f"{entry['pending']} pending message(s) of {what} in delivery queue {entry['queue']!r} have no "
            f"consumer in the blueprint; they are kept (see `deployer status`) and delivered again if a trigger "
            f"for them comes back")


def open_brokers(bp, state) -> dict[str, Broker]:
    """The stage's Broker (owner ""), and the shared queues.db's when the blueprint has an existing store
    or registered one before (so a trigger it dropped stops receiving there): registered, by owner."""
    from providers.local import existing

    brokers = {"": Broker(state)}
    owner = existing.owner_of(bp)
    if existing.names(bp) or (existing.home() / "queues.db").exists():
        brokers[owner] = Broker(existing.prepare(), owner)
    for tag, broker in brokers.items():
        register(broker.conn, bp, tag)
    return brokers


def prepare_broker(bp, owner: str, broker: Broker, log) -> None:
    """At start: adopt moved triggers' rows, report stranded ones, dead-letter oversize rows, release
    this run's predecessor's claims."""
    where = " (existing stores)" if owner else ""
    moved, stranded = adopt(broker.conn, consumers(bp), owner)
    if moved:
        log(f"moved {moved} pending message(s) to the triggers that now consume them{where}")
    for entry in stranded:
        log(describe_stranded(entry))
    refused = broker.refuse_oversize()
    if refused:
        log(f"dead-lettered {refused} pending message(s) larger than the {MAX_MESSAGE_BYTES:,}-byte message "
            f"limit{where} (see `deployer status`)")
    released = broker.release_stale()
    if released:
        log(f"released {released} message(s) claimed by a previous run{where}; they will be delivered again")
