"""What every function package carries besides the user's code: the portable runtime and a shim.

The runtime (`deployer/runtime/`, standard library only) ships beside an empty `deployer/__init__.py`,
so user code imports `from deployer.runtime import Response, stores` on every cloud. The cloud's shim
(`providers/<cloud>/shim.py`) ships as `deployer_shim.py` at the package root, and
`deployer_function.json` tells the shim which handler to call and what its triggers are (the GCP shim
routes HTTP methods and paths and applies bucket prefix/suffix filters with it).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from deployer.blueprint.model import Blueprint

SHIM_MODULE = "deployer_shim"
FUNCTION_FILE = "deployer_function.json"


def _runtime_dir() -> Path:
    return Path(str(resources.files("deployer") / "runtime"))


def shim_source(cloud: str) -> bytes | None:
    """The cloud's shim source, or None for a cloud without one (the local cloud runs handlers directly)."""
    try:
        shim = resources.files(f"providers.{cloud}") / "shim.py"
    except ModuleNotFoundError:
        return None
    return shim.read_bytes() if shim.is_file() else None


def function_config(bp: Blueprint, function: str, cloud: str) -> dict:
    fn = bp.functions[function]
    return {
        "app": bp.stage_name(),
        "function": function,
        "handler": fn.handler,
        "cloud": cloud,
        "timeout": fn.timeout,
        "triggers": [t.model_dump(mode="json", by_alias=True) for t in fn.triggers],
    }


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
