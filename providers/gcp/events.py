"""Extra event sources: Eventarc triggers of their own for a function's 2nd, 3rd ... event source.

A gen2 function carries exactly one `event_trigger` (topics.py and buckets.py build it). A function
that listens to more (two topics, or created and deleted on one bucket) gets the others as
`eventarc.Trigger` resources aimed at the function's Cloud Run service: Eventarc delivers the same
CloudEvents to the same `event_entry`, as the same invoker account. Only a function mixing HTTP-
delivered triggers with event triggers is refused (`check`): it would need two entry points.
"""

from __future__ import annotations

from pulumi_gcp import eventarc

from providers.gcp.context import Gcp, event_sources

PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def declare(gcp: Gcp, function: str) -> list[eventarc.Trigger]:
    """One Eventarc trigger per event source beyond the function's own event_trigger."""
    ref = gcp.function(function)
    created = []
    for index, (event_type, store) in enumerate(event_sources(gcp.bp.functions[function])[1:], start=1):
        locator = gcp.store(store).locator
        criteria = [eventarc.TriggerMatchingCriteriaArgs(attribute="type", value=event_type)]
        transport = None
        if event_type == PUBLISHED:
            transport = eventarc.TriggerTransportArgs(pubsub=eventarc.TriggerTransportPubsubArgs(topic=locator))
        else:
            criteria.append(eventarc.TriggerMatchingCriteriaArgs(attribute="bucket", value=locator))
        created.append(eventarc.Trigger(
            f"fn-{function}-event-{index}",
            name=gcp.name(function, str(index), max_length=63),
            location=gcp.region,
            project=gcp.project,
            matching_criterias=criteria,
            transport=transport,
            destination=eventarc.TriggerDestinationArgs(
                cloud_run_service=eventarc.TriggerDestinationCloudRunServiceArgs(service=ref.service,
                                                                                 region=gcp.region)),
            service_account=ref.invoker.email,
            event_data_content_type="application/json",
            labels=gcp.labels(**{"deployer-function": function[:63]}),
            opts=gcp.opts(),
        ))
    return created
