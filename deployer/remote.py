"""Operating deployed functions: the portable vocabulary of `deployer invoke` and `deployer logs`.

Why a core module: a user who runs `deployer invoke worker --cloud aws` and then `--cloud gcp` must
give the same `--data` and read the same answer, and `deployer logs` must print one format whatever
cloud keeps the logs. So the core builds one portable event from the function's trigger (an HTTP
request, a queue or topic message, a bucket event, a schedule tick) and every provider turns it into
the native event its own shim recognises (`Provider.invoke`); every provider turns its cloud's log
entries into `LogRecord`s (`Provider.logs`). Nothing here names a cloud.

Physical names come from the stack outputs (`functions`, `stores`, `api_url`), which
`RemoteOptions.outputs()` reads lazily: providers that need none (the local cloud) never pay for it.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Mapping

from deployer.errors import PrerequisiteError, UsageError
from deployer.runtime.messages import MAX_MESSAGE_BYTES

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint

TRIGGER_KINDS = ("http", "queue", "topic", "bucket", "schedule")


# ----------------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class HttpEvent:
    method: str
    path: str
    route: str                      # the trigger's path template, e.g. /orders/{id}
    params: dict[str, str]
    query: dict[str, str]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    trigger: int = 0


@dataclass(frozen=True)
class MessageEvent:
    source: Literal["queue", "topic"]
    store: str                      # logical name of the queue or topic
    data: bytes                     # the payload as `send`/`publish` would put it on the wire
    attributes: dict[str, str]
    id: str
    trigger: int = 0


@dataclass(frozen=True)
class ObjectEvent:
    store: str                      # logical name of the bucket
    key: str
    size: int
    type: Literal["created", "deleted"]
    time: str                       # ISO 8601, UTC
    trigger: int = 0


@dataclass(frozen=True)
class ScheduleEvent:
    schedule: str
    timezone: str
    time: str                       # ISO 8601 in the trigger's zone
    trigger: int = 0


Event = HttpEvent | MessageEvent | ObjectEvent | ScheduleEvent


def event_kind(event: Event) -> str:
    """The trigger kind an event stands for: http, queue, topic, bucket or schedule."""
    match event:
        case HttpEvent():
            return "http"
        case MessageEvent():
            return event.source
        case ObjectEvent():
            return "bucket"
        case ScheduleEvent():
            return "schedule"
    raise TypeError(f"not a portable event: {type(event).__name__}")


def trigger_kind(trigger: Any) -> str:
    from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger

    match trigger:
        case HttpTrigger():
            return "http"
        case QueueTrigger():
            return "queue"
        case TopicTrigger():
            return "topic"
        case BucketTrigger():
            return "bucket"
        case ScheduleTrigger():
            return "schedule"
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def pick_trigger(bp: "Blueprint", function: str, which: str | int | None) -> int:
    """The index of the trigger to invoke: `--trigger N` (0-based), `--trigger KIND` (its first trigger
    of that kind), or by default the first trigger."""
    triggers = bp.functions[function].triggers
    if not triggers:
        raise UsageError(f"function {function!r} has no trigger, so there is no event to invoke it with",
                         hint="add a trigger to it in the blueprint")
    kinds = [trigger_kind(t) for t in triggers]
    if which is None or which == "":
        return 0
    if isinstance(which, int) or str(which).isdigit():
        index = int(which)
        if not 0 <= index < len(triggers):
            raise UsageError(f"function {function!r} has {len(triggers)} trigger(s); --trigger must be "
                             f"0..{len(triggers) - 1} or one of: {', '.join(dict.fromkeys(kinds))}")
        return index
    if which in kinds:
        return kinds.index(which)
    raise UsageError(f"function {function!r} has no {which!r} trigger",
                     hint=f"its triggers: {', '.join(f'{i}={k}' for i, k in enumerate(kinds))}")


def read_data(value: str | None) -> Any:
    """`--data JSON` or `--data @file` (JSON, or plain text when it is not JSON); None when absent."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"--data: cannot read {value[1:]}: {reason}") from exc
    try:
        return json.loads(text)
    except ValueError:
        return text


def _field(request: dict, name: str, kind: type) -> Any:
    value = request.get(name)
    if value is not None and not isinstance(value, kind):
        words = {str: "a string", dict: "an object"}
        raise UsageError(f"--data: the request's {name!r} must be {words[kind]}, not {json.dumps(value)}",
                         hint='e.g. {"method": "GET", "path": "/orders/1", "query": {"a": "1"}, '
                              '"headers": {"x-token": "t"}, "body": {...}}')
    return value


def fill_path(template: str, params: dict) -> str:
    return re.sub(r"\{(\w+)\+?(?::\w+)?\}", lambda m: str(params.get(m.group(1), m.group(0))), template)


def http_event(trigger: Any, data: Any, index: int) -> HttpEvent:
    """`--data` is the JSON body, or a request {"method", "path", "params", "query", "headers", "body"}."""
    request = data if isinstance(data, dict) and "method" in data else {"body": data}
    for name in ("method", "path"):
        _field(request, name, str)
    params = {k: str(v) for k, v in (_field(request, "params", dict) or {}).items()}
    body = request.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, str) and request is data:  # a request's text body; a bare string is JSON
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    method = request.get("method") or (trigger.method if trigger.method != "ANY" else "POST")
    headers = {k: str(v) for k, v in (_field(request, "headers", dict) or {}).items()}
    if raw and not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"
    return HttpEvent(method=method.upper(), path=request.get("path") or fill_path(trigger.path, params),
                     route=trigger.path, params=params,
                     query={k: str(v) for k, v in (_field(request, "query", dict) or {}).items()},
                     headers=tuple(headers.items()), body=raw, trigger=index)


def _iso(value: Any) -> bool:
    try:
        datetime.fromisoformat(value)
        return True
    except (TypeError, ValueError):
        return False


def build_event(bp: "Blueprint", function: str, data: Any, which: str | int | None = None) -> Event:
    """The portable event of the chosen trigger of `function`, with `--data` applied. Without
    `--trigger`, a request's method and path choose the HTTP route they match (its path parameters
    filled from the path), so a function with several routes needs no index."""
    if which is None and isinstance(data, dict) and isinstance(data.get("method"), str) \
            and isinstance(data.get("path"), str):
        found = match_route(bp.functions[function].triggers, data["method"], data["path"])
        if found is not None:
            index, params = found
            given = data.get("params") if isinstance(data.get("params"), dict) else {}
            return event_for(bp.functions[function].triggers[index], {**data, "params": {**params, **given}}, index)
    index = pick_trigger(bp, function, which)
    return event_for(bp.functions[function].triggers[index], data, index)


def match_route(triggers: list, method: str, path: str) -> tuple[int, dict[str, str]] | None:
    """(index, path parameters) of the first HTTP trigger whose method and path template match."""
    from deployer.blueprint.model import HttpTrigger

    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, HttpTrigger) or trigger.method not in ("ANY", method.upper()):
            continue
        pattern = re.sub(r"\\\{(\w+)(\\\+)?(?::\w+)?\\\}",
                         lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})", re.escape(trigger.path))
        found = re.fullmatch(pattern, path)
        if found:
            return index, found.groupdict()
    return None


def event_for(trigger: Any, data: Any, index: int = 0) -> Event:
    """The portable event of one trigger: http (`--data` is the body or a request), queue/topic (the
    payload), bucket ({"key", "size"}; default key: prefix + "example" + suffix), schedule ({"time"})."""
    from zoneinfo import ZoneInfo

    from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger

    match trigger:
        case HttpTrigger():
            return http_event(trigger, data, index)
        case QueueTrigger() | TopicTrigger():
            raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            source, store = ("queue", trigger.queue) if isinstance(trigger, QueueTrigger) else ("topic", trigger.topic)
            if len(raw) > MAX_MESSAGE_BYTES:  # no cloud would ever deliver it (deployer/runtime/messages.py)
                raise UsageError(f"--data is {len(raw):,} bytes, more than {MAX_MESSAGE_BYTES:,} bytes, the largest "
                                 f"{source} message every cloud carries", hint="put the payload in a bucket")
            return MessageEvent(source, store, raw, {}, uuid.uuid4().hex, index)
        case BucketTrigger(prefix=prefix, suffix=suffix, on=on, bucket=bucket):
            spec = data if isinstance(data, dict) else {}
            size = spec.get("size", 0)
            if data is not None and not isinstance(data, dict) or not isinstance(spec.get("key", ""), str) \
                    or not isinstance(size, int) or size < 0:
                raise UsageError(f"--data of a bucket event is {{\"key\": \"<object key>\", \"size\": <bytes>}}, "
                                 f"not {json.dumps(data)}")
            return ObjectEvent(bucket, spec.get("key") or f"{prefix}example{suffix}", size, on,
                               iso_utc(time.time()), index)
        case ScheduleTrigger(schedule=schedule, timezone=tz):
            when = data.get("time") if isinstance(data, dict) else None
            if data is not None and not (isinstance(data, dict) and (when is None or _iso(when))):
                raise UsageError(f"--data of a schedule event is {{\"time\": \"<ISO 8601 time>\"}}, not "
                                 f"{json.dumps(data)}", hint='e.g. {"time": "2026-01-01T03:00:00+01:00"}')
            return ScheduleEvent(schedule, tz, when or datetime.now(ZoneInfo(tz)).isoformat(timespec="seconds"), index)
    raise UsageError(f"cannot invoke a {type(trigger).__name__}")


# ----------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class InvokeResult:
    """What an invocation answered. `kind` is the event's (http, queue, topic, bucket, schedule).

    HTTP: `status`, `headers`, `body` (JSON-decoded when JSON). Events: `ok`, `error`, `result`.
    `accepted`: the cloud queued the event and runs it asynchronously (no result to show: see the logs).
    `log`: the function's own log tail when the cloud returns one with the answer (AWS)."""

    ok: bool
    kind: str
    request_id: str | None = None
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    result: Any = None
    error: str | None = None
    log: str = ""
    ms: float | None = None
    accepted: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "kind": self.kind, "request_id": self.request_id}
        if self.kind == "http":
            out.update(status=self.status, headers=[list(h) for h in self.headers], body=self.body)
        else:
            out.update(result=self.result, error=self.error)
        out.update(accepted=self.accepted, log=self.log, ms=self.ms)
        return out


def decode_body(raw: bytes) -> Any:
    """An HTTP body as shown: JSON when it is JSON, else text, None when empty."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


# ----------------------------------------------------------------------------------------- logs
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LogRecord:
    """One log entry, the same on every cloud. `time` is ISO 8601 in UTC (`...Z`), or "" when the
    source did not say; `level` one of LEVELS."""

    time: str
    request_id: str | None
    level: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "request_id": self.request_id, "level": self.level, "message": self.message}

    def line(self) -> str:
        rid = (self.request_id or "-")[:36]
        return f"{self.time or '-':24} {self.level:7} {rid:36} {self.message}"


def iso_utc(moment: datetime | float) -> str:
    """A datetime (naive = UTC) or epoch seconds -> `2026-01-01T03:00:00.000Z`."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def level_of(text: str | None, default: str = "INFO") -> str:
    """A cloud's severity word -> one of LEVELS."""
    word = (text or "").upper()
    aliases = {"WARN": "WARNING", "FATAL": "CRITICAL", "ALERT": "CRITICAL", "EMERGENCY": "CRITICAL",
               "NOTICE": "INFO", "DEFAULT": default, "TRACE": "DEBUG", "VERBOSE": "DEBUG", "INFORMATION": "INFO"}
    word = aliases.get(word, word)
    return word if word in LEVELS else default


def parse_since(text: str | None, now: float | None = None) -> float | None:
    """`--since 10m` (s, m, h, d) or an ISO 8601 time -> epoch seconds; None when not given."""
    if text is None or text == "":
        return None
    now = time.time() if now is None else now
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if found:
        seconds = float(found.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]
        return now - seconds
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a duration nor a time",
                         hint="e.g. --since 10m, --since 2h, --since 1d or --since 2026-01-01T03:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# ----------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class RemoteOptions:
    """What the CLI hands `Provider.invoke` / `Provider.logs`.

    `outputs()` returns the stack outputs (read once, on first use); `env` is where endpoints and
    credentials are looked up (os.environ); `poll` the seconds between two reads of `logs --follow`;
    `lines` the number of most recent records to show (0: all in the window)."""

    stage: str
    outputs: Callable[[], dict[str, Any]] = field(default=lambda: {})
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    poll: float = 2.0
    lines: int = 0
    cloud: str = ""

    def deployed(self, section: str, name: str, what: str = "function") -> str:
        """The physical name or URL of a function (`functions`) or store (`stores`) in the stack outputs;
        exit 2 with a did-you-mean when the stack has no such one."""
        values = self.outputs().get(section) or {}
        if name in values and values[name]:
            return str(values[name])
        close = difflib.get_close_matches(name, list(values), n=1)
        known = f"the stack has: {', '.join(sorted(values))}" if values else "the stack has none"
        raise UsageError(f"the deployed stack (stage {self.stage}) has no {what} {name!r}",
                         hint=f"did you mean {close[0]!r}?" if close else
                         f"{known}; run `deployer up --cloud {self.cloud or '<cloud>'} --stage {self.stage}` "
                         f"after adding it")


def needs_function(bp: "Blueprint", function: str | None) -> str:
    """`deployer logs` without a function on a cloud that has no log of its own: exit 2."""
    if function is None:
        raise UsageError("`deployer logs` needs a function on this cloud", hint=f"functions: {', '.join(bp.functions)}")
    return function


def missing_credentials(cloud: str, looked_for: str, detail: str = "", sign_in: str = "") -> PrerequisiteError:
    """Exit 3, naming what was looked for (and how to sign in, when the provider says)."""
    more = f" ({detail})" if detail else ""
    return PrerequisiteError(f"no {cloud} credentials found{more}; looked for {looked_for}",
                             hint=f"{sign_in or f'sign in to {cloud} the usual way'}, then run the command again")


def function_not_found(bp: "Blueprint", function: str) -> UsageError:
    close = difflib.get_close_matches(function, list(bp.functions), n=1)
    return UsageError(f"no function {function!r} in {bp.source}",
                      hint=f"did you mean {close[0]!r}?" if close else f"functions: {', '.join(bp.functions)}")


def since_window(since: float | None, default_seconds: float = 600.0) -> float:
    """The start of the log window in epoch seconds (default: the last 10 minutes)."""
    return since if since is not None else time.time() - default_seconds


class Window:
    """Where the next read of a followed log starts, and what was already shown.

    Clouds ingest late: an entry can become visible after a newer one was read. So every read goes
    back `lag` seconds before the newest record seen, and records already shown are dropped by key
    (a cloud's entry id); keys older than the window are forgotten, so memory stays bounded."""

    def __init__(self, start: float, lag: float = 0.0):
        self.first = start
        self.newest = start
        self.lag = lag
        self.shown: dict[str, float] = {}

    @property
    def start(self) -> float:
        return max(self.first, self.newest - self.lag)

    def fresh(self, key: str, when: float) -> bool:
        """True the first time a record is seen (and remember it)."""
        if key in self.shown:
            return False
        self.shown[key] = when
        self.newest = max(self.newest, when)
        return True

    def forget_old(self) -> None:
        start = self.start
        self.shown = {k: t for k, t in self.shown.items() if t >= start}


def follow_reads(window: Window, read: Callable[[Window], Iterator[LogRecord]], follow: bool,
                 every: float) -> Iterator[LogRecord | None]:
    """The records of one read of the window, then None (the backlog is shown); with `follow`, the
    records of a new read every `every` seconds until the caller stops (Ctrl-C). Every cloud's `logs`."""
    first = True
    while True:
        yield from read(window)
        if first:
            yield None
            first = False
        if not follow:
            return
        window.forget_old()
        time.sleep(every)
