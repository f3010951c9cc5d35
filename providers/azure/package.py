"""The package of one Function App: host.json, a folder with function.json per trigger, shim, code, wheels.

Layout (Azure Functions Python v1 programming model: bindings are plain JSON, easy to generate):

    host.json                          version 2.0, extension bundle [4.*, 5.0.0), routePrefix, queue
                                       batchSize/maxDequeueCount, Service Bus lock renewal,
                                       functionTimeout (all per app)
    http0/function.json                one folder per trigger: bindings, "scriptFile": "../deployer_shim.py",
    queue1/function.json               "entryPoint": http | queue | bucketevent | timer | servicebus
    deployer_shim.py, deployer/...     the shim and the portable runtime (deployer.bundle)
    deployer_timezone.py/.json         only for time-zone timers: the guard (timezone_guard.py)
    <user code>, requirements.txt      what the app's build service installs (`clouds.azure.build: remote`)
    .python_packages/lib/site-packages only with `build: local`: vendored manylinux x86_64 wheels,
                                       published with RemoteBuild=false

Why a remote build by default. Flex hosts one app per function, and every app needs the Azure SDK
clients (azure-identity and the storage or Service Bus client: 24 MB, 600+ files). Vendored, each of
100 functions' packages carries and compresses its own copy: a first `plan` of 100 functions spent
98 s compressing 740 MB of identical wheels, and `up` uploads them all. Built remotely, a package
holds the code and requirements.txt (a few KB) and the app's build service installs the requirements
for the app's own Linux and Python when it is published, which is what Core Tools does for Python
apps. `build: local` keeps the vendored form for requirements the build service cannot reach
(private indexes, local wheels, `--find-links`).

Binding names are part of the shim contract (providers/azure/shim.py): `req` (+ `$return`) for HTTP,
`msg` for queue, bucketevent and servicebus, `timer` for timer; a timer's
folder name ends with its trigger index (`timer1`), which the shim uses to tell schedules apart.
"""

from __future__ import annotations

import json
from importlib import resources

from deployer.blueprint.model import (
    Blueprint, BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger,
)
from deployer.errors import UsageError
from deployer.providers import Artifact
from providers.azure import buckets, hosting, http, queues, schedules, topics

EXTENSION_BUNDLE = {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
SCRIPT_FILE = "../deployer_shim.py"
GUARD_SCRIPT = "deployer_timezone.py"
GUARD_CONFIG = "deployer_timezone.json"
DEPS_DIR = ".python_packages/lib/site-packages"
PLATFORM = "manylinux2014_x86_64"


def duration(seconds: int) -> str:
    """Seconds -> host.json `hh:mm:ss`."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def host_json(bp: Blueprint, function: str) -> dict:
    fn = bp.functions[function]
    extensions: dict = {"http": {"routePrefix": http.ROUTE_PREFIX}}
    queue_triggers = [t for t in fn.triggers if isinstance(t, QueueTrigger)]
    if queue_triggers:  # more than one with different settings is a `check` error
        extensions["queues"] = queues.host_settings(bp, queue_triggers[0])
    elif any(isinstance(t, BucketTrigger) for t in fn.triggers):  # bucket events arrive on queues
        extensions["queues"] = queues.host_settings(bp, None)
    if any(isinstance(t, TopicTrigger) for t in fn.triggers):  # message locks held for the whole timeout
        extensions["serviceBus"] = {"maxAutoLockRenewalDuration": duration(topics.lock_renewal(fn.timeout))}
    return {"version": "2.0", "extensionBundle": dict(EXTENSION_BUNDLE),
            "functionTimeout": duration(fn.timeout), "extensions": extensions}


def trigger_binding(bp: Blueprint, function: str, index: int, trigger) -> tuple[str, dict, dict | None]:
    """(folder, function.json, time-zone guard config or None) of one trigger."""
    match trigger:
        case HttpTrigger():
            entry, bindings = http.binding(trigger)
            return f"http{index}", _spec(entry, bindings), None
        case BucketTrigger():
            entry, spec = buckets.binding(bp, function, index)
            return buckets.folder(index), _spec(entry, [spec]), None
        case QueueTrigger():
            entry, spec = queues.trigger_binding(bp, trigger)
            return f"queue{index}", _spec(entry, [spec]), None
        case TopicTrigger():
            entry, spec = topics.binding(bp, function, trigger)
            return f"topic{index}", _spec(entry, [spec]), None
        case ScheduleTrigger():
            script, spec, guard = schedules.binding(trigger)
            return f"timer{index}", _spec("timer", [spec], script), guard
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def _spec(entry: str, bindings: list[dict], script: str = SCRIPT_FILE) -> dict:
    return {"scriptFile": script, "entryPoint": entry, "bindings": bindings}


def generated(bp: Blueprint, function: str) -> dict[str, dict]:
    """host.json, `<folder>/function.json` for every trigger and, for time-zone timers, the guard's config."""
    out: dict[str, dict] = {"host.json": host_json(bp, function)}
    guards = {}
    for index, trigger in enumerate(bp.functions[function].triggers):
        folder, spec, guard = trigger_binding(bp, function, index, trigger)
        out[f"{folder}/function.json"] = spec
        if guard:
            guards[folder] = guard
    if guards:
        out[GUARD_CONFIG] = guards
    return out


def _dump(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def files(bp: Blueprint, function: str) -> dict[str, bytes]:
    """Every generated file of the package (host.json, function.json files, the guard), as bytes."""
    try:
        out = {name: _dump(data) for name, data in sorted(generated(bp, function).items())}
    except schedules.ScheduleConversionError as exc:
        raise UsageError(str(exc), location=bp.locate(f"functions.{function}.triggers"),
                         hint="`deployer validate --cloud azure` lists every such problem") from exc
    if GUARD_CONFIG in out:
        out[GUARD_SCRIPT] = (resources.files("providers.azure") / "timezone_guard.py").read_bytes()
    return out


def requirements(bp: Blueprint, function: str) -> tuple[str, ...]:
    """What the Azure store clients need (bundle.client_requirements)."""
    from deployer import bundle

    return tuple(bundle.client_requirements(bp, function, "azure"))


def target(bp: Blueprint, function: str):
    """Where the requirements are installed: by the app's build service (no vendoring), or here."""
    from deployer import packaging

    python = hosting.python_version(bp.functions[function].runtime)
    if getattr(bp.clouds.azure, "build", "remote") == "local":
        return packaging.Target(platform=PLATFORM, deps_dir=DEPS_DIR, python_version=python)
    return packaging.Target(platform=None, python_version=python)


def build(bp: Blueprint, function: str) -> Artifact:
    from deployer import packaging

    return packaging.package(bp, function, cloud="azure", target=target(bp, function), extra_files=files(bp, function),
                             extra_requirements=requirements(bp, function))
