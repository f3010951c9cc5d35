"""Physical names of Azure resources, cut to Azure's rules (pure: used by check and by the program).

Names are a pure function of the blueprint name, stage and logical name (deployer.naming), so an
unchanged blueprint never renames a stateful resource. Azure's rules differ per resource type:

- storage account: 3-24 lowercase letters and digits, globally unique (azure-native does not enforce it);
- Function App (site): 2-60, globally unique (`<site>.azurewebsites.net`). deployer keeps sites at 32
  characters or fewer, because the Functions host derives its host id from the first 32 characters of
  the site name and apps that share a storage account must not share a host id;
- blob container, storage queue: 3-63 lowercase letters, digits and single hyphens;
- table: 3-63 letters and digits, starting with a letter;
- Service Bus namespace 6-50 (global), topic and subscription names 1-50;
- API Management service 1-50 (global, `<name>.azure-api.net`).

Globally unique names carry a short hash of `<name>-<stage>` so they do not collide with common words.
"""

from __future__ import annotations

import re

from deployer.naming import physical_name, short_hash

SITE_MAX = 32
HOST_CONTAINERS = ("azure-webjobs-hosts", "azure-webjobs-secrets")
BLOB_POISON_QUEUE = "webjobs-blobtrigger-poison"


def _global(bp_name: str, stage: str, *parts: str, max_length: int, allowed: str = "a-z0-9-",
            separator: str = "-") -> str:
    """A globally unique name: the readable parts cut to fit, then a 6-character stable hash."""
    digest = short_hash("-".join((bp_name, stage, *parts)))
    head = physical_name(bp_name, stage, *parts, max_length=10_000, separator=separator, allowed=allowed)
    keep = max_length - len(digest) - len(separator)
    return head[:keep].rstrip("-") + separator + digest


def resource_group(bp_name: str, stage: str) -> str:
    return physical_name("rg", bp_name, stage, max_length=90)


def storage_account(bp_name: str, stage: str) -> str:
    return _global(bp_name, stage, max_length=24, allowed="a-z0-9", separator="")


def site(bp_name: str, stage: str, function: str) -> str:
    return _global(bp_name, stage, function, max_length=SITE_MAX)


def host_id(site_name: str) -> str:
    """The Functions host id of a site: lowercase, first 32 characters, trailing hyphens dropped."""
    return site_name.lower()[:32].rstrip("-")


def blob_scan_queue(site_name: str) -> str:
    """The queue the (polling) blob trigger of a site uses in its host storage."""
    return f"azure-webjobs-blobtrigger-{host_id(site_name)}"


def plan(bp_name: str, stage: str) -> str:
    return physical_name(bp_name, stage, "plan", max_length=60)


def insights(bp_name: str, stage: str) -> str:
    return physical_name(bp_name, stage, "insights", max_length=255)


def _dns(name: str) -> str:
    """Containers and queues: no doubled, leading or trailing hyphens."""
    return re.sub(r"-+", "-", name).strip("-")


def container(bp_name: str, stage: str, store: str) -> str:
    return _dns(physical_name(bp_name, stage, store, max_length=63))


def queue(bp_name: str, stage: str, store: str) -> str:
    """A storage queue; 56 at most so that `<queue>-poison` (the runtime's dead letters) fits in 63."""
    return _dns(physical_name(bp_name, stage, store, max_length=56))


def poison_queue(queue_name: str) -> str:
    return f"{queue_name}-poison"


def table(bp_name: str, stage: str, store: str) -> str:
    name = physical_name(bp_name, stage, store, max_length=63, allowed="a-z0-9", separator="")
    return name if re.match(r"^[a-z]", name) else "t" + name[:62]


def servicebus(bp_name: str, stage: str) -> str:
    return _global(bp_name, stage, "bus", max_length=50)


def topic(bp_name: str, stage: str, store: str) -> str:
    return _dns(physical_name(bp_name, stage, store, max_length=50))


def subscription(function: str) -> str:
    return _dns(physical_name(function, max_length=50))


def apim(bp_name: str, stage: str) -> str:
    return _global(bp_name, stage, "gateway", max_length=50)


def packages_container() -> str:
    return "deployer-packages"
