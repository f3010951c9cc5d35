"""Which cloud service each part of a blueprint becomes, for labelling diagram nodes.

The same blueprint lands on different services on each cloud; `deployer graph --cloud gcp` shows that
by putting the service's name under each node. The table below must say what the providers actually
deploy (see /work/shared/cloud-mapping.md and docs/): for example the Azure provider uses Storage queues
for queues (poison queues for dead letters) and Service Bus topics for topics, and GCP carries queues on
Pub/Sub with a push subscription.

The table is keyed by cloud name and kept here, so drawing never imports a provider (and so never the
Pulumi SDKs). A third-party provider may describe itself with a class attribute
`services = {"function": "...", ...}` using the keys of GENERIC; missing keys fall back to GENERIC.
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

SERVICES: dict[str, dict[str, str]] = {
    "aws": {
        "api": "API Gateway HTTP API",
        "schedule": "EventBridge Scheduler",
        "function": "Lambda",
        "bucket": "S3",
        "table": "DynamoDB",
        "queue": "SQS",
        "topic": "SNS",
        "dead-letter": "SQS dead-letter queue",
    },
    "gcp": {
        "api": "API Gateway",
        "schedule": "Cloud Scheduler",
        "function": "Cloud Functions 2nd gen",
        "bucket": "Cloud Storage",
        "table": "Firestore",
        "queue": "Pub/Sub topic + push subscription",
        "topic": "Pub/Sub",
        "dead-letter": "Pub/Sub dead-letter topic",
    },
    "azure": {
        "api": "Functions HTTP trigger",
        "schedule": "Timer trigger",
        "function": "Azure Functions",
        "bucket": "Blob Storage",
        "table": "Table Storage",
        "queue": "Storage Queues",
        "topic": "Service Bus topic",
        "dead-letter": "poison queue",
    },
    "local": {
        "api": "local HTTP gateway",
        "schedule": "local scheduler",
        "function": "local worker process",
        "bucket": "files",
        "table": "SQLite",
        "queue": "SQLite queue",
        "topic": "SQLite topic",
        "dead-letter": "SQLite dead letters",
    },
}


#: Clouds whose queues always have a dead-letter queue, whatever `dead_letter` says: the Azure Functions
#: runtime moves a message that failed every delivery to `<queue>-poison`, and cannot be told not to.
ALWAYS_DEAD_LETTER = frozenset({"azure"})


def has_dead_letter(store, cloud: str | None) -> bool:
    """Whether a queue store gets a dead-letter queue on `cloud` (None: as the blueprint says)."""
    return store.dead_letter or cloud in ALWAYS_DEAD_LETTER


def services_for(cloud: str | None) -> dict[str, str] | None:
    """Service names for `cloud`; None without a cloud (diagrams then show only the generic kind).

    Raises the registry's UsageError (exit 2, with a did-you-mean) for a cloud nobody registered."""
    if cloud is None:
        return None
    from deployer import providers

    if cloud in SERVICES and cloud in providers.available():
        return dict(SERVICES[cloud])
    provider = providers.get(cloud)  # the registry's own error (exit 2, did-you-mean) for an unknown cloud
    return _merge(getattr(provider, "services", {}) or {})


def _merge(declared: Mapping[str, str]) -> dict[str, str]:
    table = dict(GENERIC)
    table.update({kind: str(name) for kind, name in declared.items() if kind in KINDS})
    return table
