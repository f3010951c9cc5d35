"""Physical names: `<name>-<stage>-<logical>`, cut to each cloud's limits with a short stable hash.

Names are a pure function of the blueprint name, stage and logical name, so redeploying an unchanged
blueprint never renames (and so never replaces) a stateful resource. Where a name must be cut, the
last characters are replaced by a hash of the full name, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re


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
