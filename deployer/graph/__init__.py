"""Diagrams drawn from the blueprint itself: a flowchart of the system and sequences of one event's path.

Architecture diagrams drift from the code; deployer knows the real graph (routes, schedules, triggers,
grants), so it draws it. model.py builds the flowchart as data, mermaid.py and dot.py write it out,
sequence.py follows the chain of triggers from one entry, services.py names each cloud's services and
render.py hands the text to Mermaid's CLI or Graphviz for SVG/PNG. docs.py regenerates docs/diagrams.md.

Nothing here imports a provider or Pulumi: `deployer graph` works offline on any machine.
"""

from __future__ import annotations

from deployer.blueprint.model import Blueprint

TEXT_FORMATS = ("mermaid", "dot")
IMAGE_FORMATS = ("svg", "png")
FORMATS = TEXT_FORMATS + IMAGE_FORMATS


def flowchart_text(bp: Blueprint, fmt: str = "mermaid", cloud: str | None = None) -> str:
    """The blueprint's flowchart as Mermaid or DOT text; `cloud` labels nodes with its services."""
    from deployer.graph import dot, mermaid, model
    from deployer.graph.services import services_for

    graph = model.build(bp, services_for(cloud), cloud)
    if cloud:
        graph.title += f" on {cloud}"
    match fmt:
        case "mermaid":
            return mermaid.flowchart(graph)
        case "dot":
            return dot.flowchart(graph)
    raise ValueError(f"unsupported text format {fmt!r}")


def sequence_text(bp: Blueprint, entry: str, cloud: str | None = None) -> str:
    """The Mermaid sequence diagram of what follows `entry` (raises UsageError for an unknown entry)."""
    from deployer.graph import mermaid
    import deployer.graph.sequence as seq
    from deployer.graph.services import services_for

    services = services_for(cloud)
    resolved = seq.resolve(bp, entry)
    title = f"{bp.name} ({bp.stage}): {seq.describe(bp, resolved)}" + (f" on {cloud}" if cloud else "")
    return mermaid.sequence(seq.build(bp, resolved, services, title=title, cloud=cloud))
