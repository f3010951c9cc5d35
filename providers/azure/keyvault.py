"""Secrets -> one Key Vault per stage, a secret per blueprint secret, Key Vault references in app settings.

A granted function sees its secret as an environment variable, as on every cloud, but the app setting
holds only a reference, `@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/)`,
which the platform resolves with the app's user-assigned identity (`keyVaultReferenceIdentity`). That
identity is Key Vault Secrets User on the granted secrets only (a role scoped to the secret), so no
other function can read them, and the value is never in the app's configuration, the plan or a diff.

The vault uses Azure RBAC (no access policies), soft delete with the shortest retention (7 days) and no
purge protection. A deleted vault keeps its name while soft-deleted, and ARM refuses to create one
under that name (`409 ConflictError: A vault with the same name already exists in deleted state`), so:

- the vault is kept by a plain `destroy`, like the stores, and adopted by the next `up`; only
  `destroy --delete-data` deletes it, after which `up` within a week has to wait or purge it
  (`az keyvault purge --name <vault>`, docs/azure.md);
- its secrets are never deleted one by one (`retain_on_delete` always): azure-native deletes a secret
  through Key Vault's data plane, which the Owner running `up` may not do on an RBAC vault (403), and
  a deleted secret keeps its name for the retention period too. A secret removed from the blueprint
  stays in the vault, readable by no function (its role assignments are deleted); deleting the vault
  deletes every secret in it.

The secret's value is the blueprint secret (deployer reads it at deploy time; the graph holds only
its name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.resources.graph import APP, function
from deployer.resources.values import Secret
from providers.azure import identity, names

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

CLIENT_CONFIG = "azure-native:authorization:getClientConfig"


def vault_name(ctx: "AzureContext") -> str:
    return names.vault(ctx.subscription, ctx.bp.name, ctx.bp.stage)


def vault(ctx: "AzureContext"):
    """The stage's vault, declared on first use."""
    tenant = ctx.g.call(CLIENT_CONFIG).out("tenant_id")
    return ctx.once("vault", lambda: ctx.add(
        "azure-native:keyvault:Vault", "app-vault", retain=ctx.keep_data, vault_name=vault_name(ctx),
        location=ctx.location,
        properties={"tenant_id": tenant, "sku": {"family": "A", "name": "standard"},
                    "enable_rbac_authorization": True, "soft_delete_retention_in_days": 7,
                    "public_network_access": "Enabled"}))


def secret(ctx: "AzureContext", name: str):
    """The Key Vault secret holding blueprint secret `name`, declared on first use."""
    return ctx.once(f"secret:{name}", lambda: ctx.add(
        "azure-native:keyvault:Secret", f"app-secret-{name}", APP, retain=True, vault_name=vault(ctx).out("name"),
        secret_name=names.vault_secret(name), properties={"value": Secret(name)}))


def reference(ctx: "AzureContext", name: str) -> str:
    return f"@Microsoft.KeyVault(SecretUri=https://{vault_name(ctx)}.vault.azure.net/secrets/{names.vault_secret(name)}/)"


def grant(ctx: "AzureContext", fn: str, name: str):
    """Key Vault Secrets User for the function's identity on one secret."""
    res, app = secret(ctx, name), ctx.app(fn)
    scope = ctx.arm_id(f"Microsoft.KeyVault/vaults/{vault_name(ctx)}/secrets/{names.vault_secret(name)}")
    return identity.assign(ctx, f"fn-{fn}-role-secret-{name}-secrets-user", function(fn),
                           app.identity.out("principal_id"), app.identity_id, "secrets-user", res, scope)
