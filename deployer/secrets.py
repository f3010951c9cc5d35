"""Secret values: read from the environment at deploy time, never written in plain text.

A blueprint declares each secret once (`secrets: {STRIPE_KEY: {from: env}}`) and grants it per function.
The value comes from the deploying process's environment. Deploying (`up`, `preview`) without a value
is a blueprint error at the secret's declaration; planning is offline and credential-free, so `plan`
uses a placeholder and warns instead. Providers wrap every value with `pulumi.Output.secret`, so the
Pulumi state and the plan output show it masked.

Which of the two behaviours applies is a context (`placeholders()`), set by `deployer.plan.run`, so a
provider's program calls one function, `values(bp)`, and does not need to know whether it is planned.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Iterator, Mapping

from deployer.blueprint.model import Blueprint
from deployer.errors import BlueprintError, Diagnostic

MASK = "[secret]"
_PLACEHOLDERS: contextvars.ContextVar[bool] = contextvars.ContextVar("deployer_secret_placeholders", default=False)


def placeholder(name: str) -> str:
    return f"<{name} not set>"


@contextlib.contextmanager
def placeholders() -> Iterator[None]:
    """Within this block a missing secret becomes a placeholder instead of an error (used by plan)."""
    token = _PLACEHOLDERS.set(True)
    try:
        yield
    finally:
        _PLACEHOLDERS.reset(token)


def check(bp: Blueprint, *, env: Mapping[str, str] | None = None, planning: bool = False) -> list[Diagnostic]:
    """A diagnostic per declared secret without a value: an error to deploy, a warning to plan."""
    env = os.environ if env is None else env
    return [
        Diagnostic(f"secret {name} has no value: set the environment variable {name}",
                   bp.locate(f"secrets.{name}"),
                   hint=f"export {name}=... before deploying (it is read from the environment, never stored "
                        "in plain text)" + ("; the plan uses a placeholder" if planning else ""),
                   severity="warning" if planning else "error", code="secret")
        for name, secret in sorted(bp.secrets.items())
        if secret.from_ == "env" and name not in env
    ]


def values(bp: Blueprint, *, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Name -> value of every declared secret; see the module docstring for missing values."""
    env = os.environ if env is None else env
    planning = _PLACEHOLDERS.get()
    missing = check(bp, env=env, planning=planning)
    if missing and not planning:
        raise BlueprintError(missing)
    return {name: env.get(name, placeholder(name)) for name in sorted(bp.secrets)}


def granted(bp: Blueprint, function: str, *, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Name -> value of the secrets one function is granted."""
    every = values(bp, env=env)
    return {name: every[name] for name in bp.functions[function].secrets if name in every}
