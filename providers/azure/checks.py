"""Portability diagnostics: what Azure (Flex Consumption, one app per function) cannot do as asked.

Each diagnostic points at the blueprint field (file, line, column, path) and says what Azure does
instead and what to write. Errors stop plan/up; warnings are shown and the deployment goes on.
"""

from __future__ import annotations

from deployer.blueprint.model import (
    Blueprint, BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger,
)
from deployer.errors import Diagnostic
from providers.azure import hosting, names, queues, schedules


def check(bp: Blueprint) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for name in bp.functions:
        found += _function(bp, name)
        for index, trigger in enumerate(bp.functions[name].triggers):
            found += _trigger(bp, f"functions.{name}.triggers[{index}]", trigger)
        found += _queue_settings(bp, name)
    clashes = _function_collisions(bp)
    found += clashes + _collisions(bp, {d.location.path for d in clashes})
    found += _existing(bp)
    for name, store in bp.stores.items():
        if store.kind == "queue" and not store.dead_letter:
            found.append(_diag(bp, f"stores.{name}.dead_letter", severity="warning",
                               message=f"queue {name!r}: Azure always moves a message that failed {store.retries} "
                                       f"times to the poison queue `<queue>-poison`; it is kept, not dropped",
                               hint="read or clear the poison queue yourself, or set `dead_letter: true`"))
    return found


def _diag(bp: Blueprint, path: str, message: str, hint: str | None = None, severity: str = "error") -> Diagnostic:
    return Diagnostic(message, bp.locate(path), hint=hint, severity=severity, code="azure", cloud="azure")


def _function(bp: Blueprint, name: str) -> list[Diagnostic]:
    fn, path, out = bp.functions[name], f"functions.{name}", []
    version = hosting.python_version(fn.runtime)
    if version not in hosting.PYTHON_VERSIONS:
        out.append(_diag(bp, f"{path}.runtime", f"function {name!r}: Python {version} is not offered on Azure's "
                         f"Flex Consumption plan; it runs {', '.join(hosting.PYTHON_VERSIONS)}",
                         hint="set `runtime: python3.12`"))
    out += _memory(bp, name) + _instances(bp, name) + _env(bp, name)
    if fn.timeout > hosting.HTTP_TIMEOUT and any(isinstance(t, HttpTrigger) for t in fn.triggers):
        out.append(_diag(bp, f"{path}.timeout", f"function {name!r}: an HTTP call open longer than "
                         f"{hosting.HTTP_TIMEOUT} s is answered 502 by Azure's front end, whatever the timeout",
                         severity="warning", hint="answer within 230 s and hand longer work to a queue"))
    return out


def _memory(bp: Blueprint, name: str) -> list[Diagnostic]:
    memory, sizes = bp.functions[name].memory, hosting.MEMORY_SIZES
    size = hosting.instance_memory(memory)
    where = f"functions.{name}.memory"
    if size is None:
        return [_diag(bp, where, f"function {name!r}: memory {memory} MB; a Flex Consumption instance has at most "
                      f"{sizes[-1]} MB", hint=f"use at most {sizes[-1]} MB on Azure (a stage override can set it)")]
    if size != memory:
        return [_diag(bp, where, f"function {name!r}: memory {memory} MB runs on a {size} MB Flex Consumption "
                      f"instance (Flex offers {', '.join(map(str, sizes))} MB) and is billed as such",
                      severity="warning", hint=f"set `memory: {size}` to say so")]
    return []


def _instances(bp: Blueprint, name: str) -> list[Diagnostic]:
    wanted = bp.functions[name].max_instances
    low, high = hosting.MIN_INSTANCES, hosting.MAX_INSTANCES
    if wanted is None or low <= wanted <= high:
        return []
    what = "cannot scale beyond" if wanted > high else "cannot be held below"
    return [_diag(bp, f"functions.{name}.max_instances", f"function {name!r}: max_instances {wanted}; a Flex "
                  f"Consumption app {what} {high if wanted > high else low} instances (maximumInstanceCount "
                  f"{low}-{high})", hint=f"set `max_instances` between {low} and {high} on Azure")]


RESERVED_HINT = ("names starting with AzureWebJobs, AzureFunctionsJobHost, FUNCTIONS_, WEBSITE_, SCM_, "
                 "APPLICATIONINSIGHTS_, DEPLOYER_, DeployerStorage or DeployerServiceBus, and AZURE_CLIENT_ID, "
                 "are reserved (in any case)")


def _env(bp: Blueprint, name: str) -> list[Diagnostic]:
    """`env` entries and granted secrets become app settings, one namespace with the settings deployer
    and the platform own: a secret named AZURE_CLIENT_ID would replace the identity's client id."""
    from providers.azure.functions import reserved

    fn = bp.functions[name]
    out = [_diag(bp, f"functions.{name}.env.{key}", f"function {name!r}: env {key} would overwrite an app "
                 "setting deployer or Azure Functions sets (identity-based connections, the runtime contract)",
                 hint=f"rename the variable; {RESERVED_HINT}")
           for key in fn.env if reserved(key)]
    return out + [_diag(bp, f"functions.{name}.secrets[{index}]", f"function {name!r}: secret {key} is given to "
                        "the function as an app setting of that name, which would overwrite one deployer or Azure "
                        "Functions sets", hint=f"rename the secret; {RESERVED_HINT}")
                  for index, key in enumerate(fn.secrets) if reserved(key)]


def _trigger(bp: Blueprint, path: str, trigger) -> list[Diagnostic]:
    match trigger:
        case QueueTrigger(batch=batch) if batch > queues.MAX_BATCH:
            return [_diag(bp, f"{path}.batch", f"batch {batch}: Azure's queue trigger takes at most "
                          f"{queues.MAX_BATCH} messages at once (host.json batchSize 1-32)",
                          hint=f"set `batch: {queues.MAX_BATCH}` or less")]
        case ScheduleTrigger():
            return _schedule(bp, path, trigger)
        case QueueTrigger() | BucketTrigger() | HttpTrigger() | TopicTrigger():
            return []
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def _schedule(bp: Blueprint, path: str, trigger: ScheduleTrigger) -> list[Diagnostic]:
    try:
        schedules.cron_of(trigger.schedule)
    except schedules.ScheduleConversionError as exc:
        return [_diag(bp, f"{path}.schedule", str(exc))]
    if schedules.is_utc(trigger.timezone):
        return []
    try:
        schedules.check_zone(trigger.timezone)
    except schedules.ScheduleConversionError as exc:
        return [_diag(bp, f"{path}.timezone", str(exc), hint="write the schedule in UTC (`timezone: UTC`)")]
    return []


PHYSICAL = {"bucket": names.container, "queue": names.queue, "table": names.table, "topic": names.topic}
KINDS = {"bucket": "container", "queue": "queue", "table": "table", "topic": "topic"}


def _named(bp: Blueprint):
    """(Azure kind, physical name, blueprint path or None, what it is) of every container, queue, table
    and topic deployer names: the host's containers, each bucket trigger's event queue with its poison
    queue, and the stores (a queue with its poison queue). Derived names come first, so a clash is
    reported at the store the user can rename."""
    for container in names.HOST_CONTAINERS:
        yield "container", container, None, "the Functions host's container"
    for fn, spec in bp.functions.items():
        for index, trigger in enumerate(spec.triggers):
            if isinstance(trigger, BucketTrigger):
                queue = names.event_queue(bp.name, bp.stage, fn, index)
                what = f"the event queue of function {fn!r} (triggers[{index}])"
                path = f"functions.{fn}.triggers[{index}]"
                yield "queue", queue, path, what
                yield "queue", names.poison_queue(queue), path, f"the poison queue of {what}"
    for name, store in bp.stores.items():
        if bp.existing(name, "azure"):  # not named by deployer
            continue
        physical = PHYSICAL[store.kind](bp.name, bp.stage, name)
        yield KINDS[store.kind], physical, f"stores.{name}", f"store {name!r}"
        if store.kind == "queue":
            yield "queue", names.poison_queue(physical), f"stores.{name}", f"the poison queue of store {name!r}"


def _collisions(bp: Blueprint, reported: set[str]) -> list[Diagnostic]:
    """Two things whose Azure names come out equal: stores of one kind (tables drop hyphens: `a-b` and
    `ab`), or a store and a name deployer derives (`jobs-poison` is the poison queue of `jobs`,
    `resize-events0` the event queue of resize's first trigger, `azure-webjobs-hosts` the host's).
    One error per store or function (a queue's clash implies its poison queue's); none for a function
    `reported` already (its name clashes with another function's)."""
    out, seen, reported = [], {}, set(reported)
    for kind, physical, path, what in _named(bp):
        first = seen.setdefault((kind, physical), what)
        owner = path.split(".triggers[")[0] if path else None
        if first is what or owner is None or owner in reported:
            continue
        reported.add(owner)
        if what.startswith("store ") and first.startswith("store "):
            message = f"stores {first[6:]} and {what[6:]} would both be the Azure {_kind_word(kind)} {physical!r}"
        else:
            message = f"{what} and {first} would both be the Azure {kind} {physical!r}"
        out.append(_diag(bp, path, message, hint="rename one of them"))
    return out


def _kind_word(kind: str) -> str:
    """The blueprint's word for a kind in store-to-store messages (`bucket`, not `container`)."""
    return {"container": "bucket"}.get(kind, kind)


def _function_collisions(bp: Blueprint) -> list[Diagnostic]:
    """Two functions whose Azure names come out equal: Service Bus subscriptions, gateway key named
    values and bucket event queues drop doubled and trailing hyphens (`f--g` and `f-g` are `f-g`)."""
    out, seen = [], {}
    for name in bp.functions:
        physical = names.subscription(name)
        if physical in seen:
            out.append(_diag(bp, f"functions.{name}", f"functions {seen[physical]!r} and {name!r} would share "
                             f"their Azure names ({physical!r}: Service Bus subscriptions, gateway keys and bucket "
                             "event queues drop doubled and trailing hyphens)", hint="rename one of them"))
        seen.setdefault(physical, name)
    return out


def _queue_settings(bp: Blueprint, name: str) -> list[Diagnostic]:
    """host.json queue settings are per app: two queue triggers of one function must agree."""
    fn = bp.functions[name]
    seen = {}
    for index, trigger in enumerate(fn.triggers):
        if isinstance(trigger, QueueTrigger):
            seen.setdefault(tuple(sorted(queues.host_settings(bp, trigger).items())), index)
    if len(seen) <= 1:
        return []
    second = sorted(seen.values())[1]
    return [_diag(bp, f"functions.{name}.triggers[{second}]", f"function {name!r}: its queue triggers ask for "
                  "different batch sizes or retries; Azure sets both once per Function App (host.json)",
                  hint="give the queues the same `retries` and the triggers the same `batch`, or split the function")]


def _existing(bp: Blueprint) -> list[Diagnostic]:
    """Existing stores: named by their ARM id (providers/azure/existing.py), and only wired where
    Azure lets deployer do it without touching what it does not own."""
    from providers.azure import existing

    out = []
    for name, store in bp.stores.items():
        text = bp.existing(name, "azure")
        if text and existing.parse(store.kind, text) is None:
            out.append(_diag(bp, existing.where(bp, name), f"store {name!r}: Azure names an existing {store.kind} by "
                             f"its resource id, and {text!r} is not the id of one",
                             hint=f"give its id (the portal's \"Resource ID\"): {existing.EXAMPLES[store.kind]}"))
    if not out:
        out += _existing_triggers(bp)
    return out


def _existing_triggers(bp: Blueprint) -> list[Diagnostic]:
    from providers.azure import existing
    from providers.azure.context import subscription_id

    out, deploying = [], subscription_id()
    for fn, spec in bp.functions.items():
        for index, trigger in enumerate(spec.triggers):
            path = f"functions.{fn}.triggers[{index}]"
            if isinstance(trigger, BucketTrigger) and existing.of(bp, trigger.bucket):
                out.append(_diag(bp, path, f"function {fn!r}: bucket {trigger.bucket!r} already exists; its blob "
                                 "events come from its storage account's Event Grid system topic, and an account "
                                 "has at most one, which deployer would have to create (or take over) there",
                                 hint="subscribe that account's system topic to a storage queue yourself and "
                                      "consume it as an existing queue (`kind: queue, existing: <its id>`): the "
                                      "handler then receives each Event Grid event as a message"))
            found = existing.of(bp, trigger.topic) if isinstance(trigger, TopicTrigger) else None
            if found and deploying and found.subscription != deploying:
                out.append(_diag(bp, path, f"function {fn!r}: topic {trigger.topic!r} is in Azure subscription "
                                 f"{found.subscription}, and deployer creates the function's subscription to it "
                                 f"through the stage's subscription {deploying}",
                                 hint="deploy the stage to the topic's subscription, or publish to the topic only "
                                      "(`uses: publish`) and consume a topic of the stage's own"))
    return out
