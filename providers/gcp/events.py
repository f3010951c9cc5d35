"""Extra event sources: Eventarc triggers of their own for a function's 2nd, 3rd ... event source.

A gen2 function carries exactly one `event_trigger` (topics.py and buckets.py build it). A function
that listens to more (two topics, or created and deleted on one bucket) gets the others as
`eventarc.Trigger` resources aimed at the function's Cloud Run service (named like the function):
Eventarc delivers the same CloudEvents to the same `event_entry`, as the same invoker account. Only a
function mixing HTTP-delivered triggers with event triggers is refused (`check`): it would need two
entry points.
"""

from __future__ import annotations

from deployer.resources.graph import Resource, function as fn_owner
from providers.gcp.context import GcpContext, event_sources, invoker

PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def declare(ctx: GcpContext, function: str, after: list[Resource]) -> list[Resource]:
    """One Eventarc trigger per event source beyond the function's own event_trigger."""
    ref = ctx.fn(function)
    created = []
    for index, (event_type, store) in enumerate(event_sources(ctx.bp.functions[function])[1:], start=1):
        locator = ctx.store(store).locator
        criteria = [{"attribute": "type", "value": event_type}]
        transport = None
        if event_type == PUBLISHED:
            transport = {"pubsub": {"topic": locator}}
        else:
            criteria.append({"attribute": "bucket", "value": locator})
        created.append(ctx.add(
            "gcp:eventarc/trigger:Trigger", f"fn-{function}-event-{index}", fn_owner(function),
            depends_on=(ref.resource, *after), name=ctx.name(function, str(index), max_length=63),
            location=ctx.region, project=ctx.project, matching_criterias=criteria, transport=transport,
            destination={"cloud_run_service": {"service": ctx.function_name(function), "region": ctx.region}},
            service_account=invoker(ref).out("email"), event_data_content_type="application/json",
            labels=ctx.labels(**{"deployer-function": function[:63]})))
    return created
