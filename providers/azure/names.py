"""Physical names of Azure resources, cut to Azure's rules (pure: used by check, compile and deploy).

Names are a pure function of the blueprint name, stage, logical name and, for names that must be unique
beyond the subscription, the subscription: an unchanged blueprint deployed to the same subscription
never renames a stateful resource. Azure's rules differ per resource type:

- storage account: 3-24 lowercase letters and digits, unique worldwide (azure-native does not enforce it);
- Function App (site): 2-60, unique worldwide (`<site>.azurewebsites.net`). deployer keeps sites at 32
  characters or fewer, because the Functions host derives its host id from the first 32 characters of
  the site name and apps that share a storage account must not share a host id;
- Key Vault 3-24, no consecutive hyphens (worldwide, `<vault>.vault.azure.net`), Service Bus namespace 6-50 (worldwide),
  API Management service 1-50 (worldwide, `<name>.azure-api.net`);
- Log Analytics workspace 4-63 (per resource group), Application Insights 1-255, plans 1-60;
- blob container, storage queue: 3-63 lowercase letters, digits and single hyphens;
- table: 3-63 letters and digits, starting with a letter.

Why a subscription tag. Everyone deploying the `orders` example as `dev` used to get the same storage
account, sites, namespace, vault and gateway names, so the second user's `up` failed on a name taken
elsewhere. Worldwide names now end with `<tag><digest>`: `tag` = the first 6 hex digits of
sha256(subscription id) (specific to the subscription without publishing its id in DNS), `digest` =
4 hex digits of sha256(name/stage/parts) so cut names stay distinct. The subscription is known before
deploy (ARM_SUBSCRIPTION_ID or AZURE_SUBSCRIPTION_ID, and the stack is pinned to it), so plan shows
the real names; a NameRule with `worldwide=True` (provider.graph_rules) checks every such name holds the
tag.
"""

from __future__ import annotations

import re

from deployer.naming import physical_name, short_hash

SITE_MAX = 32
STORAGE_MAX = 24
VAULT_MAX = 24
WORKSPACE_MAX = 63
HOST_CONTAINERS = ("azure-webjobs-hosts", "azure-webjobs-secrets")
SECRETS_CONTAINER = "azure-webjobs-secrets"
TAG_LENGTH = 6
DIGEST_LENGTH = 4


def subscription_tag(subscription: str) -> str:
    """The subscription-specific part of every worldwide name (6 hex digits)."""
    return short_hash("subscription/" + subscription.lower(), TAG_LENGTH)


def _worldwide(subscription: str, bp_name: str, stage: str, *parts: str, max_length: int,
               allowed: str = "a-z0-9-", separator: str = "-") -> str:
    """A name unique worldwide: readable parts cut to fit, then `<tag><digest>`."""
    suffix = subscription_tag(subscription) + short_hash("/".join((bp_name, stage, *parts)), DIGEST_LENGTH)
    head = physical_name(bp_name, stage, *parts, max_length=10_000, separator=separator, allowed=allowed)
    keep = max_length - len(suffix) - len(separator)
    return head[:keep].rstrip("-") + separator + suffix


def resource_group(bp_name: str, stage: str) -> str:
    return physical_name("rg", bp_name, stage, max_length=90)


def storage_account(subscription: str, bp_name: str, stage: str) -> str:
    return _worldwide(subscription, bp_name, stage, max_length=STORAGE_MAX, allowed="a-z0-9", separator="")


def site(subscription: str, bp_name: str, stage: str, function: str) -> str:
    return _worldwide(subscription, bp_name, stage, function, max_length=SITE_MAX)


def plan(bp_name: str, stage: str, function: str) -> str:
    """Flex Consumption hosts one app per plan: one plan per function."""
    return physical_name(bp_name, stage, function, "plan", max_length=60)


def host_id(site_name: str) -> str:
    """The Functions host id of a site: lowercase, first 32 characters, trailing hyphens dropped."""
    return site_name.lower()[:32].rstrip("-")


def deployment_container(site_name: str) -> str:
    """The blob container Flex deploys the app's package to (one per app, written by its identity)."""
    return _dns(f"deploy-{site_name}")


def workspace(bp_name: str, stage: str) -> str:
    """Log Analytics workspace: 4-63 letters, digits and hyphens."""
    return physical_name(bp_name, stage, "logs", max_length=WORKSPACE_MAX)


def insights(bp_name: str, stage: str) -> str:
    return physical_name(bp_name, stage, "insights", max_length=255)


def vault(subscription: str, bp_name: str, stage: str) -> str:
    """Key Vault: 3-24 letters, digits and hyphens, starting with a letter, no two hyphens in a row
    (ARM refuses `a--dev-kv-...`, which a blueprint named `a-` or `a--b` would give), unique worldwide."""
    name = re.sub(r"-+", "-", _worldwide(subscription, bp_name, stage, "kv", max_length=VAULT_MAX))
    return name if re.match(r"^[a-z]", name) else "k" + name[1:]


def vault_secret(secret: str) -> str:
    """Key Vault secret names: 1-127 letters, digits and hyphens (`STRIPE_KEY` -> `STRIPE-KEY`)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", secret)[:127]


def _dns(name: str) -> str:
    """Containers and queues: no doubled, leading or trailing hyphens."""
    return re.sub(r"-+", "-", name).strip("-")


def container(bp_name: str, stage: str, store: str) -> str:
    return _dns(physical_name(bp_name, stage, store, max_length=63))


def queue(bp_name: str, stage: str, store: str) -> str:
    """A storage queue; 56 at most so that `<queue>-poison` (the runtime's dead letters) fits in 63."""
    return _dns(physical_name(bp_name, stage, store, max_length=56))


def event_queue(bp_name: str, stage: str, function: str, index: int) -> str:
    """The queue Event Grid delivers one bucket trigger's events to (`<app>-<stage>-<fn>-events<i>`)."""
    return _dns(physical_name(bp_name, stage, function, f"events{index}", max_length=56))


def poison_queue(queue_name: str) -> str:
    return f"{queue_name}-poison"


def table(bp_name: str, stage: str, store: str) -> str:
    name = physical_name(bp_name, stage, store, max_length=63, allowed="a-z0-9", separator="")
    return name if re.match(r"^[a-z]", name) else "t" + name[:62]


def servicebus(subscription: str, bp_name: str, stage: str) -> str:
    return _worldwide(subscription, bp_name, stage, "bus", max_length=50)


def topic(bp_name: str, stage: str, store: str) -> str:
    return _dns(physical_name(bp_name, stage, store, max_length=50))


def subscription(function: str) -> str:
    return _dns(physical_name(function, max_length=50))


def shared_subscription(bp_name: str, stage: str, function: str) -> str:
    """A function's subscription on an EXISTING topic, which other apps and stages may subscribe to
    as well: `<name>-<stage>-<function>`, 1-50 characters."""
    return _dns(physical_name(bp_name, stage, function, max_length=50))


def apim(subscription: str, bp_name: str, stage: str) -> str:
    return _worldwide(subscription, bp_name, stage, "gateway", max_length=50)


def key_named_value(function: str) -> str:
    """The API Management named value holding a function's key (1-256 letters, digits, `-`, `_`, `.`)."""
    return _dns(physical_name("fn", function, "key", max_length=80))


def identity(bp_name: str, stage: str, function: str) -> str:
    """A function's user-assigned identity: 3-128 letters, digits, hyphens, underscores."""
    return physical_name(bp_name, stage, function, "identity", max_length=128)
