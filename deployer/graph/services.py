"""Which cloud service each part of a blueprint becomes, for labelling diagram nodes.

The same blueprint lands on different services on each cloud; `deployer graph --cloud gcp` shows that
by putting the service's name under each node. The table below must say what the providers actually
deploy (see /work/shared/cloud-mapping.md and docs/): for example the Azure provider uses Storage queues
for queues (poison queues for dead letters) and Service Bus topics for topics, and GCP carries queues on
Pub/Sub with a push subscription.

Each provider declares its names (`Provider.services`, with the keys of GENERIC; missing keys fall back
to GENERIC) and whether its queues always have a dead-letter queue (`always_dead_letter`), so the core
names no cloud; provider modules import no Pulumi SDK, so looking them up stays cheap.
An unknown cloud is the registry's error (exit 2), exactly as for every other command.
"""

from __future__ import annotations

from typing import Mapping

#: Node kinds of a diagram; every table below maps each of them to a label.
KINDS = ("api", "schedule", "function", "bucket", "table", "queue", "topic", "dead-letter")

GENERIC: dict[str, str] = {
    "api": "HTTP API",
    "schedule": "schedule",
    "function": "function",
    "bucket": "bucket",
    "table": "table",
    "queue": "queue",
    "topic": "topic",
    "dead-letter": "dead-letter queue",
}

def has_dead_letter(store, cloud: str | None) -> bool:
    """Whether a queue store gets a dead-letter queue on `cloud` (None: as the blueprint says)."""
    if store.dead_letter or cloud is None:
        return store.dead_letter
    from deployer import providers

    return providers.get(cloud).always_dead_letter


def services_for(cloud: str | None) -> dict[str, str] | None:
    """Service names for `cloud`; None without a cloud (diagrams then show only the generic kind).

    Raises the registry's UsageError (exit 2, with a did-you-mean) for a cloud nobody registered."""
    if cloud is None:
        return None
    from deployer import providers

    provider = providers.get(cloud)  # the registry's own error (exit 2, did-you-mean) for an unknown cloud
    return _merge(provider.services)


def _merge(declared: Mapping[str, str]) -> dict[str, str]:
    table = dict(GENERIC)
    table.update({kind: str(name) for kind, name in declared.items() if kind in KINDS})
    return table
