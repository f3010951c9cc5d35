"""What GCP does differently for a blueprint: the GCP provider's `check`.

Each rule returns Diagnostics located at the blueprint field they are about (file, line, column, field
path) with cloud="gcp". Errors are what the program cannot deploy faithfully (a rate cron cannot
express, an event-driven timeout beyond gen2's 540 s, one path template used with two parameter names);
warnings are where GCP behaves differently but the blueprint still works (push subscriptions deliver
one message per request, bucket name filters run in the function, a plan without a project). Queue
`retries` below Pub/Sub's minimum of 5 are honoured by the shim (queues.py), so they are no error.
"""

from __future__ import annotations

from deployer import naming
from deployer.blueprint.model import (
    Blueprint, BucketStore, BucketTrigger, HttpTrigger, QueueStore, QueueTrigger, ScheduleTrigger, TopicTrigger,
)
from deployer.blueprint.refs import consumers
from deployer.errors import Diagnostic
from providers.gcp.context import FUNCTION_NAME_MAX, event_triggers, http_delivered, unix_cron

HTTP_TIMEOUT_MAX = 3600
EVENT_TIMEOUT_MAX = 540
PUSH_ACK_MAX = 600
SCHEDULER_DEADLINE_MAX = 1800
RESERVED = "/_deployer"
SHIM_VERIFIES = ("google-auth>=2.20,<3",)  # OIDC checks of push and scheduler calls
#: Environment variables Cloud Run sets for a function (its container contract): a deploy setting one fails.
RESERVED_ENV = ("FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "PORT")


def diag(bp: Blueprint, path: str, message: str, *, hint: str | None = None, severity: str = "error",
         code: str = "gcp") -> Diagnostic:
    return Diagnostic(message, bp.locate(path), hint=hint, severity=severity, code=code, cloud="gcp")


def check(bp: Blueprint) -> list[Diagnostic]:
    # No CORS rule: API Gateway has no CORS, but the shim answers preflights from http.cors (docs/gcp.md).
    return [*project(bp), *reserved_names(bp), *reserved_env(bp), *queues(bp), *functions(bp), *triggers(bp), *routes(bp),
            *existing_tables(bp), *existing_event_sources(bp)]


def existing_path(bp: Blueprint, store: str) -> str:
    """Where a store's existing name is given: `clouds.gcp.existing.<store>` wins over `stores.<store>.existing`."""
    return f"clouds.gcp.existing.{store}" if store in bp.clouds.gcp.existing else f"stores.{store}.existing"


def reserved_names(bp: Blueprint) -> list[Diagnostic]:
    """Cloud Storage refuses bucket names that start with `goog` or contain `google`, and Pub/Sub topic and
    subscription names that start with `goog`; every such name here starts with `<name>-<stage>` (and a
    bucket's also holds the store's name)."""
    out = []
    prefix = f"{bp.name}-{bp.stage}"
    if prefix.startswith("goog") or "google" in prefix:
        out.append(diag(bp, "name", f"{prefix!r} starts every GCP resource name, and GCP refuses bucket names that "
                                    "start with 'goog' or contain 'google' (and topic names that start with 'goog')",
                        hint="choose a blueprint name (and stage) without 'goog' at the start or 'google' anywhere"))
    for name, store in bp.stores.items():
        if isinstance(store, BucketStore) and "google" in name and not bp.existing(name, "gcp"):
            out.append(diag(bp, f"stores.{name}", f"bucket {name!r}: Cloud Storage refuses bucket names that contain "
                                                  "'google'", hint="rename the store"))
    return out


def reserved_env(bp: Blueprint) -> list[Diagnostic]:
    """Cloud Run sets PORT, K_SERVICE ... itself and refuses keys starting with X_GOOGLE_: a function's env
    (or a secret it is given as an environment variable) may not use them."""
    def reserved(key: str) -> bool:
        return key in RESERVED_ENV or key.startswith("X_GOOGLE_")

    out = [diag(bp, f"functions.{name}.env.{key}", f"environment variable {key!r} is reserved by Cloud Run functions",
                hint="rename it (Cloud Run sets PORT, K_SERVICE, K_REVISION, FUNCTION_TARGET ... itself)")
           for name, fn in bp.functions.items() for key in fn.env if reserved(key)]
    out += [diag(bp, f"secrets.{key}", f"secret {key!r} would be the environment variable {key!r}, which Cloud Run "
                                      "functions reserve", hint="rename the secret")
            for key in bp.secrets if reserved(key) and any(key in fn.secrets for fn in bp.functions.values())]
    return out


def existing_event_sources(bp: Blueprint) -> list[Diagnostic]:
    """Triggers on existing stores: GCP delivers their events only within the project (and, for buckets, the
    location) the trigger is created in, which for an existing store deployer cannot check offline."""
    from providers.gcp.context import PLACEHOLDER_PROJECT

    project, out, warned = bp.clouds.gcp.project or PLACEHOLDER_PROJECT, [], set()
    for name, fn in bp.functions.items():
        for index, trigger in enumerate(fn.triggers):
            match trigger:
                case TopicTrigger(topic=topic) if (bp.existing(topic, "gcp") or "").startswith("projects/"):
                    other = bp.existing(topic, "gcp").split("/")[1]
                    if other != project:
                        out.append(diag(bp, f"functions.{name}.triggers[{index}]",
                                        f"topic {topic!r} is in project {other!r}: a function's Pub/Sub trigger takes "
                                        f"a topic of its own project ({project!r})",
                                        hint="consume it as a queue (a push subscription may read another project's "
                                             "topic), or publish into a topic of this project"))
                case BucketTrigger(bucket=bucket) if bp.existing(bucket, "gcp") and bucket not in warned:
                    warned.add(bucket)
                    out.append(diag(bp, existing_path(bp, bucket),
                                    f"bucket {bucket!r} is existing: its trigger is created in region "
                                    f"{bp.clouds.gcp.region!r} of project {project!r}, and Eventarc takes a bucket's "
                                    "events only in the bucket's own location and project (elsewhere `up` fails)",
                                    severity="warning",
                                    hint=f"use a bucket in {bp.clouds.gcp.region} of this project, or set "
                                         "clouds.gcp.region to the bucket's region (a multi-region bucket's "
                                         "events need a trigger in that multi-region, which deployer does "
                                         "not create)"))
    return out


def existing_tables(bp: Blueprint) -> list[Diagnostic]:
    """An existing table names a collection of an existing Firestore database, in one of two forms
    (tables.FORMS); it may not name the app's own database while deployer creates that one for other tables."""
    from deployer.blueprint.model import TableStore
    from providers.gcp.context import PLACEHOLDER_PROJECT
    from providers.gcp.tables import FORMS, app_database_id, parse_existing

    project = bp.clouds.gcp.project or PLACEHOLDER_PROJECT
    own = f"projects/{project}/databases/{app_database_id(bp)}"
    created = any(isinstance(s, TableStore) and not bp.existing(n, "gcp") for n, s in bp.stores.items())
    out = []
    for name, store in bp.stores.items():
        text = bp.existing(name, "gcp") if isinstance(store, TableStore) else None
        if not text:
            continue
        path = existing_path(bp, name)
        found = parse_existing(text, project)
        if isinstance(found, str):
            out.append(diag(bp, path, f"table {name!r}: existing {text!r} is no Firestore collection on GCP: {found}",
                            hint=f"give {FORMS} (under clouds.gcp.existing.{name} if other clouds need another name)"))
        elif created and found.database_path == own:
            out.append(diag(bp, path, f"table {name!r} names a collection of this app's own database {own!r}, "
                                      "which deployer creates for the other tables (and deletes with --delete-data)",
                            hint=f"drop `existing` to make {name!r} one of the app's tables, or name another database"))
    return out


def shim_requirements(bp: Blueprint, function: str) -> list[str]:
    """What the shim itself needs in this function: google-auth to verify push and scheduler callers."""
    fn = bp.functions[function]
    out = list(SHIM_VERIFIES) if any(isinstance(t, (QueueTrigger, ScheduleTrigger)) for t in fn.triggers) else []
    if any(isinstance(t, QueueTrigger) and bp.stores[t.queue].dead_letter and bp.stores[t.queue].retries < 5
           for t in fn.triggers):
        out.append("google-cloud-pubsub>=2.19,<3")  # the shim publishes the last failed delivery itself
    return out


def project(bp: Blueprint) -> list[Diagnostic]:
    """A warning: plan and eject use a placeholder project; `up` refuses (provider.engine)."""
    from providers.gcp.context import PLACEHOLDER_PROJECT

    if bp.clouds.gcp.project:
        return []
    return [diag(bp, "clouds.gcp.project", "clouds.gcp.project is not set: GCP needs the project to deploy into; "
                 f"the plan uses the placeholder {PLACEHOLDER_PROJECT!r}", severity="warning",
                 hint='add `clouds: {gcp: {project: "${env:GCP_PROJECT}"}}` and export GCP_PROJECT')]


def routes(bp: Blueprint) -> list[Diagnostic]:
    """One path template used with two parameter names (`/a/{x}`, `/a/{y}`): to API Gateway they are one
    path, and one of the two would silently replace the other."""
    from providers.gcp.http import template_key

    seen: dict[str, tuple[str, str]] = {}
    out = []
    for name, fn in bp.functions.items():
        for index, trigger in enumerate(fn.triggers):
            if not isinstance(trigger, HttpTrigger):
                continue
            path = trigger.route.path
            if path == RESERVED or path.startswith(RESERVED + "/"):
                out.append(diag(bp, f"functions.{name}.triggers[{index}].http",
                                f"path {path!r} is reserved on GCP: Pub/Sub and Cloud Scheduler deliver there",
                                hint="choose a path outside /_deployer"))
            key = template_key(path)
            first = seen.setdefault(key, (path, f"functions.{name}.triggers[{index}]"))
            if first[0] != path:
                out.append(diag(bp, f"functions.{name}.triggers[{index}].http",
                                f"path {path!r} is the template of {first[0]!r} ({first[1]}) with other "
                                "parameter names; API Gateway sees one path",
                                hint="use the same parameter names in both routes"))
    return out


def queues(bp: Blueprint) -> list[Diagnostic]:
    out = []
    for name, store in bp.stores.items():
        if not isinstance(store, QueueStore):
            continue
        if not store.dead_letter:
            out.append(diag(bp, f"stores.{name}.dead_letter",
                            f"queue {name!r} has no dead-letter queue: Pub/Sub retries a failing message until "
                            "its retention (7 days) runs out, not `retries` times", severity="warning"))
        taken = consumers(bp, name)
        if len(taken) > 1:
            out.append(diag(bp, f"stores.{name}",
                            f"queue {name!r} has {len(taken)} consumers; a Pub/Sub push subscription delivers to "
                            "one endpoint (and two subscriptions would each get every message)",
                            hint="consume a queue from one function, or make it a topic"))
    return out


def functions(bp: Blueprint) -> list[Diagnostic]:
    out = []
    for name, fn in bp.functions.items():
        path = f"functions.{name}"
        full = "-".join((bp.name, bp.stage, name))
        if len(full) > FUNCTION_NAME_MAX:
            cut = naming.physical_name(bp.name, bp.stage, name, max_length=FUNCTION_NAME_MAX)
            out.append(diag(bp, path, f"function name {full!r} is longer than GCP's {FUNCTION_NAME_MAX} characters; "
                                      f"it is deployed as {cut!r}", severity="warning"))
        if event_triggers(fn) and http_delivered(fn):
            out.append(diag(bp, f"{path}.triggers",
                            f"function {name!r} mixes HTTP-delivered triggers (http, queue, schedule) with "
                            "CloudEvent triggers (topic, bucket); a gen2 function has one entry point",
                            hint="split it into two functions with the same code and handler"))
        limit, kind = (EVENT_TIMEOUT_MAX, "event-driven") if event_triggers(fn) else (HTTP_TIMEOUT_MAX, "HTTP")
        if fn.timeout > limit:
            out.append(diag(bp, f"{path}.timeout",
                            f"timeout {fn.timeout}s is above the {limit}s GCP allows for {kind} functions"))
        if fn.memory < 128:
            out.append(diag(bp, f"{path}.memory", f"memory {fn.memory} MB is below gen2's minimum; "
                                                  "the function gets 128 MB", severity="warning"))
    return out


def triggers(bp: Blueprint) -> list[Diagnostic]:
    """Each trigger's rules; a function-level finding (its timeout) is said once however many triggers share it."""
    out: list[Diagnostic] = []
    for name, fn in bp.functions.items():
        for index, trigger in enumerate(fn.triggers):
            out += [d for d in trigger_rules(bp, name, index, trigger)
                    if (d.location.path, d.message) not in {(o.location.path, o.message) for o in out}]
    return out


def trigger_rules(bp: Blueprint, function: str, index: int, trigger) -> list[Diagnostic]:
    path = f"functions.{function}.triggers[{index}]"
    timeout = bp.functions[function].timeout
    match trigger:
        case QueueTrigger():
            return queue_rules(bp, function, path, trigger, timeout)
        case ScheduleTrigger():
            return schedule_rules(bp, function, path, trigger, timeout)
        case BucketTrigger(prefix=prefix, suffix=suffix) if prefix or suffix:
            return [diag(bp, path, "Cloud Storage triggers cannot filter object names: the function is invoked "
                                   f"for every object and the shim drops those outside prefix {prefix!r} / suffix "
                                   f"{suffix!r} (each is still a billed invocation)", severity="warning")]
        case BucketTrigger() | HttpTrigger() | TopicTrigger():
            return []
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def queue_rules(bp: Blueprint, function: str, path: str, trigger: QueueTrigger, timeout: int) -> list[Diagnostic]:
    out = []
    if trigger.batch > 1:
        out.append(diag(bp, f"{path}.batch", f"batch {trigger.batch}: a Pub/Sub push subscription delivers one "
                                             "message per request, so the function gets batches of 1",
                        severity="warning"))
    if timeout > PUSH_ACK_MAX:
        out.append(diag(bp, f"functions.{function}.timeout",
                        f"timeout {timeout}s is above Pub/Sub's {PUSH_ACK_MAX}s acknowledgement deadline: a "
                        "message still being handled is delivered again", severity="warning"))
    return out


def schedule_rules(bp: Blueprint, function: str, path: str, trigger: ScheduleTrigger, timeout: int) -> list[Diagnostic]:
    out = []
    if unix_cron(trigger.schedule) is None:
        out.append(diag(bp, f"{path}.schedule", f"'{trigger.schedule}' has no exact unix cron; Cloud Scheduler "
                                                "takes cron only",
                        hint="use a rate that divides an hour or a day (every 5/10/15/20/30 minutes, every "
                             "1/2/3/4/6/8/12 hours, every 1 day) or a cron expression"))
    if timeout > SCHEDULER_DEADLINE_MAX:
        out.append(diag(bp, f"functions.{function}.timeout",
                        f"timeout {timeout}s is above Cloud Scheduler's {SCHEDULER_DEADLINE_MAX}s attempt deadline: "
                        "the job is reported failed while the function still runs", severity="warning"))
    return out
