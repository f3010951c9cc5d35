"""Secrets: one Secret Manager secret and version per blueprint secret, read only by granted functions.

A function's plain environment is readable by anyone with viewer rights on the function or its Cloud
Run service, so secrets never go there: each blueprint secret becomes a `secretmanager.Secret`
(`<app>-<NAME>`, automatic replication) with one `SecretVersion` holding the value (a Pulumi secret,
read from the deploying environment; the graph holds only its name). A granted function reads it as a
`secret_environment_variables` entry pinned to that version (a new value is a new version and so a
new revision), and its runtime account holds `roles/secretmanager.secretAccessor` on that secret only.
"""

from __future__ import annotations

from deployer.resources.compile import FunctionRef
from deployer.resources.graph import APP, Resource
from deployer.resources.values import Secret
from providers.gcp import iam
from providers.gcp.context import SECRET_ID_MAX, GcpContext


def declare(ctx: GcpContext, name: str) -> tuple[Resource, Resource]:
    """The secret and its version, declared once per blueprint secret (on its first granted function)."""
    key, slug = f"secret-{name}", name.lower().replace("_", "-")
    if key not in ctx.shared:
        secret = ctx.add("gcp:secretmanager/secret:Secret", f"app-secret-{slug}", APP,
                         secret_id=ctx.name(slug, max_length=SECRET_ID_MAX), project=ctx.project,
                         replication={"auto": {}}, labels=ctx.labels())
        ctx.shared[key] = secret
        ctx.shared[f"{key}-version"] = ctx.add("gcp:secretmanager/secretVersion:SecretVersion",
                                               f"app-secret-{slug}-version", APP, secret=secret.out("id"),
                                               secret_data=Secret(name))
    return ctx.shared[key], ctx.shared[f"{key}-version"]


def grant(ctx: GcpContext, function: str, ref: FunctionRef) -> list[Resource]:
    """secretAccessor for this function on each secret it is granted (and only those)."""
    made = []
    for name in ctx.bp.functions[function].secrets:
        secret, _ = declare(ctx, name)
        made.append(iam.secret_accessor(ctx, function, name, secret, ref))
    return made


def environment(ctx: GcpContext, function: str) -> list[dict]:
    """The function's `secret_environment_variables`: each granted secret, pinned to its version."""
    out = []
    for name in sorted(ctx.bp.functions[function].secrets):
        secret, version = declare(ctx, name)
        out.append({"key": name, "project_id": ctx.project, "secret": secret.out("secret_id"),
                    "version": version.out("version")})
    return out
