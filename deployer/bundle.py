"""What every function package carries besides the user's code: the portable runtime and a shim.

The runtime (`deployer/runtime/`, standard library only) ships beside an empty `deployer/__init__.py`,
so user code imports `from deployer.runtime import Response, stores` on every cloud. The cloud's shim
(`shim.py` beside the provider's module, e.g. `providers/aws/shim.py`) ships as `deployer_shim.py` at the package root, and
`deployer_function.json` tells the shim which handler to call and what its triggers are (the GCP shim
routes HTTP methods and paths and applies bucket prefix/suffix filters with it) and, for an HTTP
function, the blueprint's CORS settings (GCP's API Gateway has none, so its shim answers preflights).

`client_requirements` names the cloud SDKs a function's store clients import, so providers add them to
the package's requirements.txt: nothing on AWS (boto3 is part of the Lambda runtime) or locally.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from deployer.blueprint.model import Blueprint, HttpTrigger
from deployer.blueprint.refs import grants

SHIM_MODULE = "deployer_shim"
FUNCTION_FILE = "deployer_function.json"


def _runtime_dir() -> Path:
    return Path(str(resources.files("deployer") / "runtime"))


def shim_source(cloud: str) -> bytes | None:
    """The cloud's shim: `shim.py` beside the module its provider is registered from (so a third-party
    provider ships its own exactly like the built-in ones), or None for a cloud without one (the local
    cloud runs handlers directly)."""
    from deployer import providers

    entry = providers.available().get(cloud)
    if entry is None:
        return None
    package = entry.value.split(":", 1)[0].rpartition(".")[0]
    try:
        shim = resources.files(package) / "shim.py" if package else None
    except ModuleNotFoundError:
        return None
    return shim.read_bytes() if shim is not None and shim.is_file() else None


def function_config(bp: Blueprint, function: str, cloud: str) -> dict:
    """What the shim reads; an HTTP function also gets the blueprint's `http.cors` (or null), which the
    runtime applies where the cloud's gateway does not (GCP; AWS and Azure gateways do it themselves)."""
    fn = bp.functions[function]
    config = {
        "app": bp.stage_name(),
        "function": function,
        "handler": fn.handler,
        "cloud": cloud,
        "timeout": fn.timeout,
        "triggers": [t.model_dump(mode="json", by_alias=True) for t in fn.triggers],
    }
    if any(isinstance(t, HttpTrigger) for t in fn.triggers):
        config["cors"] = bp.http.cors.model_dump(mode="json") if bp.http.cors else None
    return config


def runtime_files(bp: Blueprint, function: str, cloud: str) -> dict[str, bytes]:
    """Archive name -> bytes of the runtime, the shim and the function's config, sorted by name."""
    files: dict[str, bytes] = {"deployer/__init__.py": b""}
    root = _runtime_dir()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        files["deployer/runtime/" + path.relative_to(root).as_posix()] = path.read_bytes()
    shim = shim_source(cloud)
    if shim is not None:
        files[f"{SHIM_MODULE}.py"] = shim
    config = function_config(bp, function, cloud)
    files[FUNCTION_FILE] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    return dict(sorted(files.items()))


def client_requirements(bp: Blueprint, function: str, cloud: str) -> list[str]:
    """Requirement lines for the SDKs this function's store clients need on `cloud`, sorted.

    Only stores the function reaches through `deployer.runtime.stores` count (its `uses`); receiving a
    trigger's event needs no SDK. Each provider declares its clients' packages (`client_packages`,
    `client_always`); AWS (boto3 is in the Lambda runtime) and the local cloud declare none.
    """
    from deployer import providers

    provider = providers.get(cloud)
    used = {g.kind for g in grants(bp, function) if g.rights & {"read", "write", "publish"}}
    lines = {provider.client_packages[kind] for kind in used if kind in provider.client_packages}
    if lines:
        lines.update(provider.client_always)
    return sorted(lines)
