"""Store clients: `bucket(name)`, `table(name)`, `queue(name)`, `topic(name)`.

The provider tells a function where its stores are through environment variables
(`DEPLOYER_CLOUD`, `DEPLOYER_STORE_<NAME>`, `DEPLOYER_KEY_<NAME>` for a table's key attribute);
the client for that cloud lives in `deployer.runtime.clients.<cloud>` and is imported on first use,
so importing this module costs nothing but the standard library.
"""

from __future__ import annotations

import importlib
import os
import re


class StoreNotAvailable(LookupError):
    """The function was not granted this store (no `uses` or trigger names it)."""


def env_name(prefix: str, name: str) -> str:
    """`DEPLOYER_STORE_<NAME>` / `DEPLOYER_KEY_<NAME>` (deployer.naming spells the same for providers)."""
    return prefix + re.sub(r"[^A-Z0-9]", "_", name.upper())


def locate(name: str) -> str:
    value = os.environ.get(env_name("DEPLOYER_STORE_", name))
    if not value:
        raise StoreNotAvailable(
            f"store {name!r} is not available to this function; add it to the function's `uses` in the blueprint")
    return value


def _client(kind: str):
    cloud = os.environ.get("DEPLOYER_CLOUD", "local")
    module = importlib.import_module(f"deployer.runtime.clients.{cloud}")
    return getattr(module, kind)


def bucket(name: str):
    return _client("Bucket")(name, locate(name))


def table(name: str):
    key = os.environ.get(env_name("DEPLOYER_KEY_", name), "id")
    return _client("Table")(name, locate(name), key)


def queue(name: str):
    return _client("Queue")(name, locate(name))


def topic(name: str):
    return _client("Topic")(name, locate(name))
