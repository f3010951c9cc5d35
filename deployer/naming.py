"""Physical names: `<name>-<stage>-<logical>`, cut to each cloud's limits with a short stable hash.

Names are a pure function of the blueprint name, stage and logical name, so redeploying an unchanged
blueprint never renames (and so never replaces) a stateful resource. Where a name must be cut, the
last characters are replaced by a hash of the full name, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def physical_name(*parts: str, max_length: int = 63, separator: str = "-", lowercase: bool = True,
                  allowed: str = r"a-z0-9-") -> str:
    """Join parts, drop characters outside `allowed`, and cut to `max_length` with a stable hash."""
    full = separator.join(p for p in parts if p)
    name = full.lower() if lowercase else full
    name = re.sub(f"[^{allowed}]", "", name.replace("-", separator) if separator != "-" else name)
    if len(name) <= max_length:
        return name
    digest = short_hash(full)
    keep = max_length - len(digest) - len(separator)
    return name[:keep].rstrip(separator) + separator + digest


def env_key(store: str) -> str:
    """Environment variable that carries a store's locator: `DEPLOYER_STORE_<NAME>`."""
    return "DEPLOYER_STORE_" + re.sub(r"[^A-Z0-9]", "_", store.upper())


def key_env(store: str) -> str:
    """Environment variable that carries a table's key attribute: `DEPLOYER_KEY_<NAME>`."""
    return "DEPLOYER_KEY_" + env_key(store).removeprefix("DEPLOYER_STORE_")


def store_env(bp, function: str, locator: Callable[[str], Any]) -> dict[str, Any]:
    """The store variables of a function (docs/contracts.md, "Runtime environment"): for every store it
    reaches `DEPLOYER_STORE_<NAME>` = `locator(store)`, and for a table `DEPLOYER_KEY_<NAME>` = its key."""
    from deployer.blueprint.refs import reachable_stores

    out: dict[str, Any] = {}
    for store in reachable_stores(bp, function):
        out[env_key(store)] = locator(store)
        if bp.stores[store].kind == "table":
            out[key_env(store)] = bp.stores[store].key
    return out
