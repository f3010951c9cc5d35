"""AWS physical names and locators, derived only from the blueprint (`<name>-<stage>-<logical>`).

Each helper applies the limit of its service and `deployer.naming` cuts longer names with a stable
hash, so the same blueprint always gives the same names and a stateful store is never renamed.
"""

from __future__ import annotations

from deployer.blueprint import refs
from deployer.blueprint.model import Blueprint
from deployer.naming import env_key, key_env, physical_name

LAMBDA_MAX = 64
ROLE_MAX = 64
SCHEDULE_MAX = 64
QUEUE_MAX = 80
TOPIC_MAX = 256
BUCKET_MAX = 63
TABLE_MAX = 255
ACCOUNT = "123456789012"  # the account id the mocks answer with (plan only)


def _name(bp: Blueprint, *parts: str, max_length: int) -> str:
    return physical_name(bp.name, bp.stage, *parts, max_length=max_length)


def function_name(bp: Blueprint, function: str) -> str:
    return _name(bp, function, max_length=LAMBDA_MAX)


def role_name(bp: Blueprint, function: str, part: str = "") -> str:
    return _name(bp, function, part, max_length=ROLE_MAX)


def log_group(bp: Blueprint, function: str) -> str:
    return f"/aws/lambda/{function_name(bp, function)}"


def schedule_name(bp: Blueprint, function: str, index: int) -> str:
    return _name(bp, function, f"s{index}", max_length=SCHEDULE_MAX)


def queue_name(bp: Blueprint, store: str, dead_letter: bool = False) -> str:
    return _name(bp, store, "dlq" if dead_letter else "", max_length=QUEUE_MAX)


def topic_name(bp: Blueprint, store: str) -> str:
    return _name(bp, store, max_length=TOPIC_MAX)


def bucket_name(bp: Blueprint, store: str) -> str:
    return _name(bp, store, max_length=BUCKET_MAX)


def table_name(bp: Blueprint, store: str) -> str:
    return _name(bp, store, max_length=TABLE_MAX)


def api_name(bp: Blueprint) -> str:
    return _name(bp, "api", max_length=128)


def env_keys(bp: Blueprint, function: str) -> list[str]:
    """The DEPLOYER_* variable names a function gets (for the environment size check)."""
    keys = ["DEPLOYER_CLOUD", "DEPLOYER_APP", "DEPLOYER_FUNCTION"]
    for store in refs.reachable_stores(bp, function):
        keys.append(env_key(store))
        if bp.stores[store].kind == "table":
            keys.append(key_env(store))
    return keys
